"""Alerts API: list, read and acknowledge alerts, scoped by ``alerts:read`` over the alert's ``lgd_path`` (an alert
outside the caller's jurisdiction answers 404 like a missing one)."""

from __future__ import annotations

from typing import Literal

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import Response
from sqlalchemy import select

from jaldpi.admin_units.paths import parse_within
from jaldpi.alerts import service
from jaldpi.alerts.models import Alert
from jaldpi.core.api import current_principal, json_response, node_of
from jaldpi.core.errors import Unauthenticated
from jaldpi.core.ids import parse_uuid
from jaldpi.core.pagination import decode_cursor, encode_cursor
from jaldpi.core.security import Principal, scope_clause

router = APIRouter(tags=["alerts"])
P = "/api/v1/alerts"


@router.get(P, summary="Alerts in your jurisdiction (alerts:read), newest last; keyset pages")
def list_alerts(request: Request, status: Literal["open", "closed"] | None = None, kind: str | None = None,
                within: str | None = Query(None, description="district:745 or a path"), limit: int = 100,
                after: str | None = None, principal: Principal = Depends(current_principal)) -> Response:
    if principal.is_anonymous:
        raise Unauthenticated("sign in to read alerts")
    node = node_of(request)
    limit = max(1, min(limit, node.settings.max_page_size))
    query = select(Alert).where(scope_clause(Alert.lgd_path, principal.scope(service.READ))).order_by(Alert.id)
    if status:
        query = query.where(Alert.status == status)
    if kind:
        query = query.where(Alert.kind == kind)
    if within:
        path = parse_within(within)
        query = query.where(Alert.lgd_path.startswith(path, autoescape=True) if path.startswith("/")
                            else Alert.lgd_path.contains("/" + path, autoescape=True))
    if after:
        query = query.where(Alert.id > decode_cursor(after))
    with node.db.unit_of_work(write=False) as session:
        rows = session.execute(query.limit(limit + 1)).scalars().all()
        items = [service.to_dict(a) for a in rows[:limit]]
    return json_response({"items": items,
                          "next_cursor": encode_cursor(rows[limit - 1].id) if len(rows) > limit else None})


@router.get(P + "/{alert_id}", summary="One alert")
def get_alert(request: Request, alert_id: str, principal: Principal = Depends(current_principal)) -> Response:
    with node_of(request).db.unit_of_work(write=False) as session:
        return json_response(service.to_dict(service.get_alert(session, principal, parse_uuid(alert_id))))


@router.post(P + "/{alert_id}/acknowledge", summary="Acknowledge an open alert (records who and when)")
async def acknowledge(request: Request, alert_id: str, principal: Principal = Depends(current_principal)) -> Response:
    body = await request.body()
    note = None
    if body.strip():
        import orjson

        try:
            parsed = orjson.loads(body)
        except orjson.JSONDecodeError:
            parsed = {}
        note = parsed.get("note") if isinstance(parsed, dict) else None
    with node_of(request).db.unit_of_work() as session:
        alert = service.acknowledge(session, principal, parse_uuid(alert_id), note=str(note) if note else None)
        return json_response(service.to_dict(alert))
