"""``FeedConsumer``: follow a node's change feed and never lose your place.

A consumer has a name and a :class:`~jaldpi.client.cursors.CursorStore`. Each poll reads the feed after the stored
cursor and calls your handler; the cursor is saved only after the handler has returned for a page (or, in batch
mode, for the batch), so a crash or a stop between two saves means some changes are handled again, never that one
is missed: delivery is **at least once**. Make the handler idempotent, e.g. upsert by ``change.record_id`` and
ignore a change whose ``version`` is not newer than the one you hold, or remember the highest ``seq`` applied.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

from jaldpi.client.cursors import CursorStore
from jaldpi.client.errors import NetworkError, RateLimited, ServerError
from jaldpi.client.models import Change

if TYPE_CHECKING:
    from jaldpi.client.connection import JaldpiClient

log = logging.getLogger("jaldpi.client.feed")

ChangeHandler = Callable[[Change], object]
BatchHandler = Callable[[list[Change]], object]

# Failures after which run() waits and polls again (the client already retried them): the node or the network is
# down for a while. Anything else (your handler's exception, a revoked grant) stops run() so that you see it.
TRANSIENT_ERRORS = (NetworkError, ServerError, RateLimited)


class FeedConsumer:
    """Reads the change feed after its stored cursor, hands the changes to a handler, then stores the new cursor.

    ``name`` identifies the consumer in the cursor store (one cursor per name). ``types`` and ``within`` filter the
    feed (record types; a jurisdiction such as ``district:745``); ``page_size`` is the number of changes per request
    (capped by the node). A consumer's filters should stay the same for its name: a cursor means "everything before
    it was handled" only for the filters it was read with.
    """

    def __init__(self, client: JaldpiClient, name: str, cursor_store: CursorStore, *,
                 types: Sequence[str] | None = None, within: str | None = None, page_size: int | None = None) -> None:
        if not name:
            raise ValueError("a feed consumer needs a name (the key of its cursor in the store)")
        self.client = client
        self.name = name
        self.store = cursor_store
        self.types = list(types) if types else None
        self.within = within
        self.page_size = page_size

    @property
    def cursor(self) -> str | None:
        """The stored cursor (None: the consumer starts from the beginning of the feed)."""
        return self.store.load(self.name)

    def reset(self, cursor: str | None) -> None:
        """Move the consumer: to a cursor (a change's ``cursor``), or to the beginning with None (a full replay)."""
        self.store.save(self.name, cursor or "")

    def poll(self, handler: ChangeHandler | BatchHandler, max_changes: int | None = None, *, batch: bool = False,
             stop: threading.Event | None = None) -> int:
        """Handle the changes after the stored cursor until the feed is caught up; return how many were handled.

        ``handler(change)`` is called for each change in feed order (``batch=True``: ``handler(changes)`` once per
        page). ``max_changes`` stops early, after that many changes. If the handler raises, the cursor of the last
        change it handled is saved and the exception propagates: the next poll starts with the failed change.
        ``stop`` (an event) ends the poll after the change being handled.
        """
        if max_changes is not None and max_changes < 1:
            raise ValueError("max_changes must be at least 1")
        cursor = self.store.load(self.name) or None
        handled = 0
        while not (stop is not None and stop.is_set()):
            limit = self.page_size
            if max_changes is not None:
                remaining = max_changes - handled
                limit = remaining if limit is None else min(limit, remaining)
            page = self.client.changes_page(after=cursor, types=self.types, within=self.within, limit=limit)
            if not page.items:
                break
            if batch:
                handler(page.items)  # type: ignore[arg-type]
                handled += len(page.items)
                cursor = page.next_cursor or page.items[-1].cursor
                self.store.save(self.name, cursor)
            else:
                done = self._handle_page(handler, page.items, stop)  # type: ignore[arg-type]
                handled += done
                if done == 0:
                    break
                cursor = page.next_cursor if done == len(page.items) and page.next_cursor else \
                    page.items[done - 1].cursor
                self.store.save(self.name, cursor)
                if done < len(page.items):
                    break  # stopped mid-page
            if not page.has_more or (max_changes is not None and handled >= max_changes):
                break
        return handled

    def _handle_page(self, handler: ChangeHandler, items: list[Change], stop: threading.Event | None) -> int:
        done = 0
        try:
            for change in items:
                if stop is not None and stop.is_set():
                    break
                handler(change)
                done += 1
        except BaseException:
            if done:  # keep the progress made: the changes before the failing one were handled
                self.store.save(self.name, items[done - 1].cursor)
            raise
        return done

    def run(self, handler: ChangeHandler | BatchHandler, interval: float = 5.0,
            stop: threading.Event | None = None, *, batch: bool = False) -> None:
        """Poll forever (or until ``stop`` is set): handle what is new, then wait ``interval`` seconds.

        Network failures and node errors (after the client's own retries) are logged and retried after
        ``interval``; an exception from the handler, or an authorisation error, ends ``run`` (the cursor keeps the
        progress made). Run it in a thread and set ``stop`` to end it cleanly after the change being handled.
        """
        stop = stop or threading.Event()
        while not stop.is_set():
            try:
                handled = self.poll(handler, batch=batch, stop=stop)
                if handled:
                    log.info("feed consumer %s: handled %d changes", self.name, handled)
            except TRANSIENT_ERRORS as exc:
                log.warning("feed consumer %s: %s; polling again in %.1f s", self.name, exc, interval)
            stop.wait(interval)
