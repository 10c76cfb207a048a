"""Webhook signatures, Stripe-style: ``X-Jaldpi-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256>``.

The node signs ``"<t>.<raw body>"`` with the subscription's secret (its UTF-8 bytes). Binding the timestamp into the
signed text lets a receiver refuse a captured request replayed later: :func:`verify_signature` rejects timestamps
more than ``tolerance_seconds`` away from its clock. Receivers should also drop events whose ``id`` they have
already processed (delivery is at least once).

This module imports only the standard library so that partners (and ``jaldpi.client``) can copy or re-export it.
"""

from __future__ import annotations

import hashlib
import hmac
import time

SIGNATURE_HEADER = "X-Jaldpi-Signature"
SCHEME = "v1"


class SignatureVerificationError(ValueError):
    """The signature header is missing, malformed, too old or too new, or matches no ``v1`` value."""


def _mac(secret: str | bytes, timestamp: int, raw_body: bytes) -> str:
    key = secret.encode() if isinstance(secret, str) else secret
    return hmac.new(key, str(timestamp).encode() + b"." + raw_body, hashlib.sha256).hexdigest()


def sign(secret: str | bytes, raw_body: bytes, timestamp: int | None = None) -> str:
    """The header value for ``raw_body`` signed at ``timestamp`` (unix seconds; default: now)."""
    t = int(time.time()) if timestamp is None else int(timestamp)
    return f"t={t},{SCHEME}={_mac(secret, t, raw_body)}"


def verify_signature(secret: str | bytes, header_value: str | None, raw_body: bytes, tolerance_seconds: int = 300,
                     now: float | None = None) -> int:
    """Check a ``X-Jaldpi-Signature`` header against the exact bytes received; return its timestamp.

    ``raw_body`` must be the body as received (before any JSON parsing). Several ``v1=`` values are accepted (any
    one matching is enough) so a sender can sign with an old and a new secret while rotating. ``tolerance_seconds``
    bounds the age (and the clock skew into the future) of the signature; 0 or less disables the check.
    Raises :class:`SignatureVerificationError` saying why the request must be rejected.
    """
    if not header_value:
        raise SignatureVerificationError(f"missing {SIGNATURE_HEADER} header")
    timestamp: int | None = None
    candidates: list[str] = []
    for part in header_value.split(","):
        key, sep, value = part.strip().partition("=")
        if not sep:
            continue
        if key == "t":
            try:
                timestamp = int(value)
            except ValueError as exc:
                raise SignatureVerificationError("signature timestamp is not an integer") from exc
        elif key == SCHEME:
            candidates.append(value.strip())
    if timestamp is None:
        raise SignatureVerificationError("signature header has no t= timestamp")
    if not candidates:
        raise SignatureVerificationError(f"signature header has no {SCHEME}= signature")
    current = time.time() if now is None else now
    if tolerance_seconds > 0 and abs(current - timestamp) > tolerance_seconds:
        raise SignatureVerificationError(f"signature timestamp {timestamp} is more than {tolerance_seconds} s away "
                                         "from now (replayed or clock skew)")
    expected = _mac(secret, timestamp, raw_body)
    if not any(hmac.compare_digest(expected, candidate) for candidate in candidates):
        raise SignatureVerificationError("signature does not match the body (wrong secret or altered body)")
    return timestamp


__all__ = ["SIGNATURE_HEADER", "SignatureVerificationError", "sign", "verify_signature"]
