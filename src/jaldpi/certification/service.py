"""Har Ghar Jal certification: reporting a village, and the public reads (village status, district counts).

Reporting opens the village's ``hgj_certification`` case and takes its ``report`` step in the same unit of work, so
the roles, the required completion certificate and its guard come from the workflow definition; the later steps
(``upload_resolution``, ``certify``, ``return``, ``withdraw``) are transitions of that case
(``POST /api/v1/cases/{case}/transitions/{name}``).

Public reads never touch personal data: a certification record holds a village, dates, statuses, counts and
document ids; documents are listed only once the village is certified, and only those that are public.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Iterable
from typing import Any

from sqlalchemy import and_, case, func, select
from sqlalchemy.orm import Session

from jaldpi.admin_units.models import AdminUnit
from jaldpi.certification import evidence, lifecycle
from jaldpi.certification.models import HgjCertification
from jaldpi.certification.workflows import SUBJECT_TYPE, WORKFLOW, india_today
from jaldpi.core.errors import Conflict, Forbidden, NotFound, OutOfJurisdiction, ValidationFailed
from jaldpi.core.ids import new_id, parse_uuid
from jaldpi.core.security import Principal
from jaldpi.core.workflow import WRITE_PERMISSION, WorkflowEngine

REPORTED_STATUSES = ("reported", "resolution_uploaded", "returned", "certified")  # "reported" as the dashboard counts


def find_village(session: Session, key: str | int | uuid.UUID) -> dict[str, Any]:
    """A village by LGD code, id or code (administrative units are public)."""
    a = AdminUnit.__table__
    text = str(key)
    rid = parse_uuid(text)
    cond = (a.c.id == rid) if rid else ((a.c.lgd_code == int(text)) if text.isdigit() else (a.c.code == text))
    rows = session.execute(select(a).where(cond, a.c.level == "village", a.c.deleted_at.is_(None))).mappings().all()
    if len(rows) != 1:
        raise NotFound(f"no village '{key}'", details=[{"field": "village", "problem": "unknown village"}])
    return dict(rows[0])


def certification_of(session: Session, village_id: uuid.UUID) -> dict[str, Any] | None:
    t = HgjCertification.__table__
    row = session.execute(select(t).where(t.c.village_id == village_id, t.c.deleted_at.is_(None))).mappings().first()
    return dict(row) if row else None


def _may_report(engine: WorkflowEngine, principal: Principal, path: str) -> None:
    """The same role check the engine makes, before a case exists (so the refusal names the real problem)."""
    roles = engine.definition(WORKFLOW).transition("report").roles
    covering = [g for g in principal.grants if path.startswith(g.path)]
    if any(g.role in roles or WRITE_PERMISSION in principal.role_permissions.get(g.role, ()) for g in covering):
        return
    if any(g.role in roles for g in principal.grants):
        raise OutOfJurisdiction(f"village at {path} is outside your jurisdiction for reporting",
                                details=[{"field": "village", "problem": "outside jurisdiction"}])
    raise Forbidden(f"a village is reported Har Ghar Jal by: {', '.join(roles)}", code="role_not_allowed",
                    details=[{"field": "role", "problem": "none of your roles may report a village"}])


def report_village(session: Session, principal: Principal, settings, engine: WorkflowEngine,
                   village: str | int | uuid.UUID, *, completion_certificate: str | uuid.UUID,
                   reported_on: dt.date | None = None, note: str | None = None):
    """Mark a village *reported* Har Ghar Jal: open its case and take ``report`` (roles, document guard).

    Refused when the village already has a certification that is not withdrawn (``already_reported``), and under
    ``hgj_tap_check=refuse`` when registered households lack a tap. Returns the case (flushed, not committed).
    """
    unit = find_village(session, village)
    path = unit["lgd_path"]
    _may_report(engine, principal, path)
    existing = certification_of(session, unit["id"])
    if existing is not None and existing["status"] != "withdrawn":
        raise Conflict(f"village {unit['lgd_code']} is already {existing['status']} (certification "
                       f"{existing['code']}); a report is withdrawn before the village is reported again",
                       code="already_reported", details=[{"field": "village", "problem": existing["status"]}])
    today = india_today(dt.datetime.now(dt.UTC))
    if reported_on is not None and reported_on > today:
        raise ValidationFailed("reported_on is in the future",
                               details=[{"field": "reported_on", "problem": "after today (IST)"}])
    refusal = lifecycle.tap_refusal(session, settings, unit)
    if refusal:
        raise Conflict(refusal, code="households_without_tap", details=[{"field": "village", "problem": refusal}])
    record_id = existing["id"] if existing else new_id()
    case = engine.open_case(session, principal, WORKFLOW, SUBJECT_TYPE, record_id, path, lifecycle.first_level(path),
                            lifecycle.case_data(unit), note="completion certificate handed to the Gram Panchayat")
    payload = {"completion_certificate": str(completion_certificate),
               "reported_on": (reported_on or today).isoformat(), **lifecycle.tap_snapshot(session, unit["id"])}
    if note:
        payload["note"] = note
    return engine.transition(session, principal, case.id, "report", payload)


def current_case(session: Session, engine: WorkflowEngine, record_id: uuid.UUID):
    cases = engine.cases_for(session, SUBJECT_TYPE, record_id, workflow=WORKFLOW)
    return cases[-1] if cases else None


# ---------------------------------------------------------------------------------------------------- public reads

def _date(value: Any) -> str | None:
    return value.isoformat() if value is not None else None


def public_status(session: Session, village_ids: Iterable[uuid.UUID | str]) -> dict[str, dict[str, Any]]:
    """The public Har Ghar Jal status of villages, keyed by ``str(village admin unit id)``; villages without a
    certification are absent. Values: ``status``, ``reported_at``, ``resolution_at``, ``certified_at`` (dates, IST),
    ``documents`` ([{document_type, title, url}]: the public evidence, once certified; else empty)."""
    ids = [u for u in (parse_uuid(str(v)) for v in village_ids) if u is not None]
    if not ids:
        return {}
    t = HgjCertification.__table__
    rows = []
    for i in range(0, len(ids), 5000):
        rows += session.execute(select(t).where(t.c.village_id.in_(ids[i:i + 5000]),
                                                t.c.deleted_at.is_(None))).mappings().all()
    wanted = [r[c] for r in rows if r["status"] == "certified"
              for c in ("completion_certificate_id", "resolution_document_id", "video_document_id",
                        "certificate_document_id") if r[c] is not None]
    docs = evidence.load(session, wanted) if wanted else {}
    out = {}
    for r in rows:
        listed = []
        if r["status"] == "certified":
            for c in ("completion_certificate_id", "resolution_document_id", "video_document_id",
                      "certificate_document_id"):
                doc = docs.get(str(r[c])) if r[c] is not None else None
                if doc is not None and doc.get("public"):
                    listed.append({"document_type": doc["document_type"], "title": doc.get("title"),
                                   "url": evidence.public_url(doc)})
        out[str(r["village_id"])] = {
            "status": r["status"], "reported_at": _date(r["reported_on"]),
            "resolution_at": _date(r["resolution_uploaded_on"]), "certified_at": _date(r["certified_on"]),
            "gram_sabha_date": _date(r["gram_sabha_date"]), "documents": listed}
    return out


def status_counts(session: Session, within_path: str) -> list[dict[str, Any]]:
    """Per district under ``within_path`` (a jurisdiction path; ``/`` for all): ``villages`` (LGD villages),
    ``reported`` (villages reported Har Ghar Jal, whatever happened since, as the national dashboard counts them:
    reported, resolution uploaded, returned or certified) and ``certified``. Set-based: one query per figure."""
    a = AdminUnit.__table__
    d = a.alias("district")
    t = HgjCertification.__table__
    districts = {r.lgd_path: {"district": {"lgd_code": r.lgd_code, "name": r.name, "lgd_path": r.lgd_path},
                              "villages": 0, "reported": 0, "certified": 0}
                 for r in session.execute(select(d.c.lgd_path, d.c.lgd_code, d.c.name).where(
                     d.c.level == "district", d.c.deleted_at.is_(None),
                     d.c.lgd_path.startswith(within_path, autoescape=True)).order_by(d.c.lgd_path))}
    if not districts:
        return []
    under = and_(d.c.level == "district", d.c.deleted_at.is_(None),
                 d.c.lgd_path.startswith(within_path, autoescape=True))
    villages = (select(d.c.lgd_path, func.count()).select_from(a.join(d, a.c.lgd_path.startswith(d.c.lgd_path)))
                .where(under, a.c.level == "village", a.c.deleted_at.is_(None)).group_by(d.c.lgd_path))
    for path, n in session.execute(villages):
        districts[path]["villages"] = n
    certified = func.sum(case((t.c.status == "certified", 1), else_=0))
    records = (select(d.c.lgd_path, func.count(), certified)
               .select_from(t.join(d, t.c.lgd_path.startswith(d.c.lgd_path)))
               .where(under, t.c.deleted_at.is_(None), t.c.status.in_(REPORTED_STATUSES)).group_by(d.c.lgd_path))
    for path, reported, n_certified in session.execute(records):
        districts[path]["reported"] = reported
        districts[path]["certified"] = int(n_certified or 0)
    return list(districts.values())


def village_statuses(session: Session, principal: Principal, within_path: str, *,
                     status: str | None = None) -> list[dict[str, Any]]:
    """Certification records in the caller's jurisdiction (``village_plans:read``) under ``within_path``, with the
    village's LGD code and name; for officials and the CLI."""
    from jaldpi.core.security import scope_clause

    t = HgjCertification.__table__
    a = AdminUnit.__table__
    stmt = (select(t.c.code, t.c.status, t.c.reported_on, t.c.resolution_uploaded_on, t.c.certified_on,
                   t.c.tap_check, t.c.lgd_path, a.c.lgd_code, a.c.name)
            .join(a, a.c.id == t.c.village_id)
            .where(t.c.deleted_at.is_(None), scope_clause(t.c.lgd_path, principal.scope("village_plans:read")),
                   t.c.lgd_path.startswith(within_path, autoescape=True))
            .order_by(t.c.lgd_path))
    if status:
        stmt = stmt.where(t.c.status == status)
    return [{"code": r.code, "village": {"lgd_code": r.lgd_code, "name": r.name}, "status": r.status,
             "reported_on": _date(r.reported_on), "resolution_uploaded_on": _date(r.resolution_uploaded_on),
             "certified_on": _date(r.certified_on), "tap_check": r.tap_check, "lgd_path": r.lgd_path}
            for r in session.execute(stmt)]
