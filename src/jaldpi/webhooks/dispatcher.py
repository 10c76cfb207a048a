"""The webhook dispatcher: reads the change feed after each subscription's cursor and POSTs the events, in order.

Guarantees (docs/feed_and_webhooks.md):

* **Scoped like the feed.** Events are read with :func:`jaldpi.core.feed.read_changes` as the subscription's owner
  with the grants the owner holds *now*, within the subscription's ``within`` path; an inactive owner pauses it.
* **In order, at least once.** Per subscription, events go out in seq order. The HTTP call happens outside any
  database transaction; afterwards one short transaction writes the delivery row and moves the cursor. A crash
  between the two re-sends the event (same event ``id``; receivers dedupe on it) and never loses or double-marks one.
* **Retries with backoff, then a dead letter.** A failed event (non-2xx, timeout, connection error) is retried after
  ``random() * min(max, base * 2**(attempt-1))`` seconds (exponential backoff with full jitter) and holds back the
  later events of its subscription while it is retried. After ``webhook_max_attempts`` it becomes a dead letter
  and the subscription moves on: one poison event never blocks a partner for ever.
* **One dispatcher per subscription.** A dispatcher claims a subscription with a lease (``leased_until``,
  ``lease_token``) taken with ``SELECT ... FOR UPDATE SKIP LOCKED`` on PostgreSQL (SQLite: the single-writer lock
  serialises the claim), renews it after every event, and writes only while its token still holds.
"""

from __future__ import annotations

import datetime as dt
import logging
import random
import threading
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import httpx
import orjson
from sqlalchemy import and_, insert, or_, select, update
from sqlalchemy.orm import Session

from jaldpi import __version__
from jaldpi.core.bulkio import json_default
from jaldpi.core.db import Database
from jaldpi.core.errors import ValidationFailed
from jaldpi.core.feed import FeedTypes, read_change, read_changes
from jaldpi.core.ids import new_id
from jaldpi.core.models import utcnow
from jaldpi.webhooks.models import WebhookDelivery, WebhookSubscription
from jaldpi.webhooks.service import EventFilter, SecretBox, check_url, owner_principal
from jaldpi.webhooks.signing import SIGNATURE_HEADER, sign

_FEED_CHUNK = 100  # change-log entries read per query while catching up
log = logging.getLogger("jaldpi.webhooks")


@dataclass(frozen=True)
class Outcome:
    ok: bool
    status_code: int | None
    error: str | None


class Sender:
    """POSTs signed events. No redirects are followed (a redirect would bypass the URL checks): 3xx is a failure."""

    def __init__(self, *, timeout_s: float, allow_private: bool, client: httpx.Client | None = None) -> None:
        self.allow_private = allow_private
        self.client = client or httpx.Client(timeout=timeout_s, follow_redirects=False,
                                             headers={"User-Agent": f"jaldpi-webhooks/{__version__}"})

    def post(self, url: str, secret: str, body: bytes, *, event_type: str, delivery_id: uuid.UUID) -> Outcome:
        if not self.allow_private:
            try:  # checked again at send time: DNS may have changed since the subscription was created
                check_url(url, allow_private=False)
            except ValidationFailed as exc:
                return Outcome(False, None, exc.message[:500])
        headers = {"Content-Type": "application/json", "X-Jaldpi-Event": event_type,
                   "X-Jaldpi-Delivery": str(delivery_id), SIGNATURE_HEADER: sign(secret, body)}
        try:
            response = self.client.post(url, content=body, headers=headers)
        except httpx.HTTPError as exc:
            return Outcome(False, None, f"{type(exc).__name__}: {exc}"[:500])
        if 200 <= response.status_code < 300:
            return Outcome(True, response.status_code, None)
        return Outcome(False, response.status_code, f"HTTP {response.status_code}: {response.text[:200]}")

    def close(self) -> None:
        self.client.close()


def event_body(node_id: str, subscription_id: uuid.UUID, created_at: dt.datetime, item: dict[str, Any]) -> bytes:
    """The JSON body of one event: stable across retries (same id, created_at and data)."""
    return orjson.dumps({
        "id": f"{node_id}:{item['seq']}", "type": f"{item['record_type']}.{item['operation']}",
        "subscription_id": str(subscription_id), "created_at": _aware(created_at), "data": item,
    }, default=json_default, option=orjson.OPT_UTC_Z)


def _aware(value: dt.datetime | None) -> dt.datetime | None:
    if value is None:
        return None
    return value.replace(tzinfo=dt.UTC) if value.tzinfo is None else value.astimezone(dt.UTC)


@dataclass
class DispatchReport:
    subscriptions: int = 0
    delivered: int = 0
    failed: int = 0
    dead: int = 0
    paused: int = 0
    errors: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {"subscriptions": self.subscriptions, "delivered": self.delivered, "failed": self.failed,
                "dead": self.dead, "paused": self.paused, "errors": self.errors}


class _LeaseLost(Exception):
    """Another dispatcher (after our lease expired) or a replay moved the subscription under us: stop quietly."""


class Dispatcher:
    def __init__(self, db: Database, settings: Any, feed_types: FeedTypes,
                 role_permissions: Mapping[str, frozenset[str]], *, sender: Sender | None = None,
                 jitter: Callable[[], float] = random.random) -> None:
        self.db = db
        self.settings = settings
        self.feed_types = feed_types
        self.role_permissions = role_permissions
        self.box = SecretBox(settings.pii_encryption_key)
        self.sender = sender or Sender(timeout_s=settings.webhook_timeout_seconds,
                                       allow_private=settings.webhook_private_targets_allowed)
        self.jitter = jitter

    @classmethod
    def from_node(cls, node: Any, **kwargs: Any) -> "Dispatcher":
        return cls(node.db, node.settings, node.extras["feed_types"], node.role_permissions, **kwargs)

    def close(self) -> None:
        self.sender.close()

    # -------------------------------------------------------------------------------------------- scheduling

    def backoff_seconds(self, attempts: int) -> float:
        """Wait before attempt ``attempts + 1``: full jitter over an exponentially growing, capped window."""
        window = min(self.settings.webhook_backoff_max_seconds,
                     self.settings.webhook_backoff_base_seconds * 2 ** (attempts - 1))
        return self.jitter() * window

    def run_once(self, now: dt.datetime | None = None) -> DispatchReport:
        """Give every active subscription one turn (up to ``webhook_batch_size`` events each) and return.

        ``now`` fixes the clock that schedules and records attempts (tests use it to be past a backoff without
        sleeping); absent, the wall clock is read at every step. Leases always follow the wall clock.
        """
        fixed = now.astimezone(dt.UTC) if now is not None else None
        report = DispatchReport()
        done: set[uuid.UUID] = set()
        while True:
            claimed = self._claim(done)
            if claimed is None:
                return report
            sub_id, token = claimed
            done.add(sub_id)
            report.subscriptions += 1
            try:
                self._work(sub_id, token, fixed, report)
            except _LeaseLost:
                pass
            except Exception as exc:  # one subscription's trouble (a database hiccup) must not stop the others
                log.exception("webhook dispatch failed for subscription %s", sub_id)
                report.errors.append(f"{sub_id}: {type(exc).__name__}: {exc}"[:500])
            finally:
                self._release(sub_id, token)

    def run_forever(self, interval_s: float, stop: threading.Event | None = None,
                    on_report: Callable[[DispatchReport], None] | None = None) -> None:
        stop = stop or threading.Event()
        while not stop.is_set():
            report = self.run_once()
            if on_report is not None:
                on_report(report)
            stop.wait(interval_s)

    # -------------------------------------------------------------------------------------------- leases

    def _claim(self, done: set[uuid.UUID]) -> tuple[uuid.UUID, str] | None:
        S = WebhookSubscription
        with self.db.unit_of_work() as session:
            stmt = (select(S.id).where(S.active.is_(True),
                                       or_(S.leased_until.is_(None), S.leased_until < utcnow()))
                    .order_by(S.id).limit(1).with_for_update(skip_locked=True))
            if done:
                stmt = stmt.where(S.id.notin_(done))
            sub_id = session.execute(stmt).scalar_one_or_none()
            if sub_id is None:
                return None
            token = str(uuid.uuid4())
            session.execute(update(S).where(S.id == sub_id).values(leased_until=self._lease_end(),
                                                                   lease_token=token))
        return sub_id, token

    def _lease_end(self) -> dt.datetime:
        # leases follow the wall clock, whatever ``now`` a caller schedules retries with
        return utcnow() + dt.timedelta(seconds=self.settings.webhook_lease_seconds)

    def _release(self, sub_id: uuid.UUID, token: str) -> None:
        S = WebhookSubscription
        with self.db.unit_of_work() as session:
            session.execute(update(S).where(S.id == sub_id, S.lease_token == token)
                            .values(leased_until=None, lease_token=None))

    def _renew(self, session: Session, sub_id: uuid.UUID, token: str, **values: Any) -> None:
        """Renew the lease (and apply ``values``) only while our token holds; else :class:`_LeaseLost`."""
        S = WebhookSubscription
        conditions = [S.id == sub_id, S.lease_token == token]
        if "cursor_seq" in values:  # compare-and-set: a replay that moved the cursor wins
            conditions.append(S.cursor_seq == values.pop("expected_cursor"))
        result = session.execute(update(S).where(and_(*conditions))
                                 .values(leased_until=self._lease_end(), **values))
        if result.rowcount != 1:
            raise _LeaseLost()

    # -------------------------------------------------------------------------------------------- delivery

    def _work(self, sub_id: uuid.UUID, token: str, fixed_now: dt.datetime | None, report: DispatchReport) -> None:
        budget = self.settings.webhook_batch_size
        while budget > 0:
            now = fixed_now or utcnow()
            with self.db.unit_of_work(write=False) as session:
                sub = session.get(WebhookSubscription, sub_id)
                if sub is None or sub.lease_token != token or not sub.active:
                    return
                owner = owner_principal(session, sub.owner, self.role_permissions)
                if owner is None:
                    report.paused += 1
                    if sub.paused_reason is None:
                        with self.db.unit_of_work() as write:
                            self._renew(write, sub_id, token, paused_reason="owner account inactive or missing")
                    return
                try:
                    secret = self.box.open(sub.id, sub.secret_ciphertext)
                except ValueError as exc:
                    report.errors.append(f"{sub.id}: {exc}")
                    return
                events = EventFilter(tuple(sub.event_types))
                url, within, cursor, was_paused = sub.url, sub.within_path, sub.cursor_seq, sub.paused_reason
                D = WebhookDelivery
                pending = session.execute(
                    select(D.id, D.seq, D.attempts, D.created_at, D.event_type, D.next_attempt_at)
                    .where(D.subscription_id == sub_id, D.kind == "event", D.status == "failed")
                    .order_by(D.seq).limit(1)).first()
                if pending is not None:
                    item = read_change(session, self.feed_types, owner, pending.seq)
                    page = None
                else:
                    item = None
                    page = read_changes(session, self.feed_types, owner, after_seq=cursor,
                                        types=events.record_types(), within=within, limit=min(budget, _FEED_CHUNK))
            if was_paused is not None:
                with self.db.unit_of_work() as write:
                    self._renew(write, sub_id, token, paused_reason=None)

            if pending is not None:
                if _aware(pending.next_attempt_at) > now:
                    return  # the failing event is waiting for its next attempt: later events wait with it
                still_wanted = (item is not None and item["lgd_path"].startswith(within)
                                and events.matches(item["record_type"], item["operation"]))
                self._retry(sub_id, token, url, secret, pending, item if still_wanted else None, now, report)
                budget -= 1
                continue

            if not page.items:
                return  # caught up
            for item in page.items:
                if not events.matches(item["record_type"], item["operation"]):
                    continue
                ok = self._first_attempt(sub_id, token, url, secret, cursor, item, fixed_now or utcnow(), report)
                cursor = item["seq"]
                budget -= 1
                if not ok or budget == 0:
                    break
            else:
                if cursor < page.last_seq:  # the page ended with events this subscription does not want
                    with self.db.unit_of_work() as write:
                        self._renew(write, sub_id, token, cursor_seq=page.last_seq, expected_cursor=cursor)

    def _first_attempt(self, sub_id: uuid.UUID, token: str, url: str, secret: str, cursor: int,
                       item: dict[str, Any], now: dt.datetime, report: DispatchReport) -> bool:
        delivery_id = new_id()
        event_type = f"{item['record_type']}.{item['operation']}"
        outcome = self.sender.post(url, secret, event_body(self.settings.node_id, sub_id, now, item),
                                   event_type=event_type, delivery_id=delivery_id)
        status, next_at = self._after(outcome, 1, now, report)
        with self.db.unit_of_work() as session:
            # the cursor moves and the delivery is recorded together, or neither (then the event is sent again)
            self._renew(session, sub_id, token, cursor_seq=item["seq"], expected_cursor=cursor)
            session.execute(insert(WebhookDelivery).values(
                id=delivery_id, subscription_id=sub_id, kind="event", seq=item["seq"],
                event_id=f"{self.settings.node_id}:{item['seq']}", event_type=event_type, status=status, attempts=1,
                next_attempt_at=next_at, last_attempt_at=now, last_status_code=outcome.status_code,
                last_error=outcome.error, created_at=now, delivered_at=now if outcome.ok else None))
        return outcome.ok

    def _retry(self, sub_id: uuid.UUID, token: str, url: str, secret: str, pending: Any,
               item: dict[str, Any] | None, now: dt.datetime, report: DispatchReport) -> None:
        D = WebhookDelivery
        same = and_(D.id == pending.id, D.status == "failed", D.attempts == pending.attempts)
        if item is None:
            with self.db.unit_of_work() as session:
                self._renew(session, sub_id, token)
                session.execute(update(D).where(same).values(
                    status="cancelled", next_attempt_at=None,
                    last_error="no longer visible to the owner or no longer matching the subscription"))
            return
        attempts = pending.attempts + 1
        outcome = self.sender.post(url, secret, event_body(self.settings.node_id, sub_id, pending.created_at, item),
                                   event_type=pending.event_type, delivery_id=pending.id)
        status, next_at = self._after(outcome, attempts, now, report)
        with self.db.unit_of_work() as session:
            self._renew(session, sub_id, token)
            session.execute(update(D).where(same).values(
                status=status, attempts=attempts, next_attempt_at=next_at, last_attempt_at=now,
                last_status_code=outcome.status_code, last_error=outcome.error,
                delivered_at=now if outcome.ok else None))

    def _after(self, outcome: Outcome, attempts: int, now: dt.datetime,
               report: DispatchReport) -> tuple[str, dt.datetime | None]:
        if outcome.ok:
            report.delivered += 1
            return "delivered", None
        if attempts >= self.settings.webhook_max_attempts:
            report.dead += 1
            return "dead", None
        report.failed += 1
        return "failed", now + dt.timedelta(seconds=self.backoff_seconds(attempts))


# ------------------------------------------------------------------------------------------------ ping

def ping(db: Database, sender: Sender, node_id: str, subscription_id: uuid.UUID, url: str, secret: str,
         now: dt.datetime | None = None) -> WebhookDelivery:
    """Send a ``ping`` event now (one attempt, no retry) and record it in the delivery log."""
    now = now or utcnow()
    delivery_id = new_id()
    body = orjson.dumps({"id": f"{node_id}:ping:{delivery_id}", "type": "ping",
                         "subscription_id": str(subscription_id), "created_at": now,
                         "data": {"message": "ping from jaldpi node " + node_id}},
                        default=json_default, option=orjson.OPT_UTC_Z)
    outcome = sender.post(url, secret, body, event_type="ping", delivery_id=delivery_id)
    delivery = WebhookDelivery(
        id=delivery_id, subscription_id=subscription_id, kind="ping", seq=None,
        event_id=f"{node_id}:ping:{delivery_id}",
        event_type="ping", status="delivered" if outcome.ok else "failed", attempts=1, next_attempt_at=None,
        last_attempt_at=now, last_status_code=outcome.status_code, last_error=outcome.error, created_at=now,
        delivered_at=now if outcome.ok else None)
    with db.unit_of_work() as session:
        session.add(delivery)
    return delivery
