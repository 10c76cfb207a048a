"""Keeps each village's ``hgj_certifications`` record and its ``hgj_certification`` workflow case in step.

Two directions, one unit of work:

* **case -> record.** Every transition (whoever takes it: the HGJ routes, the generic ``/api/v1/cases`` route, a
  CLI) runs :func:`after_transition`, which writes the record through ``Registry.import_records`` as the person who
  acted (a grant for this village only: people hold no direct write permission on certifications, so the workflow is
  their only way to change one) and, on ``certify``, makes the evidence public.
* **record -> case.** A direct write of the registry (a state system importing villages reported or certified
  elsewhere; the registry rules allow only forward moves) runs :func:`replay_imported`, which opens a case if needed
  and takes the workflow's steps up to the imported status as ``system:certification``, so the same guards check
  the same documents and the case history says what happened.

The hook is registered with the workflow (``workflows.register``); it reaches the node's settings and catalogue
through the engine (``ctx.engine.settings`` / ``ctx.engine.catalogue``, bound by ``registries.build_catalogue``), so
the record writes go through the node's own registries, rules and federation write guard.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import uuid
from collections.abc import Iterator
from typing import Any

from sqlalchemy import case as sql_case
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from jaldpi.certification import evidence
from jaldpi.certification.workflows import SUBJECT_TYPE, WORKFLOW, india_today
from jaldpi.core.errors import ValidationFailed
from jaldpi.core.ids import parse_uuid
from jaldpi.core.registry import Registry, Strategy
from jaldpi.core.security import Grant, Principal

SYSTEM_ACTOR = "system:certification"
_SYNCING = "hgj_syncing"
_REPLAYING = "hgj_replaying"


@contextlib.contextmanager
def _flag(session: Session, name: str) -> Iterator[None]:
    session.info[name] = session.info.get(name, 0) + 1
    try:
        yield
    finally:
        session.info[name] -= 1


def is_syncing(session: Session) -> bool:
    """True while the workflow writes a certification record (registry rules then trust the transition's checks)."""
    return bool(session.info.get(_SYNCING))


# ---------------------------------------------------------------------------------------------------- households

def tap_snapshot(session: Session, village_id: uuid.UUID | str) -> dict[str, Any]:
    """Households of the village in the households registry, and how many have a tap connection."""
    from jaldpi.people.models import Household

    h = Household.__table__
    total, with_tap = session.execute(
        select(func.count(), func.coalesce(func.sum(sql_case((h.c.has_tap_connection.is_(True), 1), else_=0)), 0))
        .where(h.c.village_id == parse_uuid(str(village_id)), h.c.deleted_at.is_(None))).one()
    total, with_tap = int(total), int(with_tap or 0)
    check = "no_records" if total == 0 else ("complete" if with_tap == total else "incomplete")
    return {"households_total": total if total else None, "households_with_tap": with_tap if total else None,
            "tap_check": check}


def tap_refusal(session: Session, settings, village: dict[str, Any]) -> str | None:
    """Why the village may not be reported now under ``hgj_tap_check=refuse`` (None: it may)."""
    if settings.hgj_tap_check != "refuse":
        return None
    snap = tap_snapshot(session, village["id"])
    if snap["tap_check"] != "incomplete":
        return None
    missing = snap["households_total"] - snap["households_with_tap"]
    return (f"{missing} of {snap['households_total']} households of the village have no tap connection in the "
            "households registry (no one left out; setting hgj_tap_check=refuse)")


# ---------------------------------------------------------------------------------------------------- case -> record

def _doc_id(value: Any) -> str | None:
    rid = parse_uuid(str(value)) if value is not None else None
    return str(rid) if rid else None


def _patch(transition: str, data: dict[str, Any], today: dt.date) -> dict[str, Any]:
    """The record's fields after ``transition`` (the case's data already holds the payload)."""
    if transition == "report":
        return {"village": data["village_id"], "status": "reported",
                "reported_on": str(data.get("reported_on") or today),
                "completion_certificate_id": _doc_id(data.get("completion_certificate")),
                "gram_sabha_date": None, "resolution_document_id": None, "video_document_id": None,
                "resolution_uploaded_on": None, "certified_on": None, "certificate_document_id": None,
                "returned_on": None, "return_reasons": [], "withdrawn_on": None,
                "households_total": data.get("households_total"),
                "households_with_tap": data.get("households_with_tap"), "tap_check": data.get("tap_check")}
    if transition == "upload_resolution":
        return {"status": "resolution_uploaded", "gram_sabha_date": str(data["gram_sabha_date"]),
                "resolution_document_id": _doc_id(data.get("resolution_document")),
                "video_document_id": _doc_id(data.get("video_document")), "resolution_uploaded_on": str(today)}
    if transition == "certify":
        return {"status": "certified", "certified_on": str(today),
                "certificate_document_id": _doc_id(data.get("certificate_document"))}
    if transition == "return":
        return {"status": "returned", "returned_on": str(today), "return_reasons": list(data.get("reasons") or [])}
    if transition == "withdraw":
        return {"status": "withdrawn", "withdrawn_on": str(today)}
    raise ValueError(f"no record change for transition {transition}")


def _on_behalf(actor: str, source: str | None, path: str, kind: str = "person") -> Principal:
    """The acting person, with a write grant for this one village (the transition already checked their role)."""
    from jaldpi.standard.codelists import role_permissions

    return Principal(actor, kind, (Grant("node_admin", path),), role_permissions(), source)


def write_record(session: Session, registry: Registry, principal: Principal, record_id: str,
                 patch: dict[str, Any]) -> None:
    with _flag(session, _SYNCING):
        summary = registry.import_records(session, principal, [{"id": record_id, **patch}],
                                          strategy=Strategy.create_and_update)
    errors = [e for r in summary.rows for e in r.errors]
    if errors:
        raise ValidationFailed("the village's certification record cannot take this step: " + errors[0]["message"],
                               details=[{"field": e["field"], "problem": e["message"]} for e in errors])


def evidence_ids(data: dict[str, Any]) -> list[str]:
    return [i for i in (_doc_id(data.get(k)) for k in ("completion_certificate", "resolution_document",
                                                       "video_document", "certificate_document")) if i]


def after_transition(ctx) -> None:
    """Hook on every transition of ``hgj_certification``: record in step, evidence public on certification,
    notifications (when the notifications domain is installed)."""
    name = ctx.event.transition
    case = ctx.case
    source = ctx.principal.source_system if ctx.principal is not None else None
    kind = ctx.principal.kind if ctx.principal is not None else "system"
    acting = _on_behalf(ctx.actor, source, case.lgd_path, kind)
    catalogue = ctx.engine.catalogue  # the node's, bound by registries.build_catalogue
    if name == "certify":
        evidence.publish(ctx.session, acting, catalogue["documents"], evidence_ids(case.data or {}))
    if ctx.session.info.get(_REPLAYING):
        return  # the imported record already says what this step says
    write_record(ctx.session, catalogue["hgj_certifications"], acting, case.subject_id,
                 _patch(name, case.data or {}, india_today(ctx.now)))
    _notify(ctx.engine.settings, ctx, name)


def _notify(settings, ctx, name: str) -> None:
    """District: a resolution waits for its check; the Gram Panchayat (VWSC operator): the upload came back."""
    target = {"upload_resolution": ("district_official", "district"),
              "return": ("vwsc_operator", "village")}.get(name)
    if target is None:
        return
    try:
        from jaldpi.notifications.service import notify_role
    except ImportError:  # the notifications domain is optional
        return
    from jaldpi.core.workflow import cut_path

    role, level = target
    letter = ctx.engine.level_letters.get(level, "")
    path = cut_path(ctx.case.lgd_path, letter) or ctx.case.lgd_path
    data = ctx.case.data or {}
    from jaldpi.standard.codelists import item

    labels = [item("hgj_return_reasons", r)["label"] for r in data.get("reasons") or [] if name == "return"]
    notify_role(ctx.session, settings, role=role, lgd_path=path, template=f"certification_{name}",
                context={"case": ctx.case.code, "village": data.get("village_name"),
                         "village_lgd_code": data.get("village_lgd_code"),
                         "reasons_en": "; ".join(x["en"] for x in labels),
                         "reasons_hi": "; ".join(x["hi"] for x in labels)},
                subject_type=SUBJECT_TYPE, subject_id=str(ctx.case.subject_id))


# ---------------------------------------------------------------------------------------------------- record -> case

STAGE = {"reported": 1, "resolution_uploaded": 2, "certified": 3}  # the forward order of the statuses
NEXT_STEP = {"not_reported": "report", "reported": "upload_resolution", "returned": "upload_resolution",
             "resolution_uploaded": "certify"}
REACHES = {"report": "reported", "upload_resolution": "resolution_uploaded", "certify": "certified"}


def first_level(path: str) -> str:
    """Who answers first for a village's case: its block, else (external data without blocks) its district."""
    segments = {seg[:1] for seg in path.strip("/").split("/") if seg}
    return "block" if "B" in segments else ("district" if "D" in segments else "state")


def _iso(value: Any) -> str | None:
    return value.isoformat() if isinstance(value, dt.date) else (str(value) if value is not None else None)


def _step_payload(step: str, row: dict[str, Any], session: Session) -> dict[str, Any]:
    if step == "report":
        return {"completion_certificate": _doc_id(row.get("completion_certificate_id")),
                "reported_on": _iso(row.get("reported_on")), **tap_snapshot(session, row["village_id"])}
    if step == "upload_resolution":
        return {"resolution_document": _doc_id(row.get("resolution_document_id")),
                "video_document": _doc_id(row.get("video_document_id")),
                "gram_sabha_date": _iso(row.get("gram_sabha_date"))}
    payload = {}
    if row.get("certificate_document_id"):
        payload["certificate_document"] = _doc_id(row["certificate_document_id"])
    return payload


def case_data(village: dict[str, Any]) -> dict[str, Any]:
    return {"village_id": str(village["id"]), "village_lgd_code": village.get("lgd_code"),
            "village_name": village.get("name")}


def replay_imported(engine, settings, session: Session, principal: Principal,
                    rows: list[tuple[str, dict[str, Any]]]) -> None:
    """Bring the case of each directly written record up to the record's status (``on_written`` of the registry)."""
    if is_syncing(session):
        return  # the workflow wrote it
    from jaldpi.admin_units.models import AdminUnit

    with _flag(session, _REPLAYING):
        for _action, row in rows:
            cases = engine.cases_for(session, SUBJECT_TYPE, row["id"], workflow=WORKFLOW)
            case = next((c for c in reversed(cases) if c.closed_at is None), None)
            if case is None:
                if cases and cases[-1].state == row["status"]:
                    continue  # a closed case already says it (e.g. attributes of a certified village changed)
                village = session.execute(select(AdminUnit.__table__).where(
                    AdminUnit.id == row["village_id"])).mappings().one()
                case = engine.open_case(session, principal, WORKFLOW, SUBJECT_TYPE, row["id"], row["lgd_path"],
                                        first_level(row["lgd_path"]), case_data(dict(village)),
                                        note=f"imported certification record {row['code']}")
            acting = Principal(SYSTEM_ACTOR, "system", (Grant("node_admin", row["lgd_path"]),),
                               principal.role_permissions, principal.source_system)
            note = f"automatic, on the record written by {principal.subject}"
            target = STAGE.get(row["status"], 0)
            while (case.state != row["status"] and case.state in NEXT_STEP
                   and STAGE[REACHES[NEXT_STEP[case.state]]] <= target):
                step = NEXT_STEP[case.state]
                engine.transition(session, acting, case.id, step,
                                  _step_payload(step, row, session) | {"note": note})
