"""Opaque keyset cursors. Pages are ordered by record id (UUIDv7, so creation order); a cursor is the last id seen.

Keyset pages cost the same at page 1 and page 10,000, unlike OFFSET; totals are computed only when asked for.
"""

from __future__ import annotations

import base64
import uuid

from jaldpi.core.errors import ValidationFailed


def encode_cursor(last_id: uuid.UUID) -> str:
    return base64.urlsafe_b64encode(last_id.bytes).decode().rstrip("=")


def decode_cursor(cursor: str) -> uuid.UUID:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        return uuid.UUID(bytes=raw)
    except (ValueError, TypeError) as exc:
        raise ValidationFailed("invalid cursor",
                               details=[{"field": "after", "problem": "not a cursor issued by this API"}]) from exc
