"""The change feed: every change of the change log, in commit order, scoped like every other read.

The feed is a *reader* of :mod:`jaldpi.core.changelog`, never a second write path: registry imports, workflow
transitions, alerts and accounts queue their change records in the unit of work that writes the data, and
``changelog.seal`` inserts them under a row lock on ``change_log_head`` held until commit. Two consequences a
reader relies on:

* ``seq`` order is commit order. A writer takes the head lock before its rows get their ``seq`` and keeps it until
  it commits, so the next writer's rows (higher ``seq``) can only be inserted after that commit. A reader therefore
  never sees seq N+1 committed while seq N is still in flight, and "everything after the last seq I read" never
  skips a change (docs/feed_and_webhooks.md).
* An entry is immutable (hash-chained), so re-reading from any cursor returns the same items.

Scoping: each record type has the permission that reads it (``None`` for public types such as administrative
units). A caller sees an entry when its ``lgd_path`` lies in the caller's scope of that permission. Types the
caller cannot read are silently absent (no existence oracle). The types and permissions come from the node
(``registries.feed_types``): this module knows no domain.

One SQL statement per page: for each record type the caller may read, the first ``limit + 1`` seqs after the cursor
that match its scope (``lgd_path`` prefixes, see :func:`jaldpi.core.security.scope_clause`) and the filters, read
in order from the ``(record_type, seq)`` index; these are merged (UNION ALL), cut at ``limit + 1`` (to know
whether there is more), and the entries fetched by primary key. A page costs in proportion to the page, not to
the length of the log after the cursor.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import functools
import struct
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import orjson
from sqlalchemy import BigInteger, Index, Integer, and_, bindparam, or_, select, union_all
from sqlalchemy.orm import Session

from jaldpi.core.changelog import ChangeRecord
from jaldpi.core.errors import ValidationFailed
from jaldpi.core.security import ROOT_PATH, Principal, scope_clause

# A feed cursor is "f" + the 8-byte big-endian seq, base64url without padding: opaque to clients, and never
# mistaken for a registry page cursor (16 bytes) or vice versa.
_CURSOR_TAG = b"f"
_URLSAFE = str.maketrans("+/", "-_")
OPERATIONS = ("create", "update", "delete", "restore")


def encode_seq(seq: int) -> str:
    """The opaque cursor for "everything after change-log entry ``seq``" (0: from the beginning).

    9 bytes make 12 base64 characters without padding; called once per feed item, so kept cheap.
    """
    return binascii.b2a_base64(_CURSOR_TAG + seq.to_bytes(8, "big"), newline=False).decode().translate(_URLSAFE)


def decode_seq(cursor: str, *, field: str = "after") -> int:
    """The seq a cursor from :func:`encode_seq` stands for; a malformed cursor is a 422 naming ``field``."""
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        if len(raw) != 9 or raw[:1] != _CURSOR_TAG:
            raise ValueError("not a feed cursor")
        return struct.unpack(">Q", raw[1:])[0]
    except (ValueError, TypeError, struct.error) as exc:
        raise ValidationFailed(f"{field}: invalid feed cursor",
                               details=[{"field": field, "problem": "not a cursor issued by the change feed"}]) from exc


def parse_instant(value: str, *, field: str) -> dt.datetime:
    """An ISO 8601 instant (``2026-03-01T10:00:00Z``, ``...+05:30``, or a date); without an offset it means UTC."""
    try:
        parsed = dt.datetime.fromisoformat(value.strip())
    except ValueError as exc:
        raise ValidationFailed(f"{field}: not an ISO 8601 instant",
                               details=[{"field": field, "problem": f"expected e.g. 2026-03-01T10:00:00Z, "
                                         f"got {value!r}"}]) from exc
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=dt.UTC)
    return parsed.astimezone(dt.UTC)


@dataclass(frozen=True)
class FeedTypes:
    """The record types of the change log a node publishes, and the permission that reads each.

    ``permissions[type]`` is the permission (``"households:read"``) or ``None`` for a public type that everyone,
    anonymous callers included, may read. Entries of types not listed here are never published.
    ``path_codes`` renders a jurisdiction path as LGD codes by level (``{"state": 28, "district": 745}``).
    """

    permissions: Mapping[str, str | None]
    path_codes: Callable[[str], dict[str, int | str]]

    def scope(self, principal: Principal, record_type: str) -> list[str]:
        permission = self.permissions[record_type]
        return [ROOT_PATH] if permission is None else principal.scope(permission)

    def readable(self, principal: Principal) -> dict[str, list[str]]:
        """Record type -> the caller's path prefixes for it, for the types the caller can read anywhere."""
        out = {}
        for record_type in sorted(self.permissions):
            prefixes = self.scope(principal, record_type)
            if prefixes:
                out[record_type] = prefixes
        return out

    def validate(self, names: Iterable[str], *, field: str = "types") -> list[str]:
        """Known record types, in the given order without repeats; an unknown one is a 422 naming it."""
        out: list[str] = []
        unknown = []
        for name in names:
            if name not in self.permissions:
                unknown.append(name)
            elif name not in out:
                out.append(name)
        if unknown:
            raise ValidationFailed(f"{field}: unknown record type '{unknown[0]}'",
                                   details=[{"field": field, "problem": f"unknown record type '{n}'; known: "
                                             + ", ".join(sorted(self.permissions))} for n in unknown])
        return out


@dataclass
class FeedPage:
    items: list[dict[str, Any]]
    last_seq: int  # seq of the last item, or the ``after_seq`` asked for when there are none
    has_more: bool

    def to_dict(self) -> dict[str, Any]:
        return {"items": self.items, "next_cursor": encode_seq(self.last_seq), "has_more": self.has_more}


# Each feed page walks this index per record type, in seq order, from the cursor (migration 0005). Declared here,
# with the reader that needs it; SQLite would manage with ix_change_log_record_type (its entries end with the
# rowid, i.e. seq), PostgreSQL would not.
TYPE_SEQ_INDEX = Index("ix_change_log_record_type_seq", ChangeRecord.record_type, ChangeRecord.seq)
_T = ChangeRecord.__table__  # Core columns: the feed reads rows, not ORM objects

# The hashed payload repeats every column of the entry (``jaldpi audit verify`` checks they agree), so a page reads
# just seq, payload and hash: no per-row UUID and timestamp conversions.
_COLUMNS = (_T.c.seq, _T.c.payload, _T.c.hash)


def _within_clause(within: str):
    """``within`` as :func:`jaldpi.admin_units.paths.parse_within` returns it: a path prefix, or one segment such as
    ``D745/`` matched wherever it sits in the path (the registries' rule)."""
    column = _T.c.lgd_path
    if within.startswith("/"):
        return column.startswith(within, autoescape=True)
    return column.contains("/" + within, autoescape=True)


def visibility_clause(feed_types: FeedTypes, principal: Principal, types: list[str] | None):
    """The OR of per-scope groups for the caller, or ``None`` when the caller can read none of ``types``."""
    groups: dict[tuple[str, ...], list[str]] = {}
    for record_type in types if types is not None else sorted(feed_types.permissions):
        prefixes = feed_types.scope(principal, record_type)
        if prefixes:
            groups.setdefault(tuple(prefixes), []).append(record_type)
    if not groups:
        return None
    conditions = []
    for prefixes, names in groups.items():
        by_type = _T.c.record_type == names[0] if len(names) == 1 else _T.c.record_type.in_(names)
        where = scope_clause(_T.c.lgd_path, list(prefixes))
        conditions.append(by_type if prefixes == (ROOT_PATH,) else and_(by_type, where))
    return conditions[0] if len(conditions) == 1 else or_(*conditions)


def read_changes(session: Session, feed_types: FeedTypes, principal: Principal, *, after_seq: int = 0,
                 types: list[str] | None = None, within: str | None = None, since: dt.datetime | None = None,
                 until: dt.datetime | None = None, limit: int = 50) -> FeedPage:
    """One page of the feed after ``after_seq``, in seq (= commit) order.

    ``types``: record types to include (validated by the caller with :meth:`FeedTypes.validate`; None: all);
    ``within``: a path prefix or one path segment; ``since`` (inclusive) and ``until`` (exclusive) filter
    ``occurred_at`` (aware datetimes). ``limit`` is taken as given (callers cap it).

    One statement: per readable type, the first ``limit + 1`` matching seqs after the cursor (an ordered range scan
    of the ``(record_type, seq)`` index that stops early), merged and cut to ``limit + 1``; then the entries of
    those seqs by primary key. A single ``seq > :after AND (type/scope OR ...)`` filter would be planned on both
    SQLite and PostgreSQL as "every matching row after the cursor, then sort", so each page would cost in
    proportion to the rest of the log (measured: bench/README.md).
    """
    readable = []
    for record_type in types if types is not None else sorted(feed_types.permissions):
        prefixes = feed_types.scope(principal, record_type)
        if prefixes:  # a type the caller cannot read is silently absent: no existence oracle
            readable.append((record_type, tuple(prefixes)))
    if not readable:
        return FeedPage([], after_seq, False)
    statement = _page_statement(tuple(readable), within, since is not None, until is not None)
    params: dict[str, Any] = {"after_seq": after_seq, "page_limit": limit + 1}
    if since is not None:
        params["since"] = since.astimezone(dt.UTC)
    if until is not None:
        params["until"] = until.astimezone(dt.UTC)
    rows = session.execute(statement, params).all()
    has_more = len(rows) > limit
    rows = rows[:limit]
    return FeedPage(_render(feed_types, rows), rows[-1][0] if rows else after_seq, has_more)


@functools.lru_cache(maxsize=512)
def _page_statement(readable: tuple[tuple[str, tuple[str, ...]], ...], within: str | None, since: bool,
                    until: bool):
    """The page query for one shape of request (types with the caller's prefixes, filters present); cursor, limit
    and instants are bound at execution. Cached: a poller asks the same shape again and again, and building the
    per-type branches costs more than running them."""
    after, page_limit = bindparam("after_seq", type_=BigInteger), bindparam("page_limit", type_=Integer)
    common = []
    if within:
        common.append(_within_clause(within))
    if since:
        common.append(_T.c.occurred_at >= bindparam("since", type_=_T.c.occurred_at.type))
    if until:
        common.append(_T.c.occurred_at < bindparam("until", type_=_T.c.occurred_at.type))
    branches = []
    for record_type, prefixes in readable:
        conditions = [_T.c.record_type == record_type, _T.c.seq > after, *common]
        if prefixes != (ROOT_PATH,):
            conditions.append(scope_clause(_T.c.lgd_path, list(prefixes)))
        branches.append(select(_T.c.seq).where(*conditions).order_by(_T.c.seq).limit(page_limit))
    if len(branches) == 1:
        wanted = branches[0]
    else:
        merged = union_all(*(select(b.subquery().c.seq) for b in branches)).subquery()
        wanted = select(merged.c.seq).order_by(merged.c.seq).limit(page_limit)
    return select(*_COLUMNS).where(_T.c.seq.in_(wanted.scalar_subquery())).order_by(_T.c.seq)


def _render(feed_types: FeedTypes, rows) -> list[dict[str, Any]]:
    codes_of: dict[str, dict[str, int | str]] = {}  # a page shares few paths: render each once
    items = []
    for seq, payload, digest in rows:
        body = orjson.loads(payload)
        lgd_path = body["lgd_path"]
        codes = codes_of.get(lgd_path)
        if codes is None:
            codes = codes_of[lgd_path] = feed_types.path_codes(lgd_path)
        items.append({
            "seq": seq, "cursor": encode_seq(seq), "record_type": body["record_type"],
            "record_id": body["record_id"], "operation": body["operation"], "version": body["version"],
            # canonical UTC text ("...Z") on every backend
            "occurred_at": body["occurred_at"], "actor": body["actor"], "source_system": body["source_system"],
            "lgd_path": lgd_path, "lgd": codes, "record": body["data"], "changes": body["changes"], "hash": digest,
            # a replica of another node's change (federation): {"node", "seq", "event_time", "hash"}; else null
            "origin": body.get("origin"),
        })
    return items


def read_change(session: Session, feed_types: FeedTypes, principal: Principal, seq: int) -> dict[str, Any] | None:
    """The feed item of entry ``seq`` if the principal may read it now, else None (webhook retries use it)."""
    visible = visibility_clause(feed_types, principal, None)
    if visible is None:
        return None
    rows = session.execute(select(*_COLUMNS).where(_T.c.seq == seq, visible)).all()
    return _render(feed_types, rows)[0] if rows else None


__all__ = ["FeedPage", "FeedTypes", "OPERATIONS", "decode_seq", "encode_seq", "parse_instant", "read_change",
           "read_changes", "visibility_clause"]
