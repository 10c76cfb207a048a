"""Client-minted record ids: UUIDv7 (RFC 9562), standard library only.

A state system that mints the id of each record when it first creates it in its own database, and keeps it, can
push the same records again and again: the node matches them by id, so a re-sent batch updates or ignores rather than
duplicating. That is what makes :meth:`RegistryClient.bulk_push` safe to retry after a lost answer.
"""

from __future__ import annotations

import os
import threading
import time
import uuid

_lock = threading.Lock()
_last = (0, 0)  # (unix milliseconds, 12-bit counter) of the last id minted in this process


def new_id() -> uuid.UUID:
    """A new UUIDv7: 48-bit Unix time in milliseconds, then a 12-bit counter and 62 random bits.

    Ids minted in one process increase strictly (RFC 9562 section 6.2, method 1: the counter orders ids of the same
    millisecond), so records pushed in minting order are also listed in that order (pages are ordered by id).
    """
    global _last
    with _lock:
        ms = time.time_ns() // 1_000_000
        last_ms, counter = _last
        if ms <= last_ms:  # same millisecond, or the clock stepped back: keep counting from the last id
            ms, counter = last_ms, counter + 1
            if counter > 0xFFF:  # counter exhausted: borrow the next millisecond
                ms, counter = ms + 1, 0
        else:
            counter = int.from_bytes(os.urandom(2), "big") & 0x3FF  # random start, leaving room to count up
        _last = (ms, counter)
    rand_b = int.from_bytes(os.urandom(8), "big") & ((1 << 62) - 1)
    value = (ms & ((1 << 48) - 1)) << 80 | 0x7 << 76 | counter << 64 | 0b10 << 62 | rand_b
    return uuid.UUID(int=value)
