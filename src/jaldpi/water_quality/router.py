"""Water-quality API: village status, hotspots, WQ1/WQ6-like reports, surveillance schedule, field-kit coverage,
signed lab reports and their public verification."""

from __future__ import annotations

import datetime as dt

from fastapi import APIRouter, Body, Depends, Query, Request
from fastapi.responses import Response
from pydantic import BaseModel, Field

from jaldpi.admin_units.service import unit_path
from jaldpi.core.api import current_principal, json_response, node_of
from jaldpi.core.errors import Conflict, NotFound, Unauthenticated, ValidationFailed
from jaldpi.core.security import Principal
from jaldpi.core.signing import jwks, verify
from jaldpi.water_quality import service
from jaldpi.water_quality.reports import REPORT_TYPE, signed_report

router = APIRouter(tags=["water quality"])
P = "/api/v1/water-quality"


def _signed_in(principal: Principal) -> None:
    if principal.is_anonymous:
        raise Unauthenticated("sign in to read water-quality data")


def _within(request: Request, within: str | None) -> str | None:
    """``district:745`` -> that unit's path (must exist and be visible); a path is taken as is."""
    if not within:
        return None
    with node_of(request).db.unit_of_work(write=False) as session:
        path = unit_path(session, within)
    if path is None:
        level, _, code = within.partition(":")
        raise NotFound(f"no {level} with LGD code {code}", details=[{"field": "within", "problem": "unknown unit"}])
    return path


def _period(since: dt.date | None, until: dt.date | None, days: int) -> service.Period:
    end = dt.datetime.combine(until, dt.time.max, dt.UTC) if until else dt.datetime.now(dt.UTC)
    start = dt.datetime.combine(since, dt.time.min, dt.UTC) if since else end - dt.timedelta(days=days)
    if start > end:
        raise ValidationFailed("since is after until", details=[{"field": "since", "problem": "after until"}])
    return service.Period(start, end)


def _settings(request: Request):
    return node_of(request).settings


@router.get(f"{P}/ruleset", summary="The effective IS 10500 rule set: version, parameters, units and limits (public)")
def ruleset(request: Request) -> Response:
    from jaldpi.water_quality.rules import ruleset_from_settings

    settings = node_of(request).settings
    return json_response(service.ruleset_description(ruleset_from_settings(settings), settings.wq_ftk_parameters),
                         headers={"Cache-Control": "public, max-age=300"})


@router.get(f"{P}/villages/{{village}}/status", summary="Water-quality status of one village, with latest tests")
def village_status(request: Request, village: str, since: dt.date | None = None, until: dt.date | None = None,
                   principal: Principal = Depends(current_principal)) -> Response:
    _signed_in(principal)
    node = node_of(request)
    period = _period(since, until, node.settings.wq_status_period_days)
    with node.db.unit_of_work(write=False) as session:
        unit = node.catalogue["admin_units"].get(session, principal,
                                                 f"LGD-V{village}" if village.isdigit() else village)
        if unit["level"] != "village":
            raise ValidationFailed(f"{village} is a {unit['level']}, not a village",
                                   details=[{"field": "village", "problem": "not a village"}])
        status = service.village_status(session, principal, unit["lgd_path"], period)
    if not status:
        raise NotFound(f"village {village} is outside your jurisdiction")
    return json_response(status)


@router.get(f"{P}/village-status", summary="Status of every village in your jurisdiction (safe / unsafe / not tested)")
def village_statuses(request: Request, within: str | None = None, status: str | None = Query(
        None, pattern="^(safe|unsafe|not_tested)$"), since: dt.date | None = None, until: dt.date | None = None,
        principal: Principal = Depends(current_principal)) -> Response:
    _signed_in(principal)
    node = node_of(request)
    period = _period(since, until, node.settings.wq_status_period_days)
    with node.db.unit_of_work(write=False) as session:
        items = list(service.village_statuses(session, principal, period, _within(request, within)).values())
    counts = {k: sum(1 for v in items if v["status"] == k) for k in ("safe", "unsafe", "not_tested")}
    if status:
        items = [v for v in items if v["status"] == status]
    return json_response({"period": {"since": period.since.isoformat(), "until": period.until.isoformat()},
                          "counts": counts, "items": sorted(items, key=lambda v: v["lgd_path"])})


@router.get(f"{P}/hotspots", summary="Contamination hotspots per block or district")
def hotspots(request: Request, level: str = Query("block", pattern="^(block|district|state)$"),
             within: str | None = None, since: dt.date | None = None, until: dt.date | None = None,
             principal: Principal = Depends(current_principal)) -> Response:
    _signed_in(principal)
    node = node_of(request)
    period = _period(since, until, node.settings.wq_status_period_days)
    with node.db.unit_of_work(write=False) as session:
        items = service.hotspots(session, principal, period, level, _within(request, within))
    return json_response({"level": level, "items": items})


@router.get(f"{P}/reports/wq1", summary="Sources and testing achievement (WQ1-like)")
def report_wq1(request: Request, year: int = Query(..., ge=2000, le=2100),
               level: str = Query("district", pattern="^(state|district|block|gram_panchayat|village)$"),
               within: str | None = None, principal: Principal = Depends(current_principal)) -> Response:
    _signed_in(principal)
    node = node_of(request)
    with node.db.unit_of_work(write=False) as session:
        items = service.wq1(session, principal, year, level, _within(request, within),
                            pre_months=tuple(node.settings.wq_pre_monsoon_months))
    return json_response({"report": "WQ1", "year": year, "level": level, "items": items})


@router.get(f"{P}/reports/wq6", summary="Contaminant-wise villages with contaminated samples (WQ6-like)")
def report_wq6(request: Request, level: str = Query("district", pattern="^(state|district|block)$"),
               within: str | None = None, since: dt.date | None = None, until: dt.date | None = None,
               principal: Principal = Depends(current_principal)) -> Response:
    _signed_in(principal)
    node = node_of(request)
    period = _period(since, until, node.settings.wq_status_period_days)
    with node.db.unit_of_work(write=False) as session:
        items = service.wq6(session, principal, period, level, _within(request, within))
    return json_response({"report": "WQ6", "level": level, "items": items,
                          "period": {"since": period.since.isoformat(), "until": period.until.isoformat()}})


@router.get(f"{P}/surveillance", summary="Surveillance schedule of sources: chemical yearly, bacteriological twice")
def surveillance(request: Request, within: str | None = None, as_of: dt.date | None = None,
                 overdue_only: bool = False, principal: Principal = Depends(current_principal)) -> Response:
    _signed_in(principal)
    node = node_of(request)
    day = as_of or dt.date.today()
    with node.db.unit_of_work(write=False) as session:
        items = service.surveillance(session, principal, day, within=_within(request, within),
                                     chemical_interval_days=node.settings.wq_chemical_interval_days,
                                     pre_months=tuple(node.settings.wq_pre_monsoon_months))
    if overdue_only:
        items = [i for i in items if i["chemical"]["overdue"] or i["bacteriological"]["overdue"]]
    return json_response({"as_of": day.isoformat(), "sources": len(items),
                          "chemical_overdue": sum(i["chemical"]["overdue"] for i in items),
                          "bacteriological_overdue": sum(i["bacteriological"]["overdue"] for i in items),
                          "items": items})


@router.get(f"{P}/ftk-coverage", summary="Field-kit coverage: trained testers per village, tests per month")
def ftk_coverage(request: Request, month: str = Query(..., pattern=r"^\d{4}-\d{2}$"), within: str | None = None,
                 principal: Principal = Depends(current_principal)) -> Response:
    _signed_in(principal)
    node = node_of(request)
    first = dt.date(int(month[:4]), int(month[5:]), 1)
    with node.db.unit_of_work(write=False) as session:
        return json_response(service.ftk_coverage(session, principal, first, _within(request, within)))


@router.get("/api/v1/samples/{key}/signed-report", tags=["water quality"],
            summary="A lab's completed test report as a signed document (compact JWS, EdDSA)")
def signed(request: Request, key: str, principal: Principal = Depends(current_principal)) -> Response:
    _signed_in(principal)
    node = node_of(request)
    with node.db.unit_of_work(write=False) as session:
        sample = node.catalogue["samples"].get(session, principal, key)
        if sample["test_kind"] != "lab" or sample["verdict"] == "pending":
            raise Conflict("only a lab sample with results has a test report", code="report_not_ready")
        report, token = signed_report(session, node, principal, sample)
    return json_response({"type": REPORT_TYPE, "jws": token, "report": report,
                          "verify": {"endpoint": "/api/v1/verify", "keys": "/.well-known/jwks.json"}})


class VerifyIn(BaseModel):
    jws: str = Field(min_length=10, description="A compact JWS issued by this or another jaldpi node")


@router.post("/api/v1/verify", tags=["water quality"], summary="Verify a signed document (public, no sign-in)")
def verify_document(request: Request, body: VerifyIn = Body(...)) -> Response:
    node = node_of(request)
    result = verify(body.jws, jwks(node.extras["signing_keys"]))
    return json_response({"valid": result.valid, "kid": result.kid, "problem": result.problem,
                          "document": result.claims if result.valid else None})


@router.get("/.well-known/jwks.json", tags=["water quality"], summary="This node's public signing keys (JWKS)")
def keys(request: Request) -> Response:
    return json_response(jwks(node_of(request).extras["signing_keys"]),
                         headers={"Cache-Control": "public, max-age=3600"})
