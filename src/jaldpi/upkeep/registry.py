"""The upkeep registries: jurisdiction paths (the component's, ticket's, scheme's or unit's), derived columns and rules.

Every record hangs where its asset is: a component's records take the component's path (its village), a ticket
the village it names (else its component's, else its scheme's path), a plan the path of what it targets. Side
effects run in the writer's unit of work (``on_written``): a new ticket opens its ``breakdown_ticket`` case, a poor
condition assessment opens a ticket.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Callable
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from sqlalchemy import select

from jaldpi.core.models import as_utc, utcnow
from jaldpi.core.registry import Filter, Reference, RegistrySpec, same_value
from jaldpi.upkeep.models import BreakdownTicket, ConditionAssessment, MaintenancePlan, MaintenanceTask, Repair
from jaldpi.upkeep.schemas import (
    BreakdownTicketIn,
    ConditionAssessmentIn,
    MaintenancePlanIn,
    MaintenanceTaskIn,
    RepairIn,
)

SYSTEM_ACTOR = "system:upkeep"  # the only writer of a ticket's workflow-owned fields (state, restored_at, closed_at)
WORKFLOW_FIELDS = ("state", "restored_at", "closed_at")
TERMINAL_STATES = ("closed", "cancelled")
AGENCY_TYPES = ("contractor", "implementing_agency", "implementation_support_agency", "self_help_group")
CLOCK_TOLERANCE = dt.timedelta(minutes=10)  # a phone's clock may run a little ahead of the server's
PAISE = Decimal("0.01")


def _in_future(value: dt.datetime | None) -> bool:
    return value is not None and as_utc(value) > utcnow() + CLOCK_TOLERANCE


def _documents_problem(session, ids: list[Any], name: str) -> tuple[str, str] | None:
    """Document ids must exist in the documents registry (checked once that package offers ``documents_by_id``)."""
    if not ids:
        return None
    try:
        from jaldpi.documents.service import documents_by_id
    except ImportError:  # the documents registry is not part of this node (yet): ids are kept as given
        return None
    found = documents_by_id(session, [uuid.UUID(str(i)) for i in ids])
    known = {str(k) for k in (found.keys() if isinstance(found, dict) else [d["id"] for d in found])}
    missing = [str(i) for i in ids if str(i) not in known]
    return (name, f"unknown documents: {', '.join(missing)}") if missing else None


# ---------------------------------------------------------------------------------------------------- plans

def plan_path(data: dict[str, Any], resolved: dict[str, Any]) -> str:
    component = resolved.get("component")
    if component is not None:
        data["component_type"] = component["component_type"]
        return component["lgd_path"]
    target = resolved.get("scheme") or resolved["admin_unit"]
    return target["lgd_path"]


def plan_rules(data: dict[str, Any]) -> list[tuple[str, str]]:
    t = MaintenancePlan.__table__
    old = data["_old"]
    same = (select(t.c.code).where(
        t.c.deleted_at.is_(None), t.c.task == data["task"], t.c.component_type == data["component_type"],
        *[(t.c[col].is_(None) if data.get(col) is None else t.c[col] == data[col])
          for col in ("component_id", "scheme_id", "admin_unit_id")]))
    if old is not None:
        same = same.where(t.c.id != old["id"])
    other = data["_session"].execute(same.limit(1)).scalar_one_or_none()
    if other:
        return [("task", f"maintenance plan {other} already sets {data['task']} for this target; update it instead")]
    return []


def plan_spec() -> RegistrySpec:
    return RegistrySpec(
        name="maintenance_plans", title="maintenance plan", table=MaintenancePlan.__table__,
        schema=MaintenancePlanIn, code_prefix="PMP", derive_path=plan_path,
        references=(
            Reference("component", "component_id", "components"),
            Reference("scheme", "scheme_id", "schemes"),
            Reference("admin_unit", "admin_unit_id", "admin_units", levels=("state", "district", "block")),
        ),
        filters={
            "component_id": Filter("component_id", uuid.UUID),
            "scheme_id": Filter("scheme_id", uuid.UUID),
            "admin_unit_id": Filter("admin_unit_id", uuid.UUID),
            "component_type": Filter("component_type", str, "code list component_types"),
            "task": Filter("task", str, "code list maintenance_task_types"),
            "active": Filter("active", bool),
        },
        search_column=None, validate_row=plan_rules,
        read_permission="maintenance:read", write_permission="maintenance:write",
    )


# ---------------------------------------------------------------------------------------------------- PM tasks

def task_path(data: dict[str, Any], resolved: dict[str, Any]) -> str:
    component = resolved["component"]
    data["scheme_id"] = component["scheme_id"]
    data["component_type"] = component["component_type"]
    return component["lgd_path"]


def task_rules(data: dict[str, Any]) -> list[tuple[str, str]]:
    problems = []
    if _in_future(data.get("done_at")):
        problems.append(("done_at", "is in the future"))
    if data["status"] == "open":
        t = MaintenanceTask.__table__
        stmt = select(t.c.code).where(t.c.component_id == data["component_id"], t.c.task == data["task"],
                                      t.c.status == "open", t.c.deleted_at.is_(None))
        if data["_old"] is not None:
            stmt = stmt.where(t.c.id != data["_old"]["id"])
        other = data["_session"].execute(stmt.limit(1)).scalar_one_or_none()
        if other:
            problems.append(("task", f"task {other} is already open for this component and task; complete it "
                             "first"))
    return problems


def task_spec() -> RegistrySpec:
    return RegistrySpec(
        name="maintenance_tasks", title="maintenance task", table=MaintenanceTask.__table__,
        schema=MaintenanceTaskIn, code_prefix="PMT", derive_path=task_path,
        references=(Reference("component", "component_id", "components"),),
        filters={
            "component_id": Filter("component_id", uuid.UUID),
            "scheme_id": Filter("scheme_id", uuid.UUID),
            "task": Filter("task", str, "code list maintenance_task_types"),
            "status": Filter("status", str, "open | done | cancelled"),
            "responsible_role": Filter("responsible_role", str, "code list roles"),
        },
        search_column=None, validate_row=task_rules,
        read_permission="maintenance:read", write_permission="maintenance:write",
    )


# ---------------------------------------------------------------------------------------------------- tickets

def ticket_path(data: dict[str, Any], resolved: dict[str, Any]) -> str:
    """The village's path if named (else the component's village), else the component's, else the scheme's."""
    component = resolved.get("component")
    if component is not None:
        data["scheme_id"] = data.get("scheme_id") or component["scheme_id"]
        if data.get("village_id") is None and component.get("village_id") is not None:
            data["village_id"] = component["village_id"]
    data["reported_at"] = data.get("reported_at") or utcnow()
    data["failed_at"] = data.get("failed_at") or data["reported_at"]
    data["state"] = data.get("state") or "reported"
    village = resolved.get("village")
    if village is not None:
        return village["lgd_path"]
    if component is not None:
        return component["lgd_path"]
    return resolved["scheme"]["lgd_path"]


def ticket_rules(data: dict[str, Any]) -> list[tuple[str, str]]:
    problems = []
    resolved, old = data["_resolved"], data["_old"]
    scheme, component, village = resolved.get("scheme"), resolved.get("component"), resolved.get("village")
    if component is not None and scheme is not None and component["scheme_id"] != scheme["id"]:
        problems.append(("component", f"component {component['code']} belongs to another scheme"))
    if village is not None and scheme is not None and village["level"] == "village" \
            and str(village["id"]) not in {str(v) for v in scheme.get("village_ids") or []}:
        problems.append(("village", f"village {village['lgd_code']} is not served by scheme {scheme['code']}"))
    if as_utc(data["failed_at"]) > as_utc(data["reported_at"]):
        problems.append(("failed_at", "is after reported_at: an asset is reported after it fails"))
    if _in_future(data["reported_at"]):
        problems.append(("reported_at", "is in the future"))
    if data["_principal"].subject != SYSTEM_ACTOR:
        # state, restored_at and closed_at follow the workflow case: callers move them with a transition
        for name in WORKFLOW_FIELDS:
            before = old.get(name) if old is not None else ("reported" if name == "state" else None)
            if not same_value(before, data.get(name)) and not (before is None and data.get(name) is None):
                problems.append((name, "follows the breakdown_ticket workflow: take a transition "
                                 "(POST /api/v1/cases/{id}/transitions)"))
    if old is None and data.get("origin_ref"):
        t = BreakdownTicket.__table__
        other = data["_session"].execute(select(t.c.code).where(
            t.c.origin == data["origin"], t.c.origin_ref == data["origin_ref"], t.c.closed_at.is_(None),
            t.c.state.not_in(TERMINAL_STATES), t.c.deleted_at.is_(None)).limit(1)).scalar_one_or_none()
        if other:
            problems.append(("origin_ref", f"ticket {other} is already open for {data['origin']} "
                             f"{data['origin_ref']}"))
    return problems


def first_level(path: str, chain: tuple[str, ...] = ("block", "district", "state")) -> str:
    """The first level of ``chain`` present in ``path`` (an MVS across districts is a state record)."""
    from jaldpi.admin_units.paths import letters

    present = {seg[0] for seg in path.strip("/").split("/") if seg}
    return next((level for level in chain if letters()[level] in present), chain[-1])


def open_cases(engine, session, principal, rows: list[tuple[str, dict[str, Any]]]) -> None:
    """A new ticket opens its ``breakdown_ticket`` case (the case has the ticket's id), in the same unit of work."""
    from jaldpi.upkeep.workflows import WORKFLOW

    for action, row in rows:
        if action != "created":
            continue
        engine.open_case(
            session, principal, WORKFLOW, "breakdown_tickets", row["id"], row["lgd_path"], first_level(row["lgd_path"]),
            {"ticket": row["code"], "origin": row["origin"], "origin_ref": row["origin_ref"],
             "scheme_id": str(row["scheme_id"]),
             "component_id": str(row["component_id"]) if row["component_id"] else None},
            case_id=row["id"], assignee_role="block_official",
            note=f"{row['origin']} {row['origin_ref'] or ''}".strip())


def ticket_output(record: dict[str, Any]) -> dict[str, Any]:
    record["case_id"] = record["id"]  # the ticket's case has the ticket's id (GET /api/v1/cases/{case_id})
    return record


def ticket_spec(engine) -> RegistrySpec:
    return RegistrySpec(
        name="breakdown_tickets", title="breakdown ticket", table=BreakdownTicket.__table__,
        schema=BreakdownTicketIn, code_prefix="BRK", derive_path=ticket_path,
        references=(
            Reference("scheme", "scheme_id", "schemes"),
            Reference("component", "component_id", "components"),
            Reference("village", "village_id", "admin_units", levels=("village", "habitation")),
        ),
        filters={
            "scheme_id": Filter("scheme_id", uuid.UUID),
            "component_id": Filter("component_id", uuid.UUID),
            "village_id": Filter("village_id", uuid.UUID),
            "origin": Filter("origin", str, "code list breakdown_origins"),
            "origin_ref": Filter("origin_ref", str),
            "state": Filter("state", str, "a state of the breakdown_ticket workflow"),
        },
        search_column="description", validate_row=ticket_rules,
        read_permission="maintenance:read", write_permission="maintenance:write",
        output=ticket_output, output_fields=("case_id",),
        on_written=(lambda session, principal, rows: open_cases(engine, session, principal, rows))
        if engine is not None else None,
    )


# ---------------------------------------------------------------------------------------------------- repairs

def _money(value: Any) -> Decimal:
    return Decimal(str(value))


def repair_path(data: dict[str, Any], resolved: dict[str, Any]) -> str:
    """Costs are derived: parts = sum of quantity x unit cost (rounded to the paisa), total = parts + labour."""
    ticket, component = resolved.get("ticket"), resolved.get("component")
    parts_cost = sum((_money(p["quantity"]) * _money(p["unit_cost_inr"]) for p in data.get("parts") or []),
                     Decimal("0")).quantize(PAISE, ROUND_HALF_UP)
    data["parts_cost_inr"] = parts_cost
    data["total_cost_inr"] = (parts_cost + _money(data.get("labour_cost_inr") or 0)).quantize(PAISE, ROUND_HALF_UP)
    data["invoice_document_ids"] = [str(i) for i in data.get("invoice_document_ids") or []]
    if component is not None:
        data["scheme_id"] = component["scheme_id"]
        return component["lgd_path"]
    if ticket["component_id"] is None:
        raise ValueError("the ticket names no component: name the component repaired")
    data["component_id"], data["scheme_id"] = ticket["component_id"], ticket["scheme_id"]
    return ticket["lgd_path"]


def repair_rules(data: dict[str, Any]) -> list[tuple[str, str]]:
    problems = []
    resolved = data["_resolved"]
    ticket, component, agency = resolved.get("ticket"), resolved.get("component"), resolved.get("agency")
    if ticket is not None and component is not None:
        if ticket["component_id"] is not None and ticket["component_id"] != component["id"]:
            problems.append(("component", "the ticket is about another component"))
        elif component["scheme_id"] != ticket["scheme_id"]:
            problems.append(("component", "the component belongs to another scheme than the ticket's"))
    if ticket is not None and as_utc(data["started_at"]) < as_utc(ticket["failed_at"]):
        problems.append(("started_at", "is before the ticket's failed_at"))
    if _in_future(data["started_at"]) or _in_future(data.get("finished_at")):
        problems.append(("started_at", "a repair is recorded once it has started (time in the future)"))
    if agency is not None and agency["entity_type"] not in AGENCY_TYPES:
        problems.append(("agency", f"must be an entity of type {', '.join(AGENCY_TYPES)}"))
    problem = _documents_problem(data["_session"], data.get("invoice_document_ids") or [], "invoice_document_ids")
    if problem:
        problems.append(problem)
    return problems


def repair_spec() -> RegistrySpec:
    return RegistrySpec(
        name="repairs", title="repair", table=Repair.__table__, schema=RepairIn, code_prefix="RPR",
        derive_path=repair_path,
        references=(
            Reference("ticket", "ticket_id", "breakdown_tickets"),
            Reference("component", "component_id", "components"),
            Reference("agency", "agency_id", "entities"),
        ),
        filters={
            "ticket_id": Filter("ticket_id", uuid.UUID),
            "component_id": Filter("component_id", uuid.UUID),
            "scheme_id": Filter("scheme_id", uuid.UUID),
            "agency_id": Filter("agency_id", uuid.UUID),
        },
        search_column="work_done", validate_row=repair_rules,
        read_permission="maintenance:read", write_permission="maintenance:write",
    )


# ---------------------------------------------------------------------------------------------------- condition

def assessment_path(data: dict[str, Any], resolved: dict[str, Any]) -> str:
    data["photo_document_ids"] = [str(i) for i in data.get("photo_document_ids") or []]
    return resolved["component"]["lgd_path"]


def assessment_rules(data: dict[str, Any]) -> list[tuple[str, str]]:
    problems = []
    if _in_future(data["assessed_at"]):
        problems.append(("assessed_at", "is in the future"))
    task = data["_resolved"].get("maintenance_task")
    if task is not None and task["component_id"] != data["component_id"]:
        problems.append(("maintenance_task", "the task is about another component"))
    problem = _documents_problem(data["_session"], data.get("photo_document_ids") or [], "photo_document_ids")
    if problem:
        problems.append(problem)
    return problems


def assessment_spec(on_written: Callable | None = None) -> RegistrySpec:
    return RegistrySpec(
        name="condition_assessments", title="condition assessment", table=ConditionAssessment.__table__,
        schema=ConditionAssessmentIn, code_prefix="CND", derive_path=assessment_path,
        references=(
            Reference("component", "component_id", "components"),
            Reference("maintenance_task", "maintenance_task_id", "maintenance_tasks"),
        ),
        filters={
            "component_id": Filter("component_id", uuid.UUID),
            "condition": Filter("condition", int, "1 very poor ... 5 very good (code list asset_conditions)"),
            "needs_repair": Filter("needs_repair", bool),
        },
        search_column=None, validate_row=assessment_rules, on_written=on_written,
        read_permission="maintenance:read", write_permission="maintenance:write",
    )


def specs(settings, workflows) -> list:
    """The RegistrySpecs this domain adds to the node's catalogue."""
    from jaldpi.upkeep.service import tickets_from_assessments

    threshold = settings.upkeep_repair_condition_at_or_below
    return [
        plan_spec(),
        task_spec(),
        ticket_spec(workflows),
        repair_spec(),
        assessment_spec(lambda session, principal, rows: tickets_from_assessments(
            session, principal, rows, threshold=threshold, engine=workflows)),
    ]
