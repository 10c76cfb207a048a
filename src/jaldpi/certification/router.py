"""HTTP routes of Har Ghar Jal certification: report a village, officials' views, and the public status.

The steps after reporting are transitions of the village's case on the generic workflow route
(``POST /api/v1/cases/{case}/transitions/{upload_resolution|certify|return|withdraw}``); documents are uploaded
first through ``POST /api/v1/documents/upload``. Village Action Plans use the generic registry routes
(``/api/v1/village_action_plans``).
"""

from __future__ import annotations

import datetime as dt
import uuid

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import Response
from pydantic import BaseModel, ConfigDict, Field

from jaldpi.admin_units.paths import path_codes
from jaldpi.admin_units.service import require_unit_path
from jaldpi.certification import service
from jaldpi.core.api import current_principal, json_response, node_of, refuse_unknown_query
from jaldpi.core.errors import NotFound, Unauthenticated
from jaldpi.core.security import Principal
from jaldpi.core.workflow import case_record

router = APIRouter(tags=["Har Ghar Jal certification"])
P = "/api/v1/hgj"


class ReportIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    completion_certificate: uuid.UUID = Field(description="id of the documents record (type completion_certificate, "
                                              "of this village) uploaded through POST /api/v1/documents/upload")
    reported_on: dt.date | None = Field(None, description="Date the certificate was handed to the Gram Panchayat "
                                        "(default: today, IST)")
    note: str | None = Field(None, max_length=2000)


def _signed_in(principal: Principal) -> None:
    if principal.is_anonymous:
        raise Unauthenticated("sign in to act on Har Ghar Jal certifications")


def _within(session, within: str | None) -> str:
    return require_unit_path(session, within) or "/"


def _village_view(node, session, principal: Principal, village: str) -> dict:
    unit = service.find_village(session, village)
    record = service.certification_of(session, unit["id"])
    if record is None:
        raise NotFound(f"village {unit['lgd_code']} has not been reported Har Ghar Jal",
                       details=[{"field": "village", "problem": "no certification"}])
    engine = node.extras["workflows"]
    out = {"certification": node.catalogue["hgj_certifications"].get(session, principal, record["id"])}
    case = service.current_case(session, engine, record["id"])
    out["case"] = engine.get_case(session, principal, case.id) if case and engine.can_read(principal, case) else None
    return out


@router.post(f"{P}/villages/{{village}}/report", status_code=201,
             summary="Report a village Har Ghar Jal (completion certificate handed to the Gram Panchayat)")
def report(request: Request, village: str, body: ReportIn,
           principal: Principal = Depends(current_principal)) -> Response:
    node = node_of(request)
    refuse_unknown_query(request)
    _signed_in(principal)
    engine = node.extras["workflows"]
    with node.db.unit_of_work() as session:
        case = service.report_village(session, principal, node.settings, engine, village,
                                      completion_certificate=body.completion_certificate,
                                      reported_on=body.reported_on, note=body.note)
        out = _village_view(node, session, principal, village)
        if out["case"] is None:
            out["case"] = case_record(case, engine.definition(case.workflow, case.workflow_version))
    return json_response(out, 201, {"Location": f"{P}/villages/{village}"})


@router.get(f"{P}/villages/{{village}}", summary="A village's certification record and its case with events")
def village(request: Request, village: str, principal: Principal = Depends(current_principal)) -> Response:
    node = node_of(request)
    refuse_unknown_query(request)
    _signed_in(principal)
    with node.db.unit_of_work(write=False) as session:
        out = _village_view(node, session, principal, village)
    return json_response(out)


@router.get(f"{P}/villages", summary="Certifications in your jurisdiction (optionally under a unit, by status)")
def villages(request: Request, within: str | None = Query(None, description="district:745 or a path"),
             status: str | None = Query(None, description="code list hgj_statuses"),
             principal: Principal = Depends(current_principal)) -> Response:
    node = node_of(request)
    refuse_unknown_query(request, {"within", "status"})
    _signed_in(principal)
    with node.db.unit_of_work(write=False) as session:
        items = service.village_statuses(session, principal, _within(session, within), status=status)
    return json_response({"items": items, "counts": {s: sum(1 for i in items if i["status"] == s)
                                                     for s in sorted({i["status"] for i in items})}})


# ---------------------------------------------------------------------------------------------------- public

@router.get("/public/v1/hgj/villages/{lgd_code}", tags=["public"],
            summary="Public Har Ghar Jal status of a village (no sign-in): status, dates, documents once certified")
def public_village(request: Request, lgd_code: int) -> Response:
    node = node_of(request)
    refuse_unknown_query(request)
    with node.db.unit_of_work(write=False) as session:
        unit = service.find_village(session, lgd_code)
        status = service.public_status(session, [unit["id"]]).get(str(unit["id"]))
    body = {"village": {"lgd_code": unit["lgd_code"], "name": unit["name"], "lgd": path_codes(unit["lgd_path"])},
            **(status or {"status": "not_reported", "reported_at": None, "resolution_at": None,
                          "certified_at": None, "gram_sabha_date": None, "documents": []})}
    return json_response(body, headers={"Cache-Control": f"public, max-age={node.settings.hgj_public_cache_seconds}"})


@router.get("/public/v1/hgj/summary", tags=["public"],
            summary="Villages reported and certified Har Ghar Jal, per district (no sign-in)")
def public_summary(request: Request, within: str | None = Query(None, description="state:28, district:745 or a "
                                                                                   "path such as /S28/")) -> Response:
    node = node_of(request)
    refuse_unknown_query(request, {"within"})
    with node.db.unit_of_work(write=False) as session:
        path = _within(session, within)
        items = service.status_counts(session, path)
    totals = {k: sum(i[k] for i in items) for k in ("villages", "reported", "certified")}
    return json_response({"within": path, "as_of": dt.datetime.now(dt.UTC).isoformat(), "totals": totals,
                          "items": items},
                         headers={"Cache-Control": f"public, max-age={node.settings.hgj_public_cache_seconds}"})
