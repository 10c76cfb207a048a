"""Addresses (phone numbers, email addresses): checked, normalised, encrypted at rest, hashed for look-ups, masked.

An address is personal data (a citizen's or a staff member's phone number). It is stored only AES-256-GCM
encrypted, with a key derived (HKDF-SHA256) from the node's personal-data key ``JALDPI_PII_ENCRYPTION_KEY`` (a
separate derived key keeps this use apart from the household store, as the webhook secrets do); the row id is the
associated data, so a ciphertext cannot be moved to another row. Look-ups use a keyed hash (HMAC-SHA256 with
``JALDPI_IDENTITY_HASH_KEY``) of the normalised address; screens show a masked form such as ``98******21``.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import re
import uuid
from dataclasses import dataclass

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from jaldpi.core.errors import ValidationFailed

PHONE_CHANNELS = frozenset({"sms", "whatsapp"})
EMAIL_CHANNELS = frozenset({"email"})

# An Indian mobile number: 10 digits starting 6-9 (TRAI National Numbering Plan 2003), optionally written with
# +91, 91 or a trunk 0 in front, and with spaces or dashes.
_INDIAN_MOBILE = re.compile(r"^(?:\+?91|0)?([6-9]\d{9})$")
_E164 = re.compile(r"^\+[1-9]\d{7,14}$")  # ITU-T E.164: at most 15 digits
_EMAIL = re.compile(r"^[^@\s]{1,64}@[^@\s]+\.[^@\s]{2,}$")
# Anything that looks like an Indian mobile number inside a text (used to keep phone numbers out of bodies)
MOBILE_IN_TEXT = re.compile(r"(?<!\d)(?:\+?91[\s-]?|0)?[6-9]\d{4}[\s-]?\d{5}(?!\d)")


def normalise(channel: str, address: str, *, field: str = "address") -> str:
    """The canonical form of ``address`` for ``channel``, or :class:`ValidationFailed` naming the problem.

    Phone channels (sms, whatsapp): E.164 with ``+`` (``+919876543210``); a bare 10-digit Indian mobile number gets
    ``+91``. Email: trimmed, domain lower-cased. Other channels (``file`` and custom ones): trimmed text.
    """
    if not isinstance(address, str) or not address.strip():
        raise ValidationFailed("an address is required", details=[{"field": field, "problem": "empty"}])
    raw = address.strip()
    if channel in PHONE_CHANNELS:
        compact = re.sub(r"[\s\-().]", "", raw)
        match = _INDIAN_MOBILE.match(compact)
        if match:
            return "+91" + match.group(1)
        if _E164.match(compact) and not compact.startswith("+91"):
            return compact
        raise ValidationFailed(f"not a mobile number for {channel}",
                               details=[{"field": field, "problem": "expected a 10-digit Indian mobile number "
                                         "(6-9 then 9 digits, optionally +91) or an E.164 number (+<country>...)"}])
    if channel in EMAIL_CHANNELS:
        if len(raw) > 254 or not _EMAIL.match(raw):
            raise ValidationFailed("not an email address", details=[{"field": field,
                                                                    "problem": "expected name@domain.tld"}])
        local, _, domain = raw.rpartition("@")
        return f"{local}@{domain.lower()}"
    if len(raw) > 320:
        raise ValidationFailed("address too long", details=[{"field": field, "problem": "at most 320 characters"}])
    return raw


def mask(channel: str, address: str) -> str:
    """A form safe for screens and logs: ``98******21`` (phone), ``r***@example.org`` (email), ``ab***`` (other)."""
    if channel in PHONE_CHANNELS:
        national = address[3:] if address.startswith("+91") else address.lstrip("+")
        return national[:2] + "*" * max(len(national) - 4, 0) + national[-2:]
    if channel in EMAIL_CHANNELS and "@" in address:
        local, _, domain = address.rpartition("@")
        return f"{local[:1]}***@{domain}"
    return address[:2] + "***"


def mentions(text: str, address: str) -> bool:
    """Whether ``text`` contains ``address`` (a phone number in any spacing, or an email address)."""
    if "@" in address:
        return address.lower() in text.lower()
    digits = re.sub(r"\D", "", address)
    national = digits[-10:]
    return len(national) >= 8 and national in re.sub(r"\D", "", text)


@dataclass(frozen=True)
class AddressBox:
    """Encrypts, decrypts and hashes addresses with keys derived from the node's personal-data settings."""

    aead: AESGCM
    hash_key: bytes

    @classmethod
    def from_settings(cls, settings) -> "AddressBox":
        root = base64.urlsafe_b64decode(settings.pii_encryption_key.encode())
        key = HKDF(algorithm=hashes.SHA256(), length=32, salt=None,
                   info=b"jaldpi notification addresses v1").derive(root)
        return cls(AESGCM(key), settings.identity_hash_key.encode())

    def seal(self, row_id: uuid.UUID, address: str) -> bytes:
        """Layout: version byte 1, 12-byte random nonce, ciphertext with its 16-byte tag."""
        nonce = os.urandom(12)
        return b"\x01" + nonce + self.aead.encrypt(nonce, address.encode(), row_id.bytes)

    def open(self, row_id: uuid.UUID, blob: bytes) -> str:
        if blob[:1] != b"\x01":
            raise ValueError("unknown address ciphertext format")
        try:
            return self.aead.decrypt(blob[1:13], blob[13:], row_id.bytes).decode()
        except InvalidTag as exc:
            raise ValueError("address undecryptable with this node's key (or moved from another row)") from exc

    def hash(self, channel: str, address: str) -> str:
        """Keyed hash of a normalised address; the channel kind is part of it (a number on sms and whatsapp match)."""
        kind = "phone" if channel in PHONE_CHANNELS else "email" if channel in EMAIL_CHANNELS else channel
        return hmac.new(self.hash_key, f"{kind}:{address}".encode(), hashlib.sha256).hexdigest()
