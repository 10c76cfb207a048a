"""Grievance services: submit (any channel), track, confirm or reopen (the citizen), the workflow mirror, the jobs.

Every function takes the caller's session and flushes, never commits (one unit of work per request, job or command).
Writes of the record go through the registry's one write path; the case moves only through the workflow engine.

Who acts:

* staff act as themselves (their grants decide where they may enter or act on grievances);
* a citizen has no account: web, SMS and Open311 submissions are written by a *system actor* named after the
  channel (``system:web``, ``system:sms``, ``system:open311``) holding a grant only over the village's state;
  confirm and reopen are taken by ``system:citizen``, holding only the ``citizen`` role over the grievance's
  place, once the PIN (web) or the sender's number (SMS) has been checked here;
* the workflow mirror on the record is written by ``system:grievances``.
"""

from __future__ import annotations

import datetime as dt
import re
import uuid
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from jaldpi.core.errors import Conflict, Forbidden, NotFound, ValidationFailed
from jaldpi.core.ids import new_id
from jaldpi.core.models import aware as _aware
from jaldpi.core.models import utcnow
from jaldpi.core.registry import Catalogue, Registry, Strategy
from jaldpi.core.security import Grant, Principal
from jaldpi.core.workflow import WorkflowCase, cut_path
from jaldpi.grievances import notify, routing
from jaldpi.grievances.contacts import GrievanceContactStore, new_pin, normalise_phone
from jaldpi.grievances.models import Grievance
from jaldpi.grievances.registry import NAME, mint_reference, normalise_reference, workflow_write
from jaldpi.standard.codelists import codes, item, role_permissions

WORKFLOW = "grievance"
SUBJECT_TYPE = NAME
SYSTEM_ACTOR = "system:grievances"
CITIZEN_ACTOR = "system:citizen"
OPEN_STATUSES = ("assigned", "in_progress", "reopened", "resolved")
FINISHED_STATUSES = ("closed", "rejected")
_DIGIT_RUN = re.compile(r"\d{8}")  # a reference must never look like a phone number (notifications refuse those)


# ---------------------------------------------------------------------------------------------------- plumbing

def registry_of(catalogue: Catalogue) -> Registry:
    """The grievances registry of the node's ``catalogue`` (a route's ``node.catalogue``; a hook's or service's
    ``engine.catalogue``, bound by ``registries.build_catalogue``)."""
    return catalogue[NAME]


def contacts_of(catalogue: Catalogue) -> GrievanceContactStore:
    """The complainants' encrypted contacts and PINs, as the node's grievances registry holds them."""
    return registry_of(catalogue).spec.private_store  # type: ignore[return-value]


def _state_path(path: str) -> str:
    return cut_path(path, "S") or path


def system_principal(subject: str, path: str, source_system: str | None = None) -> Principal:
    """A system actor with node_admin over the state of ``path`` only (it resolves the village's schemes and
    components, which may sit at district level, and writes the one grievance it was called for)."""
    return Principal(subject, "system", (Grant("node_admin", _state_path(path)),), role_permissions(), source_system)


def citizen_principal(path: str, source_system: str | None = None) -> Principal:
    """The complainant, after the PIN or sender check: the ``citizen`` role over the grievance's place only."""
    return Principal(CITIZEN_ACTOR, "system", (Grant("citizen", path),), role_permissions(), source_system)


def _row(session: Session, reference: str) -> dict[str, Any]:
    ref = normalise_reference(reference) if reference else None
    rid = None
    if ref is None:
        try:
            rid = uuid.UUID(str(reference))
        except ValueError:
            raise NotFound(f"no grievance with reference '{reference}'",
                           details=[{"field": "reference", "problem": "unknown reference"}]) from None
    t = Grievance.__table__
    cond = t.c.code == ref if rid is None else t.c.id == rid
    row = session.execute(select(t).where(cond, t.c.deleted_at.is_(None))).mappings().first()
    if row is None:
        raise NotFound(f"no grievance with reference '{reference}'",
                       details=[{"field": "reference", "problem": "unknown reference"}])
    return dict(row)


def case_of(session: Session, engine: Any, grievance_id: uuid.UUID | str) -> WorkflowCase:
    cases = engine.cases_for(session, SUBJECT_TYPE, grievance_id, workflow=WORKFLOW)
    if not cases:
        raise NotFound("this grievance has no workflow case")
    return cases[-1]


def _village(session: Session, village: Any) -> dict[str, Any]:
    from jaldpi.admin_units.models import AdminUnit

    t = AdminUnit.__table__
    stmt = select(t).where(t.c.level == "village", t.c.deleted_at.is_(None))
    if isinstance(village, dict):
        village = village.get("id") or village.get("code") or village.get("lgd_code")
    if isinstance(village, int) or (isinstance(village, str) and village.isdigit()):
        stmt = stmt.where(t.c.lgd_code == int(village))
    else:
        try:
            stmt = stmt.where(t.c.id == uuid.UUID(str(village)))
        except ValueError:
            stmt = stmt.where(t.c.code == str(village))
    row = session.execute(stmt).mappings().first()
    if row is None:
        raise ValidationFailed(f"no village '{village}'",
                               details=[{"field": "village", "problem": "not a known village (LGD code, id or code)"}])
    return dict(row)


# ---------------------------------------------------------------------------------------------------- submit

def _asset_kinds(session: Session, catalogue: Any, principal: Principal, scheme: Any,
                 component: Any) -> tuple[str | None, str | None]:
    """The scheme type and component type of the asset a grievance names (for routing). A reference that does not
    resolve gives None here; the grievance's own write then refuses it with the registry's error."""
    component_row = scheme_row = None
    if component is not None:
        component_row = catalogue["components"].resolve(session, principal, [component], None)[0][0]
    if scheme is not None:
        scheme_row = catalogue["schemes"].resolve(session, principal, [scheme], None)[0][0]
    elif component_row is not None:
        scheme_row = catalogue["schemes"].resolve(session, principal, [str(component_row["scheme_id"])], None)[0][0]
    return (scheme_row["scheme_type"] if scheme_row else None,
            component_row["component_type"] if component_row else None)


def submit_grievance(session: Session, settings: Any, principal_or_actor: Principal | str | None, *, village: Any,
                     category: str, description: str, channel: str, phone: str | None = None,
                     name: str | None = None, language: str = "en", scheme: Any = None, component: Any = None,
                     lon: float | None = None, lat: float | None = None, engine: Any, habitation: Any = None,
                     now: dt.datetime | None = None) -> dict[str, Any]:
    """Record a grievance, route it (routing table + who holds the role there), open its case, give it a PIN, and
    queue the acknowledgement to the complainant and the notice to whoever answers it.

    ``principal_or_actor``: a signed-in principal (staff entering a call: their grants decide where), or a system
    actor name / None for citizens (``system:<channel>``). Returns ``{"reference", "pin", "id", "status", "due_at",
    "routed_to_role", "routed_to_path", "case"}``. Bad input raises ``ValidationFailed`` naming the field.
    """
    now = now or utcnow()
    problems = []
    if category not in codes("grievance_categories"):
        problems.append({"field": "category", "problem": "a code of grievance_categories: "
                         + ", ".join(codes("grievance_categories"))})
    if channel not in codes("grievance_channels"):
        problems.append({"field": "channel", "problem": "a code of grievance_channels: "
                         + ", ".join(codes("grievance_channels"))})
    if language not in ("en", "hi"):
        problems.append({"field": "language", "problem": "en or hi"})
    clear_phone = normalise_phone(phone) if phone else None
    if phone and clear_phone is None:
        problems.append({"field": "phone", "problem": "not a phone number (10-digit mobile, optionally +91)"})
    if not (description or "").strip():
        problems.append({"field": "description", "problem": "describe the problem"})
    if problems:
        raise ValidationFailed(f"{problems[0]['field']}: {problems[0]['problem']}", details=problems)
    unit = _village(session, village)
    table = routing.table_for(settings)
    mismatch = routing.chain_problems(table, engine.definition(WORKFLOW).escalation)
    if mismatch:
        raise routing.RoutingError("; ".join(mismatch))
    from jaldpi.admin_units.paths import letters

    if isinstance(principal_or_actor, Principal) and not principal_or_actor.is_anonymous:
        writer: Principal = principal_or_actor
        opener: Principal | str = principal_or_actor
    else:
        actor = principal_or_actor if isinstance(principal_or_actor, str) else f"system:{channel}"
        writer = system_principal(actor, unit["lgd_path"], settings.node_id)
        opener = actor
    scheme_type, component_type = _asset_kinds(session, engine.catalogue, writer, scheme, component)
    route = routing.route(session, table, category, unit["lgd_path"], letters(), scheme_type=scheme_type,
                          component_type=component_type)
    rid = new_id()
    while _DIGIT_RUN.search(mint_reference(rid)):
        rid = new_id()
    reference = mint_reference(rid)
    due_at = now + dt.timedelta(hours=route["sla_hours"])
    record_in: dict[str, Any] = {
        "id": str(rid), "code": reference, "village": {"id": str(unit["id"])}, "category": category,
        "description": description.strip(), "channel": channel, "language": language,
        "longitude": lon, "latitude": lat, "status": "assigned", "routed_to_role": route["role"],
        "routed_to_path": route["path"], "submitted_at": now.isoformat(), "due_at": due_at.isoformat()}
    for field, value in (("habitation", habitation), ("scheme", scheme), ("component", component)):
        if value is not None:
            record_in[field] = value
    if clear_phone:
        record_in["complainant_phone"] = clear_phone
    if name and name.strip():
        record_in["complainant_name"] = name.strip()
    with workflow_write(session):
        record = registry_of(engine.catalogue).write_one(session, writer, record_in, Strategy.create)
    roles = {step.level: step.role for step in table.chain}
    skipped = ", ".join(route["skipped"])
    case = engine.open_case(
        session, opener, WORKFLOW, SUBJECT_TYPE, rid, record["lgd_path"], route["level"],
        {"grievance": reference, "category": category, "sla_hours": route["sla_hours"], "roles": roles,
         "channel": channel, "language": language, "routing_version": table.version},
        assigned_path=route["path"], assignee_role=route["role"], now=now,
        note=f"routed to {route['role']} at {route['level']}" + (f" (nobody holds the role at {skipped})"
                                                                  if skipped else "")
        + (f"; asset: {route['asset_rule']}" if route["asset_rule"] else ""))
    pin = new_pin()
    contacts_of(engine.catalogue).set_pin(session, rid, pin)
    grievance = {**record, "id": rid, "due_at": _aware(case.due_at)}
    notify.to_citizen(session, settings, grievance, clear_phone, "grievances_received", pin=pin,
                      village_name=unit["name"])
    notify.to_role(session, settings, grievance, route["role"], route["path"], "grievances_assigned",
                   village_name=unit["name"], village_lgd_code=unit["lgd_code"])
    session.flush()
    return {"reference": reference, "pin": pin, "id": str(rid), "status": case.state, "due_at": _aware(case.due_at),
            "routed_to_role": route["role"], "routed_to_path": route["path"], "case": case.code}


# ---------------------------------------------------------------------------------------------------- citizen

def public_view(session: Session, reference: str) -> dict[str, Any]:
    """What anyone holding the reference may see: no description (the citizen's words may name people), no name
    or phone, no staff names; status, category, village, dates and the public history."""
    from jaldpi.admin_units.models import AdminUnit
    from jaldpi.core.workflow_models import WorkflowEvent

    g = _row(session, reference)
    village = session.execute(select(AdminUnit.name, AdminUnit.name_local, AdminUnit.lgd_code)
                              .where(AdminUnit.id == g["village_id"])).first()
    label = item("grievance_categories", g["category"])["label"]
    events = session.execute(
        select(WorkflowEvent.at, WorkflowEvent.transition, WorkflowEvent.to_state)
        .join(WorkflowCase, WorkflowCase.id == WorkflowEvent.case_id)
        .where(WorkflowCase.subject_type == SUBJECT_TYPE, WorkflowCase.subject_id == str(g["id"]),
               WorkflowCase.workflow == WORKFLOW)
        .order_by(WorkflowCase.id, WorkflowEvent.seq)).all()
    history = [{"at": _aware(e.at), "event": "submitted" if e.transition == "open" else e.transition,
                "status": e.to_state} for e in events if e.transition != "escalation_exhausted"]
    due = _aware(g["due_at"])
    status = g["status"]
    return {
        "reference": g["code"], "status": status, "category": g["category"], "category_label": label,
        "village": {"lgd_code": village.lgd_code, "name": village.name, "name_local": village.name_local}
        if village else None,
        "channel": g["channel"], "language": g["language"], "submitted_at": _aware(g["submitted_at"]),
        "due_at": due, "overdue": bool(due and status in OPEN_STATUSES and status != "resolved" and due <= utcnow()),
        "resolved_at": _aware(g["resolved_at"]), "confirmed_at": _aware(g["confirmed_at"]),
        "closed_at": _aware(g["closed_at"]), "reopen_count": g["reopen_count"],
        "escalation_count": g["escalation_count"], "assigned_level": _level_of(g["routed_to_path"]),
        "resolution_note": g["resolution_note"], "rejection_reason": g["rejection_reason"],
        "actions": ["confirm", "reopen"] if status == "resolved" else [], "history": history,
    }


def _level_of(path: str | None) -> str | None:
    if not path:
        return None
    from jaldpi.admin_units.paths import levels_by_letter

    last = [p for p in path.split("/") if p][-1]
    return levels_by_letter().get(last[:1])


def _check_pin(session: Session, settings: Any, engine: Any, grievance: dict[str, Any], pin: str) -> None:
    store = contacts_of(engine.catalogue)
    ok, failures = store.check_pin(session, grievance["id"], str(pin or ""))
    limit = settings.grievance_pin_max_attempts
    if failures >= limit:
        raise Forbidden(f"too many wrong PINs for {grievance['code']}: confirm or reopen by SMS from the number "
                        "you gave, or ask the operator", code="pin_locked",
                        details=[{"field": "pin", "problem": f"locked after {limit} wrong attempts"}])
    if not ok:
        store.count_failure_after_rollback(session, grievance["id"])
        raise Forbidden(f"wrong PIN for {grievance['code']}", code="wrong_pin",
                        details=[{"field": "pin", "problem": "does not match the PIN given at submission"}])


def _citizen_step(session: Session, settings: Any, grievance: dict[str, Any], transition: str,
                  payload: dict[str, Any], engine: Any, now: dt.datetime | None) -> dict[str, Any]:
    case = case_of(session, engine, grievance["id"])
    if case.state != "resolved":
        raise Conflict(f"grievance {grievance['code']} is {case.state}: only a resolved grievance can be "
                       + ("confirmed" if transition == "confirm" else "reopened"), code="not_resolved",
                       details=[{"field": "status", "problem": f"is {case.state}, not resolved"}])
    engine.transition(session, citizen_principal(case.lgd_path, settings.node_id), case.id, transition, payload,
                      now=now)
    session.flush()
    return public_view(session, grievance["code"])


def confirm_resolution(session: Session, settings: Any, reference: str, pin: str, *, engine: Any,
                       now: dt.datetime | None = None) -> dict[str, Any]:
    """The complainant confirms the resolution (web: reference + PIN): the grievance closes."""
    g = _row(session, reference)
    _check_pin(session, settings, engine, g, pin)
    return _citizen_step(session, settings, g, "confirm", {"note": "confirmed by the complainant (PIN)"}, engine,
                         now)


def reopen(session: Session, settings: Any, reference: str, pin: str, reason: str, *, engine: Any,
           now: dt.datetime | None = None) -> dict[str, Any]:
    """The complainant says the problem is not solved (web: reference + PIN + reason): back to work, SLA restarts."""
    g = _row(session, reference)
    _check_pin(session, settings, engine, g, pin)
    if not (reason or "").strip():
        raise ValidationFailed("say why the problem is not solved",
                               details=[{"field": "reason", "problem": "required to reopen"}])
    return _citizen_step(session, settings, g, "reopen", {"reason": reason.strip()}, engine, now)


def sender_step(session: Session, settings: Any, reference: str, phone: str, transition: str, *, engine: Any,
                reason: str | None = None, now: dt.datetime | None = None) -> dict[str, Any]:
    """Confirm or reopen by SMS: the sender's number must be the complainant's (compared as keyed hashes)."""
    g = _row(session, reference)
    clear = normalise_phone(phone)
    if clear is None or not contacts_of(engine.catalogue).sender_matches(session, g["id"], clear):
        raise Forbidden(f"grievance {g['code']} was not sent from this number", code="not_complainant",
                        details=[{"field": "from", "problem": "not the complainant's number"}])
    payload = ({"note": "confirmed by the complainant (SMS)"} if transition == "confirm"
               else {"reason": (reason or "").strip()})
    return _citizen_step(session, settings, g, transition, payload, engine, now)


# ---------------------------------------------------------------------------------------------------- staff

def take_transition(session: Session, settings: Any, principal: Principal, reference: str, name: str,
                    payload: dict[str, Any] | None, *, engine: Any, expected_version: int | None = None,
                    now: dt.datetime | None = None) -> dict[str, Any]:
    """A staff step on a grievance (start, raise_ticket, resolve, reject), by the grievance's reference."""
    registry = registry_of(engine.catalogue)
    g = registry.get(session, principal, reference) if principal.has("grievances:read") else None
    if g is None:
        raise NotFound(f"no grievance '{reference}' visible to you")
    case = case_of(session, engine, g["id"])
    engine.transition(session, principal, case.id, name, payload or {}, expected_version=expected_version, now=now)
    session.flush()
    return {"grievance": registry.get(session, principal, g["id"]),
            "case": engine.get_case(session, principal, case.id) if engine.can_read(principal, case) else None}


def queue(session: Session, principal: Principal, *, limit: int, after: str | None = None,
          overdue: bool | None = None, now: dt.datetime | None = None) -> dict[str, Any]:
    """"My queue": open grievances routed to one of my roles at a place inside that role's grant, most urgent
    first (by due time)."""
    from sqlalchemy import and_, or_

    from jaldpi.core.pagination import decode_cursor, encode_cursor

    now = now or utcnow()
    t = Grievance.__table__
    mine = [and_(t.c.routed_to_role == g.role, t.c.routed_to_path.startswith(g.path, autoescape=True))
            for g in principal.grants]
    if not mine:
        return {"items": [], "next_cursor": None}
    stmt = select(t.c.id).where(or_(*mine), t.c.status.in_(("assigned", "in_progress", "reopened")),
                                t.c.deleted_at.is_(None))
    if overdue is True:
        stmt = stmt.where(t.c.due_at <= now)
    elif overdue is False:
        stmt = stmt.where(or_(t.c.due_at.is_(None), t.c.due_at > now))
    if after:
        stmt = stmt.where(t.c.id > decode_cursor(after))
    ids = [r for (r,) in session.execute(stmt.order_by(t.c.id).limit(limit + 1))]
    more = len(ids) > limit
    ids = ids[:limit]
    rows = [dict(r) for r in session.execute(select(t).where(t.c.id.in_(ids))).mappings()] if ids else []
    rows.sort(key=lambda r: (_aware(r["due_at"]) or dt.datetime.max.replace(tzinfo=dt.UTC), r["id"]))
    items = [{"id": str(r["id"]), "reference": r["code"], "category": r["category"], "status": r["status"],
              "lgd_path": r["lgd_path"], "routed_to_role": r["routed_to_role"],
              "routed_to_path": r["routed_to_path"], "submitted_at": _aware(r["submitted_at"]),
              "due_at": _aware(r["due_at"]), "overdue": bool(r["due_at"] and _aware(r["due_at"]) <= now),
              "escalation_count": r["escalation_count"], "reopen_count": r["reopen_count"]} for r in rows]
    return {"items": items, "next_cursor": encode_cursor(ids[-1]) if more and ids else None}


def open_counts_by_village(session: Session, village_ids: list) -> dict[str, int]:
    """Open grievances (not closed or rejected) per village id (keys ``str(uuid)``; villages without any: 0)."""
    t = Grievance.__table__
    wanted = [v if isinstance(v, uuid.UUID) else uuid.UUID(str(v)) for v in village_ids]
    counts = {str(v): 0 for v in wanted}
    for i in range(0, len(wanted), 5000):
        for vid, n in session.execute(
                select(t.c.village_id, func.count()).where(t.c.village_id.in_(wanted[i:i + 5000]),
                                                           t.c.status.not_in(FINISHED_STATUSES),
                                                           t.c.deleted_at.is_(None))
                .group_by(t.c.village_id)):
            counts[str(vid)] = n
    return counts


# ---------------------------------------------------------------------------------------------------- jobs

def escalate_overdue(session: Session, settings: Any, *, engine: Any, now: dt.datetime | None = None,
                     limit: int | None = None) -> list[dict[str, Any]]:
    """Escalate overdue grievance cases one level up their chain (the engine's escalation, for this workflow only;
    the escalate hook re-routes the record and notifies the next level)."""
    return engine.escalate_overdue(session, now or utcnow(), limit=limit, workflows=[WORKFLOW])


def auto_close(session: Session, settings: Any, *, engine: Any, now: dt.datetime | None = None) -> list[str]:
    """Close grievances resolved more than ``grievance_auto_close_days`` ago without an answer from the citizen."""
    now = now or utcnow()
    t = Grievance.__table__
    cutoff = now - dt.timedelta(days=settings.grievance_auto_close_days)
    rows = session.execute(select(t.c.id, t.c.code, t.c.lgd_path)
                           .where(t.c.status == "resolved", t.c.resolved_at <= cutoff, t.c.deleted_at.is_(None))
                           .order_by(t.c.resolved_at)).all()
    closed = []
    for gid, code, path in rows:
        case = case_of(session, engine, gid)
        if case.state != "resolved":
            continue
        engine.transition(session, system_principal(SYSTEM_ACTOR, path, settings.node_id), case.id, "auto_close",
                          {"note": f"no answer from the citizen within {settings.grievance_auto_close_days} days"},
                          now=now)
        closed.append(code)
    session.flush()
    return closed


# ---------------------------------------------------------------------------------------------------- mirror

def sync_mirror(session: Session, case: WorkflowCase, changes: dict[str, Any], *, engine: Any) -> dict[str, Any]:
    """Write the case's state and assignment (and ``changes``) onto the grievance record, through the node's
    registry (``engine.catalogue``: the one write path), as ``system:grievances``. Returns the record as stored."""
    settings = engine.settings
    roles = (case.data or {}).get("roles") or {}
    values = {"status": case.state, "routed_to_path": case.assigned_path,
              "routed_to_role": roles.get(case.assigned_level, case.assignee_role),
              "due_at": _aware(case.due_at).isoformat() if case.due_at else None,
              "escalation_count": case.escalation_count, **changes}
    principal = system_principal(SYSTEM_ACTOR, case.lgd_path, settings.node_id)
    with workflow_write(session):
        return registry_of(engine.catalogue).write_one(session, principal, {"id": case.subject_id, **values},
                                                       Strategy.update)
