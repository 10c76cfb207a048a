"""Webhooks API under ``/api/v1/webhooks``: subscriptions, their delivery log and dead letters, replay and ping.

Permission ``webhooks:manage`` over the subscription's ``within`` path (service.py says who sees what). The
contract is in docs/feed_and_webhooks.md.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Body, Depends, Query, Request
from fastapi.responses import Response

from jaldpi.core.api import Node, current_principal, json_response, node_of, refuse_unknown_query
from jaldpi.core.security import Principal
from jaldpi.webhooks import service
from jaldpi.webhooks.dispatcher import Sender, ping
from jaldpi.webhooks.models import WebhookSubscription

router = APIRouter(prefix="/api/v1/webhooks", tags=["webhooks"])

_SUBSCRIPTION_SCHEMA = {
    "type": "object",
    "required": ["url", "event_types"],
    "properties": {
        "url": {"type": "string", "format": "uri", "description": "http(s) endpoint that receives the POSTs"},
        "event_types": {"type": "array", "items": {"type": "string"}, "minItems": 1,
                        "description": "record_type.operation patterns: households.create, samples.*, *.delete, *"},
        "within": {"type": "string", "description": "jurisdiction (district:745 or a path); default: your "
                   "webhooks:manage scope when it is a single subtree"},
        "description": {"type": "string", "maxLength": 500},
        "secret": {"type": "string", "minLength": service.MIN_SECRET_LENGTH, "maxLength": 200,
                   "description": "signing secret; absent: 32 random bytes, base64url (returned once)"},
        "start": {"type": "string", "description": "\"now\" (default: only later changes), \"beginning\", or a "
                  "change-feed cursor"},
    },
}
_PATCH_SCHEMA = {
    "type": "object",
    "properties": {"url": {"type": "string"}, "event_types": {"type": "array", "items": {"type": "string"}},
                   "active": {"type": "boolean"}, "description": {"type": "string"}},
}


def _context(node: Node) -> service.Context:
    ctx = node.extras.get("webhooks_context")
    if ctx is None:
        ctx = node.extras["webhooks_context"] = service.Context(
            feed_types=node.extras["feed_types"], box=service.SecretBox(node.settings.pii_encryption_key),
            allow_private=node.settings.webhook_private_targets_allowed,
            resolve_within=node.extras["resolve_within"], unit_table=node.catalogue["admin_units"].table)
    return ctx


def _sender(node: Node) -> Sender:
    sender = node.extras.get("webhooks_sender")
    if sender is None:
        sender = node.extras["webhooks_sender"] = Sender(timeout_s=node.settings.webhook_timeout_seconds,
                                                         allow_private=node.settings.webhook_private_targets_allowed)
    return sender


def _page_size(node: Node, limit: int | None) -> int:
    return min(limit or node.settings.default_page_size, node.settings.max_page_size)


@router.post("", summary="Subscribe an endpoint to change events in your jurisdiction", status_code=201,
             openapi_extra={"requestBody": {"required": True,
                                            "content": {"application/json": {"schema": _SUBSCRIPTION_SCHEMA}}}})
def create(request: Request, body: dict[str, Any] = Body(...),
           principal: Principal = Depends(current_principal)) -> Response:
    node = node_of(request)
    refuse_unknown_query(request)
    ctx = _context(node)
    with node.db.unit_of_work() as session:
        sub, secret = service.create_subscription(session, ctx, principal, body)
        out = service.subscription_dict(sub, ctx.feed_types)
    out["secret"] = secret  # shown once; stored encrypted
    return json_response(out, 201, {"Location": f"/api/v1/webhooks/{out['id']}"})


@router.get("", summary="Your subscriptions (node administrators: all in their jurisdiction)")
def list_subscriptions(request: Request, limit: int | None = Query(None, ge=1), after: str | None = None,
                       principal: Principal = Depends(current_principal)) -> Response:
    from jaldpi.core.pagination import decode_cursor, encode_cursor

    node = node_of(request)
    refuse_unknown_query(request, {"limit", "after"})
    service.require_signed_in(principal)
    size = _page_size(node, limit)
    stmt = service.visible_subscriptions(principal).order_by(WebhookSubscription.id).limit(size + 1)
    if after:
        stmt = stmt.where(WebhookSubscription.id > decode_cursor(after))
    with node.db.unit_of_work(write=False) as session:
        rows = session.execute(stmt).scalars().all()
        items = [service.subscription_dict(s, _context(node).feed_types) for s in rows[:size]]
    more = len(rows) > size
    return json_response({"items": items, "next_cursor": encode_cursor(rows[size - 1].id) if more else None})


@router.get("/{subscription_id}", summary="One subscription, with its delivery counts by status")
def read(request: Request, subscription_id: str, principal: Principal = Depends(current_principal)) -> Response:
    node = node_of(request)
    refuse_unknown_query(request)
    with node.db.unit_of_work(write=False) as session:
        sub = service.get_subscription(session, principal, subscription_id)
        out = service.subscription_dict(sub, _context(node).feed_types)
        out["deliveries"] = service.count_by_status(session, sub.id)
    return json_response(out)


@router.patch("/{subscription_id}", summary="Change url, event_types, description or active",
              openapi_extra={"requestBody": {"required": True,
                                             "content": {"application/json": {"schema": _PATCH_SCHEMA}}}})
def patch(request: Request, subscription_id: str, body: dict[str, Any] = Body(...),
          principal: Principal = Depends(current_principal)) -> Response:
    node = node_of(request)
    refuse_unknown_query(request)
    ctx = _context(node)
    with node.db.unit_of_work() as session:
        sub = service.update_subscription(session, ctx, principal, subscription_id, body)
        out = service.subscription_dict(sub, ctx.feed_types)
    return json_response(out)


@router.delete("/{subscription_id}", summary="Delete a subscription and its delivery log", status_code=204)
def delete(request: Request, subscription_id: str, principal: Principal = Depends(current_principal)) -> Response:
    node = node_of(request)
    refuse_unknown_query(request)
    with node.db.unit_of_work() as session:
        service.delete_subscription(session, principal, subscription_id)
    return Response(status_code=204)


@router.post("/{subscription_id}/replay", summary="Re-deliver, in order, every matching change after a feed cursor",
             openapi_extra={"requestBody": {"required": True, "content": {"application/json": {"schema": {
                 "type": "object", "required": ["cursor"], "properties": {"cursor": {"type": "string"}}}}}}})
def replay(request: Request, subscription_id: str, body: dict[str, Any] = Body(...),
           principal: Principal = Depends(current_principal)) -> Response:
    node = node_of(request)
    refuse_unknown_query(request)
    with node.db.unit_of_work() as session:
        sub = service.replay(session, principal, subscription_id, body)
        out = service.subscription_dict(sub, _context(node).feed_types)
    return json_response(out)


@router.get("/{subscription_id}/deliveries", summary="Delivery log; status=dead is the dead-letter list")
def deliveries(request: Request, subscription_id: str,
               status: str | None = Query(None, description="delivered | failed (being retried) | dead | cancelled"),
               limit: int | None = Query(None, ge=1), after: str | None = None,
               principal: Principal = Depends(current_principal)) -> Response:
    node = node_of(request)
    refuse_unknown_query(request, {"status", "limit", "after"})
    with node.db.unit_of_work(write=False) as session:
        page = service.list_deliveries(session, principal, subscription_id, status=status,
                                       limit=_page_size(node, limit), after=after)
    return json_response(page)


@router.post("/{subscription_id}/deliveries/{delivery_id}/retry", summary="Re-queue a dead letter")
def retry(request: Request, subscription_id: str, delivery_id: str,
          principal: Principal = Depends(current_principal)) -> Response:
    node = node_of(request)
    refuse_unknown_query(request)
    with node.db.unit_of_work() as session:
        delivery = service.retry_dead_letter(session, principal, subscription_id, delivery_id)
        out = service.delivery_dict(delivery)
    return json_response(out)


@router.post("/{subscription_id}/ping", summary="Send a test event now (one attempt) and report the answer")
def send_ping(request: Request, subscription_id: str,
              principal: Principal = Depends(current_principal)) -> Response:
    node = node_of(request)
    refuse_unknown_query(request)
    ctx = _context(node)
    with node.db.unit_of_work(write=False) as session:
        sub = service.get_subscription(session, principal, subscription_id)
        sid, url, secret = sub.id, sub.url, ctx.box.open(sub.id, sub.secret_ciphertext)
    # the HTTP call happens outside any transaction
    delivery = ping(node.db, _sender(node), node.settings.node_id, sid, url, secret)
    return json_response(service.delivery_dict(delivery))
