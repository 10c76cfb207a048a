"""Upkeep services: breakdown tickets from grievances, alerts and inspections; preventive maintenance (PM) planning
and completion; overdue PM; an asset's history. Services flush, never commit: the caller's unit of work commits once.

Every write goes through the registries' one write path (``Registry.import_records``), so validation, jurisdiction,
the change log and the side effects (a ticket opens its case) are the same for a phone, a state system and a job.
"""

from __future__ import annotations

import datetime as dt
import json
import uuid
from collections import defaultdict
from decimal import Decimal
from pathlib import Path
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from jaldpi.assets.models import Component
from jaldpi.core.errors import Conflict, NotFound, ValidationFailed
from jaldpi.core.ids import parse_uuid
from jaldpi.core.models import utcnow
from jaldpi.core.registry import Catalogue, Registry, Strategy
from jaldpi.core.security import Grant, Principal, scope_clause
from jaldpi.core.workflow import cut_path
from jaldpi.core.workflow_models import WorkflowCase
from jaldpi.standard.codelists import codes, role_permissions
from jaldpi.upkeep.models import BreakdownTicket, ConditionAssessment, MaintenancePlan, MaintenanceTask, Repair
from jaldpi.upkeep.registry import SYSTEM_ACTOR, TERMINAL_STATES, as_utc

READ = "maintenance:read"
WRITE = "maintenance:write"
PM_SCHEDULES = Path(__file__).with_name("pm_schedules.json")


# ---------------------------------------------------------------------------------------------------- context

def system_principal(path: str = "/", subject: str = SYSTEM_ACTOR) -> Principal:
    """A system actor allowed to write upkeep records under ``path`` (jobs, and a workflow hook's own writes)."""
    return Principal(subject, "system", (Grant("node_admin", path),), role_permissions())


def _acting(principal: Principal | str) -> Principal:
    """A caller as given (a Principal, checked by the write path) or a system actor name such as
    ``system:grievances`` (a domain acting on a write it already authorised)."""
    return principal if isinstance(principal, Principal) else system_principal("/", str(principal))


def ticket_registry(engine=None, catalogue: Catalogue | None = None) -> Registry:
    """The node's ``breakdown_tickets`` registry: from ``catalogue`` (a route's ``node.catalogue``), else from
    ``engine`` (a hook's ``ctx.engine``, bound to the node's catalogue by ``registries.build_catalogue``).

    With neither (a script or a test holding only a session), as a last resort, a catalogue is built from the
    process settings (``get_settings()``): pass one of them whenever the node is at hand.
    """
    if catalogue is None:
        if engine is not None:
            catalogue = engine.catalogue
        else:
            from jaldpi.config import get_settings
            from jaldpi.registries import build_catalogue

            catalogue = build_catalogue(get_settings())
    return catalogue["breakdown_tickets"]


# ---------------------------------------------------------------------------------------------------- tickets

def _ref(value: Any) -> Any:
    return str(value) if isinstance(value, uuid.UUID) else value


def _iso(value: dt.datetime | str | None) -> str | None:
    if value is None or isinstance(value, str):
        return value
    return as_utc(value).isoformat()


def _with_case(session: Session, record: dict[str, Any]) -> dict[str, Any]:
    code = session.execute(select(WorkflowCase.code).where(WorkflowCase.id == uuid.UUID(record["id"]))
                           ).scalar_one_or_none()
    return record | {"case_id": record["id"], "case_code": code}


def _open_ticket_with(session: Session, origin: str, origin_ref: str) -> uuid.UUID | None:
    t = BreakdownTicket
    return session.execute(select(t.id).where(
        t.origin == origin, t.origin_ref == origin_ref, t.closed_at.is_(None), t.state.not_in(TERMINAL_STATES),
        t.deleted_at.is_(None)).order_by(t.id).limit(1)).scalar_one_or_none()


def open_breakdown_ticket(session: Session, principal: Principal | str, *, scheme=None, component=None,
                          village=None, origin: str, origin_ref: str, description: str, reported_at=None,
                          failed_at=None, catalogue: Catalogue | None = None, engine=None) -> dict[str, Any]:
    """Open a breakdown ticket (and its ``breakdown_ticket`` case), or return the open one for this origin.

    ``scheme``, ``component`` and ``village`` are references (id, code, external id object; a village also by LGD
    code); a scheme or a component is required (the scheme defaults to the component's). Idempotent on
    (``origin``, ``origin_ref``) while a ticket is open: the existing ticket is returned. ``failed_at`` (when the
    asset stopped working) defaults to ``reported_at``, which defaults to now. ``principal`` is a Principal (it needs
    ``maintenance:write`` at the ticket's place) or a system actor name such as ``system:grievances``.

    Returns the ticket record with ``case_id`` (= the ticket's id) and ``case_code``; ``state`` is the case's state.
    Pass ``catalogue`` (``node.catalogue``) or ``engine`` (a hook's ``ctx.engine``) when you have them.
    """
    acting = _acting(principal)
    registry = ticket_registry(engine, catalogue)
    if origin_ref:
        existing = _open_ticket_with(session, origin, str(origin_ref))
        if existing is not None:
            try:
                return _with_case(session, registry.get(session, acting, existing))
            except NotFound:
                raise Conflict(f"a ticket is already open for {origin} {origin_ref}", code="ticket_exists",
                               details=[{"field": "origin_ref", "problem": "a ticket is open for it"}]) from None
    item = {"scheme": _ref(scheme), "component": _ref(component), "village": _ref(village), "origin": origin,
            "origin_ref": None if origin_ref is None else str(origin_ref), "description": description,
            "reported_at": _iso(reported_at), "failed_at": _iso(failed_at)}
    record = registry.write_one(session, acting, {k: v for k, v in item.items() if v is not None}, Strategy.create)
    return _with_case(session, record)


def tickets_from_assessments(session: Session, principal: Principal, rows: list[tuple[str, dict[str, Any]]], *,
                             threshold: int, engine) -> None:
    """``on_written`` of condition assessments: a new assessment at or below ``threshold``, or marked
    ``needs_repair``, opens an ``inspection`` ticket for its component (downtime counted from the assessment)."""
    from jaldpi.standard.codelists import item as codelist_item

    for action, row in rows:
        if action != "created" or not (row["condition"] <= threshold or row["needs_repair"]):
            continue
        label = codelist_item("asset_conditions", str(row["condition"]))["label"]["en"]
        why = "marked as needing repair" if row["needs_repair"] else f"condition {row['condition']} ({label})"
        open_breakdown_ticket(
            session, principal, component=str(row["component_id"]), origin="inspection", origin_ref=row["code"],
            description=f"Condition assessment {row['code']}: {why}" + (f". {row['notes']}" if row["notes"] else ""),
            reported_at=row["assessed_at"], failed_at=row["assessed_at"], engine=engine)


def tickets_from_alerts(session: Session, *, kinds: list[str] | tuple[str, ...], now: dt.datetime | None = None,
                        catalogue: Catalogue | None = None, engine=None) -> dict[str, Any]:
    """Open one ``alert`` ticket per open alert of ``kinds`` that has a scheme and never had a ticket.

    Idempotent per alert (``origin_ref`` = the alert's id, whatever became of an earlier ticket). ``failed_at`` is
    the alert's ``opened_at``: the earliest time the node knew. Set-based: one query for the alerts, one per 5,000
    for the tickets they already have, one import for all new tickets (per record: one bad alert does not block the
    others; its errors are returned).
    """
    from jaldpi.alerts.models import Alert

    now = now or utcnow()
    alerts = session.execute(select(Alert).where(Alert.status == "open", Alert.kind.in_(list(kinds)),
                                                 Alert.scheme_id.is_not(None)).order_by(Alert.opened_at)).scalars().all()
    refs = [str(a.id) for a in alerts]
    had: set[str] = set()
    for i in range(0, len(refs), 5000):
        had.update(session.execute(select(BreakdownTicket.origin_ref).where(
            BreakdownTicket.origin == "alert", BreakdownTicket.origin_ref.in_(refs[i:i + 5000]))).scalars())
    new = [a for a in alerts if str(a.id) not in had]
    items = []
    for a in new:
        measured = f": {a.value:g} {a.unit or ''} (threshold {a.threshold:g})".rstrip() if a.value is not None \
            and a.threshold is not None else ""
        items.append({"scheme": str(a.scheme_id), "component": str(a.component_id) if a.component_id else None,
                      "village": str(a.village_id) if a.village_id else None, "origin": "alert",
                      "origin_ref": str(a.id), "description": f"{a.kind} alert{measured}",
                      "reported_at": now.isoformat(), "failed_at": as_utc(a.opened_at).isoformat()})
    items = [{k: v for k, v in it.items() if v is not None} for it in items]
    registry = ticket_registry(engine, catalogue)
    summary = registry.import_records(session, system_principal(), items, strategy=Strategy.create, atomic=False)
    stats = summary.stats()
    return {"alerts": len(alerts), "already_ticketed": len(alerts) - len(new), "opened": stats["created"],
            "errors": [{"alert": items[r.index]["origin_ref"], "errors": r.errors} for r in summary.rows if r.errors]}


# ---------------------------------------------------------------------------------------------------- PM schedules

def load_schedules(path: Path | str | None = None) -> dict[str, list[dict[str, Any]]]:
    """National PM defaults per component type: ``{type: [{"task", "interval_days", "role"}]}``, checked against
    the code lists (``component_types``, ``maintenance_task_types``, ``roles``); ValueError names every problem."""
    data = json.loads(Path(path or PM_SCHEDULES).read_text(encoding="utf-8"))
    types, tasks, roles = set(codes("component_types")), set(codes("maintenance_task_types")), set(codes("roles"))
    problems = []
    for ctype, entries in data["schedules"].items():
        if ctype not in types:
            problems.append(f"unknown component type {ctype}")
        seen = set()
        for e in entries:
            if e.get("task") not in tasks:
                problems.append(f"{ctype}: unknown task {e.get('task')}")
            if not isinstance(e.get("interval_days"), int) or e["interval_days"] < 1:
                problems.append(f"{ctype}/{e.get('task')}: interval_days is a positive whole number of days")
            if e.get("role") not in roles:
                problems.append(f"{ctype}/{e.get('task')}: unknown role {e.get('role')}")
            if e.get("task") in seen:
                problems.append(f"{ctype}: task {e.get('task')} listed twice")
            seen.add(e.get("task"))
    if problems:
        raise ValueError("PM schedule is invalid: " + "; ".join(problems))
    return data["schedules"]


def schedules_from_settings(settings) -> dict[str, list[dict[str, Any]]]:
    return load_schedules(settings.upkeep_pm_schedule_file)


def _effective_plans(session: Session, schedules: dict[str, list[dict[str, Any]]], components: list[Any]
                     ) -> dict[tuple[uuid.UUID, str], dict[str, Any]]:
    """For each (component, task): interval, role, source and whether it is active.

    Precedence: a plan for the component, then for its scheme (and type), then for the deepest administrative unit
    above it (and type), then the national default. An inactive plan switches the task off.
    """
    p = MaintenancePlan.__table__
    plans = [dict(r) for r in session.execute(select(p).where(p.c.deleted_at.is_(None))).mappings()]
    by_component: dict[uuid.UUID, list[dict]] = defaultdict(list)
    by_scheme: dict[tuple[uuid.UUID, str], list[dict]] = defaultdict(list)
    by_type: dict[str, list[dict]] = defaultdict(list)
    for plan in plans:
        if plan["component_id"] is not None:
            by_component[plan["component_id"]].append(plan)
        elif plan["scheme_id"] is not None:
            by_scheme[(plan["scheme_id"], plan["component_type"])].append(plan)
        else:
            by_type[plan["component_type"]].append(plan)
    out: dict[tuple[uuid.UUID, str], dict[str, Any]] = {}
    for c in components:
        chosen: dict[str, dict[str, Any]] = {}
        for e in schedules.get(c.component_type, []):
            chosen[e["task"]] = {"interval_days": e["interval_days"], "role": e["role"], "source": "national",
                                 "active": True}
        national_roles = {task: v["role"] for task, v in chosen.items()}
        units = sorted((pl for pl in by_type.get(c.component_type, []) if c.lgd_path.startswith(pl["lgd_path"])),
                       key=lambda pl: len(pl["lgd_path"]))
        for plan in [*units, *by_scheme.get((c.scheme_id, c.component_type), []), *by_component.get(c.id, [])]:
            chosen[plan["task"]] = {"interval_days": plan["interval_days"],
                                    "role": plan["responsible_role"] or national_roles.get(plan["task"]),
                                    "source": plan["code"], "active": plan["active"]}
        for task, eff in chosen.items():
            out[(c.id, task)] = eff
    return out


def plan_tasks(session: Session, principal: Principal | str, through: dt.date, *,
               schedules: dict[str, list[dict[str, Any]]], within: str | None = None,
               catalogue: Catalogue) -> dict[str, int]:
    """Create the PM tasks falling due up to ``through`` (inclusive), set-based and idempotent.

    A task falls due ``interval_days`` after the last completion of that task on that component; never done, after
    the component's ``installed_on`` (else the day it was registered). A component with an open task for that task
    gets no second one (one open task per component and task, also a unique index). Components are those the
    caller may write (``maintenance:write``), under ``within`` if given.
    """
    acting = _acting(principal)
    c = Component.__table__
    stmt = select(c.c.id, c.c.component_type, c.c.scheme_id, c.c.lgd_path, c.c.installed_on, c.c.created_at).where(
        c.c.deleted_at.is_(None), scope_clause(c.c.lgd_path, acting.scope(WRITE)))
    if within:
        stmt = stmt.where(c.c.lgd_path.startswith(within, autoescape=True))
    components = session.execute(stmt.order_by(c.c.id)).all()
    effective = _effective_plans(session, schedules, components)
    t = MaintenanceTask.__table__
    last_done = {(r.component_id, r.task): r.last for r in session.execute(
        select(t.c.component_id, t.c.task, func.max(t.c.done_at).label("last"))
        .where(t.c.status == "done", t.c.deleted_at.is_(None)).group_by(t.c.component_id, t.c.task))}
    open_now = {(r.component_id, r.task) for r in session.execute(
        select(t.c.component_id, t.c.task).where(t.c.status == "open", t.c.deleted_at.is_(None)))}
    by_id = {comp.id: comp for comp in components}
    items, already_open, later, inactive = [], 0, 0, 0
    for (cid, task), eff in sorted(effective.items(), key=lambda kv: (str(kv[0][0]), kv[0][1])):
        if not eff["active"]:
            inactive += 1
            continue
        if (cid, task) in open_now:
            already_open += 1
            continue
        comp = by_id[cid]
        done = last_done.get((cid, task))
        baseline = (as_utc(done).date() if done is not None
                    else comp.installed_on or as_utc(comp.created_at).date())
        due = baseline + dt.timedelta(days=eff["interval_days"])
        if due > through:
            later += 1
            continue
        items.append({"component": str(cid), "task": task, "due_on": due.isoformat(),
                      "interval_days": eff["interval_days"], "responsible_role": eff["role"],
                      "schedule_source": eff["source"]})
    summary = catalogue["maintenance_tasks"].import_records(session, acting, items, strategy=Strategy.create)
    if summary.status != "ok":
        first = next(r for r in summary.rows if r.errors)
        raise ValidationFailed(f"PM plan refused: {first.errors[0]['message']}",
                               details=[{"field": e["field"], "problem": e["message"]} for e in first.errors])
    return {"components": len(components), "created": len(items), "already_open": already_open,
            "not_yet_due": later, "switched_off": inactive}


def complete_task(session: Session, principal: Principal, task: str, *, done_at: dt.datetime | None = None,
                  done_by: str | None = None, findings: str | None = None, condition: int | None = None,
                  needs_repair: bool = False, expected_version: int | None = None,
                  catalogue: Catalogue) -> dict[str, Any]:
    """Record a PM task as done and schedule the next one ``interval_days`` after ``done_at``.

    A condition observed (1-5) is also written as a condition assessment (which opens a breakdown ticket when it is
    poor or ``needs_repair``: see settings). Returns ``{"task", "next_task", "condition_assessment", "ticket"}``.
    """
    tasks = catalogue["maintenance_tasks"]
    current = tasks.get(session, principal, task)
    if current["status"] != "open":
        raise Conflict(f"task {current['code']} is {current['status']}, not open", code="task_not_open",
                       details=[{"field": "status", "problem": f"is {current['status']}"}])
    if needs_repair and condition is None:
        raise ValidationFailed("needs_repair is recorded with the condition observed",
                               details=[{"field": "condition", "problem": "required with needs_repair"}])
    done_at = as_utc(done_at) if done_at else utcnow()
    updated = tasks.write_one(session, principal, {
        "id": current["id"], "status": "done", "done_at": done_at.isoformat(), "done_by": done_by or principal.subject,
        "findings": findings, "condition": condition}, Strategy.update,
        expected_version=expected_version or current["version"])
    assessment = ticket = next_task = None
    if condition is not None:
        assessment = catalogue["condition_assessments"].write_one(session, principal, {
            "component": current["component_id"], "assessed_at": done_at.isoformat(), "condition": condition,
            "needs_repair": needs_repair, "notes": findings, "assessed_by": done_by or principal.subject,
            "maintenance_task": current["id"]}, Strategy.create)
        found = _open_ticket_with(session, "inspection", assessment["code"])
        if found is not None:
            ticket = _with_case(session, catalogue["breakdown_tickets"].get(session, principal, found))
    if current.get("interval_days"):
        next_task = tasks.write_one(session, principal, {
            "component": current["component_id"], "task": current["task"],
            "due_on": (done_at.date() + dt.timedelta(days=current["interval_days"])).isoformat(),
            "interval_days": current["interval_days"], "responsible_role": current["responsible_role"],
            "schedule_source": current["schedule_source"]}, Strategy.create)
    return {"task": updated, "next_task": next_task, "condition_assessment": assessment, "ticket": ticket}


# ---------------------------------------------------------------------------------------------------- reads

def level_prefix(path: str, level: str) -> str | None:
    """``/S28/D745/B4001/V500001/`` at ``block`` -> ``/S28/D745/B4001/`` (None when the path has no such level)."""
    from jaldpi.admin_units.paths import letters

    return cut_path(path, letters()[level])


def overdue_pm(session: Session, principal: Principal, *, as_of: dt.date, level: str, within: str | None = None,
               limit: int = 100) -> dict[str, Any]:
    """Open PM tasks due before ``as_of``, counted per block or district (worst first), with the oldest ``limit``."""
    from jaldpi.admin_units.paths import path_codes

    t = MaintenanceTask.__table__
    stmt = select(t.c.id, t.c.code, t.c.component_id, t.c.task, t.c.due_on, t.c.responsible_role, t.c.lgd_path,
                  t.c.scheme_id).where(
        t.c.status == "open", t.c.deleted_at.is_(None), t.c.due_on < as_of,
        scope_clause(t.c.lgd_path, principal.scope(READ)))
    if within:
        stmt = stmt.where(t.c.lgd_path.startswith(within, autoescape=True))
    rows = session.execute(stmt.order_by(t.c.due_on, t.c.id)).all()
    groups: dict[str, dict[str, Any]] = {}
    for r in rows:
        key = level_prefix(r.lgd_path, level)
        if key is None:
            continue
        g = groups.setdefault(key, {"lgd_path": key, "lgd": path_codes(key), "overdue": 0, "oldest_due_on": None,
                                    "by_task": defaultdict(int)})
        g["overdue"] += 1
        g["by_task"][r.task] += 1
        g["oldest_due_on"] = min(filter(None, [g["oldest_due_on"], r.due_on.isoformat()]))
    items = [{"id": str(r.id), "code": r.code, "component_id": str(r.component_id), "scheme_id": str(r.scheme_id),
              "task": r.task, "due_on": r.due_on.isoformat(), "days_overdue": (as_of - r.due_on).days,
              "responsible_role": r.responsible_role, "lgd_path": r.lgd_path} for r in rows[:limit]]
    out = sorted(({**g, "by_task": dict(g["by_task"])} for g in groups.values()),
                 key=lambda g: (-g["overdue"], g["lgd_path"]))
    return {"as_of": as_of.isoformat(), "level": level, "total": len(rows), "groups": out, "items": items}


def latest_conditions(session: Session, principal: Principal, component_ids: list[uuid.UUID]
                      ) -> dict[str, dict[str, Any]]:
    """The latest condition assessment of each component (by ``assessed_at``), as the caller may read them."""
    a = ConditionAssessment.__table__
    base = [a.c.deleted_at.is_(None), scope_clause(a.c.lgd_path, principal.scope(READ))]
    out: dict[str, dict[str, Any]] = {}
    for i in range(0, len(component_ids), 5000):
        chunk = component_ids[i:i + 5000]
        latest = (select(a.c.component_id, func.max(a.c.assessed_at).label("at"))
                  .where(*base, a.c.component_id.in_(chunk)).group_by(a.c.component_id).subquery())
        for r in session.execute(select(a.c.component_id, a.c.code, a.c.condition, a.c.needs_repair, a.c.assessed_at)
                                 .join(latest, (latest.c.component_id == a.c.component_id)
                                       & (latest.c.at == a.c.assessed_at)).where(*base).order_by(a.c.id)):
            out[str(r.component_id)] = {"assessment": r.code, "condition": r.condition,
                                        "needs_repair": r.needs_repair,
                                        "assessed_at": as_utc(r.assessed_at).isoformat()}
    return out


def asset_history(session: Session, principal: Principal, component: str, *, catalogue: Catalogue,
                  limit: int = 50, now: dt.datetime | None = None) -> dict[str, Any]:
    """One component's upkeep: tickets, repairs, PM tasks and condition assessments (newest first, ``limit`` each),
    its latest condition, and totals: repair cost, downtime hours (tickets not restored count up to now), open
    tickets (case not closed) and tickets not restored (the asset still down)."""
    now = now or utcnow()
    if not principal.has(READ):
        raise NotFound(f"no scheme component '{component}' visible to you")
    comp = catalogue["components"].get(session, principal, component)
    cid = parse_uuid(comp["id"])

    def newest(name: str, order_column: str) -> list[dict[str, Any]]:
        registry = catalogue[name]
        t = registry.table
        rows = session.execute(registry.scoped(principal).where(t.c.component_id == cid)
                               .order_by(t.c[order_column].desc(), t.c.id.desc()).limit(limit)).mappings()
        return registry.render(session, principal, [dict(r) for r in rows])

    tk, rp = BreakdownTicket.__table__, Repair.__table__
    scope = principal.scope(READ)
    downtime = 0.0
    open_tickets = not_restored = 0
    for r in session.execute(select(tk.c.failed_at, tk.c.restored_at, tk.c.state).where(
            tk.c.component_id == cid, tk.c.deleted_at.is_(None), tk.c.state != "cancelled",
            scope_clause(tk.c.lgd_path, scope))):
        end = as_utc(r.restored_at) if r.restored_at else now
        downtime += max(0.0, (end - as_utc(r.failed_at)).total_seconds() / 3600)
        open_tickets += r.state not in TERMINAL_STATES
        not_restored += r.restored_at is None
    cost = session.execute(select(func.coalesce(func.sum(rp.c.total_cost_inr), 0)).where(
        rp.c.component_id == cid, rp.c.deleted_at.is_(None), scope_clause(rp.c.lgd_path, scope))).scalar_one()
    return {
        "component": comp,
        "condition": latest_conditions(session, principal, [cid]).get(comp["id"]),
        "totals": {"repair_cost_inr": str(Decimal(str(cost or 0)).quantize(Decimal("0.01"))),
                   "downtime_hours": round(downtime, 2), "open_tickets": open_tickets, "not_restored": not_restored},
        "tickets": newest("breakdown_tickets", "failed_at"),
        "repairs": newest("repairs", "started_at"),
        "maintenance_tasks": newest("maintenance_tasks", "due_on"),
        "condition_assessments": newest("condition_assessments", "assessed_at"),
    }


__all__ = ["asset_history", "complete_task", "latest_conditions", "load_schedules", "open_breakdown_ticket",
           "overdue_pm", "plan_tasks", "schedules_from_settings", "system_principal", "ticket_registry",
           "tickets_from_alerts", "tickets_from_assessments"]
