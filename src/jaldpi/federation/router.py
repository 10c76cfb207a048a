"""HTTP face of the federation: ``/federation/v1/``.

Node-to-node routes (``inbox``, ``outbox``) are authenticated by the Ed25519 signature of the calling node, checked
against the keys registered for it; operator routes (status, peers, conflicts) need ``federation:manage`` over the
whole node. The node description (id, role, jurisdiction, public keys) is public, so that peers can be registered.
"""

from __future__ import annotations

from fastapi import APIRouter, Body, Query, Request
from fastapi.responses import Response

from jaldpi.core.api import current_principal, json_response, node_of
from jaldpi.core.errors import Forbidden, Unauthenticated, ValidationFailed
from jaldpi.federation.service import Federation

router = APIRouter(prefix="/federation/v1", tags=["federation"])


def federation_of(request: Request) -> Federation:
    return node_of(request).extras["federation"]


def _require_manager(request: Request) -> str:
    principal = current_principal(request)
    if "/" not in principal.scope("federation:manage"):
        if principal.is_anonymous:
            raise Unauthenticated("sign in as a node administrator")
        raise Forbidden("federation:manage over the whole node is required")
    return principal.subject


@router.get("/node", summary="This node: id, role, jurisdiction, standard and policy versions, public keys")
def node(request: Request) -> Response:
    return json_response(federation_of(request).describe())


@router.post("/inbox", summary="Receive a signed batch of changes from a peer; answers with a signed acknowledgement",
             openapi_extra={"requestBody": {"content": {"application/jose": {"schema": {"type": "string"}}},
                                            "required": True}})
async def inbox(request: Request) -> Response:
    token = (await request.body()).decode("ascii", errors="replace").strip()
    if not token:
        raise ValidationFailed("empty body: expected a compact JWS", code="malformed_message")
    federation = federation_of(request)
    from starlette.concurrency import run_in_threadpool

    ack = await run_in_threadpool(federation.receive, token)
    return json_response({"ack": ack})


@router.get("/outbox", summary="A peer's pull: signed changes it should hold, after its cursor")
def outbox(request: Request, after: int = Query(0, ge=0), limit: int = Query(500, ge=1, le=10_000)) -> Response:
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "jaldpinode" or not token:
        raise Unauthenticated("a pull needs 'Authorization: JaldpiNode <signed request>'",
                              code="node_signature_required")
    return json_response({"envelope": federation_of(request).serve_outbox(token.strip(), after, limit)})


@router.get("/status", summary="Peers, cursors, pending changes, conflicts (node administrators)")
def status(request: Request) -> Response:
    _require_manager(request)
    return json_response(federation_of(request).status())


@router.get("/peers", summary="Registered peer nodes (node administrators)")
def peers(request: Request) -> Response:
    _require_manager(request)
    return json_response({"items": federation_of(request).peers()})


@router.post("/peers", summary="Register or update a peer node with its public keys (node administrators)")
def add_peer(request: Request, body: dict = Body(...)) -> Response:
    _require_manager(request)
    missing = [k for k in ("node_id", "role", "jwks") if not body.get(k)]
    if missing:
        raise ValidationFailed(f"missing {', '.join(missing)}",
                               details=[{"field": k, "problem": "required"} for k in missing])
    peer = federation_of(request).add_peer(str(body["node_id"]), str(body["role"]), body["jwks"],
                                           base_url=body.get("base_url"), jurisdiction=body.get("jurisdiction"))
    return json_response(peer, status_code=201)


@router.get("/conflicts", summary="Changes from peers that met a different local history (node administrators)")
def conflicts(request: Request, status: str | None = Query("open")) -> Response:
    _require_manager(request)
    return json_response({"items": federation_of(request).conflicts(status or None)})


@router.post("/conflicts/{conflict_id}/resolve", summary="Keep the incoming (owner's) or the local version")
def resolve(request: Request, conflict_id: str, body: dict = Body(...)) -> Response:
    actor = _require_manager(request)
    return json_response(federation_of(request).resolve(conflict_id, str(body.get("keep")), actor))
