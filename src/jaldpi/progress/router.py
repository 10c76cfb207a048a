"""HTTP routes of the progress domain: decisions on an update (thin conveniences over the workflow engine's one
transition entry point; the generic ``/api/v1/cases/{id}/transitions/{name}`` works the same), a scheme's current
figures, and the district / state / block reports (JSON or CSV). Registry CRUD, search, bulk import and history of
``component_estimates`` and ``progress_updates`` come from the generic registry routes."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Body, Depends, Path, Query, Request
from fastapi.responses import Response
from pydantic import BaseModel, ConfigDict, Field

from jaldpi.admin_units.service import require_unit_path
from jaldpi.core.api import current_principal, json_response, node_of
from jaldpi.core.errors import Unauthenticated
from jaldpi.core.security import Principal
from jaldpi.progress import reports, service

router = APIRouter(tags=["progress"])
UPDATES = "/api/v1/progress_updates"
P = "/api/v1/progress"


class Decision(BaseModel):
    model_config = ConfigDict(extra="forbid")
    note: str | None = Field(None, max_length=2000, description="Free text kept on the case's event")
    version: int | None = Field(None, ge=1, description="The case version your view was based on (optimistic "
                                "concurrency; If-Match works too)")


class Return(Decision):
    reasons: list[Any] | str = Field(description="Why: a non-empty list of {field, problem} objects or texts")


class Resubmit(Decision):
    changes: dict[str, Any] | None = Field(None, description="Corrected figures (fields of a progress update), "
                                           "written before the update goes back to the checker")


def _signed_in(principal: Principal) -> None:
    if principal.is_anonymous:
        raise Unauthenticated("sign in to read or decide progress")


def _version(request: Request, body: Decision) -> int | None:
    tag = request.headers.get("if-match", "").strip().strip('"').removeprefix("W/").strip('"')
    return body.version or (int(tag) if tag.isdigit() else None)


def _decide(request: Request, principal: Principal, key: str, transition: str, body: Decision,
            payload: dict[str, Any], changes: dict[str, Any] | None = None) -> Response:
    _signed_in(principal)
    node = node_of(request)
    if body.note:
        payload["note"] = body.note
    with node.db.unit_of_work() as session:
        out = service.decide(node.extras["workflows"], node.catalogue, session, principal, key, transition,
                             payload, expected_version=_version(request, body), changes=changes)
    return json_response(out)


@router.post(f"{UPDATES}/{{key}}/approve", summary="Approve a progress update (checker: the next level up)")
def approve(request: Request, key: str, body: Decision = Body(default_factory=Decision),
            principal: Principal = Depends(current_principal)) -> Response:
    return _decide(request, principal, key, "approve", body, {})


@router.post(f"{UPDATES}/{{key}}/return", summary="Return a progress update to its maker, with reasons")
def return_update(request: Request, key: str, body: Return, principal: Principal = Depends(current_principal)
                  ) -> Response:
    return _decide(request, principal, key, "return", body, {"reasons": body.reasons})


@router.post(f"{UPDATES}/{{key}}/resubmit", summary="Resubmit a returned update, optionally with corrected figures")
def resubmit(request: Request, key: str, body: Resubmit = Body(default_factory=Resubmit),
             principal: Principal = Depends(current_principal)) -> Response:
    return _decide(request, principal, key, "resubmit", body, {}, changes=body.changes)


@router.get(f"{P}/schemes/{{key}}", summary="A scheme's current approved physical and financial progress, with "
            "the history of approved updates")
def scheme_progress(request: Request, key: str, principal: Principal = Depends(current_principal)) -> Response:
    _signed_in(principal)
    node = node_of(request)
    with node.db.unit_of_work(write=False) as session:
        return json_response(service.scheme_progress(node.catalogue, session, principal, key))


_within = require_unit_path  # `within` query parameter -> path (404 if no such unit)


@router.get(f"{P}/reports/{{level}}", summary="Progress per state, district or block: physical % (cost-weighted), "
            "components complete, sanctioned, released by share, spent, utilisation, pending approvals")
def report(request: Request, level: str = Path(..., pattern="^(state|district|block)$",
                                               description="state | district | block"),
           within: str | None = Query(None, description="district:745, block:4001, or a path such as /S28/"),
           format: str = Query("json", pattern="^(json|csv)$"),
           principal: Principal = Depends(current_principal)) -> Response:
    _signed_in(principal)
    node = node_of(request)
    with node.db.unit_of_work(write=False) as session:
        result = reports.progress_report(session, principal, level, _within(session, within))
    if format == "csv":
        return Response(reports.report_csv(result), media_type="text/csv; charset=utf-8",
                        headers={"Content-Disposition": f'attachment; filename="progress_{level}.csv"'})
    return json_response(result)
