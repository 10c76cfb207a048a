"""Checks of the API's common ground: the OpenAPI document, the error shape, signing in, anonymous access and keyset
pages (docs/api.md). Everything here only reads, except AUTH-005 (an anonymous write that must be refused).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import re
import secrets
import time
from typing import Any

from jaldpi.conformance.checks import check
from jaldpi.conformance.checks.standard import V1_REGISTRIES, listing
from jaldpi.conformance.context import WRITE_REGISTRY, Credential, RunContext, uuid7
from jaldpi.conformance.http import CheckFailed, CheckSkipped, PrerequisiteFailed, expect_error

PRIVATE_REGISTRIES = tuple(r for r in V1_REGISTRIES if r != "admin_units")


@check("API-001")
def openapi_document(ctx: RunContext) -> str:
    answer = ctx.target.get("/openapi.json").expect(200)
    doc = answer.json()
    if not isinstance(doc, dict):
        raise CheckFailed(f"{answer.label}: expected a JSON object, got {type(doc).__name__}")
    version = doc.get("openapi")
    if not isinstance(version, str) or not re.match(r"^3\.\d+(\.\d+)?", version):
        raise CheckFailed(f"{answer.label}: \"openapi\" is {version!r}, expected 3.x")
    info = doc.get("info")
    if not isinstance(info, dict) or not isinstance(info.get("title"), str) or not isinstance(info.get("version"),
                                                                                             str):
        raise CheckFailed(f"{answer.label}: \"info\" needs a title and a version, got {info!r:.80}")
    if not isinstance(doc.get("paths"), dict) or not doc["paths"]:
        raise CheckFailed(f"{answer.label}: \"paths\" is empty")
    return f"OpenAPI {version}, {len(doc['paths'])} paths"


@check("API-002")
def openapi_describes_registries(ctx: RunContext) -> str:
    answer = ctx.target.get("/openapi.json").expect(200)
    paths = (answer.json() or {}).get("paths") or {}

    def has(path_pattern: str, method: str) -> bool:
        return any(re.fullmatch(path_pattern, p) and isinstance(ops, dict) and method in ops
                   for p, ops in paths.items())

    missing = [] if has(re.escape("/api/v1/auth/token"), "post") else ["POST /api/v1/auth/token"]
    for r in V1_REGISTRIES:
        base = re.escape(f"/api/v1/{r}")
        for pattern, method, shown in ((base, "get", f"GET /api/v1/{r}"), (base, "post", f"POST /api/v1/{r}"),
                                       (base + r"/\{[^/}]+\}", "get", f"GET /api/v1/{r}/{{key}}"),
                                       (base + "/bulk", "post", f"POST /api/v1/{r}/bulk")):
            if not has(pattern, method):
                missing.append(shown)
    if missing:
        raise CheckFailed(f"{answer.label}: no operation for {listing(missing, 5, ', ')}")
    return f"token endpoint and {len(V1_REGISTRIES)} registries described"


@check("ERR-001")
def not_found_shape(ctx: RunContext) -> str:
    answer = ctx.target.get(f"/api/v1/admin_units/{uuid7()}")
    expect_error(answer, 404, ("not_found",))
    return f"{answer.label} answered 404 not_found in the error shape"


@check("ERR-002")
def invalid_parameter_shape(ctx: RunContext) -> str:
    answer = ctx.target.get("/api/v1/admin_units", params={"limit": 0})
    err = expect_error(answer, 422)
    fields = [str(d.get("field")) for d in err["details"]]
    if not any("limit" in f for f in fields):
        raise CheckFailed(f"{answer.label}: 422 details name {fields or 'no field'}, expected the field limit")
    return f"{answer.label} answered 422 {err['code']} naming limit"


@check("AUTH-001")
def token_endpoint(ctx: RunContext) -> str:
    try:
        login = ctx.main_login()
    except PrerequisiteFailed as exc:
        raise CheckFailed(str(exc)) from exc
    answer = login.answer
    body = answer.json()
    problems = []
    if not body.get("access_token"):
        problems.append("access_token is empty")
    if str(body.get("token_type", "")).lower() != "bearer":
        problems.append(f"token_type is {body.get('token_type')!r}, expected bearer")
    expires = body.get("expires_in")
    if not isinstance(expires, int) or isinstance(expires, bool) or expires <= 0:
        problems.append(f"expires_in is {expires!r}, expected a positive number of seconds")
    if problems:
        raise CheckFailed(f"{answer.label}: {'; '.join(problems)}")
    return f"{login.credential.grant_type} grant gave a bearer token for {expires} s"


@check("AUTH-002")
def wrong_credentials(ctx: RunContext) -> str:
    given = ctx.options.credential
    wrong = Credential(given.grant_type if given else "client_credentials",
                       given.identifier if given else f"conformance-nobody-{secrets.token_hex(4)}",
                       f"wrong-{secrets.token_hex(8)}")
    answer = ctx.target.post("/api/v1/auth/token", data=wrong.form())
    err = expect_error(answer, 401)
    return f"{wrong.grant_type} with a wrong secret: 401 {err['code']}"


def _forged_jwt() -> str:
    """A well-formed HS256 JWT signed with a key the target cannot know."""
    def b64(raw: bytes) -> str:
        return base64.urlsafe_b64encode(raw).decode().rstrip("=")

    now = int(time.time())
    header = b64(json.dumps({"alg": "HS256", "typ": "JWT"}).encode())
    claims = b64(json.dumps({"sub": "conformance-forged", "iat": now, "exp": now + 600,
                             "grants": [{"role": "node_admin", "path": "/"}]}).encode())
    signature = hmac.new(secrets.token_bytes(32), f"{header}.{claims}".encode(), hashlib.sha256).digest()
    return f"{header}.{claims}.{b64(signature)}"


@check("AUTH-003")
def bad_tokens(ctx: RunContext) -> str:
    for label, token in (("a malformed token", "not-a-token"), ("a forged JWT", _forged_jwt())):
        answer = ctx.target.get(f"/api/v1/{WRITE_REGISTRY}", params={"limit": 1}, token=token)
        if answer.status != 401:
            raise CheckFailed(f"{answer.label} with {label}: expected HTTP 401, got {answer.status} "
                              f"{answer.snippet()}")
        expect_error(answer, 401)
    return "a malformed token and a forged JWT both answered 401"


@check("AUTH-004")
def anonymous_access(ctx: RunContext) -> str:
    answer = ctx.target.get("/api/v1/admin_units", params={"limit": 1}).expect(200)
    body = answer.json()
    if not isinstance(body, dict) or not isinstance(body.get("items"), list):
        raise CheckFailed(f"{answer.label}: expected a page {{items, next_cursor}}, got {answer.snippet()}")
    for registry in PRIVATE_REGISTRIES:
        answer = ctx.target.get(f"/api/v1/{registry}", params={"limit": 1})
        if answer.status == 200:
            raise CheckFailed(f"{answer.label} without a token: expected 401, got 200 {answer.snippet(60)}")
        expect_error(answer, 401)
    return f"admin_units public; {', '.join(PRIVATE_REGISTRIES)} answer 401 to anonymous callers"


@check("AUTH-005")
def anonymous_write_refused(ctx: RunContext) -> str:
    payload = ctx.payload("anonymous", ctx.home_village())
    answer = ctx.target.post(f"/api/v1/{WRITE_REGISTRY}", json=payload)
    ctx.track(answer)
    expect_error(answer, 401)
    _, found = ctx.find("anonymous")
    if found:
        raise CheckFailed(f"{answer.label} without a token answered 401 but wrote record {found[0].get('id')}")
    return f"{answer.label} without a token: 401, nothing written"


def _page(ctx: RunContext, params: dict[str, Any]) -> tuple[str, list[Any], Any]:
    answer = ctx.target.get("/api/v1/admin_units", params=params).expect(200)
    body = answer.json()
    if not isinstance(body, dict) or not isinstance(body.get("items"), list) or "next_cursor" not in body:
        raise CheckFailed(f"{answer.label}: expected a page {{items, next_cursor}}, got {answer.snippet()}")
    return answer.label, body["items"], body["next_cursor"]


@check("PAGE-001")
def keyset_pages(ctx: RunContext) -> str:
    size, pages = 3, 4
    label, reference, _ = _page(ctx, {"limit": size * pages})
    if len(reference) > size * pages:
        raise CheckFailed(f"{label}: {len(reference)} items for limit={size * pages}")
    if len(reference) <= size:
        raise CheckSkipped(f"{label}: only {len(reference)} administrative units, too few to page through")
    expected = [r.get("id") for r in reference]
    seen: dict[Any, int] = {}
    cursor = None
    for number in range(1, pages + 1):
        params: dict[str, Any] = {"limit": size}
        if cursor:
            params["after"] = cursor
        label, items, cursor = _page(ctx, params)
        if len(items) > size:
            raise CheckFailed(f"{label}: page {number} holds {len(items)} items, limit={size}")
        for item in items:
            rid = item.get("id")
            if rid in seen:
                raise CheckFailed(f"{label}: page {number} repeats {rid} (already on page {seen[rid]})")
            seen[rid] = number
        if not cursor:
            break
    walked = list(seen)
    for position, rid in enumerate(expected[:len(walked)]):
        if walked[position] != rid:
            missing = [r for r in expected[:len(walked)] if r not in seen]
            detail = f"missing {missing[0]}" if missing else f"found {walked[position]} instead"
            raise CheckFailed(f"pages of limit={size} differ from one page of limit={size * pages} at item "
                              f"{position + 1}: {detail}")
    if len(walked) < len(expected):
        raise CheckFailed(f"pages of limit={size} ended after {len(walked)} items; one page of limit="
                          f"{size * pages} has {len(expected)}")
    return f"{len(walked)} items over pages of {size}: no duplicates, no gaps"


@check("PAGE-002")
def last_page_has_null_cursor(ctx: RunContext) -> str:
    cursor = None
    for number in range(1, 61):
        params: dict[str, Any] = {"level": "state", "limit": 1}
        if cursor:
            params["after"] = cursor
        label, items, next_cursor = _page(ctx, params)
        if not items and number > 1:
            raise CheckFailed(f"{label}: the previous page had next_cursor {cursor!r} but this page is empty; the "
                              "last page must have next_cursor null")
        if next_cursor is None:
            return f"states listed one a page: page {number} is the last, with next_cursor null"
        cursor = next_cursor
    raise CheckFailed("GET /api/v1/admin_units?level=state&limit=1: still a next_cursor after 60 pages")


@check("PAGE-003")
def foreign_cursor_refused(ctx: RunContext) -> str:
    answer = ctx.target.get("/api/v1/admin_units", params={"limit": 1, "after": "not-a-cursor!"})
    err = expect_error(answer, 422)
    return f"{answer.label}: 422 {err['code']}"
