"""Notifications: queue in the caller's unit of work, send later from the outbox.

Other domains call :func:`queue_message` (one address) or :func:`notify_role` (the staff holding a role nearest to
a place) inside the unit of work that makes the change they announce, so the message commits with the change or
not at all (no dual writes, docs/decisions/0012-notification-outbox.md). :func:`dispatch_pending` sends what is
due through the configured channel backends in its own short units of work, retries with exponential backoff and
gives up (``dead``) after ``notification_max_attempts``. Operators list the outbox and retry dead messages.

Privacy: addresses are stored encrypted, shown masked, and never logged; a rendered message that contains a phone
number is refused when it is queued (a body may name a grievance reference, never the citizen's number).
"""

from __future__ import annotations

import datetime as dt
import logging
import uuid
from typing import Any

from sqlalchemy import Select, func, select, update
from sqlalchemy.orm import Session

from jaldpi.accounts.models import Account, AccountGrant
from jaldpi.core.db import Database
from jaldpi.core.errors import Conflict, Forbidden, NotFound, Unauthenticated, ValidationFailed
from jaldpi.core.ids import new_id, parse_uuid
from jaldpi.core.models import as_utc as _aware
from jaldpi.core.models import utcnow
from jaldpi.core.pagination import decode_cursor, encode_cursor
from jaldpi.core.security import ROOT_PATH, Principal, scope_clause
from jaldpi.notifications import rendering
from jaldpi.notifications.addresses import MOBILE_IN_TEXT, AddressBox, mask, mentions, normalise
from jaldpi.notifications.channels import Channel, ChannelError, OutgoingMessage, build_channel
from jaldpi.notifications.models import OUTBOX_STATUSES, NotificationContact, NotificationOutbox

log = logging.getLogger("jaldpi.notifications")

MANAGE = "notifications:manage"
USERS_MANAGE = "users:manage"
LANGUAGES = rendering.LANGUAGES
_CLAIM_BATCH = 10  # messages claimed per transaction: lease (300 s) > batch x send timeout (15 s), with margin


def render(template: str, language: str, context: dict) -> tuple[str | None, str]:
    """``(subject, body)`` of ``template`` in ``language`` (Hindi falls back to English); see :mod:`.rendering`."""
    return rendering.render(template, language, context)


# ------------------------------------------------------------------------------------------------------ queueing

def _check_channel(settings: Any, channel: str, field: str = "channel") -> None:
    if channel not in settings.notification_channels:
        raise ValidationFailed(f"unknown notification channel {channel!r}",
                               details=[{"field": field, "problem": "one of "
                                         f"{sorted(settings.notification_channels)} (notification_channels)"}])


def _check_path(lgd_path: str | None) -> str:
    if lgd_path is None:
        return ROOT_PATH
    if not isinstance(lgd_path, str) or not lgd_path.startswith("/") or not lgd_path.endswith("/"):
        raise ValidationFailed("lgd_path must be a jurisdiction path such as /S28/D745/",
                               details=[{"field": "lgd_path", "problem": "expected /.../"}])
    return lgd_path


def queue_message(session: Session, settings: Any, *, channel: str, address: str, template: str, context: dict,
                  language: str = "en", subject_type: str | None = None, subject_id: str | None = None,
                  lgd_path: str | None = None) -> uuid.UUID:
    """Render ``template`` now and queue it for ``address`` in the caller's unit of work; returns the message id.

    Refused with :class:`ValidationFailed` (nothing queued): an unknown channel, an address that is not one for the
    channel, a missing template or context variable, or a rendered text containing a phone number or the
    recipient's address. ``lgd_path`` (the place the message is about) scopes who sees it in the outbox; without it
    only national operators do. The message is sent by the next :func:`dispatch_pending`.
    """
    if session.info.get("write") is False:
        raise RuntimeError("queue_message needs a writing unit of work (db.unit_of_work()), or the message would "
                           "be rolled back")
    _check_channel(settings, channel)
    path = _check_path(lgd_path)
    clear = normalise(channel, address)
    subject, body = render(template, language, context)
    _refuse_personal_numbers(subject, body, clear)
    message_id = new_id()
    box = AddressBox.from_settings(settings)
    now = utcnow()
    session.add(NotificationOutbox(
        id=message_id, channel=channel, address_ciphertext=box.seal(message_id, clear),
        address_hash=box.hash(channel, clear), address_masked=mask(channel, clear), template=template,
        language=language, subject=subject, body=body, subject_type=subject_type,
        subject_id=None if subject_id is None else str(subject_id), lgd_path=path, status="queued", attempts=0,
        next_attempt_at=now, created_at=now))
    session.flush()
    return message_id


def _refuse_personal_numbers(subject: str | None, body: str, address: str) -> None:
    text = f"{subject or ''}\n{body}"
    if MOBILE_IN_TEXT.search(text) or mentions(text, address):
        raise ValidationFailed("a notification must not contain a phone number or the recipient's address",
                               details=[{"field": "context", "problem": "the rendered text contains a phone "
                                         "number or the address; send a reference (e.g. the grievance code) instead"}])


def grant_paths_above(lgd_path: str) -> list[str]:
    """Every jurisdiction path that contains ``lgd_path``, from ``/`` down to itself (``/S28/``, ``/S28/D745/``...)."""
    parts = [p for p in lgd_path.split("/") if p]
    return [ROOT_PATH] + ["/" + "/".join(parts[:i]) + "/" for i in range(1, len(parts) + 1)]


def notify_role(session: Session, settings: Any, *, role: str, lgd_path: str, template: str, context: dict,
                subject_type: str | None = None, subject_id: str | None = None, nearest_only: bool = True) -> int:
    """Queue ``template`` for every contact of the active accounts holding ``role`` over ``lgd_path``.

    An account qualifies when one of its grants of ``role`` has a path that contains ``lgd_path``. With
    ``nearest_only`` only the accounts at the deepest such path are notified (the village's operator, not also the
    block's and the district's), which is who acts first; otherwise all of them. Each contact gets the message in
    its own language. Returns how many messages were queued; 0 (nobody holds the role there, or nobody has a
    contact on file) is logged without personal data and is not an error.
    """
    from jaldpi.standard.codelists import effective_codes

    if role not in effective_codes("roles"):
        raise ValidationFailed(f"unknown role {role}", details=[{"field": "role", "problem": "not in code list roles"}])
    path = _check_path(lgd_path)
    holders = session.execute(
        select(AccountGrant.account_id, AccountGrant.lgd_path).join(Account, Account.id == AccountGrant.account_id)
        .where(AccountGrant.role == role, AccountGrant.lgd_path.in_(grant_paths_above(path)),
               Account.active.is_(True))).all()
    if nearest_only and holders:
        deepest = max(len(p) for _, p in holders)
        holders = [(a, p) for a, p in holders if len(p) == deepest]
    account_ids = sorted({a for a, _ in holders})
    if not account_ids:
        log.info("notify_role: no active account holds %s over %s (template %s)", role, path, template)
        return 0
    contacts = session.execute(select(NotificationContact).where(NotificationContact.account_id.in_(account_ids))
                               .order_by(NotificationContact.account_id, NotificationContact.id)).scalars().all()
    box = AddressBox.from_settings(settings)
    rendered: dict[str, tuple[str | None, str]] = {}
    queued = 0
    for contact in contacts:
        if contact.channel not in settings.notification_channels:
            log.warning("notify_role: contact %s uses channel %s, no longer configured: skipped", contact.id,
                        contact.channel)
            continue
        if contact.language not in rendered:  # render once per language; the check is the same for every contact
            rendered[contact.language] = render(template, contact.language, context)
        try:
            address = box.open(contact.id, contact.address_ciphertext)
        except ValueError:
            log.warning("notify_role: contact %s cannot be decrypted with this node's key: skipped", contact.id)
            continue
        queue_message(session, settings, channel=contact.channel, address=address, template=template,
                      context=context, language=contact.language, subject_type=subject_type,
                      subject_id=subject_id, lgd_path=path)
        queued += 1
    if not queued:
        log.info("notify_role: %d account(s) hold %s over %s but none has a contact on file (template %s)",
                 len(account_ids), role, path, template)
    return queued


# ------------------------------------------------------------------------------------------------------ dispatch

def backoff_seconds(settings: Any, attempts: int) -> float:
    """Wait after the ``attempts``-th failed attempt: ``base * 2**(attempts-1)``, capped (settings)."""
    return min(settings.notification_backoff_max_seconds,
               settings.notification_backoff_base_seconds * 2 ** max(attempts - 1, 0))


def _claim(db: Database, settings: Any, size: int, now: dt.datetime, done: set[uuid.UUID],
           token: str) -> list[Any]:
    """Take up to ``size`` due messages: attempts + 1, leased to ``token`` until now + lease.

    PostgreSQL: ``FOR UPDATE SKIP LOCKED`` lets two dispatchers claim disjoint batches at once. SQLite: the writing
    unit of work begins IMMEDIATE, so claims queue behind each other. The lease moves ``next_attempt_at`` forward,
    so a claimed message is not due for anyone else until the lease ends (a dispatcher that died mid-send).
    """
    Outbox = NotificationOutbox
    with db.unit_of_work() as session:
        stmt = (select(Outbox.id).where(Outbox.status.in_(("queued", "failed")), Outbox.next_attempt_at <= now)
                .order_by(Outbox.next_attempt_at, Outbox.id).limit(size).with_for_update(skip_locked=True))
        if done:
            stmt = stmt.where(Outbox.id.notin_(done))
        ids = list(session.execute(stmt).scalars())
        if not ids:
            return []
        session.execute(update(Outbox).where(Outbox.id.in_(ids)).values(
            attempts=Outbox.attempts + 1, claim_token=token,
            next_attempt_at=now + dt.timedelta(seconds=settings.notification_lease_seconds)))
        return session.execute(select(Outbox.id, Outbox.channel, Outbox.address_ciphertext, Outbox.address_masked,
                                      Outbox.template, Outbox.language, Outbox.subject, Outbox.body, Outbox.attempts)
                               .where(Outbox.id.in_(ids)).order_by(Outbox.id)).all()


def _scrub(text: str, address: str, masked: str) -> str:
    """Keep the address out of a stored error (an SMTP server may quote it back)."""
    for form in sorted({address, address.lstrip("+"), address[-10:]}, key=len, reverse=True):  # longest first
        if len(form) >= 6:
            text = text.replace(form, masked)
    return text[:500]


def dispatch_pending(db: Database, settings: Any, *, limit: int = 500, now: dt.datetime | None = None) -> dict:
    """Send up to ``limit`` due messages; returns ``{"claimed", "sent", "failed", "dead"}``.

    Each message is claimed in a short transaction, sent outside any transaction, and its outcome written in
    another (only while this dispatcher's claim holds). A failure is retried after :func:`backoff_seconds`; a
    permanent refusal, or the last allowed attempt, makes it ``dead``. ``now`` fixes the clock (tests use it to be
    past a backoff without sleeping). Safe to run in several processes at once.
    """
    fixed = now.astimezone(dt.UTC) if now is not None else None
    counts = {"claimed": 0, "sent": 0, "failed": 0, "dead": 0}
    box = AddressBox.from_settings(settings)
    channels: dict[str, Channel | ChannelError] = {}
    done: set[uuid.UUID] = set()
    token = str(uuid.uuid4())
    try:
        while counts["claimed"] < limit:
            batch = _claim(db, settings, min(_CLAIM_BATCH, limit - counts["claimed"]), fixed or utcnow(), done,
                           token)
            if not batch:
                break
            for row in batch:
                done.add(row.id)
                counts["claimed"] += 1
                counts[_send_one(db, settings, box, channels, row, token, fixed)] += 1
    finally:
        for channel in channels.values():
            close = getattr(channel, "close", None)
            if callable(close):
                close()
    if counts["claimed"]:
        log.info("notifications dispatched: %s", counts)
    return counts


def _send_one(db: Database, settings: Any, box: AddressBox, channels: dict[str, Channel | ChannelError], row: Any,
              token: str, fixed: dt.datetime | None) -> str:
    address = ""
    try:
        address = box.open(row.id, row.address_ciphertext)
        channel = channels.get(row.channel)
        if channel is None:
            try:
                channel = channels[row.channel] = build_channel(settings, row.channel)
            except ChannelError as exc:
                channel = channels[row.channel] = exc  # a misconfigured backend fails every message of the pass
        if isinstance(channel, ChannelError):
            raise channel
        provider_id = channel.send(OutgoingMessage(row.id, row.channel, address, row.template, row.language,
                                                   row.subject, row.body))
        error, permanent = None, False
    except ValueError as exc:  # undecryptable address: no retry can fix it
        provider_id, error, permanent = None, str(exc), True
    except ChannelError as exc:
        provider_id, error, permanent = None, str(exc), exc.permanent
    except Exception as exc:  # a backend bug must not stop the pass: the message is retried like any failure
        log.exception("notification backend raised for message %s", row.id)
        provider_id, error, permanent = None, f"{type(exc).__name__}: {exc}", False
    now = fixed or utcnow()
    Outbox = NotificationOutbox
    if error is None:
        outcome = "sent"
        values: dict[str, Any] = {"status": "sent", "sent_at": now, "provider_message_id": (provider_id or "")[:200],
                                  "last_error": None}
    else:
        error = _scrub(error, address, row.address_masked) if address else error[:500]
        outcome = "dead" if permanent or row.attempts >= settings.notification_max_attempts else "failed"
        values = {"status": outcome, "last_error": error}
        if outcome == "failed":
            values["next_attempt_at"] = now + dt.timedelta(seconds=backoff_seconds(settings, row.attempts))
        log.warning("notification %s via %s attempt %d: %s (%s)", row.id, row.channel, row.attempts, outcome, error)
    with db.unit_of_work() as session:
        result = session.execute(update(Outbox).where(Outbox.id == row.id, Outbox.claim_token == token)
                                 .values(claim_token=None, **values))
    if result.rowcount != 1:  # our lease ran out and another dispatcher took the message over: its outcome counts
        log.warning("notification %s: claim lost before the outcome was recorded", row.id)
    return outcome


def dispatch_after_response(background_tasks: Any, node: Any) -> None:
    """Send pending messages right after the response (FastAPI ``BackgroundTasks``), i.e. after the request's
    commit; whatever fails there is retried by ``jaldpi notifications dispatch``."""
    background_tasks.add_task(_dispatch_quietly, node.db, node.settings)


def _dispatch_quietly(db: Database, settings: Any) -> None:
    try:
        dispatch_pending(db, settings, limit=100)
    except Exception:  # a background task has no caller to tell: the dispatch job picks the messages up later
        log.exception("background notification dispatch failed")


# -------------------------------------------------------------------------------------------------- the outbox

def outbox_dict(message: NotificationOutbox) -> dict[str, Any]:
    """An outbox message for operators: the address masked, never in clear."""
    return {"id": str(message.id), "channel": message.channel, "address_masked": message.address_masked,
            "template": message.template, "language": message.language, "subject": message.subject,
            "body": message.body, "subject_type": message.subject_type, "subject_id": message.subject_id,
            "lgd_path": message.lgd_path, "status": message.status, "attempts": message.attempts,
            "next_attempt_at": _aware(message.next_attempt_at) if message.status in ("queued", "failed") else None,
            "last_error": message.last_error, "provider_message_id": message.provider_message_id,
            "created_at": _aware(message.created_at), "sent_at": _aware(message.sent_at)}


def _require_manager(principal: Principal) -> list[str]:
    if principal.is_anonymous:
        raise Unauthenticated("sign in to see the notification outbox")
    scope = principal.scope(MANAGE)
    if not scope:
        raise Forbidden(f"{MANAGE} is needed to see the notification outbox")
    return scope


def outbox_query(principal: Principal, *, status: str | None = None, channel: str | None = None,
                 template: str | None = None, subject_type: str | None = None,
                 subject_id: str | None = None) -> Select:
    """Messages the principal may see (``notifications:manage`` over their ``lgd_path``), filtered."""
    Outbox = NotificationOutbox
    stmt = select(Outbox).where(scope_clause(Outbox.lgd_path, _require_manager(principal)))
    if status is not None:
        if status not in OUTBOX_STATUSES:
            raise ValidationFailed(f"unknown status {status}",
                                   details=[{"field": "status", "problem": f"one of {list(OUTBOX_STATUSES)}"}])
        stmt = stmt.where(Outbox.status == status)
    for column, value in ((Outbox.channel, channel), (Outbox.template, template), (Outbox.subject_type, subject_type),
                          (Outbox.subject_id, subject_id)):
        if value is not None:
            stmt = stmt.where(column == value)
    return stmt


def list_outbox(session: Session, principal: Principal, *, limit: int, after: str | None = None,
                **filters: str | None) -> dict[str, Any]:
    """One keyset page (oldest first, by id) of the outbox: ``{"items", "next_cursor"}``."""
    Outbox = NotificationOutbox
    stmt = outbox_query(principal, **filters).order_by(Outbox.id).limit(limit + 1)
    if after:
        stmt = stmt.where(Outbox.id > decode_cursor(after))
    rows = session.execute(stmt).scalars().all()
    more = len(rows) > limit
    return {"items": [outbox_dict(m) for m in rows[:limit]],
            "next_cursor": encode_cursor(rows[limit - 1].id) if more else None}


def _visible_message(session: Session, principal: Principal, message_id: str) -> NotificationOutbox:
    scope = _require_manager(principal)
    parsed = parse_uuid(message_id)
    message = session.get(NotificationOutbox, parsed) if parsed else None
    if message is None or not any(message.lgd_path.startswith(p) for p in scope):
        raise NotFound(f"no notification {message_id}")  # out of jurisdiction answers the same: no oracle
    return message


def retry_message(session: Session, principal: Principal, message_id: str,
                  now: dt.datetime | None = None) -> dict[str, Any]:
    """Give a dead message a fresh set of attempts (``queued``, due now); the last error stays for the record."""
    message = _visible_message(session, principal, message_id)
    if message.status != "dead":
        raise Conflict(f"notification {message_id} is {message.status}; only dead ones are retried",
                       code="not_dead", details=[{"field": "status", "problem": message.status}])
    message.status = "queued"
    message.attempts = 0
    message.next_attempt_at = now or utcnow()
    message.claim_token = None
    session.flush()
    log.info("notification %s requeued by %s", message.id, principal.subject)
    return outbox_dict(message)


# ----------------------------------------------------------------------------------------------------- contacts

def _account(session: Session, username: str) -> Account | None:
    return session.execute(select(Account).where(Account.username == username)).scalar_one_or_none()


def _managed_account(session: Session, principal: Principal, username: str | None) -> Account:
    """The account whose contacts ``principal`` manages: its own, or one whose every grant lies within the
    principal's ``users:manage`` jurisdiction (an account without grants: national user managers only)."""
    if principal.is_anonymous:
        raise Unauthenticated("sign in to manage notification contacts")
    username = username or principal.subject
    account = _account(session, username)
    if account is not None and account.username != principal.subject:
        paths = [g.lgd_path for g in account.grants] or [ROOT_PATH]
        if not all(principal.can(USERS_MANAGE, p) for p in paths):
            account = None
    if account is None:
        raise NotFound(f"no account {username} whose contacts you manage",
                       details=[{"field": "account", "problem": "unknown, or outside your users:manage "
                                 "jurisdiction"}])
    return account


def contact_dict(contact: NotificationContact, username: str) -> dict[str, Any]:
    return {"id": str(contact.id), "account": username, "channel": contact.channel,
            "address_masked": contact.address_masked, "language": contact.language,
            "created_at": _aware(contact.created_at)}


def add_contact(session: Session, settings: Any, principal: Principal, *, channel: str, address: str,
                language: str = "en", account: str | None = None) -> dict[str, Any]:
    """Add a contact to ``account`` (default: the principal's own); Conflict if it is already on file."""
    target = _managed_account(session, principal, account)
    _check_channel(settings, channel)
    if language not in LANGUAGES:
        raise ValidationFailed(f"unsupported language {language!r}",
                               details=[{"field": "language", "problem": f"one of {list(LANGUAGES)}"}])
    clear = normalise(channel, address)
    box = AddressBox.from_settings(settings)
    address_hash = box.hash(channel, clear)
    exists = session.execute(select(NotificationContact.id).where(
        NotificationContact.account_id == target.id, NotificationContact.channel == channel,
        NotificationContact.address_hash == address_hash)).first()
    if exists:
        raise Conflict(f"{target.username} already has this {channel} contact", code="already_exists",
                       details=[{"field": "address", "problem": "already on file"}])
    contact_id = new_id()
    contact = NotificationContact(id=contact_id, account_id=target.id, channel=channel,
                                  address_ciphertext=box.seal(contact_id, clear), address_hash=address_hash,
                                  address_masked=mask(channel, clear), language=language, created_at=utcnow())
    session.add(contact)
    session.flush()
    log.info("notification contact %s (%s) added to account %s by %s", contact.id, channel, target.id,
             principal.subject)
    return contact_dict(contact, target.username)


def list_contacts(session: Session, principal: Principal, account: str | None = None) -> list[dict[str, Any]]:
    target = _managed_account(session, principal, account)
    rows = session.execute(select(NotificationContact).where(NotificationContact.account_id == target.id)
                           .order_by(NotificationContact.id)).scalars()
    return [contact_dict(c, target.username) for c in rows]


def delete_contact(session: Session, principal: Principal, contact_id: str) -> None:
    parsed = parse_uuid(contact_id)
    contact = session.get(NotificationContact, parsed) if parsed else None
    owner = session.get(Account, contact.account_id) if contact else None
    if owner is not None:
        try:
            _managed_account(session, principal, owner.username)
        except NotFound:
            owner = None
    if contact is None or owner is None:
        if principal.is_anonymous:
            raise Unauthenticated("sign in to manage notification contacts")
        raise NotFound(f"no notification contact {contact_id} that you manage")
    session.delete(contact)
    session.flush()
    log.info("notification contact %s removed from account %s by %s", contact.id, owner.id, principal.subject)


def count_by_status(session: Session, principal: Principal) -> dict[str, int]:
    """Outbox messages per status within the principal's ``notifications:manage`` jurisdiction."""
    Outbox = NotificationOutbox
    stmt = (select(Outbox.status, func.count()).where(scope_clause(Outbox.lgd_path, _require_manager(principal)))
            .group_by(Outbox.status))
    out = dict.fromkeys(OUTBOX_STATUSES, 0)
    out.update({status: n for status, n in session.execute(stmt)})
    return out
