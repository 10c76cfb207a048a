"""The ``grievance`` workflow (definitions/grievance.json), its SLA policy, guard and hooks.

* **SLA per category**: the routing table gives each category its hours; they are stored on the case when it opens
  (``data.sla_hours``, so a later change of the table does not move open cases' deadlines) and the due policy applies
  them: on opening, on escalation (the next level gets the full time) and on reopening; starting work
  (``start``, ``raise_ticket``) keeps the deadline the case already had; ``resolved`` has no timer (the citizen's
  answer, or the auto-close job after ``grievance_auto_close_days``, ends it).
* **Mirror**: every transition and escalation writes the case's state and assignment onto the grievance record
  (``service.sync_mirror``, the registry's one write path) and queues the messages of the step.
* **Breakdown tickets**: ``raise_ticket`` opens a ticket in asset upkeep (origin ``grievance``); when that ticket
  reaches ``restored``, the grievance is resolved and the citizen asked to confirm.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
from pathlib import Path
from typing import Any

from sqlalchemy.orm import Session

from jaldpi.core.models import aware as _aware
from jaldpi.core.workflow import HookContext, StateDef, WorkflowCase, WorkflowDefinitionError
from jaldpi.grievances import routing

HERE = Path(__file__).parent / "definitions"
WORKFLOW = "grievance"
TICKET_WORKFLOW = "breakdown_ticket"
log = logging.getLogger(__name__)


def definition() -> dict[str, Any]:
    return json.loads((HERE / f"{WORKFLOW}.json").read_text(encoding="utf-8"))


def due_policy(case: WorkflowCase, state: StateDef, event: str, now: dt.datetime) -> dt.datetime | None:
    """When a grievance case falls due (see the module docstring)."""
    if state.name == "resolved":
        return None
    if event in ("start", "raise_ticket") and case.due_at is not None:
        return _aware(case.due_at)
    hours = (case.data or {}).get("sla_hours") or state.sla_hours
    return now + dt.timedelta(hours=float(hours)) if hours else None


def repairable(session: Session, case: WorkflowCase, payload: dict[str, Any]) -> str | None:
    """``raise_ticket`` needs an asset category and a known asset (a component, or a scheme)."""
    from jaldpi.grievances.models import Grievance
    from jaldpi.standard.codelists import item

    g = session.get(Grievance, _uuid(case.subject_id))
    if g is None:
        return "the grievance of this case is gone"
    if not item("grievance_categories", g.category).get("asset"):
        return f"a {g.category} grievance is not about an asset that can be repaired"
    if g.component_id is None and g.scheme_id is None and not payload.get("component") and not payload.get("scheme"):
        return "name the component (or scheme) to repair: set it on the grievance or give component in the payload"
    if g.breakdown_ticket:
        return f"breakdown ticket {g.breakdown_ticket} is already open for this grievance"
    return None


def _uuid(value: str):
    import uuid

    return uuid.UUID(str(value))


# ---------------------------------------------------------------------------------------------------- hooks

def _grievance(session: Session, case: WorkflowCase) -> dict[str, Any]:
    from jaldpi.grievances.models import Grievance

    row = session.execute(Grievance.__table__.select().where(Grievance.id == _uuid(case.subject_id))).mappings()
    return dict(row.one())


def _village_name(session: Session, village_id) -> str:
    from jaldpi.admin_units.models import AdminUnit

    return session.get(AdminUnit, village_id).name


def after_transition(ctx: HookContext) -> None:
    from jaldpi.grievances import notify, service

    name, now, case = ctx.event.transition, ctx.now, ctx.case
    session = ctx.session
    before = _grievance(session, case)
    changes: dict[str, Any] = {}
    if name == "resolve":
        changes = {"resolved_at": now.isoformat(), "resolution_note": str(ctx.payload.get("resolution_note"))}
    elif name == "confirm":
        changes = {"confirmed_at": now.isoformat(), "closed_at": now.isoformat()}
    elif name == "auto_close":
        changes = {"closed_at": now.isoformat()}
    elif name == "reopen":
        changes = {"reopen_count": (before["reopen_count"] or 0) + 1, "resolved_at": None}
    elif name == "reject":
        changes = {"rejection_reason": str(ctx.payload.get("reason")), "closed_at": now.isoformat()}
    elif name == "raise_ticket":
        changes = {"breakdown_ticket": _open_ticket(ctx, before)}
    record = service.sync_mirror(session, case, changes, engine=ctx.engine)
    settings = ctx.engine.settings
    grievance = {**record, "id": before["id"], "due_at": _aware(case.due_at)}
    village = _village_name(session, before["village_id"])
    citizen_template = {"resolve": "grievances_resolved", "confirm": "grievances_closed",
                        "auto_close": "grievances_closed", "reject": "grievances_rejected",
                        "start": "grievances_in_progress"}.get(name)
    if citizen_template:
        phone = service.contacts_of(ctx.engine.catalogue).contact(session, before["id"]).get("complainant_phone")
        extra = {"note": str(ctx.payload.get("resolution_note") or ctx.payload.get("reason") or "")}
        notify.to_citizen(session, settings, grievance, phone, citizen_template, village_name=village, **extra)
    if name == "reopen":
        role = record["routed_to_role"]
        notify.to_role(session, settings, grievance, role, case.assigned_path, "grievances_reopened",
                       village_name=village, reason=str(ctx.payload.get("reason") or ""))


def after_escalation(ctx: HookContext) -> None:
    from jaldpi.grievances import notify, service

    case, session = ctx.case, ctx.session
    if case.escalation_exhausted:
        return  # top of the chain: the case stays where it is (flagged); nobody new to tell
    before = _grievance(session, case)
    record = service.sync_mirror(session, case, {}, engine=ctx.engine)
    settings = ctx.engine.settings
    grievance = {**record, "id": before["id"], "due_at": _aware(case.due_at)}
    notify.to_role(session, settings, grievance, record["routed_to_role"], case.assigned_path,
                   "grievances_escalated", village_name=_village_name(session, before["village_id"]),
                   from_level=str(ctx.payload.get("from_level")), level=case.assigned_level)


# ---------------------------------------------------------------------------------------------------- tickets

def _open_ticket(ctx: HookContext, grievance: dict[str, Any]) -> str:
    """Open (or find: idempotent on origin + reference) the breakdown ticket for this grievance."""
    from jaldpi.grievances import service
    from jaldpi.upkeep.service import open_breakdown_ticket

    payload = ctx.payload
    ticket = open_breakdown_ticket(
        ctx.session, ctx.principal or service.SYSTEM_ACTOR, engine=ctx.engine,
        scheme=payload.get("scheme") or (str(grievance["scheme_id"]) if grievance["scheme_id"] else None),
        component=payload.get("component") or (str(grievance["component_id"]) if grievance["component_id"]
                                               else None),
        village=str(grievance["village_id"]), origin="grievance", origin_ref=grievance["code"],
        description=f"{grievance['category']}: {grievance['description']}"[:2000],
        reported_at=_aware(grievance["submitted_at"]))
    return str(ticket["code"])


def ticket_restored(ctx: HookContext) -> None:
    """A breakdown ticket opened from a grievance reached ``restored``: resolve the grievance (the citizen is asked
    to confirm by the resolve step's message)."""
    from jaldpi.grievances import service
    from jaldpi.grievances.models import Grievance

    data = ctx.case.data or {}
    if data.get("origin") != "grievance" or not data.get("origin_ref"):
        return
    session = ctx.session
    g = session.execute(Grievance.__table__.select().where(Grievance.code == data["origin_ref"])).mappings().first()
    if g is None:
        return
    case = service.case_of(session, ctx.engine, g["id"])
    if case.state not in ("assigned", "in_progress", "reopened"):
        return
    principal = service.system_principal(service.SYSTEM_ACTOR, case.lgd_path)
    ctx.engine.transition(session, principal, case.id, "resolve",
                          {"resolution_note": f"repaired (breakdown ticket {ctx.case.code})",
                           "note": f"automatic: breakdown ticket {ctx.case.code} restored"}, now=ctx.now)


def register(engine) -> None:
    """Register the grievance workflow; validate the packaged routing table against it (start-up check)."""
    d = engine.register(definition(), guards={"grievance_repairable": repairable}, due_policy=due_policy,
                        hooks={"transition:*": after_transition, "escalate": after_escalation})
    table = routing.load()
    problems = routing.chain_problems(table, d.escalation)
    if problems:
        raise WorkflowDefinitionError(WORKFLOW, problems)
    if TICKET_WORKFLOW in engine:
        definition_of_ticket = engine.definition(TICKET_WORKFLOW)
        if "restored" in {s.name for s in definition_of_ticket.states}:
            engine.add_hook(TICKET_WORKFLOW, "enter:restored", ticket_restored)
