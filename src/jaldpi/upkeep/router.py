"""HTTP routes of the upkeep domain (the registries' CRUD, search, history and bulk routes come from core; ticket
transitions from the generic ``/api/v1/cases/{id}/transitions``)."""

from __future__ import annotations

import datetime as dt
import zoneinfo

from fastapi import APIRouter, Body, Depends, Query, Request
from fastapi.responses import Response
from pydantic import BaseModel, ConfigDict, Field

from jaldpi.admin_units.service import require_unit_path
from jaldpi.core.api import current_principal, json_response, node_of
from jaldpi.core.errors import Unauthenticated
from jaldpi.core.security import Principal
from jaldpi.upkeep import reports, service

router = APIRouter(tags=["upkeep"])
P = "/api/v1/upkeep"


def _signed_in(principal: Principal) -> None:
    if principal.is_anonymous:
        raise Unauthenticated("sign in to read upkeep data")


_within = require_unit_path  # `within` query parameter -> path (404 if no such unit)


def _today(settings) -> dt.date:
    return dt.datetime.now(zoneinfo.ZoneInfo(settings.telemetry_timezone)).date()


@router.get(f"{P}/reports/mttr", summary="Downtime, mean time to repair, availability and PM compliance per scheme, "
            "block or district")
def mttr(request: Request, level: str = Query("block", pattern="^(scheme|block|district)$"),
         within: str | None = Query(None, description="district:745, block:4001 or a path /S28/D745/"),
         from_: dt.date | None = Query(None, alias="from", description="first day (node's local time zone)"),
         to: dt.date | None = Query(None, description="last day, inclusive; default today"),
         principal: Principal = Depends(current_principal)) -> Response:
    _signed_in(principal)
    node = node_of(request)
    settings = node.settings
    last = to or _today(settings)
    first = from_ or last - dt.timedelta(days=settings.upkeep_report_days - 1)
    period = reports.Period.of_dates(first, last, settings.telemetry_timezone)
    with node.db.unit_of_work(write=False) as session:
        result = reports.mttr_report(session, principal, level=level, period=period,
                                     within=_within(session, within), grace_days=settings.upkeep_pm_grace_days)
    return json_response(result)


@router.get(f"{P}/assets/{{component}}", summary="One component's upkeep: tickets, repairs, PM, condition, totals")
def asset(request: Request, component: str, limit: int = Query(50, ge=1, le=500),
          principal: Principal = Depends(current_principal)) -> Response:
    _signed_in(principal)
    node = node_of(request)
    with node.db.unit_of_work(write=False) as session:
        return json_response(service.asset_history(session, principal, component, catalogue=node.catalogue,
                                                   limit=limit))


@router.get(f"{P}/pm/overdue", summary="Overdue preventive maintenance per block or district, oldest first")
def overdue(request: Request, level: str = Query("block", pattern="^(block|district|state)$"),
            within: str | None = None, as_of: dt.date | None = None, limit: int = Query(100, ge=0, le=500),
            principal: Principal = Depends(current_principal)) -> Response:
    _signed_in(principal)
    node = node_of(request)
    with node.db.unit_of_work(write=False) as session:
        return json_response(service.overdue_pm(session, principal, as_of=as_of or _today(node.settings),
                                                level=level, within=_within(session, within), limit=limit))


class CompletionIn(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)
    done_at: dt.datetime | None = Field(None, description="When the work was done; default now")
    done_by: str | None = Field(None, max_length=120, description="Account or staff id; default the caller")
    findings: str | None = Field(None, max_length=2000)
    condition: int | None = Field(None, ge=1, le=5, description="Condition observed (code list asset_conditions)")
    needs_repair: bool = False
    version: int | None = Field(None, ge=1, description="The task version this completion is based on")


@router.post(f"{P}/pm/tasks/{{task}}/complete", summary="Record a PM task as done; schedules the next one")
def complete(request: Request, task: str, body: CompletionIn = Body(...),
             principal: Principal = Depends(current_principal)) -> Response:
    _signed_in(principal)
    node = node_of(request)
    with node.db.unit_of_work() as session:
        result = service.complete_task(session, principal, task, done_at=body.done_at, done_by=body.done_by,
                                       findings=body.findings, condition=body.condition,
                                       needs_repair=body.needs_repair, expected_version=body.version,
                                       catalogue=node.catalogue)
    return json_response(result)
