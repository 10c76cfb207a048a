"""The change log: one append-only, hash-chained record of every write.

Every registry write calls :func:`record` inside its unit of work; :func:`seal` runs just before the commit, takes
the chain head under a row lock, computes each entry's hash over the previous hash and its canonical payload, and
inserts the entries (COPY on PostgreSQL). The log is therefore written in the same transaction as the data it
describes (no dual writes) and is the single source for record history, the change feed, webhooks and federation.

Tamper evidence: ``hash = sha256(prev_hash + payload)``; the head row stores the last hash and the entry count.
:func:`verify` recomputes the chain: an altered payload, an altered column, a deleted or inserted row, or a cut tail
is reported with the sequence number where the chain breaks.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import uuid
from dataclasses import dataclass
from typing import Any

import orjson
from sqlalchemy import BigInteger, DateTime, Integer, String, Text, Uuid, select, update
from sqlalchemy.orm import Mapped, Session, mapped_column

from jaldpi.core.bulkio import bulk_insert
from jaldpi.core.models import Base, BigIntPK, utcnow

GENESIS_HASH = "0" * 64


class ChangeRecord(Base):
    __tablename__ = "change_log"

    seq: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    record_type: Mapped[str] = mapped_column(String(64), index=True)
    record_id: Mapped[uuid.UUID] = mapped_column(Uuid, index=True)
    operation: Mapped[str] = mapped_column(String(16))  # create | update | delete | restore
    version: Mapped[int] = mapped_column(Integer)
    actor: Mapped[str | None] = mapped_column(String(120))
    source_system: Mapped[str | None] = mapped_column(String(120))
    occurred_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), index=True)
    lgd_path: Mapped[str] = mapped_column(String(255), index=True)
    payload: Mapped[str] = mapped_column(Text)  # canonical JSON: the hashed content
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64))
    # Federation: a change received from the node that owns the record (None: written on this node). Part of the
    # hashed payload when set.
    origin_node: Mapped[str | None] = mapped_column(String(64), index=True)
    origin_seq: Mapped[int | None] = mapped_column(BigInteger)


class ChangeLogHead(Base):
    __tablename__ = "change_log_head"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    last_hash: Mapped[str] = mapped_column(String(64))
    entry_count: Mapped[int] = mapped_column(BigInteger)


@dataclass(slots=True)
class PendingChange:
    record_type: str
    record_id: uuid.UUID
    operation: str
    version: int
    actor: str | None
    source_system: str | None
    occurred_at: dt.datetime
    lgd_path: str
    data: dict[str, Any] | None
    changes: dict[str, Any] | None
    # set for a replica of another node's change: {"node", "seq", "event_time", "hash"} as received
    origin: dict[str, Any] | None = None


def json_default(value: Any) -> Any:
    if isinstance(value, (uuid.UUID,)):
        return str(value)
    if isinstance(value, dt.datetime | dt.date):
        return value.isoformat()
    if hasattr(value, "__float__"):
        return str(value)  # Decimal: keep exact digits
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")


def canonical_json(value: Any) -> str:
    return orjson.dumps(value, default=json_default, option=orjson.OPT_SORT_KEYS | orjson.OPT_UTC_Z).decode()


def record(session: Session, change: PendingChange) -> None:
    """Queue a change for this unit of work; written with its hash at commit by :func:`seal`."""
    session.info.setdefault("pending_changes", []).append(change)


def payload_of(change: PendingChange) -> str:
    body = {
        "record_type": change.record_type, "record_id": change.record_id, "operation": change.operation,
        "version": change.version, "actor": change.actor, "source_system": change.source_system,
        "occurred_at": change.occurred_at, "lgd_path": change.lgd_path, "data": change.data,
        "changes": change.changes,
    }
    if change.origin is not None:  # only replicas carry it, so hashes of local changes are as before
        body["origin"] = change.origin
    return canonical_json(body)


def chain_hash(prev_hash: str, payload: str) -> str:
    return hashlib.sha256(prev_hash.encode() + b"\n" + payload.encode()).hexdigest()


def seal(session: Session) -> int:
    """Hash and insert the unit's queued changes; returns how many. Serialised by a lock on the head row."""
    pending: list[PendingChange] = session.info.pop("pending_changes", [])
    if not pending:
        return 0
    session.flush()
    head = session.execute(select(ChangeLogHead).where(ChangeLogHead.id == 1).with_for_update()).scalar_one_or_none()
    if head is None:
        head = ChangeLogHead(id=1, last_hash=GENESIS_HASH, entry_count=0)
        session.add(head)
        session.flush()
    prev = head.last_hash
    rows = []
    for change in pending:
        payload = payload_of(change)
        digest = chain_hash(prev, payload)
        rows.append({
            "record_type": change.record_type, "record_id": change.record_id, "operation": change.operation,
            "version": change.version, "actor": change.actor, "source_system": change.source_system,
            "occurred_at": change.occurred_at, "lgd_path": change.lgd_path, "payload": payload,
            "prev_hash": prev, "hash": digest,
            "origin_node": change.origin["node"] if change.origin else None,
            "origin_seq": change.origin.get("seq") if change.origin else None,
        })
        prev = digest
    bulk_insert(session, ChangeRecord.__table__, rows)
    session.execute(update(ChangeLogHead).where(ChangeLogHead.id == 1)
                    .values(last_hash=prev, entry_count=ChangeLogHead.entry_count + len(rows)))
    return len(rows)


@dataclass
class VerifyReport:
    ok: bool
    entries: int
    head_hash: str
    problems: list[str]


_COLUMN_FIELDS = ("record_type", "operation", "version", "actor", "source_system", "lgd_path")


def verify(session: Session, *, batch: int = 20_000, max_problems: int = 50) -> VerifyReport:
    """Recompute the whole chain in sequence order and compare with the stored hashes and the head."""
    problems: list[str] = []
    prev = GENESIS_HASH
    count = 0
    last_seq = 0
    while True:
        rows = session.execute(
            select(ChangeRecord).where(ChangeRecord.seq > last_seq).order_by(ChangeRecord.seq).limit(batch)
        ).scalars().all()
        if not rows:
            break
        for row in rows:
            count += 1
            last_seq = row.seq
            if row.prev_hash != prev:
                problems.append(f"seq {row.seq}: chain broken (a row before it was deleted, inserted or re-hashed)")
            if chain_hash(row.prev_hash, row.payload) != row.hash:
                problems.append(f"seq {row.seq}: payload does not match its hash (row altered)")
            try:
                body = orjson.loads(row.payload)
            except orjson.JSONDecodeError:
                problems.append(f"seq {row.seq}: payload is not JSON")
                body = {}
            for field in _COLUMN_FIELDS:
                if body.get(field) != getattr(row, field):
                    problems.append(f"seq {row.seq}: column {field} differs from the hashed payload")
            origin = body.get("origin") or {}
            if origin.get("node") != row.origin_node or origin.get("seq") != row.origin_seq:
                problems.append(f"seq {row.seq}: origin columns differ from the hashed payload")
            if str(body.get("record_id")) != str(row.record_id):
                problems.append(f"seq {row.seq}: column record_id differs from the hashed payload")
            if body.get("occurred_at") != _utc_text(row.occurred_at):
                problems.append(f"seq {row.seq}: column occurred_at differs from the hashed payload")
            prev = row.hash
            if len(problems) >= max_problems:
                break
        session.expunge_all()
        if len(problems) >= max_problems:
            break
    head = session.get(ChangeLogHead, 1)
    if head is not None and len(problems) < max_problems:
        if head.entry_count != count:
            problems.append(f"head counts {head.entry_count} entries but the log holds {count}: rows deleted "
                            f"(the log ends at seq {last_seq})")
        if head.last_hash != prev:
            problems.append(f"head hash differs from the hash of the last entry, seq {last_seq} (tail cut after it, "
                            "or altered)")
    elif head is None and count:
        problems.append("change log has entries but no head row")
    return VerifyReport(ok=not problems, entries=count, head_hash=prev, problems=problems)


def _utc_text(value: dt.datetime | None) -> str | None:
    """A stored timestamp as the canonical payload writes it (SQLite hands back naive UTC datetimes)."""
    if value is None:
        return None
    if value.tzinfo is None:
        value = value.replace(tzinfo=dt.UTC)
    return orjson.loads(canonical_json(value.astimezone(dt.UTC)))


def history(session: Session, record_type: str, record_id: uuid.UUID) -> list[dict[str, Any]]:
    rows = session.execute(
        select(ChangeRecord).where(ChangeRecord.record_type == record_type, ChangeRecord.record_id == record_id)
        .order_by(ChangeRecord.seq)
    ).scalars().all()
    out = []
    for row in rows:
        body = orjson.loads(row.payload)
        out.append({
            "seq": row.seq, "version": row.version, "operation": row.operation, "actor": row.actor,
            "source_system": row.source_system, "occurred_at": body["occurred_at"], "changes": body.get("changes"),
            "record": body.get("data"), "hash": row.hash,
        })
    return out


__all__ = ["ChangeRecord", "ChangeLogHead", "PendingChange", "record", "seal", "verify", "history", "utcnow",
           "canonical_json"]
