"""Baseline API: villages below the service norm per state / district / block, and the baseline rows, paged.
Both need ``baseline:read`` and see only rows in the caller's jurisdiction."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import Response

from jaldpi.admin_units.service import require_unit_path
from jaldpi.baseline import service
from jaldpi.core.api import current_principal, json_response, node_of
from jaldpi.core.errors import Forbidden, Unauthenticated
from jaldpi.core.security import Principal

router = APIRouter(tags=["baseline"])
P = "/api/v1/baseline"


def _allowed(principal: Principal) -> None:
    if principal.is_anonymous:
        raise Unauthenticated("sign in to read the baseline")
    if not principal.has(service.PERMISSION):
        raise Forbidden(f"{service.PERMISSION} is needed to read the baseline")


within_path = require_unit_path  # also used by the baseline CLI


@router.get(f"{P}/below-norm", summary="Profile villages below the service norm (lpcd) per state, district or block")
def below_norm(request: Request, within: str | None = None,
               level: str = Query("district", pattern="^(state|district|block)$"),
               source: str | None = None, principal: Principal = Depends(current_principal)) -> Response:
    _allowed(principal)
    node = node_of(request)
    with node.db.unit_of_work(write=False) as session:
        return json_response(service.below_norm(session, principal, node.settings.service_norm_lpcd, level=level,
                                                within=within_path(session, within), source=source))


@router.get(f"{P}/villages", summary="Baseline village profiles in your jurisdiction (keyset pages)")
def villages(request: Request, within: str | None = None, below_norm: bool | None = None,
             source: str | None = None, limit: int | None = Query(None, ge=1),
             after: str | None = Query(None, description="cursor from the previous page's next_cursor"),
             total: bool = False, principal: Principal = Depends(current_principal)) -> Response:
    _allowed(principal)
    node = node_of(request)
    size = min(limit or node.settings.default_page_size, node.settings.max_page_size)
    with node.db.unit_of_work(write=False) as session:
        page = service.villages(session, principal, node.settings.service_norm_lpcd,
                                within=within_path(session, within), below_norm=below_norm, source=source,
                                limit=size, after=after, total=total)
    headers = {}
    if page["next_cursor"]:
        headers["Link"] = f'<{request.url.include_query_params(after=page["next_cursor"])}>; rel="next"'
    return json_response(page, headers=headers)
