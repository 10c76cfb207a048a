"""Service-level API: one village's month (daily rows and verdict), functionality % per unit. Scoped by
jurisdiction for ``supply_records:read``; a village or unit outside it answers 404 like a missing one."""

from __future__ import annotations

import datetime as dt

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import Response

from jaldpi.admin_units.service import unit_path
from jaldpi.core.api import current_principal, json_response, node_of
from jaldpi.core.errors import NotFound, Unauthenticated
from jaldpi.core.security import Principal
from jaldpi.service_delivery import service

router = APIRouter(tags=["service delivery"])
P = "/api/v1/service-levels"


def _signed_in(principal: Principal) -> None:
    if principal.is_anonymous:
        raise Unauthenticated("sign in to read service levels")


def _default_month() -> str:
    return dt.date.today().strftime("%Y-%m")


def resolve_within(session, principal: Principal, within: str | None) -> str | None:
    """``district:745`` or a path -> that unit's path; an unknown unit, or one wholly outside the caller's
    jurisdiction for supply records, is 404."""
    if not within:
        return None
    path = unit_path(session, within)
    scope = principal.scope(service.READ)
    if path is None or not any(path.startswith(p) or p.startswith(path) for p in scope):
        raise NotFound(f"no unit {within} visible to you", details=[{"field": "within", "problem": "unknown unit"}])
    return path


@router.get(f"{P}/villages/{{village}}", summary="Service levels of one village for a month: daily rows (lpcd, "
            "hours, regularity, quality, functional) and the month verdict with reasons")
def village_levels(request: Request, village: str, month: str = Query(default_factory=_default_month,
                                                                       pattern=r"^\d{4}-\d{2}$"),
                   principal: Principal = Depends(current_principal)) -> Response:
    _signed_in(principal)
    node = node_of(request)
    rules = service.Rules.from_settings(node.settings)
    with node.db.unit_of_work(write=False) as session:
        key = f"LGD-V{village}" if village.isdigit() else village
        try:
            unit = node.catalogue["admin_units"].get(session, principal, key)
        except NotFound:
            unit = None
        if unit is None or unit["level"] != "village" or not principal.can(service.READ, unit["lgd_path"]):
            raise NotFound(f"no village '{village}' visible to you")
        return json_response(service.village_month(session, principal, unit, month, rules))


@router.get(P, summary="Functionality % per unit (state, district, block, gram_panchayat) for a month: villages "
            "counted, functional, and failing by criterion")
def unit_levels(request: Request, month: str = Query(default_factory=_default_month, pattern=r"^\d{4}-\d{2}$"),
                within: str | None = Query(None, description="district:745, block:4001, ... or a path"),
                level: str = Query("block", description="state | district | block | gram_panchayat"),
                principal: Principal = Depends(current_principal)) -> Response:
    _signed_in(principal)
    node = node_of(request)
    rules = service.Rules.from_settings(node.settings)
    with node.db.unit_of_work(write=False) as session:
        path = resolve_within(session, principal, within)
        return json_response(service.functionality(session, principal, month, rules, level, path))
