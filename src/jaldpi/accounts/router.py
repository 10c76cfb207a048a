"""OAuth2 token endpoint (RFC 6749: password and client_credentials grants), the caller's identity, accounts."""

from __future__ import annotations

import base64

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import Response
from pydantic import BaseModel, Field

from jaldpi.accounts.service import GrantSpec, authenticate, create_account, grants_of
from jaldpi.core.api import current_principal, json_response, node_of
from jaldpi.core.errors import Forbidden, Unauthenticated, ValidationFailed
from jaldpi.core.security import Principal, issue_token

router = APIRouter(prefix="/api/v1", tags=["access"])


class TokenOut(BaseModel):
    access_token: str
    token_type: str = "bearer"
    expires_in: int = Field(description="seconds")
    grants: list[dict[str, str]]


@router.post("/auth/token", summary="Get an access token (OAuth2 password or client_credentials grant)",
             responses={200: {"model": TokenOut}})
def token(request: Request, grant_type: str = Form(...), username: str | None = Form(None),
          password: str | None = Form(None), client_id: str | None = Form(None),
          client_secret: str | None = Form(None)) -> Response:
    node = node_of(request)
    if grant_type == "client_credentials" and client_id is None:
        basic = request.headers.get("authorization", "")
        if basic.lower().startswith("basic "):
            try:
                client_id, _, client_secret = base64.b64decode(basic[6:]).decode().partition(":")
            except ValueError as exc:
                raise Unauthenticated("malformed Basic credentials", code="invalid_client") from exc
    if grant_type == "password":
        if not username or not password:
            raise ValidationFailed("username and password are required for grant_type=password",
                                   code="invalid_request", details=[{"field": "username", "problem": "missing"}])
        subject, secret, kind = username, password, "person"
    elif grant_type == "client_credentials":
        if not client_id or not client_secret:
            raise ValidationFailed("client_id and client_secret are required for grant_type=client_credentials",
                                   code="invalid_request", details=[{"field": "client_id", "problem": "missing"}])
        subject, secret, kind = client_id, client_secret, "system"
    else:
        raise ValidationFailed(f"unsupported grant_type {grant_type}", code="unsupported_grant_type",
                               details=[{"field": "grant_type", "problem": "use password or client_credentials"}])
    with node.db.unit_of_work(write=False) as session:
        account = authenticate(session, node.passwords, subject, secret, kind)
        grants = grants_of(account)
        source = account.source_system
    access, expires = issue_token(secret=node.settings.secret_key, issuer=node.settings.node_id, subject=subject,
                                  kind=kind, grants=grants, minutes=node.settings.access_token_minutes,
                                  source_system=source)
    return json_response({"access_token": access, "token_type": "bearer", "expires_in": expires,
                          "grants": [{"role": g.role, "path": g.path} for g in grants]},
                         headers={"Cache-Control": "no-store"})


@router.get("/auth/me", summary="Who am I, and what may I do where")
def me(principal: Principal = Depends(current_principal)) -> Response:
    perms = sorted({p for g in principal.grants for p in principal.role_permissions.get(g.role, ())})
    return json_response({"subject": principal.subject, "kind": principal.kind,
                          "grants": [{"role": g.role, "path": g.path} for g in principal.grants],
                          "permissions": {p: principal.scope(p) for p in perms}})


class GrantIn(BaseModel):
    role: str = Field(description="code list roles")
    within: str = Field(description="'/' for national, or level:code such as district:745")


class AccountIn(BaseModel):
    username: str = Field(min_length=3, max_length=120, pattern=r"^[A-Za-z0-9_.@-]+$")
    password: str = Field(min_length=8, max_length=200, description="password, or client secret for systems")
    kind: str = Field("person", pattern="^(person|system)$")
    display_name: str = Field(min_length=1, max_length=200)
    source_system: str | None = Field(None, description="Systems: the name recorded as source of their writes")
    grants: list[GrantIn] = Field(min_length=1)


@router.post("/accounts", status_code=201, summary="Create a person or partner-system account (users:manage)")
def create(request: Request, body: AccountIn, principal: Principal = Depends(current_principal)) -> Response:
    if principal.is_anonymous:
        raise Unauthenticated("sign in to manage accounts")
    if not principal.has("users:manage"):
        raise Forbidden("your roles do not include users:manage")
    node = node_of(request)
    with node.db.unit_of_work() as session:
        account = create_account(session, node.passwords, username=body.username, secret=body.password,
                                 kind=body.kind, display_name=body.display_name, source_system=body.source_system,
                                 grants=[GrantSpec(g.role, g.within) for g in body.grants], created_by=principal)
        out = {"id": str(account.id), "username": account.username, "kind": account.kind,
               "grants": [{"role": g.role, "path": g.lgd_path} for g in account.grants]}
    return json_response(out, 201)
