"""Applying changes received from the node that owns them, as replicas, in the same transaction as their log entry.

For every change, in the sender's order:

1. the record type must be exchanged by the policy and known here; the change must carry no local field;
2. the sender must own the record (by the policy and the LGD path, both as the record is now here and as it will
   be): otherwise ``refused`` — one node can never overwrite another node's records;
3. versions decide what happens (``base`` = the last version received from this sender, ``head`` = the version held
   here): nothing here, or ``head == base`` and the change is newer -> ``applied`` (the row takes the sender's
   version number, so versions are the same on every node); the change is not newer than ``base`` -> ``duplicate``
   (a re-sent message: nothing written, which makes sync idempotent); the record changed here since ``base`` (a
   different history) -> ``conflict``, stored in ``federation_conflicts`` and never silently overwritten;
4. records it references must already be here; if not the change is ``deferred`` and processing stops, so the sender
   re-sends from there (order is preserved, nothing is skipped).

Applied changes are written straight into the registry's table (the owner already validated them: domain rules that
need the owner's local data, such as the registered field-kit testers, cannot run here) and logged in this node's
change log with ``origin_node``/``origin_seq``, so this node's own feed and webhooks carry them too.
"""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any

from sqlalchemy import JSON, Date, DateTime, Float, Numeric, Table, Uuid, func, select, update
from sqlalchemy.orm import Session

from jaldpi.core import changelog
from jaldpi.core.changelog import ChangeRecord
from jaldpi.core.errors import VersionConflict
from jaldpi.core.ids import new_id
from jaldpi.core.models import utcnow
from jaldpi.core.registry import Catalogue, ExternalIds, Registry
from jaldpi.federation.models import FederationConflict
from jaldpi.federation.ownership import Topology
from jaldpi.federation.policy import FederationPolicy, local_fields_present

APPLIED, DUPLICATE, CONFLICT, REFUSED, DEFERRED = "applied", "duplicate", "conflict", "refused", "deferred"
OPERATIONS = ("create", "update", "delete", "restore")


@dataclass
class ApplyResult:
    results: list[dict[str, Any]] = field(default_factory=list)  # one per change examined
    accepted_through: int = 0  # sender seq up to which every change is settled (applied/duplicate/conflict/refused)
    applied_types: set[str] = field(default_factory=set)

    def counts(self) -> dict[str, int]:
        out: dict[str, int] = {}
        for r in self.results:
            out[r["status"]] = out.get(r["status"], 0) + 1
        return out


class _Refuse(Exception):
    def __init__(self, status: str, reason: str) -> None:
        super().__init__(reason)
        self.status = status
        self.reason = reason


def apply_changes(session: Session, catalogue: Catalogue, policy: FederationPolicy, topology: Topology,
                  sender: str, changes: list[dict[str, Any]], *, start_after: int,
                  now: dt.datetime | None = None) -> ApplyResult:
    now = now or utcnow()
    out = ApplyResult(accepted_through=start_after)
    batch = Batch(session, catalogue, sender)
    batch.prefetch(changes)
    for change in changes:
        seq = change.get("seq")
        ref = {"seq": seq, "record_type": change.get("record_type"), "record_id": change.get("record_id"),
               "version": change.get("version")}
        try:
            if not isinstance(seq, int) or seq <= out.accepted_through:
                raise _Refuse(REFUSED, f"seq {seq!r} is not after {out.accepted_through}: messages must be in order")
            status, reason = apply_one(session, catalogue, policy, topology, sender, change, batch, now)
        except _Refuse as refusal:
            status, reason = refusal.status, refusal.reason
        out.results.append({**ref, "status": status, **({"reason": reason} if reason else {})})
        if status == DEFERRED:
            break
        if status == APPLIED:
            out.applied_types.add(change["record_type"])
        out.accepted_through = seq
    batch.flush()
    return out


class Batch:
    """What applying one message needs to know, read with a few set-based queries instead of several per change:
    the rows held here, the versions already received from the sender, which referenced records exist, and who
    holds the external ids. Kept up to date as the message's changes are applied, in order."""

    def __init__(self, session: Session, catalogue: Catalogue, sender: str) -> None:
        self.session = session
        self.catalogue = catalogue
        self.sender = sender
        self.bases: dict[tuple[str, str], int] = {}
        self.rows: dict[tuple[str, str], dict[str, Any] | None] = {}
        self.present: dict[str, set[uuid.UUID]] = {}  # registry name -> ids known to exist
        self.ext: dict[tuple[str, str, str], uuid.UUID] = {}  # (record type, system, value) -> holder
        self.ext_checked: set[tuple[str, str, str]] = set()
        # consecutive inserts into one table with the same columns, written as one executemany (PostgreSQL pipelines
        # it); flushed before any other statement so that the sender's order (parents first) is kept
        self._pending: list[dict[str, Any]] = []
        self._pending_table: Table | None = None
        self._pending_keys: frozenset[str] = frozenset()

    def insert(self, table: Table, values: dict[str, Any]) -> None:
        keys = frozenset(values)
        if self._pending and (table is not self._pending_table or keys != self._pending_keys):
            self.flush()
        self._pending_table, self._pending_keys = table, keys
        self._pending.append(values)

    def flush(self) -> None:
        if self._pending:
            self.session.execute(self._pending_table.insert(), self._pending)
            self._pending = []

    def execute(self, statement):
        self.flush()
        return self.session.execute(statement)

    def prefetch(self, changes: list[dict[str, Any]]) -> None:
        by_type: dict[str, set[uuid.UUID]] = {}
        refs: dict[str, set[uuid.UUID]] = {}
        ext: dict[tuple[str, str], set[str]] = {}
        for change in changes:
            registry = self.catalogue.registries.get(change.get("record_type"))
            try:
                rid = uuid.UUID(str(change["record_id"]))
            except (KeyError, ValueError):
                continue
            if registry is None:
                continue
            by_type.setdefault(registry.spec.name, set()).add(rid)
            record = change.get("record") if isinstance(change.get("record"), dict) else {}
            for ref in registry.spec.references:
                for value in _ids_of(record.get(ref.column)):
                    refs.setdefault(ref.target, set()).add(value)
            for system, value in (change.get("external_ids") or {}).items():
                ext.setdefault((registry.spec.name, str(system)), set()).add(str(value))
        t = ChangeRecord.__table__
        for record_type, ids in by_type.items():
            table = self.catalogue.registries[record_type].table
            for chunk in _chunks(list(ids)):
                for rid, version in self.session.execute(
                        select(t.c.record_id, func.max(t.c.version)).where(
                            t.c.record_type == record_type, t.c.origin_node == self.sender,
                            t.c.record_id.in_(chunk)).group_by(t.c.record_id)):
                    self.bases[(record_type, str(rid))] = version
                found = {r["id"]: dict(r) for r in self.session.execute(select(table).where(table.c.id.in_(chunk)))
                         .mappings()}
                for rid in chunk:
                    self.rows[(record_type, str(rid))] = found.get(rid)
                self.present.setdefault(record_type, set()).update(found)
        for target, ids in refs.items():
            self._load_present(target, ids)
        ext_table = ExternalIds.table
        for (record_type, system), values in ext.items():
            for chunk in _chunks(list(values)):
                for rid, value in self.session.execute(select(ext_table.c.record_id, ext_table.c.value).where(
                        ext_table.c.record_type == record_type, ext_table.c.system == system,
                        ext_table.c.value.in_(chunk))):
                    self.ext[(record_type, system, value)] = rid
                self.ext_checked.update((record_type, system, v) for v in chunk)

    def _load_present(self, target: str, ids: set[uuid.UUID]) -> None:
        table = self.catalogue.registries[target].table
        known = self.present.setdefault(target, set())
        wanted = [i for i in ids if i not in known]
        for chunk in _chunks(wanted):
            known.update(r for (r,) in self.session.execute(select(table.c.id).where(table.c.id.in_(chunk))))

    def current(self, record_type: str, record_id: uuid.UUID) -> dict[str, Any] | None:
        key = (record_type, str(record_id))
        if key not in self.rows:
            table = self.catalogue.registries[record_type].table
            row = self.session.execute(select(table).where(table.c.id == record_id)).mappings().first()
            self.rows[key] = dict(row) if row is not None else None
        return self.rows[key]

    def missing(self, target: str, ids: list[uuid.UUID]) -> list[uuid.UUID]:
        self._load_present(target, set(ids))
        return [i for i in ids if i not in self.present[target]]

    def holder(self, record_type: str, system: str, value: str) -> uuid.UUID | None:
        key = (record_type, system, value)
        if key not in self.ext_checked:
            ext_table = ExternalIds.table
            found = self.session.execute(select(ext_table.c.record_id).where(
                ext_table.c.record_type == record_type, ext_table.c.system == system,
                ext_table.c.value == value)).scalar()
            if found is not None:
                self.ext[key] = found
            self.ext_checked.add(key)
        return self.ext.get(key)


def _ids_of(value: Any) -> list[uuid.UUID]:
    out = []
    for v in value if isinstance(value, list) else [value]:
        if v in (None, ""):
            continue
        try:
            out.append(v if isinstance(v, uuid.UUID) else uuid.UUID(str(v)))
        except ValueError:
            continue
    return out


def _chunks(items: list[Any], size: int = 5000):
    for i in range(0, len(items), size):
        yield items[i:i + size]


def apply_one(session: Session, catalogue: Catalogue, policy: FederationPolicy, topology: Topology, sender: str,
               change: dict[str, Any], batch: Batch, now: dt.datetime, *,
               force: bool = False) -> tuple[str, str | None]:
    """One change; ``force`` (an operator settling a conflict) takes the sender's version over the local one."""
    record_type = change.get("record_type")
    entry = policy.of(str(record_type))
    if entry is None:
        raise _Refuse(REFUSED, f"record type {record_type!r} is not exchanged between nodes (federation policy)")
    registry = catalogue.registries.get(record_type)
    if registry is None:
        raise _Refuse(REFUSED, f"record type {record_type!r} is unknown on this node")
    operation = change.get("operation")
    if operation not in OPERATIONS:
        raise _Refuse(REFUSED, f"operation {operation!r} is not one of {', '.join(OPERATIONS)}")
    try:
        record_id = uuid.UUID(str(change.get("record_id")))
        version = int(change["version"])
        path = str(change["lgd_path"])
    except (KeyError, TypeError, ValueError) as exc:
        raise _Refuse(REFUSED, f"change is missing record_id, version or lgd_path: {exc}") from exc
    record = change.get("record")
    if operation != "delete" and not isinstance(record, dict):
        raise _Refuse(REFUSED, f"a {operation} must carry the record")
    leaked = local_fields_present(entry, record) + local_fields_present(entry, change.get("changes"))
    if leaked:
        raise _Refuse(REFUSED, f"{record_type} carries field(s) {', '.join(sorted(set(leaked)))} that the federation "
                               "policy keeps on the owning node; refused, nothing stored")
    table = registry.table
    current = batch.current(record_type, record_id)
    probe = record or (current and {"level": current.get("level")})
    owner = topology.owner(policy, record_type, path, probe)
    if owner != sender:
        raise _Refuse(REFUSED, f"{record_type} {record_id} at {path} is owned by node '{owner}', not by '{sender}'")
    if current is not None and topology.owner(policy, record_type, current["lgd_path"], current) != sender:
        raise _Refuse(REFUSED, f"{record_type} {record_id} is held here under {current['lgd_path']}, owned by node "
                               f"'{topology.owner(policy, record_type, current['lgd_path'], current)}', not by "
                               f"'{sender}'")

    key = (record_type, str(record_id))
    base = batch.bases.get(key)
    head = current["version"] if current is not None else None
    if force:
        pass
    elif base is not None and version <= base:
        return DUPLICATE, None
    elif current is not None and head != base:
        return _conflict(session, change, sender, current, registry, version, base, now)
    if current is None and operation == "delete":
        batch.bases[key] = version
        return DUPLICATE, "deleted before this node received it"

    missing = _missing_references(batch, registry, record or {})
    if missing:
        return DEFERRED, f"references not held here yet: {', '.join(missing)}"

    values = _row_values(table, record) if record is not None else {}
    if operation == "delete":
        deleted_at = _deleted_at(change) or now
        _exactly_one(batch.execute(update(table).where(table.c.id == record_id, table.c.version == head)
                                   .values(deleted_at=deleted_at, version=version)), record_type, record_id)
    elif current is None:
        values.update(id=record_id, version=version, lgd_path=path)
        batch.insert(table, values)
    else:
        values.pop("id", None)
        values.update(version=version, lgd_path=path)
        if operation == "restore" or "deleted_at" not in values:
            values.setdefault("deleted_at", None)
        _exactly_one(batch.execute(update(table).where(table.c.id == record_id, table.c.version == head)
                                   .values(values)), record_type, record_id)
        if registry.spec.moves_subtree and current["lgd_path"] != path:
            catalogue.move_subtree(session, current["lgd_path"], path)
    note = _copy_external_ids(batch, registry, record_id, change.get("external_ids") or {})
    changelog.record(session, changelog.PendingChange(
        record_type, record_id, operation, version, change.get("actor"), change.get("source_system"), now, path,
        record, change.get("changes"),
        origin={"node": sender, "seq": change["seq"], "event_time": change.get("event_time"),
                "hash": change.get("hash")}))
    batch.bases[key] = version
    batch.present.setdefault(record_type, set()).add(record_id)
    if operation == "delete":
        batch.rows[key] = {**current, "version": version, "deleted_at": deleted_at}
    else:
        batch.rows[key] = {**(current or {}), **values}
    return APPLIED, note


def _exactly_one(result, record_type: str, record_id: uuid.UUID) -> None:
    """A replica row changed under us (two messages applied at once): roll the whole message back; it is re-sent."""
    if result.rowcount != 1:
        raise VersionConflict(f"{record_type} {record_id} changed while a federation message was applied; the "
                              "message was not applied, send it again")


def _conflict(session: Session, change: dict[str, Any], sender: str, current: dict[str, Any], registry: Registry,
              version: int, base: int | None, now: dt.datetime) -> tuple[str, str]:
    reason = (f"{registry.spec.title} {current['code']} is at version {current['version']} here, changed since the "
              + (f"last version received from '{sender}' ({base})" if base is not None
                 else f"record was created here independently of '{sender}'")
              + f"; '{sender}' sent version {version}")
    record_id = uuid.UUID(str(change["record_id"]))
    existing = session.execute(select(FederationConflict.id).where(
        FederationConflict.record_type == change["record_type"], FederationConflict.record_id == record_id,
        FederationConflict.sender == sender, FederationConflict.incoming_version == version)).first()
    if existing is None:
        session.add(FederationConflict(
            id=new_id(), record_type=change["record_type"], record_id=record_id, sender=sender,
            local_version=current["version"], incoming_version=version, reason=reason, incoming=change,
            local=changelog.orjson.loads(changelog.canonical_json(current)), detected_at=now, status="open"))
    return CONFLICT, reason


def _missing_references(batch: Batch, registry: Registry, record: dict[str, Any]) -> list[str]:
    missing = []
    for ref in registry.spec.references:
        value = record.get(ref.column)
        if value in (None, "", []):
            continue
        ids = _ids_of(value)
        if len(ids) != (len(value) if isinstance(value, list) else 1):
            missing.append(f"{ref.column}={value!r} (not a UUID)")
            continue
        missing.extend(f"{ref.target} {rid}" for rid in sorted(batch.missing(ref.target, ids), key=str))
    return missing


def _copy_external_ids(batch: Batch, registry: Registry, record_id: uuid.UUID,
                       external_ids: dict[str, Any]) -> str | None:
    """Mirror the owner's external ids; one already given to another record here is left out and reported."""
    wanted = {str(k): str(v) for k, v in external_ids.items() if v not in (None, "")}
    if not wanted:
        return None
    taken = []
    for system, value in list(wanted.items()):
        holder = batch.holder(registry.spec.name, system, value)
        if holder is not None and holder != record_id:
            taken.append(f"{system}={value}")
            wanted.pop(system)
        elif holder == record_id:
            wanted.pop(system)  # already held: nothing to write
    if wanted:
        batch.flush()  # the record's row first (foreign keys)
        registry._write_external_ids(batch.session, {record_id: wanted})
        for system, value in wanted.items():
            batch.ext[(registry.spec.name, system, value)] = record_id
            batch.ext_checked.add((registry.spec.name, system, value))
    return f"external id(s) {', '.join(taken)} belong to another record here; not copied" if taken else None


def _deleted_at(change: dict[str, Any]) -> dt.datetime | None:
    diff = change.get("changes") or {}
    pair = diff.get("deleted_at")
    if isinstance(pair, list) and len(pair) == 2 and isinstance(pair[1], str):
        try:
            return _as_utc(dt.datetime.fromisoformat(pair[1]))
        except ValueError:
            return None
    return None


def _as_utc(value: dt.datetime) -> dt.datetime:
    return value.replace(tzinfo=dt.UTC) if value.tzinfo is None else value.astimezone(dt.UTC)


def _row_values(table: Table, record: dict[str, Any]) -> dict[str, Any]:
    """A JSON snapshot back into column values; a field this node's table does not have is refused (a node running
    an older standard must be upgraded rather than silently drop data)."""
    unknown = sorted(k for k in record if k not in table.c)
    if unknown:
        raise _Refuse(REFUSED, f"field(s) {', '.join(unknown)} unknown to this node's {table.name}: upgrade this node")
    out: dict[str, Any] = {}
    for name, value in record.items():
        column = table.c[name]
        if value is None or isinstance(column.type, JSON):
            out[name] = value
            continue
        try:
            if isinstance(column.type, Uuid):
                out[name] = value if isinstance(value, uuid.UUID) else uuid.UUID(str(value))
            elif isinstance(column.type, DateTime):
                out[name] = _as_utc(dt.datetime.fromisoformat(str(value)))
            elif isinstance(column.type, Date):
                out[name] = dt.date.fromisoformat(str(value))
            elif isinstance(column.type, Float):
                out[name] = float(value)
            elif isinstance(column.type, Numeric) and not isinstance(value, bool):
                out[name] = Decimal(str(value))
            else:
                out[name] = value
        except (ValueError, InvalidOperation) as exc:
            raise _Refuse(REFUSED, f"{table.name}.{name}: {value!r} is not a valid {column.type}: {exc}") from exc
    return out
