"""Webhook subscriptions: validation, encrypted secrets, visibility, and the operations behind the API.

Who may do what: creating a subscription needs ``webhooks:manage`` over its ``within`` path. A subscription is
visible to its owner while the owner still holds ``webhooks:manage`` there, and to node administrators (grants of
role ``node_admin``) whose grant path contains it; anything else answers 404 (no existence oracle).
"""

from __future__ import annotations

import base64
import datetime as dt
import ipaddress
import os
import secrets as pysecrets
import socket
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from sqlalchemy import Select, and_, func, or_, select, update
from sqlalchemy.orm import Session

from jaldpi.core.changelog import ChangeRecord
from jaldpi.core.errors import Conflict, Forbidden, NotFound, OutOfJurisdiction, Unauthenticated, ValidationFailed
from jaldpi.core.feed import OPERATIONS, FeedTypes, decode_seq, encode_seq
from jaldpi.core.ids import new_id, parse_uuid
from jaldpi.core.models import utcnow
from jaldpi.core.pagination import decode_cursor, encode_cursor
from jaldpi.core.security import Grant, Principal, scope_clause
from jaldpi.webhooks.models import WebhookDelivery, WebhookSubscription

MANAGE = "webhooks:manage"
ADMIN_ROLE = "node_admin"
DELIVERY_STATUSES = ("delivered", "failed", "dead", "cancelled")
MIN_SECRET_LENGTH = 16


# ------------------------------------------------------------------------------------------------------ secrets

class SecretBox:
    """AES-256-GCM for subscription secrets, with a key derived (HKDF-SHA256) from the node's personal-data key.

    The personal-data key is the node's encryption-at-rest key; a separate derived key keeps the two uses apart.
    (Not ``secret_key``: rotating the JWT signing key must not make every webhook secret undecryptable.) The
    subscription id is the associated data, so a ciphertext cannot be moved to another subscription.
    Layout: version byte 1, 12-byte nonce, ciphertext and tag.
    """

    def __init__(self, encryption_key: str) -> None:
        root = base64.urlsafe_b64decode(encryption_key.encode())
        key = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=b"jaldpi webhook secrets v1").derive(root)
        self.aead = AESGCM(key)

    def seal(self, subscription_id: uuid.UUID, secret: str) -> bytes:
        nonce = os.urandom(12)
        return b"\x01" + nonce + self.aead.encrypt(nonce, secret.encode(), subscription_id.bytes)

    def open(self, subscription_id: uuid.UUID, blob: bytes) -> str:
        if blob[:1] != b"\x01":
            raise ValueError("unknown webhook secret format")
        try:
            return self.aead.decrypt(blob[1:13], blob[13:], subscription_id.bytes).decode()
        except InvalidTag as exc:
            raise ValueError("webhook secret undecryptable with this node's key") from exc


def generate_secret() -> str:
    """32 random bytes, base64url without padding (43 characters)."""
    return base64.urlsafe_b64encode(pysecrets.token_bytes(32)).decode().rstrip("=")


# ------------------------------------------------------------------------------------------------ event types

@dataclass(frozen=True)
class EventFilter:
    """Event-type patterns ``record_type.operation``: ``households.create``, ``samples.*``, ``*.delete``, ``*``."""

    patterns: tuple[str, ...]

    def matches(self, record_type: str, operation: str) -> bool:
        for pattern in self.patterns:
            if pattern == "*":
                return True
            kind, _, op = pattern.partition(".")
            if kind in ("*", record_type) and op in ("*", operation):
                return True
        return False

    def record_types(self) -> list[str] | None:
        """The record types to read from the feed (None: all)."""
        kinds = []
        for pattern in self.patterns:
            kind = pattern.partition(".")[0]
            if kind == "*":
                return None
            if kind not in kinds:
                kinds.append(kind)
        return kinds


def validate_event_types(value: Any, feed_types: FeedTypes) -> list[str]:
    field = "event_types"
    if not isinstance(value, list) or not value:
        raise ValidationFailed("event_types: a non-empty list of record_type.operation patterns",
                               details=[{"field": field, "problem": "expected e.g. [\"households.create\", "
                                         "\"samples.*\", \"*\"]"}])
    out: list[str] = []
    problems = []
    for i, pattern in enumerate(value):
        where = f"{field}.{i}"
        if not isinstance(pattern, str):
            problems.append({"field": where, "problem": "not a string"})
            continue
        pattern = pattern.strip()
        if pattern == "*":
            out.append(pattern)
            continue
        kind, dot, op = pattern.partition(".")
        if not dot:
            problems.append({"field": where, "problem": f"'{pattern}' is not record_type.operation (use "
                             f"'{pattern}.*' for every operation)"})
            continue
        if kind != "*" and kind not in feed_types.permissions:
            problems.append({"field": where, "problem": f"unknown record type '{kind}'; known: "
                             + ", ".join(sorted(feed_types.permissions))})
            continue
        if op != "*" and op not in OPERATIONS:
            problems.append({"field": where, "problem": f"unknown operation '{op}'; known: "
                             + ", ".join(OPERATIONS) + " or *"})
            continue
        if pattern not in out:
            out.append(pattern)
    if problems:
        raise ValidationFailed(f"{problems[0]['field']}: {problems[0]['problem']}", details=problems)
    return out


# ------------------------------------------------------------------------------------------------------ URLs

def _blocked_address(address: str) -> bool:
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return (ip.is_private or ip.is_loopback or ip.is_link_local or ip.is_reserved or ip.is_multicast
            or ip.is_unspecified)


def check_url(url: Any, *, allow_private: bool, field: str = "url",
              resolve: Callable[[str], list[str]] | None = None) -> str:
    """An http(s) URL with a host; when private targets are not allowed, no address of the host may be loopback,
    private, link-local, reserved or multicast (a partner must not make the node call into its own network)."""
    if not isinstance(url, str) or not url.strip():
        raise ValidationFailed(f"{field}: required", details=[{"field": field, "problem": "an http(s) URL"}])
    url = url.strip()
    if len(url) > 2048:
        raise ValidationFailed(f"{field}: too long", details=[{"field": field, "problem": "at most 2048 characters"}])
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https"):
        raise ValidationFailed(f"{field}: only http and https URLs are accepted",
                               details=[{"field": field, "problem": f"scheme '{parts.scheme or ''}' not allowed"}])
    try:
        host = parts.hostname
        _ = parts.port  # raises on a malformed port
    except ValueError as exc:
        raise ValidationFailed(f"{field}: malformed URL", details=[{"field": field, "problem": str(exc)}]) from exc
    if not host:
        raise ValidationFailed(f"{field}: the URL has no host", details=[{"field": field, "problem": "no host"}])
    if not allow_private:
        addresses = (resolve or _resolve)(host)
        if not addresses:
            raise ValidationFailed(f"{field}: host '{host}' does not resolve",
                                   details=[{"field": field, "problem": "host does not resolve"}])
        blocked = [a for a in addresses if _blocked_address(a)]
        if blocked:
            raise ValidationFailed(
                f"{field}: '{host}' resolves to a loopback, private or reserved address ({blocked[0]}); this node "
                "delivers webhooks only to public addresses (JALDPI_WEBHOOK_ALLOW_PRIVATE_TARGETS)",
                details=[{"field": field, "problem": f"private or reserved address {blocked[0]}"}])
    return url


def _resolve(host: str) -> list[str]:
    try:
        return sorted({info[4][0] for info in socket.getaddrinfo(host, None)})
    except (socket.gaierror, UnicodeError):
        return []


# ------------------------------------------------------------------------------------------------ jurisdiction

def resolve_within_path(session: Session, value: Any, principal: Principal, *, resolve_within: Callable[[str], str],
                        unit_table) -> str:
    """A subscription's jurisdiction as a full path, inside the caller's ``webhooks:manage`` scope.

    ``value`` is ``level:code`` or a path, as elsewhere; absent, it defaults to the caller's scope when that is a
    single subtree. ``unit_table`` is the administrative units table (a unit's own path ends with its segment).
    """
    scope = principal.scope(MANAGE)
    if value is None:
        if len(scope) != 1:
            raise ValidationFailed("within: required (you manage webhooks in several places)",
                                   details=[{"field": "within", "problem": "required; one of " + ", ".join(scope)}])
        return scope[0]
    if not isinstance(value, str) or not value.strip():
        raise ValidationFailed("within: expected level:code or a path",
                               details=[{"field": "within", "problem": "expected e.g. district:745"}])
    path = resolve_within(value.strip())
    if not path.startswith("/"):
        found = session.execute(
            select(unit_table.c.lgd_path).where(unit_table.c.lgd_path.endswith("/" + path, autoescape=True),
                                                unit_table.c.deleted_at.is_(None)).limit(2)).scalars().all()
        if len(found) != 1:
            raise ValidationFailed(f"within: no administrative unit {value}",
                                   details=[{"field": "within", "problem": f"unit {value} not found"}])
        path = found[0]
    if not principal.can(MANAGE, path):
        raise OutOfJurisdiction(f"within: {path} is outside your webhooks:manage jurisdiction",
                                details=[{"field": "within", "problem": "outside your jurisdiction for "
                                          f"{MANAGE} ({', '.join(scope) or 'none'})"}])
    return path


def owner_principal(session: Session, username: str,
                    role_permissions: Mapping[str, frozenset[str]]) -> Principal | None:
    """The owner's principal with the grants they hold *now*; None if the account is missing or inactive."""
    from jaldpi.accounts.models import Account

    account = session.execute(select(Account).where(Account.username == username)).scalar_one_or_none()
    if account is None or not account.active:
        return None
    return Principal(subject=account.username, kind=account.kind,
                     grants=tuple(Grant(g.role, g.lgd_path) for g in account.grants),
                     role_permissions=role_permissions, source_system=account.source_system)


def _admin_paths(principal: Principal) -> list[str]:
    return sorted({g.path for g in principal.grants if g.role == ADMIN_ROLE})


def visible_subscriptions(principal: Principal) -> Select:
    """Subscriptions the caller may see: their own (while they manage webhooks there), and as node administrator
    every subscription under their grants."""
    own = and_(WebhookSubscription.owner == principal.subject,
               scope_clause(WebhookSubscription.within_path, principal.scope(MANAGE)))
    admin = _admin_paths(principal)
    condition = or_(own, scope_clause(WebhookSubscription.within_path, admin)) if admin else own
    return select(WebhookSubscription).where(condition)


def require_signed_in(principal: Principal) -> None:
    if principal.is_anonymous:
        raise Unauthenticated("sign in to manage webhooks")


def get_subscription(session: Session, principal: Principal, key: str, *, for_update: bool = False
                     ) -> WebhookSubscription:
    require_signed_in(principal)
    sid = parse_uuid(key)
    sub = None
    if sid is not None:
        stmt = visible_subscriptions(principal).where(WebhookSubscription.id == sid)
        sub = session.execute(stmt.with_for_update() if for_update else stmt).scalar_one_or_none()
    if sub is None:
        raise NotFound(f"no webhook subscription '{key}' visible to you")
    return sub


# ------------------------------------------------------------------------------------------------ operations

@dataclass
class Context:
    """What the operations need from the node (kept explicit so the dispatcher and the CLI can build one)."""

    feed_types: FeedTypes
    box: SecretBox
    allow_private: bool
    resolve_within: Callable[[str], str]
    unit_table: Any


def head_seq(session: Session) -> int:
    return session.execute(select(func.coalesce(func.max(ChangeRecord.seq), 0))).scalar_one()


def _start_seq(session: Session, value: Any) -> int:
    if value is None or value == "now":
        return head_seq(session)
    if value == "beginning":
        return 0
    if not isinstance(value, str):
        raise ValidationFailed("start: expected \"now\", \"beginning\" or a feed cursor",
                               details=[{"field": "start", "problem": "not a string"}])
    return decode_seq(value, field="start")


def _text(body: Mapping[str, Any], name: str, limit: int) -> str | None:
    value = body.get(name)
    if value is None:
        return None
    if not isinstance(value, str) or len(value) > limit:
        raise ValidationFailed(f"{name}: text of at most {limit} characters",
                               details=[{"field": name, "problem": f"expected text of at most {limit} characters"}])
    return value


def _refuse_unknown(body: Mapping[str, Any], known: set[str]) -> None:
    unknown = sorted(set(body) - known)
    if unknown:
        raise ValidationFailed(f"unknown field '{unknown[0]}'",
                               details=[{"field": k, "problem": "not a field of this request; known: "
                                         + ", ".join(sorted(known))} for k in unknown])


CREATE_FIELDS = {"url", "event_types", "within", "description", "secret", "start"}
PATCH_FIELDS = {"url", "event_types", "active", "description"}


def create_subscription(session: Session, ctx: Context, principal: Principal,
                        body: Mapping[str, Any]) -> tuple[WebhookSubscription, str]:
    """Create a subscription; returns it with the clear secret (shown to the caller once, stored encrypted)."""
    require_signed_in(principal)
    if not principal.has(MANAGE):
        raise Forbidden("you may not manage webhooks anywhere",
                        details=[{"field": "within", "problem": f"no {MANAGE} permission"}])
    _refuse_unknown(body, CREATE_FIELDS)
    url = check_url(body.get("url"), allow_private=ctx.allow_private)
    event_types = validate_event_types(body.get("event_types"), ctx.feed_types)
    within = resolve_within_path(session, body.get("within"), principal, resolve_within=ctx.resolve_within,
                                 unit_table=ctx.unit_table)
    secret = body.get("secret")
    if secret is None:
        secret = generate_secret()
    elif not isinstance(secret, str) or not (MIN_SECRET_LENGTH <= len(secret) <= 200):
        raise ValidationFailed(f"secret: {MIN_SECRET_LENGTH} to 200 characters",
                               details=[{"field": "secret", "problem": f"at least {MIN_SECRET_LENGTH} characters "
                                         "(or leave it out: the node generates one)"}])
    now = utcnow()
    sid = new_id()
    sub = WebhookSubscription(
        id=sid, owner=principal.subject, url=url, event_types=event_types, within_path=within,
        description=_text(body, "description", 500), secret_ciphertext=ctx.box.seal(sid, secret), active=True,
        cursor_seq=_start_seq(session, body.get("start")), leased_until=None, lease_token=None, paused_reason=None,
        created_at=now, updated_at=now)
    session.add(sub)
    session.flush()
    return sub, secret


def update_subscription(session: Session, ctx: Context, principal: Principal, key: str,
                        body: Mapping[str, Any]) -> WebhookSubscription:
    sub = get_subscription(session, principal, key, for_update=True)
    _refuse_unknown(body, PATCH_FIELDS)
    if "url" in body:
        sub.url = check_url(body["url"], allow_private=ctx.allow_private)
    if "event_types" in body:
        sub.event_types = validate_event_types(body["event_types"], ctx.feed_types)
    if "description" in body:
        sub.description = _text(body, "description", 500)
    if "active" in body:
        if not isinstance(body["active"], bool):
            raise ValidationFailed("active: true or false", details=[{"field": "active", "problem": "not a boolean"}])
        sub.active = body["active"]
    sub.updated_at = utcnow()
    session.flush()
    return sub


def delete_subscription(session: Session, principal: Principal, key: str) -> None:
    sub = get_subscription(session, principal, key, for_update=True)
    session.execute(WebhookDelivery.__table__.delete().where(WebhookDelivery.subscription_id == sub.id))
    session.delete(sub)
    session.flush()


def replay(session: Session, principal: Principal, key: str, body: Mapping[str, Any]) -> WebhookSubscription:
    """Re-deliver, in order, every matching change after ``cursor``.

    The subscription's cursor moves back to it; retries still pending for events after it are cancelled (the replay
    delivers those events again, in their place). A dispatcher busy with the subscription notices the moved cursor
    at its next step and stops (its cursor update is conditional on the cursor it started from).
    """
    sub = get_subscription(session, principal, key, for_update=True)
    _refuse_unknown(body, {"cursor"})
    if "cursor" not in body or not isinstance(body["cursor"], str):
        raise ValidationFailed("cursor: a feed cursor is required",
                               details=[{"field": "cursor", "problem": "required: an item's cursor or a "
                                         "next_cursor of the change feed"}])
    seq = decode_seq(body["cursor"], field="cursor")
    now = utcnow()
    session.execute(
        update(WebhookDelivery)
        .where(WebhookDelivery.subscription_id == sub.id, WebhookDelivery.status == "failed",
               WebhookDelivery.kind == "event", WebhookDelivery.seq > seq)
        .values(status="cancelled", next_attempt_at=None, last_error=f"superseded by a replay from seq {seq}"))
    sub.cursor_seq = seq
    sub.updated_at = now
    session.flush()
    return sub


def list_deliveries(session: Session, principal: Principal, key: str, *, status: str | None, limit: int,
                    after: str | None) -> dict[str, Any]:
    sub = get_subscription(session, principal, key)
    if status is not None and status not in DELIVERY_STATUSES:
        raise ValidationFailed(f"status: unknown delivery status '{status}'",
                               details=[{"field": "status", "problem": "one of " + ", ".join(DELIVERY_STATUSES)}])
    stmt = select(WebhookDelivery).where(WebhookDelivery.subscription_id == sub.id)
    if status:
        stmt = stmt.where(WebhookDelivery.status == status)
    if after:
        stmt = stmt.where(WebhookDelivery.id > decode_cursor(after))
    rows = session.execute(stmt.order_by(WebhookDelivery.id).limit(limit + 1)).scalars().all()
    more = len(rows) > limit
    rows = rows[:limit]
    return {"items": [delivery_dict(d) for d in rows],
            "next_cursor": encode_cursor(rows[-1].id) if more and rows else None}


def retry_dead_letter(session: Session, principal: Principal, key: str, delivery_key: str) -> WebhookDelivery:
    """Put a dead letter back in the queue: it is retried first, with a fresh set of attempts and the usual backoff,
    and (like any failing event) holds back later events while it is being retried."""
    sub = get_subscription(session, principal, key, for_update=True)
    did = parse_uuid(delivery_key)
    delivery = session.execute(
        select(WebhookDelivery).where(WebhookDelivery.id == did, WebhookDelivery.subscription_id == sub.id)
    ).scalar_one_or_none() if did else None
    if delivery is None:
        raise NotFound(f"no delivery '{delivery_key}' of this subscription")
    if delivery.status != "dead" or delivery.kind != "event":
        raise Conflict(f"only dead letters can be re-queued; this delivery is {delivery.status}",
                       details=[{"field": "status", "problem": f"is {delivery.status}, not dead"}])
    delivery.status = "failed"
    delivery.attempts = 0
    delivery.next_attempt_at = utcnow()
    session.flush()
    return delivery


def count_by_status(session: Session, subscription_id: uuid.UUID) -> dict[str, int]:
    rows = session.execute(
        select(WebhookDelivery.status, func.count()).where(WebhookDelivery.subscription_id == subscription_id)
        .group_by(WebhookDelivery.status)).all()
    counts = {s: 0 for s in DELIVERY_STATUSES}
    counts.update({status: n for status, n in rows})
    return counts


# ------------------------------------------------------------------------------------------------ rendering

def _iso(value: dt.datetime | None) -> str | None:
    if value is None:
        return None
    if value.tzinfo is None:  # SQLite hands back naive UTC
        value = value.replace(tzinfo=dt.UTC)
    return value.astimezone(dt.UTC).isoformat().replace("+00:00", "Z")


def subscription_dict(sub: WebhookSubscription, feed_types: FeedTypes) -> dict[str, Any]:
    return {
        "id": str(sub.id), "url": sub.url, "event_types": list(sub.event_types), "within": sub.within_path,
        "lgd": feed_types.path_codes(sub.within_path), "description": sub.description, "active": sub.active,
        "owner": sub.owner, "cursor": encode_seq(sub.cursor_seq), "paused_reason": sub.paused_reason,
        "created_at": _iso(sub.created_at), "updated_at": _iso(sub.updated_at),
    }


def delivery_dict(d: WebhookDelivery) -> dict[str, Any]:
    return {
        "id": str(d.id), "subscription_id": str(d.subscription_id), "kind": d.kind, "seq": d.seq,
        "cursor": encode_seq(d.seq) if d.seq is not None else None, "event_id": d.event_id,
        "event_type": d.event_type, "status": d.status, "attempts": d.attempts,
        "next_attempt_at": _iso(d.next_attempt_at), "last_attempt_at": _iso(d.last_attempt_at),
        "last_status_code": d.last_status_code, "last_error": d.last_error, "created_at": _iso(d.created_at),
        "delivered_at": _iso(d.delivered_at),
    }
