"""Notifications API under ``/api/v1/notifications``: staff contacts and the operators' outbox.

* ``/contacts``: an account manages its own; ``users:manage`` over every grant of another account manages its
  contacts too. Addresses go in once and come back masked only.
* ``/outbox``: ``notifications:manage``, scoped by each message's ``lgd_path``; addresses masked; keyset pages;
  ``POST /outbox/{id}/retry`` gives a dead message fresh attempts.

Contract and examples: docs/notifications.md.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, BackgroundTasks, Body, Depends, Query, Request
from fastapi.responses import Response

from jaldpi.core.api import current_principal, json_response, node_of, refuse_unknown_query
from jaldpi.core.errors import ValidationFailed
from jaldpi.core.security import Principal
from jaldpi.notifications import service

router = APIRouter(prefix="/api/v1/notifications", tags=["notifications"])

_CONTACT_SCHEMA = {
    "type": "object",
    "required": ["channel", "address"],
    "additionalProperties": False,
    "properties": {
        "account": {"type": "string", "description": "username; default: your own account"},
        "channel": {"type": "string", "description": "sms | whatsapp | email (the node's notification_channels)"},
        "address": {"type": "string", "description": "mobile number (98765 43210, +91...) or email address"},
        "language": {"type": "string", "enum": list(service.LANGUAGES), "default": "en"},
    },
}


def _contact_body(body: Any) -> dict[str, str]:
    if not isinstance(body, dict):
        raise ValidationFailed("expected a JSON object", details=[{"field": None, "problem": "not an object"}])
    unknown = sorted(set(body) - set(_CONTACT_SCHEMA["properties"]))
    problems = [{"field": k, "problem": "unknown field"} for k in unknown]
    problems += [{"field": k, "problem": "required"} for k in ("channel", "address") if body.get(k) in (None, "")]
    problems += [{"field": k, "problem": "expected a string"} for k in _CONTACT_SCHEMA["properties"]
                 if body.get(k) is not None and not isinstance(body[k], str)]
    if problems:
        raise ValidationFailed("invalid contact", details=problems)
    return body


@router.get("/contacts", summary="Notification contacts of your account (or, with users:manage, of another)")
def list_contacts(request: Request, account: str | None = Query(None, description="username; default: yours"),
                  principal: Principal = Depends(current_principal)) -> Response:
    node = node_of(request)
    refuse_unknown_query(request, {"account"})
    with node.db.unit_of_work(write=False) as session:
        items = service.list_contacts(session, principal, account)
    return json_response({"items": items})


@router.post("/contacts", summary="Add a notification contact (address stored encrypted, shown masked)",
             status_code=201, openapi_extra={"requestBody": {"required": True, "content": {
                 "application/json": {"schema": _CONTACT_SCHEMA}}}})
def add_contact(request: Request, body: Any = Body(...),
                principal: Principal = Depends(current_principal)) -> Response:
    node = node_of(request)
    refuse_unknown_query(request)
    data = _contact_body(body)
    with node.db.unit_of_work() as session:
        out = service.add_contact(session, node.settings, principal, channel=data["channel"],
                                  address=data["address"], language=data.get("language") or "en",
                                  account=data.get("account"))
    return json_response(out, 201, {"Location": f"/api/v1/notifications/contacts/{out['id']}"})


@router.delete("/contacts/{contact_id}", summary="Remove a notification contact", status_code=204)
def delete_contact(request: Request, contact_id: str,
                   principal: Principal = Depends(current_principal)) -> Response:
    node = node_of(request)
    refuse_unknown_query(request)
    with node.db.unit_of_work() as session:
        service.delete_contact(session, principal, contact_id)
    return Response(status_code=204)


@router.get("/outbox", summary="Outbox messages in your jurisdiction (notifications:manage), oldest first")
def list_outbox(request: Request, limit: int | None = Query(None, ge=1), after: str | None = None,
                status: str | None = Query(None, description="queued | sent | failed | dead"),
                channel: str | None = None, template: str | None = None, subject_type: str | None = None,
                subject_id: str | None = None, principal: Principal = Depends(current_principal)) -> Response:
    node = node_of(request)
    refuse_unknown_query(request, {"limit", "after", "status", "channel", "template", "subject_type", "subject_id"})
    size = min(limit or node.settings.default_page_size, node.settings.max_page_size)
    with node.db.unit_of_work(write=False) as session:
        page = service.list_outbox(session, principal, limit=size, after=after, status=status, channel=channel,
                                   template=template, subject_type=subject_type, subject_id=subject_id)
    return json_response(page)


@router.get("/outbox/counts", summary="Outbox messages per status in your jurisdiction")
def outbox_counts(request: Request, principal: Principal = Depends(current_principal)) -> Response:
    node = node_of(request)
    refuse_unknown_query(request)
    with node.db.unit_of_work(write=False) as session:
        return json_response(service.count_by_status(session, principal))


@router.post("/outbox/{message_id}/retry", summary="Send a dead message again (fresh attempts)")
def retry(request: Request, message_id: str, background_tasks: BackgroundTasks,
          principal: Principal = Depends(current_principal)) -> Response:
    node = node_of(request)
    refuse_unknown_query(request)
    with node.db.unit_of_work() as session:
        out = service.retry_message(session, principal, message_id)
    service.dispatch_after_response(background_tasks, node)  # after the commit above: try it right away
    return json_response(out)
