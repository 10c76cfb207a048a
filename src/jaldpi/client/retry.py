"""When the SDK sends a request again, and how long it waits first.

A request is retried only when sending it twice cannot do harm:

* **always**, when the node certainly did not run it: a connection that could not be opened (``ConnectError``,
  ``ConnectTimeout``, ``PoolTimeout``), or 429 ``rate_limited`` (the node's rate limiter answers before any endpoint
  runs; the wait is the node's ``Retry-After``);
* **only for idempotent requests**, when the node may or may not have run it: 502, 503, 504 from a gateway, a read
  timeout, a connection dropped mid-answer. Idempotent are reads (GET, HEAD), and bulk pushes that the node matches
  by client-minted ids with a strategy that converges (``create_and_update`` or ``update``): sending the same rows
  again updates nothing and adds no history (``ignored``). Dry runs write nothing, so they are idempotent too.

A single create (``POST``), a change (``PATCH``) or a delete is never retried blindly: if the first one was applied,
the second would fail (``already_exists``, ``version_conflict``, ``not_found``) or, without a version, apply twice.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

import httpx

#: The request never reached the node: safe to send again whatever it was.
NOT_SENT_ERRORS: tuple[type[Exception], ...] = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout)

#: Gateway and availability answers after which an idempotent request is sent again.
RETRYABLE_STATUSES = frozenset({502, 503, 504})

IDEMPOTENT_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


@dataclass(frozen=True)
class RetryPolicy:
    """How often and how patiently to retry (seconds).

    ``max_retries`` counts retries, not attempts (3: up to 4 requests). Waits grow exponentially from
    ``backoff_base`` up to ``backoff_max``, with jitter so that many clients do not retry in step. A 429's
    ``Retry-After`` is honoured as given, unless it exceeds ``max_retry_after``: then :class:`RateLimited` is raised
    at once with ``retry_after`` set, for the caller to schedule the work later instead of blocking.
    """

    max_retries: int = 3
    backoff_base: float = 0.5
    backoff_max: float = 30.0
    max_retry_after: float = 120.0

    def __post_init__(self) -> None:
        if self.max_retries < 0:
            raise ValueError("max_retries must be 0 or more")
        if self.backoff_base < 0 or self.backoff_max < 0 or self.max_retry_after < 0:
            raise ValueError("waits must be 0 or more seconds")

    def backoff(self, retry: int) -> float:
        """Seconds to wait before retry number ``retry`` (0-based): half fixed, half random ("equal jitter")."""
        ceiling = min(self.backoff_max, self.backoff_base * (2 ** retry))
        return ceiling / 2 + random.uniform(0, ceiling / 2)
