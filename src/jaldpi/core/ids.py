"""Identifiers: client-mintable UUIDv7 (RFC 9562) and short human-readable codes.

UUIDv7 is time-ordered, so keyset pagination by id follows creation order and B-tree inserts stay local; a state
system or an offline phone can mint one without asking the node, with 74 random bits making collisions negligible.
"""

from __future__ import annotations

import uuid

from uuid6 import uuid7 as _uuid7

_CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"


def new_id() -> uuid.UUID:
    return uuid.UUID(int=_uuid7().int)


def mint_code(prefix: str, record_id: uuid.UUID) -> str:
    """A human code such as ``SCH-7K3M9Q2XWZ4P``: prefix plus 60 bits of the id in Crockford base32.

    The bits are the id's low 60 bits (random in UUIDv7), so the code is stable for a record and needs no counter;
    a unique constraint per registry catches the (about 1 in 10^9 at a million records) collision.
    """
    value = record_id.int & ((1 << 60) - 1)
    chars = []
    for _ in range(12):
        chars.append(_CROCKFORD[value & 31])
        value >>= 5
    return f"{prefix}-{''.join(reversed(chars))}"


def parse_uuid(value: object) -> uuid.UUID | None:
    if isinstance(value, uuid.UUID):
        return value
    if isinstance(value, str) and len(value) in (32, 36):
        try:
            return uuid.UUID(value)
        except ValueError:
            return None
    return None
