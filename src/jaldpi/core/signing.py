"""Signed documents: compact JWS (RFC 7515) with Ed25519 (EdDSA, RFC 8037), and the node's public keys as JWKS.

Anyone can verify a document signed by a node with the node's public key alone (``/.well-known/jwks.json``), without
calling the node: a citizen holding a printed QR code, or another state's system holding a copy of the key set.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
from dataclasses import dataclass
from typing import Any

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from jaldpi.core.errors import ValidationFailed


def b64url(raw: bytes) -> str:
    """Unpadded base64url (RFC 7515 section 2), as JOSE writes keys and signatures."""
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


def b64url_decode(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


@dataclass
class SigningKey:
    private: Ed25519PrivateKey
    kid: str

    @classmethod
    def from_setting(cls, signing_key: str | None, fallback_secret: str) -> "SigningKey":
        """A PEM private key, a base64url 32-byte seed, or (development) a seed derived from the node secret."""
        if signing_key and signing_key.strip().startswith("-----BEGIN"):
            private = serialization.load_pem_private_key(signing_key.encode(), password=None)
            if not isinstance(private, Ed25519PrivateKey):
                raise ValueError("JALDPI_SIGNING_KEY must be an Ed25519 private key")
        elif signing_key:
            seed = b64url_decode(signing_key)
            if len(seed) != 32:
                raise ValueError("JALDPI_SIGNING_KEY must be a PEM key or 32 bytes base64url")
            private = Ed25519PrivateKey.from_private_bytes(seed)
        else:
            private = Ed25519PrivateKey.from_private_bytes(
                hashlib.sha256(b"jaldpi-signing-key\n" + fallback_secret.encode()).digest())
        public = private.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
        return cls(private, hashlib.sha256(public).hexdigest()[:16])

    def public_jwk(self) -> dict[str, str]:
        raw = self.private.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
        return {"kty": "OKP", "crv": "Ed25519", "x": b64url(raw), "kid": self.kid, "use": "sig", "alg": "EdDSA"}

    def sign(self, claims: dict[str, Any], *, issuer: str, document_type: str) -> str:
        body = {"iss": issuer, "iat": int(dt.datetime.now(dt.UTC).timestamp()), "typ": document_type, **claims}
        return jwt.encode(body, self.private, algorithm="EdDSA", headers={"kid": self.kid, "typ": "JWT"})


def jwks(keys: list[SigningKey]) -> dict[str, Any]:
    return {"keys": [k.public_jwk() for k in keys]}


@dataclass
class Verified:
    valid: bool
    kid: str | None
    claims: dict[str, Any] | None
    problem: str | None


def verify(token: str, key_set: dict[str, Any]) -> Verified:
    """Verify a compact JWS against a JWKS (dict). Never raises for a bad signature: says why instead."""
    try:
        header = jwt.get_unverified_header(token)
    except jwt.PyJWTError as exc:
        raise ValidationFailed(f"not a compact JWS: {exc}", code="malformed_document",
                               details=[{"field": "jws", "problem": str(exc)}]) from exc
    kid = header.get("kid")
    if header.get("alg") != "EdDSA":
        return Verified(False, kid, None, f"unsupported algorithm {header.get('alg')!r}; expected EdDSA")
    match = next((k for k in key_set.get("keys", []) if k.get("kid") == kid), None)
    if match is None:
        return Verified(False, kid, None, f"no key {kid!r} in the key set")
    if match.get("kty") != "OKP" or match.get("crv") != "Ed25519":
        return Verified(False, kid, None, f"key {kid!r} is not an Ed25519 key")
    try:
        public = Ed25519PublicKey.from_public_bytes(
            b64url_decode(match["x"]))
    except (KeyError, TypeError, ValueError) as exc:
        return Verified(False, kid, None, f"key {kid!r} in the key set is malformed: {exc}")
    try:
        claims = jwt.decode(token, public, algorithms=["EdDSA"], options={"verify_aud": False})
    except jwt.InvalidSignatureError:
        return Verified(False, kid, None,
                        "signature does not match: the document was altered or not signed by this key")
    except jwt.PyJWTError as exc:
        return Verified(False, kid, None, f"invalid: {exc}")
    return Verified(True, kid, claims, None)
