"""What this node sends a peer: its own changes, read from the change log, filtered and stripped by the policy.

The change log is the only source (no second write path, no outbox table): a sync reads the entries after the
peer's cursor, keeps those this node owns and the peer should hold, removes local fields, replaces people by
pseudonyms, and attaches the record's external ids. Replicas (entries whose ``origin_node`` is set) are never sent
on: each record travels only from its owner.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

import orjson
from sqlalchemy import select
from sqlalchemy.orm import Session

from jaldpi.core.changelog import ChangeRecord
from jaldpi.core.registry import Catalogue, ExternalIds
from jaldpi.federation.ownership import Topology
from jaldpi.federation.policy import FederationPolicy, pseudonym, strip_local

SCAN_BATCH = 2000  # change-log rows read per query while filling a message


@dataclass
class Outgoing:
    changes: list[dict[str, Any]]
    scanned_through: int  # last change-log seq examined (sent or skipped)
    exhausted: bool  # nothing after scanned_through


def relevant_to(peer_role: str, peer_prefix: str, path: str) -> bool:
    """The national node holds everything; a state node holds what lies in its state and the units above it."""
    if peer_role == "national":
        return True
    return path.startswith(peer_prefix) or peer_prefix.startswith(path)


def outgoing(session: Session, catalogue: Catalogue, policy: FederationPolicy, topology: Topology, *,
             peer_role: str, peer_prefix: str, after_seq: int, limit: int, pseudonym_key: str,
             max_scan: int = 50_000) -> Outgoing:
    t = ChangeRecord.__table__
    picked: list[tuple[Any, dict[str, Any]]] = []
    cursor = after_seq
    scanned = 0
    exhausted = False
    exchanged = policy.exchanged()
    full = False
    while not full and scanned < max_scan:
        rows = session.execute(
            select(t.c.seq, t.c.record_type, t.c.record_id, t.c.operation, t.c.version, t.c.occurred_at,
                   t.c.lgd_path, t.c.actor, t.c.source_system, t.c.payload, t.c.hash)
            .where(t.c.seq > cursor, t.c.origin_node.is_(None), t.c.record_type.in_(exchanged))
            .order_by(t.c.seq).limit(SCAN_BATCH)
        ).all()
        deleted_levels = _levels_of_deleted(session, catalogue, policy, rows)
        for row in rows:
            scanned += 1
            cursor = row.seq
            if not relevant_to(peer_role, peer_prefix, row.lgd_path):
                continue
            body = orjson.loads(row.payload)
            record = body.get("data")
            probe = record if record is not None else deleted_levels.get(row.record_id)
            if topology.owner(policy, row.record_type, row.lgd_path, probe) != topology.self_id:
                continue  # owned by another node (e.g. written here before that node joined)
            picked.append((row, body))
            if len(picked) >= limit:
                full = True
                break
        if not full and len(rows) < SCAN_BATCH:
            exhausted = True  # read to the end of the log
            break
    ext = _external_ids(session, picked)
    changes = []
    for row, body in picked:
        entry = policy.types[row.record_type]
        record = strip_local(entry, body.get("data"))
        if record is not None:
            for name in policy.pseudonymised_fields & record.keys():
                record[name] = pseudonym(pseudonym_key, topology.self_id, record[name])
        diff = strip_local(entry, body.get("changes"))
        if diff is not None:
            for name in policy.pseudonymised_fields & diff.keys():
                diff.pop(name)
        changes.append({
            "seq": row.seq, "record_type": row.record_type, "record_id": str(row.record_id),
            "operation": row.operation, "version": row.version, "event_time": body["occurred_at"],
            "lgd_path": row.lgd_path, "record": record, "changes": diff,
            "actor": pseudonym(pseudonym_key, topology.self_id, row.actor), "source_system": row.source_system,
            "external_ids": ext.get((row.record_type, row.record_id), {}), "hash": row.hash,
        })
    return Outgoing(changes, cursor, exhausted)


def pending_count(session: Session, policy: FederationPolicy, after_seq: int) -> int:
    """Upper bound of changes still to send (exchanged types, local origin, after the cursor)."""
    from sqlalchemy import func

    t = ChangeRecord.__table__
    return session.execute(select(func.count()).select_from(t).where(
        t.c.seq > after_seq, t.c.origin_node.is_(None), t.c.record_type.in_(policy.exchanged()))).scalar_one()


def _levels_of_deleted(session: Session, catalogue: Catalogue, policy: FederationPolicy, rows) -> dict:
    """A delete entry carries no snapshot; ownership by level (habitations) needs the record's level."""
    wanted: dict[str, list[uuid.UUID]] = {}
    for row in rows:
        if row.operation == "delete" and policy.types[row.record_type].owner_by_level:
            wanted.setdefault(row.record_type, []).append(row.record_id)
    found: dict[uuid.UUID, dict[str, Any]] = {}
    for record_type, ids in wanted.items():
        table = catalogue.registries[record_type].table
        for rid, level in session.execute(select(table.c.id, table.c.level).where(table.c.id.in_(ids))):
            found[rid] = {"level": level}
    return found


def _external_ids(session: Session, picked) -> dict[tuple[str, uuid.UUID], dict[str, str]]:
    ext = ExternalIds.table
    by_type: dict[str, set[uuid.UUID]] = {}
    for row, _body in picked:
        by_type.setdefault(row.record_type, set()).add(row.record_id)
    out: dict[tuple[str, uuid.UUID], dict[str, str]] = {}
    for record_type, ids in by_type.items():
        id_list = list(ids)
        for i in range(0, len(id_list), 5000):
            for rid, system, value in session.execute(
                    select(ext.c.record_id, ext.c.system, ext.c.value)
                    .where(ext.c.record_type == record_type, ext.c.record_id.in_(id_list[i:i + 5000]))):
                out.setdefault((record_type, rid), {})[system] = value
    return out
