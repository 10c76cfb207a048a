"""Progress services: opening and deciding approvals (maker-checker), the current approved figures, a scheme's view.

The approval itself is the ``progress_approval`` workflow (workflows/progress_approval.json) run by the core engine;
this module holds what it does to the records. Every write of an update, including the workflow's own status
changes, goes through ``Registry.import_records`` (the workflow's writes as ``system:progress``, flagged so that
the registry rules allow the workflow fields); services flush, never commit.

**Next level up.** The maker's level is the widest grant with ``progress:write`` covering the update (a block
official's is the block); the update is assigned to the unit above it (block -> district, district -> state; a
state-level maker's update is checked at the state, by another official). The checker must hold a grant covering
that unit (the engine checks role and jurisdiction; :func:`check_checker` checks the level) and must not be anyone
who wrote the update's figures (the change log's actors), even when the same person holds grants at both levels.
"""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from jaldpi.core.changelog import ChangeRecord
from jaldpi.core.errors import Conflict, Forbidden, NotFound, ValidationFailed
from jaldpi.core.registry import Strategy
from jaldpi.core.security import Grant, Principal
from jaldpi.core.workflow import cut_path
from jaldpi.progress.models import ComponentEstimate, ProgressUpdate

WORKFLOW = "progress_approval"
RECORD_TYPE = "progress_updates"
SYSTEM_ACTOR = "system:progress"
WORKFLOW_WRITE = "progress_workflow_write"  # session.info flag: the workflow is writing its own fields
READ, WRITE = "progress:read", "progress:write"

def system_principal(path: str) -> Principal:
    from jaldpi.standard.codelists import role_permissions

    return Principal(SYSTEM_ACTOR, "system", (Grant("node_admin", path),), role_permissions())


# ---------------------------------------------------------------------------------------------------- figures

def _subject_column(kind: str):
    return ProgressUpdate.estimate_id if kind == "physical" else ProgressUpdate.scheme_id


def last_approved(session: Session, kind: str, subject_id: uuid.UUID, *, as_of: dt.date | None = None,
                  exclude: uuid.UUID | None = None) -> dict[str, Any] | None:
    """The latest approved update of a work item (physical) or scheme (financial), optionally as of a date."""
    t = ProgressUpdate.__table__
    stmt = select(t).where(t.c.kind == kind, _subject_column(kind) == subject_id, t.c.status == "approved",
                           t.c.deleted_at.is_(None))
    if as_of is not None:
        stmt = stmt.where(t.c.as_of <= as_of)
    if exclude is not None:
        stmt = stmt.where(t.c.id != exclude)
    row = session.execute(stmt.order_by(t.c.as_of.desc(), t.c.approved_at.desc()).limit(1)).mappings().first()
    return dict(row) if row else None


def current_update(session: Session, kind: str, subject_id: uuid.UUID, *, as_of: dt.date | None = None,
                   exclude: uuid.UUID | None = None) -> dict[str, Any] | None:
    """What a new figure is compared with: the last approved update as of its date (registry rules)."""
    return last_approved(session, kind, subject_id, as_of=as_of, exclude=exclude)


def _current_flagged(session: Session, kind: str, subject_id: uuid.UUID) -> dict[str, Any] | None:
    t = ProgressUpdate.__table__
    row = session.execute(select(t).where(t.c.kind == kind, _subject_column(kind) == subject_id,
                                          t.c.is_current.is_(True), t.c.deleted_at.is_(None))).mappings().first()
    return dict(row) if row else None


# ---------------------------------------------------------------------------------------------------- maker-checker

def maker_grant_path(principal: Principal, path: str) -> str:
    """The widest unit the writer acts for over ``path`` with ``progress:write`` (``path`` itself if none)."""
    covering = [g.path for g in principal.grants
                if WRITE in principal.role_permissions.get(g.role, ()) and path.startswith(g.path)]
    return min(covering, key=len) if covering else path


def checker_unit(maker_path: str, record_path: str) -> tuple[str, str]:
    """(path, level) of the unit that checks a maker acting for ``maker_path``: the unit above it, or the state for
    a state-level (or node-wide) maker."""
    from jaldpi.admin_units.paths import levels_by_letter

    parts = [p for p in maker_path.strip("/").split("/") if p]
    if len(parts) >= 2:
        path = "/" + "/".join(parts[:-1]) + "/"
    else:
        path = cut_path(record_path, "S") or record_path
    last = [p for p in path.strip("/").split("/") if p][-1]
    return path, levels_by_letter()[last[0]]


def makers_of(session: Session, record_id: uuid.UUID) -> set[str]:
    """Everyone who wrote the update (its change log, including changes not yet sealed), less the workflow."""
    actors = set(session.execute(select(ChangeRecord.actor).where(
        ChangeRecord.record_type == RECORD_TYPE, ChangeRecord.record_id == record_id)).scalars())
    actors |= {c.actor for c in session.info.get("pending_changes", [])
               if c.record_type == RECORD_TYPE and c.record_id == record_id}
    return {a for a in actors if a and a != SYSTEM_ACTOR}


def check_checker(session: Session, principal: Principal, case, roles: tuple[str, ...],
                  record_id: uuid.UUID) -> None:
    """Refuse (``maker_checker``, 403) a decision by a maker of the update or by someone below the checking unit."""
    from jaldpi.core.workflow import WRITE_PERMISSION

    if principal.subject in makers_of(session, record_id):
        raise Forbidden("you entered or changed these figures: another official must approve or return them "
                        "(maker-checker)", code="maker_checker",
                        details=[{"field": "actor", "problem": "the checker must not be a maker of the update"}])
    unit = (case.data or {}).get("checker_path")
    able = [g.path for g in principal.grants
            if g.role in roles or WRITE_PERMISSION in principal.role_permissions.get(g.role, ())]
    if unit and not any(unit.startswith(p) for p in able):
        level = (case.data or {}).get("checker_level")
        raise Forbidden(f"this update is checked at {level} level ({unit}) or above; your grant is at the maker's "
                        "level or below (maker-checker)", code="maker_checker",
                        details=[{"field": "role", "problem": f"needs a grant covering {unit}"}])


def open_approval(engine, session: Session, principal: Principal, row: dict[str, Any]) -> None:
    maker_path = maker_grant_path(principal, row["lgd_path"])
    path, level = checker_unit(maker_path, row["lgd_path"])
    engine.open_case(session, principal, WORKFLOW, RECORD_TYPE, row["id"], row["lgd_path"], level,
                     {"update_code": row["code"], "kind": row["kind"], "as_of": row["as_of"].isoformat(),
                      "maker_path": maker_path, "checker_path": path, "checker_level": level},
                     assigned_path=path, note=f"{row['kind']} progress as of {row['as_of']} submitted")


def after_updates_written(engine, session: Session, principal: Principal,
                          rows: list[tuple[str, dict[str, Any]]]) -> None:
    """A maker's new update opens its approval case, in the same unit of work (it rolls back with the import)."""
    if session.info.get(WORKFLOW_WRITE):
        return
    for action, row in rows:
        if action == "created" and row["status"] == "submitted":
            open_approval(engine, session, principal, row)


def workflow_write(engine, session: Session, path: str, items: list[dict[str, Any]]) -> None:
    """Write the workflow's fields of updates through the one write path, as ``system:progress`` (the node's own
    registry, reached through the engine the node bound)."""
    registry = engine.catalogue[RECORD_TYPE]
    session.info[WORKFLOW_WRITE] = True
    try:
        summary = registry.import_records(session, system_principal(cut_path(path, "S") or path), items,
                                          strategy=Strategy.update)
    finally:
        session.info.pop(WORKFLOW_WRITE, None)
    failed = [e for r in summary.rows for e in r.errors]
    if failed:
        raise Conflict("the update no longer passes its rules: " + failed[0]["message"], code="rule_violation",
                       details=[{"field": e["field"], "problem": e["message"]} for e in failed])


def _record(session: Session, case) -> dict[str, Any]:
    t = ProgressUpdate.__table__
    row = session.execute(select(t).where(t.c.id == uuid.UUID(case.subject_id))).mappings().first()
    if row is None or row["deleted_at"] is not None:
        raise Conflict(f"progress update {case.subject_id} was deleted", code="rule_violation")
    return dict(row)


def apply_decision(ctx) -> None:
    """Hook of ``approve``, ``return`` and ``resubmit``: check the checker, then set the update's workflow fields."""
    name = ctx.event.transition
    record = _record(ctx.session, ctx.case)
    if name in ("approve", "return"):
        t = ctx.definition.transition(name)
        if ctx.principal is None:
            raise Forbidden("a decision is taken by a person", code="maker_checker")
        check_checker(ctx.session, ctx.principal, ctx.case, t.roles, record["id"])
    items: list[dict[str, Any]] = []
    if name == "approve":
        subject = record["estimate_id"] if record["kind"] == "physical" else record["scheme_id"]
        current = _current_flagged(ctx.session, record["kind"], subject)
        becomes_current = current is None or current["id"] == record["id"] or current["as_of"] <= record["as_of"]
        if becomes_current and current is not None and current["id"] != record["id"]:
            items.append({"id": str(current["id"]), "is_current": False})
        items.append({"id": str(record["id"]), "status": "approved", "approved_at": ctx.now.isoformat(),
                      "is_current": becomes_current, "return_reasons": None})
    elif name == "return":
        items.append({"id": str(record["id"]), "status": "returned", "return_reasons": ctx.payload["reasons"]})
    elif name == "resubmit":
        items.append({"id": str(record["id"]), "status": "submitted", "submitted_at": ctx.now.isoformat()})
    workflow_write(ctx.engine, ctx.session, record["lgd_path"], items)
    notify(ctx, record)


MAKER_ROLE = {"block": "block_official", "district": "district_official", "state": "state_official"}
KIND_HI = {"physical": "भौतिक", "financial": "वित्तीय"}


def notify(ctx, record: dict[str, Any]) -> None:
    """On a return, tell the makers' unit (the officials of the maker's level there, template
    ``progress_returned``). The reasons themselves stay in the record: free text could carry a phone number,
    which the outbox refuses."""
    if ctx.event.transition != "return":
        return
    try:
        from jaldpi.notifications.service import notify_role
    except ImportError:  # the notifications domain is optional
        return
    from jaldpi.admin_units.paths import levels_by_letter

    maker_path = (ctx.case.data or {}).get("maker_path") or record["lgd_path"]
    last = [p for p in maker_path.strip("/").split("/") if p][-1:]
    role = MAKER_ROLE.get(levels_by_letter().get(last[0][0], "") if last else "")
    if role is None:
        return
    reasons = ctx.payload.get("reasons")
    notify_role(ctx.session, ctx.engine.settings, role=role, lgd_path=maker_path, template="progress_returned",
                context={"update": record["code"], "kind": record["kind"], "kind_hi": KIND_HI[record["kind"]],
                         "as_of": record["as_of"].isoformat(), "case": ctx.case.code,
                         "reasons": len(reasons) if isinstance(reasons, list) else 1},
                subject_type=RECORD_TYPE, subject_id=str(record["id"]))


def reasons_problem(reasons: Any) -> str | None:
    """``reasons`` of a return: a non-empty text, or a non-empty list of texts or ``{"field", "problem"}`` objects."""
    if isinstance(reasons, str):
        return None if reasons.strip() else "reasons is empty"
    if not isinstance(reasons, list) or not reasons:
        return "reasons is a non-empty list of {field, problem} objects or texts"
    for i, r in enumerate(reasons):
        if isinstance(r, str) and r.strip():
            continue
        if (isinstance(r, dict) and isinstance(r.get("problem"), str) and r["problem"].strip()
                and set(r) <= {"field", "problem"} and (r.get("field") is None or isinstance(r["field"], str))):
            continue
        return f"reasons.{i}: a text, or {{\"field\": ..., \"problem\": ...}} with a non-empty problem"
    return None


# ---------------------------------------------------------------------------------------------------- conveniences

def case_of(engine, session: Session, record_id: uuid.UUID | str):
    """The approval case of an update (the newest one)."""
    cases = engine.cases_for(session, RECORD_TYPE, record_id, workflow=WORKFLOW)
    if not cases:
        raise NotFound(f"progress update {record_id} has no approval case")
    return cases[-1]


def decide(engine, catalogue, session: Session, principal: Principal, key: str, transition: str,
           payload: dict[str, Any], *, expected_version: int | None = None,
           changes: dict[str, Any] | None = None) -> dict[str, Any]:
    """approve / return / resubmit an update (by id or code) through the workflow engine; ``changes`` (resubmit
    only) are corrected figures written first, through the registry. Returns the update and its case."""
    registry = catalogue[RECORD_TYPE]
    record = registry.get(session, principal, key)
    if changes:
        if transition != "resubmit":
            raise ValidationFailed("only a resubmission carries changed figures",
                                   details=[{"field": "changes", "problem": "only with resubmit"}])
        registry.write_one(session, principal, {**changes, "id": record["id"]}, Strategy.update)
    case = case_of(engine, session, record["id"])
    engine.transition(session, principal, case.id, transition, payload, expected_version=expected_version)
    session.flush()
    return {"update": registry.get(session, principal, record["id"]),
            "case": engine.get_case(session, principal, case.id)}


def scheme_progress(catalogue, session: Session, principal: Principal, key: str) -> dict[str, Any]:
    """A scheme's current approved physical and financial figures, with the history of approved updates."""
    from jaldpi.progress.reports import physical_figures

    scheme = catalogue["schemes"].get(session, principal, key)
    sid = uuid.UUID(scheme["id"])
    if not principal.can(READ, scheme["lgd_path"]):
        raise NotFound(f"no scheme '{key}' visible to you")
    updates = catalogue[RECORD_TYPE]
    approved = updates.list(session, principal, limit=1000, filters={"scheme_id": sid, "status": "approved"})
    items = sorted(approved["items"], key=lambda r: (r["as_of"], r["approved_at"] or ""))
    current_financial = next((r for r in items if r["kind"] == "financial" and r["is_current"]), None)
    e = ComponentEstimate.__table__
    estimates = [dict(r) for r in session.execute(
        select(e).where(e.c.scheme_id == sid, e.c.deleted_at.is_(None)).order_by(e.c.code)).mappings()]
    physical = physical_figures(session, principal, scheme_id=sid)
    pending = updates.list(session, principal, limit=1, filters={"scheme_id": sid, "status": "submitted"},
                           total=True)["total"]
    return {"scheme": {"id": scheme["id"], "code": scheme["code"], "name": scheme["name"],
                       "lgd_path": scheme["lgd_path"], "lgd": scheme["lgd"]},
            "physical": physical, "estimates": len(estimates),
            "financial": _financial_view(current_financial), "pending_approvals": pending,
            "history": items}


def _financial_view(row: dict[str, Any] | None) -> dict[str, Any] | None:
    if row is None:
        return None
    from decimal import Decimal

    shares = {k: Decimal(row[f"released_{k}_inr"] or 0) for k in ("central", "state", "community")}
    released = sum(shares.values(), Decimal(0))
    spent = Decimal(row["expenditure_inr"])
    return {"update": row["code"], "as_of": row["as_of"], "sanctioned_inr": row["sanctioned_inr"],
            "released_inr": {**{k: str(v) for k, v in shares.items()}, "total": str(released)},
            "expenditure_inr": row["expenditure_inr"],
            "utilisation_pct": str((spent * 100 / released).quantize(Decimal("0.01"))) if released else None,
            "warnings": row["warnings"]}
