"""Generic registry machinery: one scoped read path and one write path for every registry.

A domain declares a :class:`RegistrySpec` (its table, its input schema, its references, its filters, how its
jurisdiction path is derived) and gets, through :class:`Registry`:

* scoped reads: get by id or code, list/search with filters and keyset pages, history, lookup by external id;
* one write path, :meth:`Registry.import_records`, used by single create/update/delete as well as bulk import, so
  that validation, reference resolution, jurisdiction checks, version checks and the change log are the same for a
  phone creating one household and a state system pushing a hundred thousand.

The import contract follows DHIS2's: strategy (create / update / create_and_update / delete), atomic or per-record,
dry-run, idempotent on id, code or external id, and one summary shape with stable error codes per row.
"""

from __future__ import annotations

import datetime as dt
import enum
import uuid
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, Protocol

from pydantic import BaseModel, ValidationError
from pydantic_core import to_jsonable_python
from sqlalchemy import JSON, Table, and_, bindparam, func, select, update
from sqlalchemy.orm import Session

from jaldpi.core import changelog
from jaldpi.core.bulkio import bulk_insert
from jaldpi.core.errors import Conflict, NotFound, ValidationFailed, VersionConflict
from jaldpi.core.ids import mint_code, new_id, parse_uuid
from jaldpi.core.models import RECORD_COLUMNS, ExternalIdentifier, utcnow
from jaldpi.core.pagination import decode_cursor, encode_cursor
from jaldpi.core.security import Principal, scope_clause

CHUNK = 5000  # rows per IN (...) query: well under SQLite's and PostgreSQL's bind-parameter limits


class Strategy(str, enum.Enum):
    create = "create"
    update = "update"
    create_and_update = "create_and_update"
    delete = "delete"


class ErrorCode:
    """Stable machine codes of per-row import errors (documented in docs/api.md)."""

    INVALID = "invalid"
    NOT_FOUND = "not_found"
    ALREADY_EXISTS = "already_exists"
    REFERENCE_NOT_FOUND = "reference_not_found"
    REFERENCE_AMBIGUOUS = "reference_ambiguous"
    OUT_OF_JURISDICTION = "out_of_jurisdiction"
    VERSION_CONFLICT = "version_conflict"
    DUPLICATE_IN_PAYLOAD = "duplicate_in_payload"
    DUPLICATE_EXTERNAL_ID = "duplicate_external_id"
    RULE = "rule_violation"
    OWNED_ELSEWHERE = "owned_by_another_node"  # federation: another node is this record's source of truth


@dataclass(frozen=True)
class Reference:
    """A field that points at another registry's record.

    Input accepts a UUID, a human code, an object ``{"id"|"code"|"lgd_code"|"external_id": ...}``, or (for
    administrative units) a bare LGD code; it is stored as ``column`` (a UUID foreign key).
    """

    field: str
    column: str
    target: str
    levels: tuple[str, ...] | None = None  # for targets with levels (administrative units): allowed levels
    many: bool = False  # a list of references stored as a JSON list of ids
    # narrower allowed levels for one row (e.g. the parent of a district must be a state), so that a bare LGD
    # code is not ambiguous between levels that share numbers
    levels_for: Callable[[BaseModel], tuple[str, ...]] | None = None


class PrivateStore(Protocol):
    """Keeps a registry's personal-data fields apart from the record (encrypted, masked, access-logged)."""

    fields: frozenset[str]

    def write(self, session: Session, values: dict[uuid.UUID, dict[str, Any]], principal: Principal,
              created: frozenset[uuid.UUID] | set[uuid.UUID] = frozenset()) -> None: ...

    def read(self, session: Session, ids: Sequence[uuid.UUID], principal: Principal,
             paths: dict[uuid.UUID, str]) -> dict[uuid.UUID, dict[str, Any]]: ...

    def changed(self, session: Session, values: dict[uuid.UUID, dict[str, Any]]) -> dict[uuid.UUID, list[str]]: ...

    def is_masked(self, value: Any) -> bool: ...


@dataclass
class Filter:
    column: str
    kind: type = str  # str | int | bool
    description: str = ""


@dataclass
class RegistrySpec:
    name: str  # URL segment and change-log record type
    title: str
    table: Table
    schema: type[BaseModel]  # the input (create) schema of the data standard
    code_prefix: str
    derive_path: Callable[[dict[str, Any], dict[str, dict[str, Any]]], str]
    references: tuple[Reference, ...] = ()
    filters: dict[str, Filter] = field(default_factory=dict)
    search_column: str | None = "name"
    public_read: bool = False
    read_permission: str = ""
    write_permission: str = ""
    private_store: PrivateStore | None = None
    validate_row: Callable[[dict[str, Any]], list[tuple[str, str]]] | None = None  # -> [(field, problem)]
    mint_code: Callable[[dict[str, Any], dict[str, dict[str, Any]]], str] | None = None
    identity_keys: tuple[str, ...] = ()  # extra natural keys (e.g. level+lgd_code) for matching existing records
    output: Callable[[dict[str, Any]], dict[str, Any]] | None = None  # decorates an output row
    output_fields: tuple[str, ...] = ()  # keys that ``output`` adds to a record (read-only, dropped on input)
    moves_subtree: bool = False  # a path change moves every record under the old path (administrative units)
    predict_code: Callable[[dict[str, Any]], str | None] | None = None  # code a row will get, for in-payload refs
    # called in the same unit of work after rows were written: (session, principal, [(action, row)]) -> None;
    # for side effects such as opening a workflow case (they roll back with the import)
    on_written: Callable[[Session, Principal, list[tuple[str, dict[str, Any]]]], None] | None = None

    def __post_init__(self) -> None:
        self.read_permission = self.read_permission or f"{self.name}:read"
        self.write_permission = self.write_permission or f"{self.name}:write"


@dataclass
class RowResult:
    index: int
    action: str = "ignored"
    id: uuid.UUID | None = None
    code: str | None = None
    errors: list[dict[str, Any]] = field(default_factory=list)

    def fail(self, code: str, message: str, field_name: str | None = None) -> None:
        self.action = "error"
        self.errors.append({"code": code, "field": field_name, "message": message})


@dataclass
class ImportSummary:
    registry: str
    strategy: str
    atomic: bool
    dry_run: bool
    rows: list[RowResult]

    def stats(self) -> dict[str, int]:
        counts = {"created": 0, "updated": 0, "deleted": 0, "ignored": 0, "errors": 0}
        for r in self.rows:
            if r.action == "error":
                counts["errors"] += 1
            else:
                counts[r.action] += 1
        counts["total"] = len(self.rows)
        return counts

    @property
    def status(self) -> str:
        s = self.stats()
        if s["errors"] == 0:
            return "ok"
        return "error" if self.atomic or s["errors"] == s["total"] else "partial"

    def to_dict(self, *, full: bool = False) -> dict[str, Any]:
        rows = self.rows if full else [r for r in self.rows if r.errors]
        return {
            "registry": self.registry, "status": self.status, "strategy": self.strategy, "atomic": self.atomic,
            "dry_run": self.dry_run, "written": self.status != "error" and not self.dry_run,
            "stats": self.stats(),
            "rows": [{"index": r.index, "action": r.action, "id": str(r.id) if r.id else None, "code": r.code,
                      "errors": r.errors} for r in rows],
        }


class ExternalIds:
    """The shared ``external_ids`` table: (record type, record id, system, value), unique per type+system+value."""

    table: Table = ExternalIdentifier.__table__


def _chunks(items: Sequence[Any], size: int = CHUNK) -> Iterable[Sequence[Any]]:
    for i in range(0, len(items), size):
        yield items[i:i + size]


class Registry:
    """Operations of one registry, bound to its spec and the set of all registries (for references)."""

    def __init__(self, spec: RegistrySpec, catalogue: "Catalogue") -> None:
        self.spec = spec
        self.catalogue = catalogue
        self.table = spec.table
        self.columns = {c.name for c in self.table.columns}
        self.json_columns = {c.name for c in self.table.columns if isinstance(c.type, JSON)}
        self.schema_fields = set(spec.schema.model_fields)
        self.ref_by_field = {r.field: r for r in spec.references}
        # read-only keys of an output record that are not input: derived columns (lon/lat, counts) and decorations
        self.derived_fields = ((self.columns - self.schema_fields - {r.column for r in spec.references}
                                - set(RECORD_COLUMNS)) | set(spec.output_fields))

    # ---------------------------------------------------------------- reads
    def _read_scope(self, principal: Principal) -> list[str]:
        if self.spec.public_read:
            return ["/"]
        return principal.scope(self.spec.read_permission)

    def scoped(self, principal: Principal, *, include_deleted: bool = False):
        t = self.table
        stmt = select(t).where(scope_clause(t.c.lgd_path, self._read_scope(principal)))
        if not include_deleted:
            stmt = stmt.where(t.c.deleted_at.is_(None))
        return stmt

    def get(self, session: Session, principal: Principal, key: str | uuid.UUID, *,
            include_deleted: bool = False) -> dict[str, Any]:
        t = self.table
        rid = parse_uuid(key)
        cond = t.c.id == rid if rid else t.c.code == str(key)
        row = session.execute(self.scoped(principal, include_deleted=include_deleted).where(cond)).mappings().first()
        if row is None:
            # Same answer whether it does not exist or lies outside the caller's jurisdiction: no existence oracle.
            raise NotFound(f"no {self.spec.title} '{key}' visible to you")
        return self.render(session, principal, [dict(row)])[0]

    def list(self, session: Session, principal: Principal, *, limit: int, after: str | None = None,
             filters: dict[str, Any] | None = None, q: str | None = None, within: str | None = None,
             updated_since: dt.datetime | None = None, external_id: tuple[str, str] | None = None,
             include_deleted: bool = False, total: bool = False) -> dict[str, Any]:
        t = self.table
        stmt = self.scoped(principal, include_deleted=include_deleted)
        conds = []
        for name, value in (filters or {}).items():
            conds.append(t.c[self.spec.filters[name].column] == value)
        if q and self.spec.search_column:
            conds.append(func.lower(t.c[self.spec.search_column]).contains(q.lower(), autoescape=True))
        if within:  # a path prefix, or one segment such as "D745/" matched wherever it sits in the path
            conds.append(t.c.lgd_path.startswith(within, autoescape=True) if within.startswith("/")
                         else t.c.lgd_path.contains("/" + within, autoescape=True))
        if updated_since:
            conds.append(t.c.updated_at >= updated_since)
        if external_id:
            ext = ExternalIds.table
            conds.append(t.c.id.in_(select(ext.c.record_id).where(
                ext.c.record_type == self.spec.name, ext.c.system == external_id[0], ext.c.value == external_id[1])))
        if conds:
            stmt = stmt.where(and_(*conds))
        count = None
        if total:
            count = session.execute(select(func.count()).select_from(stmt.subquery())).scalar_one()
        if after:
            stmt = stmt.where(t.c.id > decode_cursor(after))
        rows = [dict(r) for r in session.execute(stmt.order_by(t.c.id).limit(limit + 1)).mappings()]
        more = len(rows) > limit
        rows = rows[:limit]
        page: dict[str, Any] = {
            "items": self.render(session, principal, rows),
            "next_cursor": encode_cursor(rows[-1]["id"]) if more and rows else None,
        }
        if total:
            page["total"] = count
        return page

    def history(self, session: Session, principal: Principal, key: str) -> list[dict[str, Any]]:
        record = self.get(session, principal, key, include_deleted=True)
        return changelog.history(session, self.spec.name, uuid.UUID(record["id"]))

    def render(self, session: Session, principal: Principal, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """Rows to API records: JSON-ready values, external ids, LGD codes of the path, private fields by role."""
        if not rows:
            return []
        ids = [r["id"] for r in rows]
        ext_map = self._external_ids(session, ids)
        private: dict[uuid.UUID, dict[str, Any]] = {}
        if self.spec.private_store is not None:
            private = self.spec.private_store.read(session, ids, principal, {r["id"]: r["lgd_path"] for r in rows})
        out = []
        for r in rows:
            rec = {k: _jsonable(v) for k, v in r.items()}
            rec["external_ids"] = ext_map.get(r["id"], {})
            rec["lgd"] = self.catalogue.path_codes(r["lgd_path"])
            if self.spec.private_store is not None:
                rec.update(private.get(r["id"], {f: None for f in self.spec.private_store.fields}))
            if self.spec.output:
                rec = self.spec.output(rec)
            out.append(rec)
        return out

    def _external_ids(self, session: Session, ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, dict[str, str]]:
        ext = ExternalIds.table
        found: dict[uuid.UUID, dict[str, str]] = {}
        for chunk in _chunks(list(ids)):
            for rid, system, value in session.execute(
                select(ext.c.record_id, ext.c.system, ext.c.value)
                .where(ext.c.record_type == self.spec.name, ext.c.record_id.in_(chunk))
            ):
                found.setdefault(rid, {})[system] = value
        return found

    # ---------------------------------------------------------------- resolution
    def resolve(self, session: Session, principal: Principal, refs: list[Any], levels: tuple[str, ...] | None
                ) -> dict[int, tuple[dict[str, Any] | None, str | None]]:
        """Resolve reference values (by position) to target rows visible to ``principal``.

        Returns ``{position: (row or None, error code or None)}``. One query per kind of key, not per row.
        """
        t = self.table
        base = self.scoped(principal)
        if levels and "level" in self.columns:
            base = base.where(t.c.level.in_(levels))
        by_id: dict[uuid.UUID, list[int]] = {}
        by_code: dict[str, list[int]] = {}
        by_lgd: dict[int, list[int]] = {}
        by_ext: dict[tuple[str, str], list[int]] = {}
        result: dict[int, tuple[dict[str, Any] | None, str | None]] = {}
        for pos, ref in enumerate(refs):
            if isinstance(ref, dict):
                if ref.get("id") is not None:
                    rid = parse_uuid(str(ref["id"]))
                    if rid is None:
                        result[pos] = (None, ErrorCode.INVALID)
                    else:
                        by_id.setdefault(rid, []).append(pos)
                elif ref.get("code") is not None:
                    by_code.setdefault(str(ref["code"]), []).append(pos)
                elif ref.get("lgd_code") is not None and "lgd_code" in self.columns:
                    by_lgd.setdefault(int(ref["lgd_code"]), []).append(pos)
                elif isinstance(ref.get("external_id"), dict):
                    e = ref["external_id"]
                    by_ext.setdefault((str(e.get("system")), str(e.get("value"))), []).append(pos)
                else:
                    result[pos] = (None, ErrorCode.INVALID)
            elif isinstance(ref, int) and not isinstance(ref, bool) and "lgd_code" in self.columns:
                by_lgd.setdefault(ref, []).append(pos)
            elif isinstance(ref, uuid.UUID) or (isinstance(ref, str) and parse_uuid(ref)):
                by_id.setdefault(parse_uuid(ref), []).append(pos)
            elif isinstance(ref, str) and ref.isdigit() and "lgd_code" in self.columns:
                by_lgd.setdefault(int(ref), []).append(pos)
            elif isinstance(ref, str) and ref:
                by_code.setdefault(ref, []).append(pos)
            else:
                result[pos] = (None, ErrorCode.INVALID)

        def fill(index: dict[Any, list[int]], column, key_of) -> None:
            keys = list(index)
            hits: dict[Any, list[dict[str, Any]]] = {}
            for chunk in _chunks(keys):
                for row in session.execute(base.where(column.in_(chunk))).mappings():
                    hits.setdefault(key_of(row), []).append(dict(row))
            for key, positions in index.items():
                found = hits.get(key, [])
                for pos in positions:
                    if not found:
                        result[pos] = (None, ErrorCode.REFERENCE_NOT_FOUND)
                    elif len(found) > 1:
                        result[pos] = (None, ErrorCode.REFERENCE_AMBIGUOUS)
                    else:
                        result[pos] = (found[0], None)

        if by_id:
            fill(by_id, t.c.id, lambda r: r["id"])
        if by_code:
            fill(by_code, t.c.code, lambda r: r["code"])
        if by_lgd:
            fill(by_lgd, t.c.lgd_code, lambda r: r["lgd_code"])
        if by_ext:
            ext = ExternalIds.table
            ids_for: dict[tuple[str, str], uuid.UUID] = {}
            for system in {k[0] for k in by_ext}:
                values = [k[1] for k in by_ext if k[0] == system]
                for chunk in _chunks(values):
                    for rid, value in session.execute(
                        select(ext.c.record_id, ext.c.value).where(
                            ext.c.record_type == self.spec.name, ext.c.system == system, ext.c.value.in_(chunk))
                    ):
                        ids_for[(system, value)] = rid
            id_index: dict[uuid.UUID, list[int]] = {}
            for key, positions in by_ext.items():
                if key in ids_for:
                    id_index.setdefault(ids_for[key], []).extend(positions)
                else:
                    for pos in positions:
                        result[pos] = (None, ErrorCode.REFERENCE_NOT_FOUND)
            fill(id_index, t.c.id, lambda r: r["id"])
        return result

    # ---------------------------------------------------------------- writes
    def _existing(self, session: Session, items: list[dict[str, Any]], principal: Principal | None = None,
                  results: list[RowResult] | None = None) -> dict[int, dict[str, Any]]:
        """Match input rows to stored records by id, then code, then external id, then natural identity keys.

        An identity key may be the column of a (single) reference, e.g. ``scheme_id``: the row's reference is
        resolved as ``principal`` sees it. Date columns accept ISO strings. Two rows of the payload with the same
        identity are refused (``duplicate_in_payload``) when ``results`` is given.
        """
        t = self.table
        matched: dict[int, dict[str, Any]] = {}
        ids = {}
        codes = {}
        for i, item in enumerate(items):
            rid = parse_uuid(item.get("id")) if item.get("id") is not None else None
            if rid:
                ids.setdefault(rid, []).append(i)
            elif item.get("code"):
                codes.setdefault(str(item["code"]), []).append(i)
        for index, column in ((ids, t.c.id), (codes, t.c.code)):
            for chunk in _chunks(list(index)):
                for row in session.execute(select(t).where(column.in_(chunk))).mappings():
                    key = row["id"] if column is t.c.id else row["code"]
                    for i in index.get(key, []):
                        matched[i] = dict(row)
        # external ids, for rows not matched yet
        ext = ExternalIds.table
        pending: dict[tuple[str, str], list[int]] = {}
        for i, item in enumerate(items):
            if i in matched or not isinstance(item.get("external_ids"), dict):
                continue
            for system, value in item["external_ids"].items():
                if value not in (None, ""):
                    pending.setdefault((str(system), str(value)), []).append(i)
        if pending:
            rid_of: dict[int, uuid.UUID] = {}
            for system in {k[0] for k in pending}:
                values = [k[1] for k in pending if k[0] == system]
                for chunk in _chunks(values):
                    for rid, value in session.execute(select(ext.c.record_id, ext.c.value).where(
                            ext.c.record_type == self.spec.name, ext.c.system == system, ext.c.value.in_(chunk))):
                        for i in pending[(system, value)]:
                            rid_of.setdefault(i, rid)
            wanted = list(set(rid_of.values()))
            rows = {}
            for chunk in _chunks(wanted):
                for row in session.execute(select(t).where(t.c.id.in_(chunk))).mappings():
                    rows[row["id"]] = dict(row)
            for i, rid in rid_of.items():
                if rid in rows:
                    matched[i] = rows[rid]
        if self.spec.identity_keys:
            keys = self.spec.identity_keys
            wanted_keys: dict[tuple, list[int]] = {}
            key_values = self._identity_values(session, items, matched, principal)
            for i, key in key_values.items():
                wanted_keys.setdefault(key, []).append(i)
            if results is not None:
                for positions in wanted_keys.values():
                    for i in positions[1:]:
                        results[i].fail(ErrorCode.DUPLICATE_IN_PAYLOAD,
                                        f"{'+'.join(keys)} also appears in row {results[positions[0]].index}",
                                        keys[0])
            if wanted_keys:
                first = keys[-1]
                values = list({k[-1] for k in wanted_keys})
                for chunk in _chunks(values):
                    for row in session.execute(select(t).where(t.c[first].in_(chunk))).mappings():
                        key = tuple(row[k] for k in keys)
                        for i in wanted_keys.get(key, []):
                            matched[i] = dict(row)
        return matched

    def _identity_values(self, session: Session, items: list[dict[str, Any]], matched: dict[int, Any],
                         principal: Principal | None) -> dict[int, tuple]:
        """The identity key of each unmatched row, as stored (references resolved to ids, dates parsed)."""
        keys = self.spec.identity_keys
        ref_of_column = {r.column: r for r in self.spec.references if not r.many}
        resolved_ids: dict[str, dict[int, Any]] = {}
        for k in keys:
            ref = ref_of_column.get(k)
            if ref is None:
                continue
            positions = [i for i, item in enumerate(items)
                         if i not in matched and item.get(ref.field) is not None and principal is not None]
            answers = (self.catalogue.registries[ref.target].resolve(
                session, principal, [items[i][ref.field] for i in positions], ref.levels) if positions else {})
            resolved_ids[k] = {i: answers[p][0]["id"] for p, i in enumerate(positions)
                               if answers.get(p, (None, None))[0] is not None}
        out: dict[int, tuple] = {}
        for i, item in enumerate(items):
            if i in matched:
                continue
            values = []
            for k in keys:
                if k in resolved_ids:
                    value = resolved_ids[k].get(i)
                else:
                    value = item.get(k)
                    if isinstance(value, str) and type(self.table.c[k].type).__name__ == "Date":
                        try:
                            value = dt.date.fromisoformat(value)
                        except ValueError:
                            value = None
                values.append(value)
            if all(v is not None for v in values):
                out[i] = tuple(values)
        return out

    def _stored_as_input(self, row: dict[str, Any], ext_ids: dict[str, str]) -> dict[str, Any]:
        """A stored row seen as input to the schema (for merge-updates): references by id."""
        data: dict[str, Any] = {}
        for name in self.schema_fields:
            ref = self.ref_by_field.get(name)
            if ref is not None:
                value = row.get(ref.column)
                if ref.many:  # an empty list stays a list (not the string "[]")
                    data[name] = [str(v) for v in value or []]
                else:
                    data[name] = str(value) if value is not None else None
            elif name == "external_ids":
                data[name] = ext_ids
            elif name in row:
                data[name] = row[name]
        data["id"] = str(row["id"])
        data["code"] = row["code"]
        return data

    def import_records(self, session: Session, principal: Principal, items: list[dict[str, Any]], *,
                       strategy: Strategy = Strategy.create_and_update, atomic: bool = True, dry_run: bool = False,
                       source_system: str | None = None, expected_versions: dict[int, int] | None = None
                       ) -> ImportSummary:
        """Validate, resolve, authorise and write ``items``; see the module docstring for the contract.

        Records may reference records of the same registry in the same payload (a district and its state): the
        payload is processed in generations, parents first. All writes happen inside a savepoint that is rolled
        back for a dry run, or for an atomic import with any error, so nothing is half-written.
        """
        spec = self.spec
        results = [RowResult(index=i) for i in range(len(items))]
        summary = ImportSummary(spec.name, strategy.value, atomic, dry_run, results)
        for i, item in enumerate(items):
            if not isinstance(item, dict):
                results[i].fail(ErrorCode.INVALID, "each record must be a JSON object")
        items = [self._normalise_input(it) if isinstance(it, dict) else {} for it in items]

        # duplicates inside the payload
        seen: dict[Any, int] = {}
        for i, item in enumerate(items):
            given_id = str(item["id"]) if item.get("id") is not None else None
            for key in (("id", given_id), ("code", item.get("code"))):
                if key[1] in (None, ""):
                    continue
                if key in seen:
                    results[i].fail(ErrorCode.DUPLICATE_IN_PAYLOAD,
                                    f"{key[0]} '{key[1]}' also appears in row {seen[key]}", key[0])
                else:
                    seen[key] = i

        savepoint = session.begin_nested()
        # change records queued by side effects (on_written hooks) must roll back with the savepoint too
        queued_before = len(session.info.get("pending_changes", []))

        def rollback() -> None:
            savepoint.rollback()
            del session.info.get("pending_changes", [])[queued_before:]

        changes: list[changelog.PendingChange] = []
        try:
            for generation in self._generations(items):
                changes += self._import_pass(session, principal, [items[i] for i in generation],
                                             [results[i] for i in generation], strategy=strategy, atomic=atomic,
                                             source_system=source_system, expected_versions=expected_versions or {})
                if atomic and any(results[i].errors for i in generation):
                    break
        except BaseException:
            rollback()
            raise
        failed = any(r.errors for r in results)
        if dry_run or (atomic and failed):
            rollback()
            if atomic and failed:
                for r in results:
                    if not r.errors:
                        r.action = "ignored"
            return summary
        savepoint.commit()
        for change in changes:
            changelog.record(session, change)
        return summary

    _READ_ONLY = frozenset({*RECORD_COLUMNS, "lgd", "external_ids_", "version"}) - {"id", "code"}

    def _normalise_input(self, item: dict[str, Any]) -> dict[str, Any]:
        """Accept a record as this API returns it: drop read-only metadata, map ``<field>_id`` to ``<field>``."""
        out = {}
        for key, value in item.items():
            if key in self._READ_ONLY and key not in self.schema_fields and key != "version":
                continue
            if key in self.derived_fields:
                continue
            out[key] = value
        for ref in self.spec.references:
            if ref.column in out and ref.column not in self.schema_fields:
                value = out.pop(ref.column)
                out.setdefault(ref.field, value)
        if self.spec.private_store is not None:  # masked values read back are not data
            for name in self.spec.private_store.fields:
                if self.spec.private_store.is_masked(out.get(name)):
                    out.pop(name)
        return out

    def _generations(self, items: list[dict[str, Any]]) -> list[list[int]]:
        """Order rows so that rows referencing another row of the payload (same registry) come after it."""
        self_refs = [r for r in self.spec.references if r.target == self.spec.name]
        if not self_refs or len(items) < 2:
            return [list(range(len(items)))]
        # key -> rows that carry it (an LGD code may belong to several rows of different levels: depend on all)
        owner: dict[tuple[str, Any], list[int]] = {}
        for i, item in enumerate(items):
            if item.get("id") is not None:
                owner.setdefault(("id", str(item["id"]).lower()), []).append(i)
            code = item.get("code") or (self.spec.predict_code(item) if self.spec.predict_code else None)
            if code:
                owner.setdefault(("code", code), []).append(i)
            if isinstance(item.get("lgd_code"), int | str) and str(item.get("lgd_code")).isdigit():
                owner.setdefault(("lgd", int(item["lgd_code"])), []).append(i)

        def keys_of(value: Any) -> list[tuple[str, Any]]:
            if isinstance(value, dict):
                return [("id", str(value["id"]).lower())] if value.get("id") else (
                    [("code", value["code"])] if value.get("code") else (
                        [("lgd", int(value["lgd_code"]))] if str(value.get("lgd_code", "")).isdigit() else []))
            if isinstance(value, int) and not isinstance(value, bool):
                return [("lgd", value)]
            if isinstance(value, str):
                if parse_uuid(value):
                    return [("id", value.lower())]
                return [("lgd", int(value))] if value.isdigit() else [("code", value)]
            return []

        deps: list[set[int]] = []
        for i, item in enumerate(items):
            found = set()
            for ref in self_refs:
                value = item.get(ref.field)
                for v in (value if ref.many and isinstance(value, list) else [value]):
                    for key in keys_of(v):
                        found.update(j for j in owner.get(key, ()) if j != i)
            deps.append(found)
        depth: dict[int, int] = {}
        for start in range(len(items)):
            stack = [start]
            visiting = set()
            while stack:
                i = stack[-1]
                if i in depth:
                    stack.pop()
                    continue
                pending = [j for j in deps[i] if j not in depth and j not in visiting]
                if pending and i not in visiting:
                    visiting.add(i)
                    stack.extend(pending)
                    continue
                depth[i] = 1 + max((depth.get(j, 0) for j in deps[i]), default=-1)
                visiting.discard(i)
                stack.pop()
        generations: dict[int, list[int]] = {}
        for i, d in depth.items():
            generations.setdefault(d, []).append(i)
        return [sorted(generations[d]) for d in sorted(generations)]

    def _import_pass(self, session: Session, principal: Principal, items: list[dict[str, Any]],
                     results: list[RowResult], *, strategy: Strategy, atomic: bool, source_system: str | None,
                     expected_versions: dict[int, int]) -> list[changelog.PendingChange]:
        """One generation of an import: match, validate, resolve, authorise, write. Returns the change records."""
        spec = self.spec

        write_scope = tuple(principal.scope(spec.write_permission))

        def can_write(path: str) -> bool:
            return path.startswith(write_scope) if write_scope else False

        # federation: a node changes only the records it owns (others are replicas); None when not federated
        owned_elsewhere = (self.catalogue.write_guard(session, spec.name)
                           if self.catalogue.write_guard is not None else None)

        # 2. match to stored records and choose the action per row
        existing = self._existing(session, items, principal, results)
        ext_of_existing = self._external_ids(session, [r["id"] for r in existing.values()]) if existing else {}
        plans: dict[int, tuple[str, dict[str, Any] | None]] = {}
        for i, item in enumerate(items):
            if results[i].errors:
                continue
            old = existing.get(i)
            if old is not None and not can_write(old["lgd_path"]):
                # Matched (by id, code or external id) a record the caller may not change: refuse the row without
                # disclosing that record (no code, no id, no "already exists").
                results[i].fail(ErrorCode.OUT_OF_JURISDICTION,
                                f"this row matches a {spec.title} outside your jurisdiction for writing", "id")
                continue
            if strategy == Strategy.create and old is not None:
                results[i].fail(ErrorCode.ALREADY_EXISTS, f"{spec.title} {old['code']} already exists", "id")
            elif strategy in (Strategy.update, Strategy.delete) and old is None:
                results[i].fail(ErrorCode.NOT_FOUND, f"no {spec.title} matches this row's id, code or external id",
                                "id")
            elif strategy == Strategy.delete:
                if old["deleted_at"] is not None:
                    results[i].id, results[i].code = old["id"], old["code"]
                    continue  # already deleted: ignored (idempotent)
                plans[i] = ("delete", old)
            else:
                plans[i] = ("update" if old is not None else "create", old)
            expected = expected_versions.get(results[i].index, item.get("version"))
            if old is not None and expected is not None and i in plans and int(expected) != old["version"]:
                plans.pop(i, None)
                results[i].fail(ErrorCode.VERSION_CONFLICT,
                                f"record is at version {old['version']}, this change was based on {expected}",
                                "version")

        # 3. validate merged input against the standard's schema
        validated: dict[int, BaseModel] = {}
        for i, (action, old) in list(plans.items()):
            if action == "delete":
                continue
            item = {k: v for k, v in items[i].items() if k != "version"}
            if old is not None:
                merged = self._stored_as_input(old, ext_of_existing.get(old["id"], {}))
                merged.update({k: v for k, v in item.items()})
                item = merged
            try:
                validated[i] = spec.schema.model_validate(item)
            except ValidationError as exc:
                plans.pop(i)
                for err in exc.errors(include_url=False):
                    results[i].fail(ErrorCode.INVALID, err["msg"], ".".join(str(p) for p in err["loc"]) or None)

        # 4. resolve references, one batch per reference field
        resolved: dict[int, dict[str, dict[str, Any]]] = {i: {} for i in validated}
        ref_values: dict[int, dict[str, Any]] = {i: {} for i in validated}
        for ref in spec.references:
            target = self.catalogue.registries[ref.target]
            positions: list[tuple[int, int | None]] = []
            values: list[Any] = []
            for i, model in validated.items():
                value = getattr(model, ref.field, None)
                if value is None:
                    continue
                if ref.many:
                    for j, v in enumerate(value):
                        positions.append((i, j))
                        values.append(_ref_value(v))
                else:
                    positions.append((i, None))
                    values.append(_ref_value(value))
            if not values:
                continue
            if ref.levels_for is None:
                answers = target.resolve(session, principal, values, ref.levels)
            else:  # allowed target levels depend on the row (a district's parent is a state): resolve per group
                groups: dict[tuple[str, ...], list[int]] = {}
                for pos, (i, _j) in enumerate(positions):
                    groups.setdefault(ref.levels_for(validated[i]), []).append(pos)
                answers = {}
                for levels, members in groups.items():
                    sub = target.resolve(session, principal, [values[p] for p in members], levels)
                    for k, pos in enumerate(members):
                        answers[pos] = sub[k]
            for pos, (i, j) in enumerate(positions):
                row, err = answers.get(pos, (None, ErrorCode.REFERENCE_NOT_FOUND))
                if err:
                    label = f"{ref.field}.{j}" if j is not None else ref.field
                    lv = f" ({'/'.join(ref.levels)})" if ref.levels else ""
                    what = ("matches more than one record" if err == ErrorCode.REFERENCE_AMBIGUOUS
                            else "not found or not visible to you")
                    results[i].fail(err, f"{ref.target}{lv} '{values[pos]}' {what}", label)
                    continue
                if j is None:
                    resolved[i][ref.field] = row
                    ref_values[i][ref.column] = row["id"]
                else:
                    resolved[i].setdefault(ref.field, []).append(row)  # type: ignore[attr-defined]
                    ref_values[i].setdefault(ref.column, []).append(row["id"])
        for i in list(validated):
            if results[i].errors:
                validated.pop(i)
                plans.pop(i, None)

        # 5. build rows, derive jurisdiction paths, apply domain rules, check jurisdiction
        now = utcnow()
        actor = principal.subject
        source = source_system or principal.source_system
        private_fields = spec.private_store.fields if spec.private_store else frozenset()
        inserts: list[dict[str, Any]] = []
        updates: list[tuple[dict[str, Any], dict[str, Any]]] = []
        deletes: list[dict[str, Any]] = []
        ext_writes: dict[uuid.UUID, dict[str, str]] = {}
        private_writes: dict[uuid.UUID, dict[str, Any]] = {}
        changes: list[changelog.PendingChange] = []
        private_changed: dict[uuid.UUID, list[str]] = {}
        if private_fields:  # which personal fields of updated records really change (idempotent re-sends)
            given = {old["id"]: {f: getattr(validated[i], f, None) for f in private_fields
                                 if f in validated[i].model_fields_set}
                     for i, (action, old) in plans.items() if action == "update" and i in validated}
            given = {k: v for k, v in given.items() if v}
            if given:
                private_changed = spec.private_store.changed(session, given)
        for i, (action, old) in plans.items():
            res = results[i]
            if action == "delete":
                if not can_write(old["lgd_path"]):
                    res.fail(ErrorCode.OUT_OF_JURISDICTION, "record lies outside your jurisdiction", "lgd_path")
                    continue
                problem = owned_elsewhere(old["lgd_path"], old) if owned_elsewhere else None
                if problem:
                    res.fail(ErrorCode.OWNED_ELSEWHERE, problem, "lgd_path")
                    continue
                deletes.append(old)
                res.action, res.id, res.code = "deleted", old["id"], old["code"]
                continue
            model = validated[i]
            data = model.model_dump(exclude={"id", "code", "external_ids", *self.ref_by_field, *private_fields})
            data = {k: v for k, v in data.items() if k in self.columns}
            for k in self.json_columns & data.keys():  # JSON columns hold JSON: dates as ISO strings
                data[k] = to_jsonable_python(data[k])
            for k, v in data.items():  # instants are stored in UTC (SQLite would drop the offset); naive = UTC
                if type(v) is dt.datetime:
                    data[k] = _as_utc(v)
            data.update(ref_values[i])
            for ref in spec.references:
                if ref.many:  # stored as a JSON list of id strings
                    data[ref.column] = [str(x) for x in ref_values[i].get(ref.column, [])]
                elif getattr(model, ref.field, None) is None:  # a cleared reference
                    data[ref.column] = None
            try:
                path = spec.derive_path(data, resolved[i])
            except ValueError as exc:
                res.fail(ErrorCode.RULE, str(exc))
                continue
            problems = (spec.validate_row(data | {"_resolved": resolved[i], "_old": old, "_path": path,
                                                  "_session": session, "_principal": principal})
                        if spec.validate_row else [])
            for fname, problem in problems:
                res.fail(ErrorCode.RULE, problem, fname)
            if res.errors:
                continue
            if not can_write(path) or (old is not None and not can_write(old["lgd_path"])):
                res.fail(ErrorCode.OUT_OF_JURISDICTION,
                         f"{spec.title} at {path} lies outside your jurisdiction for writing", "lgd_path")
                continue
            if owned_elsewhere is not None:
                problem = owned_elsewhere(path, data) or (owned_elsewhere(old["lgd_path"], old) if old else None)
                if problem:
                    res.fail(ErrorCode.OWNED_ELSEWHERE, problem, "lgd_path")
                    continue
            ext_in = {str(k): str(v) for k, v in (getattr(model, "external_ids", None) or {}).items()
                      if v not in (None, "")}
            private_in = {f: getattr(model, f, None) for f in private_fields if f in model.model_fields_set}
            if action == "create":
                rid = parse_uuid(items[i].get("id")) or new_id()
                code = items[i].get("code") or (spec.mint_code(data, resolved[i]) if spec.mint_code
                                                else mint_code(spec.code_prefix, rid))
                row = {**data, "id": rid, "code": code, "version": 1, "lgd_path": path, "created_at": now,
                       "updated_at": now, "created_by": actor, "updated_by": actor, "source_system": source,
                       "deleted_at": None}
                inserts.append(row)
                res.action, res.id, res.code = "created", rid, code
                snapshot = _snapshot(row)
                changes.append(changelog.PendingChange(
                    spec.name, rid, "create", 1, actor, source, now, path, snapshot,
                    {k: [None, snapshot[k]] for k, v in data.items() if v is not None}
                    | ({"personal_data": sorted(private_in)} if private_in else {})))
                if ext_in:
                    ext_writes[rid] = ext_in
                if private_in:
                    private_writes[rid] = private_in
            else:
                new_values = {**data, "lgd_path": path}
                diff = {k: [_jsonable(old.get(k)), _jsonable(v)] for k, v in new_values.items()
                        if not same_value(old.get(k), v)}
                old_ext = ext_of_existing.get(old["id"], {})
                merged_ext = {**old_ext, **ext_in}
                if merged_ext != old_ext:
                    diff["external_ids"] = [old_ext, merged_ext]
                    ext_writes[old["id"]] = ext_in
                changed_private = private_changed.get(old["id"], [])
                if changed_private:
                    diff["personal_data"] = changed_private  # names of fields, never values
                    private_writes[old["id"]] = {f: private_in[f] for f in changed_private}
                restored = old["deleted_at"] is not None
                res.id, res.code = old["id"], old["code"]
                if not diff and not restored:
                    res.action = "ignored"  # idempotent re-send
                    continue
                version = old["version"] + 1
                row = {**old, **new_values, "version": version, "updated_at": now, "updated_by": actor,
                       "source_system": source or old["source_system"], "deleted_at": None}
                updates.append((old, row))
                res.action = "updated"
                changes.append(changelog.PendingChange(
                    spec.name, old["id"], "restore" if restored else "update", version, actor, source, now, path,
                    _snapshot(row), diff))

        # external ids must stay unique per (registry, system, value)
        if ext_writes:
            self._check_external_ids(session, ext_writes, results)

        failed = any(r.errors for r in results)
        if atomic and failed:
            return []
        if failed:  # per-record mode: drop the rows that failed late
            bad = {r.id for r in results if r.errors and r.id}
            inserts = [r for r in inserts if r["id"] not in bad]
            updates = [u for u in updates if u[0]["id"] not in bad]
            changes = [c for c in changes if c.record_id not in bad]
            ext_writes = {k: v for k, v in ext_writes.items() if k not in bad}
            private_writes = {k: v for k, v in private_writes.items() if k not in bad}

        # 6. write, set-based
        bulk_insert(session, self.table, inserts)
        if updates:
            self._write_updates(session, updates)
            if spec.moves_subtree:
                for old_row, new_row in updates:
                    if old_row["lgd_path"] != new_row["lgd_path"]:
                        self.catalogue.move_subtree(session, old_row["lgd_path"], new_row["lgd_path"])
        for old in deletes:
            version = old["version"] + 1
            res = session.execute(update(self.table).where(self.table.c.id == old["id"],
                                                           self.table.c.version == old["version"])
                                  .values(deleted_at=now, version=version, updated_at=now, updated_by=actor))
            if res.rowcount != 1:
                raise VersionConflict(f"{spec.title} {old['code']} changed while it was being deleted; retry")
            changes.append(changelog.PendingChange(spec.name, old["id"], "delete", version, actor, source, now,
                                                   old["lgd_path"], None, {"deleted_at": [None, now.isoformat()]}))
        if ext_writes:
            self._write_external_ids(session, ext_writes)
        if private_writes and spec.private_store is not None:
            spec.private_store.write(session, private_writes, principal, created={r["id"] for r in inserts})
        session.flush()
        if spec.on_written is not None and (inserts or updates):
            spec.on_written(session, principal, [("created", r) for r in inserts] + [("updated", new)
                                                                                    for _old, new in updates])
        return changes

    def _write_updates(self, session: Session, updates: list[tuple[dict[str, Any], dict[str, Any]]]) -> None:
        t = self.table
        cols = [c for c in self.columns if c not in ("id", "created_at", "created_by", "code")]
        stmt = (update(t).where(t.c.id == bindparam("_id"), t.c.version == bindparam("_old_version"))
                .values({c: bindparam(f"v_{c}") for c in cols}))
        params = [{"_id": old["id"], "_old_version": old["version"], **{f"v_{c}": new[c] for c in cols}}
                  for old, new in updates]
        conn = session.connection()
        result = conn.execute(stmt, params)
        if result.rowcount not in (-1, len(params)):
            raise VersionConflict(f"{self.spec.title}: {len(params) - result.rowcount} record(s) changed by someone "
                                  "else during this import; nothing was written; retry")

    def _check_external_ids(self, session: Session, ext_writes: dict[uuid.UUID, dict[str, str]],
                            results: list[RowResult]) -> None:
        ext = ExternalIds.table
        owner: dict[tuple[str, str], uuid.UUID] = {}
        row_of = {r.id: r for r in results if r.id}
        for rid, values in ext_writes.items():
            for system, value in values.items():
                key = (system, value)
                if key in owner and owner[key] != rid:
                    row_of[rid].fail(ErrorCode.DUPLICATE_EXTERNAL_ID,
                                     f"external id {system}={value} given to two records", f"external_ids.{system}")
                owner[key] = rid
        for system in {k[0] for k in owner}:
            values = [k[1] for k in owner if k[0] == system]
            for chunk in _chunks(values):
                for rid, value in session.execute(select(ext.c.record_id, ext.c.value).where(
                        ext.c.record_type == self.spec.name, ext.c.system == system, ext.c.value.in_(chunk))):
                    mine = owner[(system, value)]
                    if rid != mine and mine in row_of:
                        row_of[mine].fail(ErrorCode.DUPLICATE_EXTERNAL_ID,
                                          f"external id {system}={value} already belongs to another record",
                                          f"external_ids.{system}")

    def _write_external_ids(self, session: Session, ext_writes: dict[uuid.UUID, dict[str, str]]) -> None:
        """Set the given (system -> value) pairs; systems not mentioned keep their values."""
        ext = ExternalIds.table
        by_system: dict[str, list[uuid.UUID]] = {}
        for rid, values in ext_writes.items():
            for system in values:
                by_system.setdefault(system, []).append(rid)
        for system, ids in by_system.items():
            for chunk in _chunks(ids):
                session.execute(ext.delete().where(ext.c.record_type == self.spec.name, ext.c.system == system,
                                                   ext.c.record_id.in_(chunk)))
        rows = [{"record_type": self.spec.name, "record_id": rid, "system": system, "value": value}
                for rid, values in ext_writes.items() for system, value in values.items()]
        bulk_insert(session, ext, rows)

    # ---------------------------------------------------------------- single-record helpers
    def write_one(self, session: Session, principal: Principal, item: dict[str, Any], strategy: Strategy, *,
                  expected_version: int | None = None) -> dict[str, Any]:
        summary = self.import_records(session, principal, [item], strategy=strategy, atomic=True,
                                      expected_versions={0: expected_version} if expected_version else None)
        row = summary.rows[0]
        if row.errors:
            codes = {e["code"] for e in row.errors}
            details = [{"field": e["field"], "problem": e["message"], "type": e["code"]} for e in row.errors]
            message = row.errors[0]["message"]
            if ErrorCode.NOT_FOUND in codes:
                raise NotFound(message, details=details)
            if ErrorCode.VERSION_CONFLICT in codes:
                raise VersionConflict(message, details=details)
            if codes & {ErrorCode.ALREADY_EXISTS, ErrorCode.DUPLICATE_EXTERNAL_ID}:
                raise Conflict(message, details=details, code=row.errors[0]["code"])
            if ErrorCode.OUT_OF_JURISDICTION in codes:
                from jaldpi.core.errors import OutOfJurisdiction
                raise OutOfJurisdiction(message, details=details)
            if ErrorCode.OWNED_ELSEWHERE in codes:
                from jaldpi.core.errors import Forbidden
                raise Forbidden(message, details=details, code=ErrorCode.OWNED_ELSEWHERE)
            raise ValidationFailed(message, details=details)
        session.flush()
        return self.get(session, principal, row.id, include_deleted=True)


def _ref_value(value: Any) -> Any:
    if isinstance(value, BaseModel):
        return value.model_dump(exclude_none=True)
    return value


_PLAIN = frozenset({str, int, bool, float, type(None)})


def _jsonable(value: Any) -> Any:
    """A stored value as JSON: UUIDs and dates as strings, Decimals as exact strings."""
    kind = type(value)
    if kind in _PLAIN:
        return value
    if kind is uuid.UUID:
        return str(value)
    if kind is dt.datetime:
        return _as_utc(value).isoformat()  # SQLite hands back naive UTC: say so
    if kind is dt.date:
        return value.isoformat()
    if isinstance(value, list):
        return [_jsonable(v) for v in value]
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, dt.date):  # subclasses
        return value.isoformat()
    return value


def same_value(stored: Any, given: Any) -> bool:
    """Equal as data: Decimal("5.50") (as stored in NUMERIC(16,2)) is the same amount as Decimal("5.5")."""
    if isinstance(stored, Decimal) and isinstance(given, Decimal):
        return stored == given
    if isinstance(stored, dt.datetime) and isinstance(given, dt.datetime):
        # the same instant: SQLite hands back timestamps without their offset (stored as UTC), PostgreSQL in the
        # session's time zone; "2023-05-01T00:00:00+05:30" is "2023-04-30T18:30:00+00:00"
        return _as_utc(stored) == _as_utc(given)
    return _jsonable(stored) == _jsonable(given)


def _as_utc(value: dt.datetime) -> dt.datetime:
    return value.replace(tzinfo=dt.UTC) if value.tzinfo is None else value.astimezone(dt.UTC)


def _snapshot(row: dict[str, Any]) -> dict[str, Any]:
    return {k: v if type(v) in _PLAIN else _jsonable(v) for k, v in row.items()}


class Catalogue:
    """All registries of a node, by name; knows how to read LGD codes out of a jurisdiction path."""

    def __init__(self, path_codes: Callable[[str], dict[str, int | str]]) -> None:
        self.registries: dict[str, Registry] = {}
        self.path_codes = path_codes
        self.path_tables: list[Table] = []  # tables with an lgd_path column (registries, grants)
        # set by a federated node: (session, record type) -> per-row check returning why this node may not change
        # a record (another node owns it), or None when no row can be refused
        self.write_guard: Callable[[Session, str], Callable[[str, dict[str, Any]], str | None] | None] | None = None

    def add(self, spec: RegistrySpec) -> Registry:
        registry = Registry(spec, self)
        self.registries[spec.name] = registry
        self.path_tables.append(spec.table)
        return registry

    def move_subtree(self, session: Session, old_prefix: str, new_prefix: str) -> None:
        """Re-path every record under ``old_prefix`` (a re-parented unit), set-based, one UPDATE per table.

        The unit's own change record carries the move; records below keep their version (their data did not change,
        only where their jurisdiction hangs).
        """
        from sqlalchemy import literal

        for table in self.path_tables:
            session.execute(
                update(table).where(table.c.lgd_path.startswith(old_prefix, autoescape=True))
                .values(lgd_path=literal(new_prefix) + func.substr(table.c.lgd_path, len(old_prefix) + 1))
            )

    def __getitem__(self, name: str) -> Registry:
        return self.registries[name]


__all__ = ["Catalogue", "ErrorCode", "Filter", "ImportSummary", "PrivateStore", "Reference", "Registry",
           "RegistrySpec", "RECORD_COLUMNS", "Strategy"]
