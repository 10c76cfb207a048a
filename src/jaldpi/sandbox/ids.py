"""Deterministic identifiers for synthetic records: UUIDv7 layout (RFC 9562) from a seeded RNG.

Real records get :func:`jaldpi.core.ids.new_id` (clock + OS randomness). Sandbox records must be identical for the
same seed, so their ids take the 48-bit timestamp from a fixed epoch advanced by one millisecond per id (ids stay
time-ordered in creation order, like real UUIDv7) and the 74 random bits from ``random.Random``.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import random
import uuid

from jaldpi.core.ids import mint_code

EPOCH_MS = int(dt.datetime(2024, 1, 1, tzinfo=dt.UTC).timestamp() * 1000)


class SeededIds:
    def __init__(self, seed: int) -> None:
        self.rng = random.Random(f"jaldpi-sandbox-ids:{seed}")
        self.ms = EPOCH_MS

    def __call__(self) -> uuid.UUID:
        self.ms += 1
        rand_a = self.rng.getrandbits(12)
        rand_b = self.rng.getrandbits(62)
        value = (self.ms << 80) | (0x7 << 76) | (rand_a << 64) | (0b10 << 62) | rand_b
        return uuid.UUID(int=value)


def habitation_code(village_lgd_code: int, record_id: uuid.UUID) -> str:
    """The node's habitation code shape (``HAB<village>-<6 chars>``), derived from the id instead of a fresh one."""
    return mint_code(f"HAB{village_lgd_code}", record_id)[:-6]


def lgd_unit_id(level: str, lgd_code: int) -> uuid.UUID:
    """A fixed id for a real LGD unit the sandbox loads (UUIDv7 layout, bits from a hash of level and code), so that
    a sandbox database is reproducible down to the parents of synthetic records."""
    bits = int.from_bytes(hashlib.sha256(f"lgd:{level}:{lgd_code}".encode()).digest()[:10], "big")
    rand_a, rand_b = (bits >> 62) & 0xFFF, bits & ((1 << 62) - 1)
    value = (EPOCH_MS << 80) | (0x7 << 76) | (rand_a << 64) | (0b10 << 62) | rand_b
    return uuid.UUID(int=value)
