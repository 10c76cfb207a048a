"""HTTP routes of the grievances domain.

* Citizens (no account): ``POST /api/v1/public/grievances``, ``GET /api/v1/public/grievances/{ref}``,
  ``POST /api/v1/public/grievances/{ref}/confirm`` and ``/reopen`` (with the PIN).
* The SMS gateway: ``POST /sms/v1/inbound`` (shared token or HMAC signature; idempotent on message_id).
* Staff: ``POST /api/v1/grievances`` (a call or visit: channel ``staff_call``; replaces the generic create, which
  cannot route), ``GET /api/v1/grievances/queue`` (my queue), ``POST /api/v1/grievances/{ref}/transitions/{name}``,
  ``DELETE`` refused (reject instead). Reads, search, history and PATCH are the registry's generic routes.
* Open311 GeoReport v2 under ``/open311/v2/`` (:mod:`jaldpi.grievances.open311`).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json
from typing import Any

from fastapi import APIRouter, BackgroundTasks, Body, Depends, Query, Request
from fastapi.responses import Response

from jaldpi.core.api import current_principal, if_match_version, json_response, node_of
from jaldpi.core.errors import Conflict, JaldpiError, Unauthenticated, ValidationFailed
from jaldpi.core.security import Principal
from jaldpi.grievances import service, sms
from jaldpi.grievances.open311 import router as open311_router
from jaldpi.grievances.schemas import PinIn, PublicSubmission, ReopenIn, StaffSubmission

router = APIRouter(tags=["grievances"])
PUBLIC = "/api/v1/public/grievances"
STAFF = "/api/v1/grievances"
NO_STORE = {"Cache-Control": "private, no-store"}  # answers carrying a PIN or personal data are never cached


def _engine(request: Request):
    return node_of(request).extras["workflows"]


def _dispatch(background: BackgroundTasks, request: Request) -> None:
    from jaldpi.notifications.service import dispatch_after_response

    dispatch_after_response(background, node_of(request))


# ---------------------------------------------------------------------------------------------------- citizens

@router.post(PUBLIC, status_code=201, summary="Submit a grievance (no sign-in): answers the reference and a PIN")
def submit_public(request: Request, background: BackgroundTasks, body: PublicSubmission = Body(...)) -> Response:
    node = node_of(request)
    with node.db.unit_of_work() as session:
        result = service.submit_grievance(
            session, node.settings, None, village=body.village, category=body.category, description=body.description,
            channel="web", phone=body.phone, name=body.name, language=body.language, lon=body.longitude,
            lat=body.latitude, engine=_engine(request))
    _dispatch(background, request)
    out = {k: result[k] for k in ("reference", "pin", "status", "due_at")}
    return json_response(out, 201, {**NO_STORE, "Location": f"{PUBLIC}/{result['reference']}"})


@router.get(PUBLIC + "/{reference}", summary="Track a grievance by its reference (public: no personal data)")
def track(request: Request, reference: str) -> Response:
    with node_of(request).db.unit_of_work(write=False) as session:
        return json_response(service.public_view(session, reference), headers={"Cache-Control": "no-cache"})


@router.post(PUBLIC + "/{reference}/confirm", summary="The complainant confirms the resolution (with the PIN)")
def confirm(request: Request, reference: str, background: BackgroundTasks, body: PinIn = Body(...)) -> Response:
    node = node_of(request)
    with node.db.unit_of_work() as session:
        view = service.confirm_resolution(session, node.settings, reference, body.pin, engine=_engine(request))
    _dispatch(background, request)
    return json_response(view, headers=NO_STORE)


@router.post(PUBLIC + "/{reference}/reopen", summary="The complainant reopens a resolved grievance (with the PIN)")
def reopen(request: Request, reference: str, background: BackgroundTasks, body: ReopenIn = Body(...)) -> Response:
    node = node_of(request)
    with node.db.unit_of_work() as session:
        view = service.reopen(session, node.settings, reference, body.pin, body.reason, engine=_engine(request))
    _dispatch(background, request)
    return json_response(view, headers=NO_STORE)


# ---------------------------------------------------------------------------------------------------- SMS gateway

class GatewayNotConfigured(JaldpiError):
    status_code = 503
    code = "sms_gateway_not_configured"


def _check_gateway(request: Request, raw: bytes) -> None:
    """The gateway proves itself with the shared secret: ``X-Gateway-Token: <secret>``, or
    ``X-Gateway-Signature: sha256=<hex HMAC-SHA256 of the raw body under the secret>``."""
    secret = node_of(request).settings.sms_gateway_token
    if not secret:
        raise GatewayNotConfigured("the SMS gateway webhook is not configured on this node "
                                   "(JALDPI_SMS_GATEWAY_TOKEN)")
    token = request.headers.get("x-gateway-token")
    signature = request.headers.get("x-gateway-signature", "")
    if token is not None and hmac.compare_digest(token.encode(), secret.encode()):
        return
    if signature:
        expected = "sha256=" + hmac.new(secret.encode(), raw, hashlib.sha256).hexdigest()
        if hmac.compare_digest(signature.strip().lower().encode(), expected.encode()):
            return
    raise Unauthenticated("the SMS gateway's token or signature is missing or wrong", code="bad_gateway_credentials")


async def _inbound_body(request: Request, raw: bytes) -> dict[str, Any]:
    kind = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if kind == "application/json":
        try:
            data = json.loads(raw or b"null")
        except ValueError as exc:
            raise ValidationFailed("the body is not JSON", details=[{"field": None, "problem": str(exc)}]) from exc
        if not isinstance(data, dict):
            raise ValidationFailed("the body is a JSON object", details=[{"field": None, "problem": "not an object"}])
        return data
    if kind in ("application/x-www-form-urlencoded", "multipart/form-data"):
        return dict((await request.form()).items())
    raise ValidationFailed("send application/json or application/x-www-form-urlencoded",
                           details=[{"field": "content-type", "problem": f"unsupported: {kind or 'none'}"}])


@router.post("/sms/v1/inbound", tags=["grievances"], summary="SMS gateway webhook: one inbound message",
             openapi_extra={"requestBody": {"required": True, "content": {
                 "application/json": {"schema": {"type": "object", "required": ["from", "text", "message_id"],
                                                  "properties": {"from": {"type": "string"},
                                                                 "text": {"type": "string"},
                                                                 "message_id": {"type": "string"},
                                                                 "received_at": {"type": "string",
                                                                                 "format": "date-time"}}}},
                 "application/x-www-form-urlencoded": {"schema": {"type": "object"}}}}})
async def inbound_sms(request: Request, background: BackgroundTasks) -> Response:
    from starlette.concurrency import run_in_threadpool

    raw = await request.body()
    _check_gateway(request, raw)
    data = await _inbound_body(request, raw)
    missing = [f for f in ("from", "text", "message_id") if not str(data.get(f) or "").strip()
               and not (f == "text" and "text" in data)]
    if missing:
        raise ValidationFailed(f"missing {', '.join(missing)}",
                               details=[{"field": f, "problem": "required"} for f in missing])
    received_at = None
    if data.get("received_at"):
        try:
            received_at = dt.datetime.fromisoformat(str(data["received_at"]).replace("Z", "+00:00"))
            if received_at.tzinfo is None:
                received_at = received_at.replace(tzinfo=dt.UTC)
        except ValueError as exc:
            raise ValidationFailed("received_at is not an ISO 8601 date-time",
                                   details=[{"field": "received_at", "problem": "not ISO 8601"}]) from exc
    node = node_of(request)

    def work() -> dict[str, Any]:
        with node.db.unit_of_work() as session:
            return sms.handle_inbound(session, node.settings, sender=str(data["from"]), text=str(data["text"]),
                                      message_id=str(data["message_id"]).strip(), received_at=received_at,
                                      engine=_engine(request))

    result = await run_in_threadpool(work)
    if not result["duplicate"]:
        _dispatch(background, request)
    return json_response(result)


# ---------------------------------------------------------------------------------------------------- staff

def _signed_in(principal: Principal) -> None:
    if principal.is_anonymous:
        raise Unauthenticated("sign in to work on grievances")


@router.post(STAFF, status_code=201, summary="Enter a grievance (a call or a visit): routed, with a PIN to read "
             "out to the caller")
def submit_staff(request: Request, background: BackgroundTasks, body: StaffSubmission = Body(...),
                 principal: Principal = Depends(current_principal)) -> Response:
    _signed_in(principal)
    node = node_of(request)
    with node.db.unit_of_work() as session:
        result = service.submit_grievance(
            session, node.settings, principal, village=body.village, category=body.category,
            description=body.description, channel=body.channel, phone=body.phone, name=body.name,
            language=body.language, scheme=body.scheme, component=body.component, habitation=body.habitation,
            lon=body.longitude, lat=body.latitude, engine=_engine(request))
        record = service.registry_of(node.catalogue).get(session, principal, result["id"])
    _dispatch(background, request)
    return json_response({**record, "reference": result["reference"], "pin": result["pin"], "case": result["case"]},
                         201, {**NO_STORE, "Location": f"{STAFF}/{result['id']}"})


@router.get(STAFF + "/queue", summary="My queue: open grievances routed to my roles, most urgent first")
def my_queue(request: Request, limit: int | None = Query(None, ge=1), after: str | None = None,
             overdue: bool | None = None, principal: Principal = Depends(current_principal)) -> Response:
    _signed_in(principal)
    node = node_of(request)
    size = min(limit or node.settings.default_page_size, node.settings.max_page_size)
    with node.db.unit_of_work(write=False) as session:
        return json_response(service.queue(session, principal, limit=size, after=after, overdue=overdue))


@router.post(STAFF + "/{key}/transitions/{name}", summary="Take a step on a grievance: start, raise_ticket, "
             "resolve (resolution_note), reject (reason)")
def transition(request: Request, key: str, name: str, background: BackgroundTasks,
               body: dict[str, Any] | None = Body(None), principal: Principal = Depends(current_principal)) -> Response:
    _signed_in(principal)
    node = node_of(request)
    payload = dict(body or {})
    expected = if_match_version(request) or payload.pop("version", None)
    with node.db.unit_of_work() as session:
        out = service.take_transition(session, node.settings, principal, key, name, payload,
                                      engine=_engine(request), expected_version=expected)
    _dispatch(background, request)
    return json_response(out)


@router.delete(STAFF + "/{key}", summary="Grievances are not deleted: reject them (transition reject)")
def refuse_delete(key: str) -> Response:
    raise Conflict("grievances are not deleted; reject one that is not a water-supply matter "
                   f"(POST {STAFF}/{key}/transitions/reject with a reason)", code="not_deletable")


router.include_router(open311_router)
