"""HTTP mechanics shared by every domain: the node context, principals from tokens, the error shape, body-size
and rate limits, orjson responses, and the route factory that gives each registry its endpoints.
"""

from __future__ import annotations

import datetime as dt
import math
import threading
import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import orjson
from fastapi import APIRouter, Body, Depends, FastAPI, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from fastapi.security import OAuth2PasswordBearer
from pydantic import BaseModel, Field, create_model
from starlette.exceptions import HTTPException as StarletteHTTPException

from jaldpi.core.bulkio import json_default
from jaldpi.core.db import Database
from jaldpi.core.errors import (
    JaldpiError,
    PayloadTooLarge,
    RateLimited,
    Unauthenticated,
    ValidationFailed,
)
from jaldpi.core.registry import Catalogue, Registry, Strategy
from jaldpi.core.security import ANONYMOUS, Grant, Passwords, Principal, read_token


@dataclass
class Node:
    """Everything a request needs, built once per app (never module globals)."""

    settings: Any
    db: Database
    catalogue: Catalogue
    role_permissions: Mapping[str, frozenset[str]]
    passwords: Passwords
    extras: dict[str, Any] = field(default_factory=dict)


def node_of(request: Request) -> Node:
    return request.app.state.node


class OrjsonResponse(JSONResponse):
    media_type = "application/json"

    def render(self, content: Any) -> bytes:
        return orjson.dumps(content, default=json_default, option=orjson.OPT_NON_STR_KEYS)


def json_response(content: Any, status_code: int = 200, headers: dict[str, str] | None = None) -> Response:
    return OrjsonResponse(content, status_code=status_code, headers=headers)


# ---------------------------------------------------------------------------------------------------- principal

_oauth2 = OAuth2PasswordBearer(tokenUrl="/api/v1/auth/token", auto_error=False,
                               description="password grant for people; client_credentials for systems")


def current_principal(request: Request, _token: str | None = Depends(_oauth2)) -> Principal:
    """The caller: from a Bearer JWT, or anonymous. Permissions come from the roles code list at request time."""
    cached = getattr(request.state, "principal", None)
    if cached is not None:
        return cached
    node = node_of(request)
    header = request.headers.get("authorization", "")
    principal = ANONYMOUS
    if header.lower().startswith("bearer "):
        claims = read_token(header[7:].strip(), secret=node.settings.secret_key, issuer=node.settings.node_id)
        principal = Principal(
            subject=claims["sub"], kind=claims.get("kind", "person"),
            grants=tuple(Grant(g["role"], g["path"]) for g in claims.get("grants", [])),
            # writes by people (and systems without a name) are recorded as coming from this node
            role_permissions=node.role_permissions, source_system=claims.get("src") or node.settings.node_id,
        )
    request.state.principal = principal
    return principal


# ---------------------------------------------------------------------------------------------------- errors

def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(JaldpiError)
    async def _jaldpi_error(_request: Request, exc: JaldpiError) -> Response:
        return json_response(exc.to_dict(), exc.status_code, exc.headers)

    @app.exception_handler(RequestValidationError)
    async def _validation_error(_request: Request, exc: RequestValidationError) -> Response:
        details = []
        for err in exc.errors():
            loc = [str(p) for p in err.get("loc", ()) if p not in ("body",)]
            details.append({"field": ".".join(loc) or None, "problem": err.get("msg"), "type": err.get("type")})
        first = details[0] if details else {"field": None, "problem": "invalid request"}
        message = f"{first['field']}: {first['problem']}" if first.get("field") else str(first["problem"])
        return json_response(ValidationFailed(message, details=details).to_dict(), 422)

    @app.exception_handler(404)
    async def _not_found(_request: Request, _exc: Exception) -> Response:
        return json_response({"error": {"code": "not_found", "message": "no such endpoint", "details": []}}, 404)

    @app.exception_handler(StarletteHTTPException)
    async def _http_error(_request: Request, exc: StarletteHTTPException) -> Response:
        # Framework errors (405 method not allowed, ...) in the one error shape too.
        code = {405: "method_not_allowed"}.get(exc.status_code, "http_error")
        return json_response({"error": {"code": code, "message": str(exc.detail), "details": []}}, exc.status_code,
                             dict(exc.headers or {}))


# ---------------------------------------------------------------------------------------------------- limits

class _BodyTooLarge(Exception):
    pass


class BodySizeLimit:
    """Refuse bodies above ``max_bytes`` (413) by the declared length, and while streaming for chunked uploads.

    A plain ASGI middleware: it wraps ``receive`` to count the bytes actually read, so a body without (or with a
    false) Content-Length is cut off as soon as it passes the limit, whatever the endpoint does with the error.
    ``path_limits`` gives exact paths their own limit (document uploads take videos larger than any JSON body).
    """

    def __init__(self, app, max_bytes: int, path_limits: Mapping[str, int] | None = None) -> None:
        self.app = app
        self.max_bytes = max_bytes
        self.path_limits = dict(path_limits or {})

    def _response(self, size: str, limit: int) -> Response:
        err = PayloadTooLarge(f"request body of {size} bytes exceeds the limit of {limit} bytes")
        return json_response(err.to_dict(), 413)

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = self.path_limits.get(scope.get("path", ""), self.max_bytes)
        declared = dict(scope.get("headers") or []).get(b"content-length", b"").decode("latin-1")
        if declared.isdigit() and int(declared) > limit:
            await self._response(declared, limit)(scope, receive, send)
            return
        state = {"received": 0, "exceeded": False, "started": False}

        async def limited_receive():
            message = await receive()
            if message["type"] == "http.request":
                state["received"] += len(message.get("body", b""))
                if state["received"] > limit:
                    state["exceeded"] = True
                    raise _BodyTooLarge()
            return message

        async def guarded_send(message) -> None:
            if state["exceeded"]:
                return  # whatever the app answers to the cut-off body, the client gets the 413 below
            if message["type"] == "http.response.start":
                state["started"] = True
            await send(message)

        try:
            await self.app(scope, limited_receive, guarded_send)
        except _BodyTooLarge:
            pass
        except Exception:
            if not state["exceeded"]:
                raise
        if state["exceeded"] and not state["started"]:
            await self._response(f"more than {limit}", limit)(scope, receive, send)


class RateLimiter:
    """Token buckets per client key (token subject, else IP), refilled continuously; thread-safe, in-process.

    A multi-process deployment puts a shared limiter (Redis) or the gateway in front; the contract (429 with
    Retry-After in seconds) stays the same.
    """

    def __init__(self, per_minute: int, anonymous_per_minute: int) -> None:
        self.rates = {"auth": per_minute, "anon": anonymous_per_minute}
        self.buckets: dict[str, tuple[float, float]] = {}
        self.lock = threading.Lock()

    def check(self, key: str, kind: str) -> float:
        """Take one token; return 0 if allowed, else the seconds until one is available."""
        rate = self.rates[kind]
        if rate <= 0:
            return 0.0
        per_second = rate / 60.0
        now = time.monotonic()
        with self.lock:
            tokens, last = self.buckets.get(key, (float(rate), now))
            tokens = min(float(rate), tokens + (now - last) * per_second)
            if tokens >= 1.0:
                self.buckets[key] = (tokens - 1.0, now)
                return 0.0
            self.buckets[key] = (tokens, now)
            return (1.0 - tokens) / per_second


class RateLimit:
    """Plain ASGI middleware (Starlette's BaseHTTPMiddleware costs about a millisecond a request)."""

    def __init__(self, app, limiter: RateLimiter) -> None:
        self.app = app
        self.limiter = limiter

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] != "http" or (self.limiter.rates["auth"] <= 0 and self.limiter.rates["anon"] <= 0):
            await self.app(scope, receive, send)
            return
        auth = ""
        for name, value in scope.get("headers") or ():
            if name == b"authorization":
                auth = value.decode("latin-1")
                break
        client = scope.get("client")
        key, kind = (f"t:{auth[-32:]}", "auth") if auth else (f"ip:{client[0] if client else 'unknown'}", "anon")
        wait = self.limiter.check(key, kind)
        if wait > 0:
            retry = str(max(1, math.ceil(wait)))
            err = RateLimited(f"too many requests; retry after {retry} s")
            await json_response(err.to_dict(), 429, {"Retry-After": retry})(scope, receive, send)
            return
        await self.app(scope, receive, send)


# ---------------------------------------------------------------------------------------------------- routes

class RecordMeta(BaseModel):
    id: uuid.UUID
    code: str
    version: int = Field(description="Starts at 1, +1 on every change; send it back to detect concurrent edits")
    lgd_path: str = Field(description="Jurisdiction path, e.g. /S28/D745/B4567/")
    lgd: dict[str, int | str] = Field(description="LGD codes of the jurisdiction path, by level")
    created_at: dt.datetime
    updated_at: dt.datetime
    created_by: str | None
    updated_by: str | None
    source_system: str | None
    deleted_at: dt.datetime | None
    external_ids: dict[str, str]


def record_model(registry: Registry) -> type[BaseModel]:
    """The output shape of a registry's records: its schema, references as ``<field>_id``, plus record metadata."""
    spec = registry.spec
    fields: dict[str, Any] = {}
    private = spec.private_store.fields if spec.private_store else frozenset()
    for name, info in spec.schema.model_fields.items():
        if name in ("id", "code", "external_ids"):
            continue
        ref = registry.ref_by_field.get(name)
        if ref is not None:
            fields[ref.column] = (list[uuid.UUID] | None if ref.many else uuid.UUID | None,
                                  Field(None, description=f"id of the referenced {ref.target} record"))
        elif name in private:
            fields[name] = (str | None, Field(None, description="personal data: masked unless your role may read it"))
        else:
            fields[name] = (info.annotation, Field(None, description=info.description))
    name = spec.schema.__name__.removesuffix("In") + "Record"
    return create_model(name, __base__=RecordMeta, **fields)


def _page_model(record: type[BaseModel]) -> type[BaseModel]:
    return create_model(f"{record.__name__}Page", items=(list[record], ...), next_cursor=(str | None, None),
                        total=(int | None, None))


class ImportRowOut(BaseModel):
    index: int
    action: str
    id: str | None
    code: str | None
    errors: list[dict[str, Any]]


class ImportSummaryOut(BaseModel):
    registry: str
    status: str = Field(description="ok | partial | error")
    strategy: str
    atomic: bool
    dry_run: bool
    written: bool
    stats: dict[str, int] = Field(description="created, updated, deleted, ignored, errors, total")
    rows: list[ImportRowOut] = Field(description="rows with errors (all rows with report=full)")


def registry_router(registry: Registry, *, parse_bulk: Callable[[Request, bytes, Registry], list[dict]]) -> APIRouter:
    """Endpoints of one registry under ``/api/v1/{name}``."""
    spec = registry.spec
    name = spec.name
    router = APIRouter(prefix=f"/api/v1/{name}", tags=[spec.title])
    Record = record_model(registry)
    Page = _page_model(Record)
    schema_ref = {"$ref": f"#/components/schemas/{spec.schema.__name__}"}
    reserved = {"limit", "after", "total", "q", "within", "updated_since", "external_id", "include_deleted", "format"}
    filter_params = [
        {"name": fname, "in": "query", "required": False, "description": f.description or f"equals, on {f.column}",
         "schema": {str: {"type": "string"}, int: {"type": "integer"}, bool: {"type": "boolean"},
                    uuid.UUID: {"type": "string", "format": "uuid"}}[f.kind]}
        for fname, f in spec.filters.items()
    ]

    @router.get("", summary=f"Search {spec.title} records", responses={200: {"model": Page}},
                openapi_extra={"parameters": filter_params})
    def list_records(
        request: Request,
        limit: int | None = Query(None, ge=1, description="page size; capped by the node's max_page_size"),
        after: str | None = Query(None, description="cursor from the previous page's next_cursor"),
        total: bool = Query(False, description="also count all matches (costs a query)"),
        q: str | None = Query(None, description="case-insensitive text search on the name"),
        within: str | None = Query(None, description="LGD unit as level:code (district:745) or a jurisdiction path"),
        updated_since: dt.datetime | None = Query(None),
        external_id: str | None = Query(None, description="system:value"),
        include_deleted: bool = Query(False),
        format: str = Query("json", pattern="^(json|ndjson|csv)$", description="json page, or an export page"),
        principal: Principal = Depends(current_principal),
    ) -> Response:
        node = node_of(request)
        _require_reader(principal)
        if q is not None and spec.search_column is None:
            raise ValidationFailed(f"{spec.title} records have no text search",
                                   details=[{"field": "q", "problem": "not supported by this registry; use filters"}])
        size = min(limit or node.settings.default_page_size, node.settings.max_page_size)
        filters: dict[str, Any] = {}
        for key, value in request.query_params.items():
            if key in reserved:
                continue
            f = spec.filters.get(key)
            if f is None:
                raise ValidationFailed(f"unknown query parameter '{key}'",
                                       details=[{"field": key, "problem": "not a filter of this registry; known: "
                                                 + ", ".join(sorted(spec.filters) or ["none"])}])
            filters[key] = _coerce(key, value, f.kind)
        ext = None
        if external_id:
            if ":" not in external_id:
                raise ValidationFailed("external_id must be system:value",
                                       details=[{"field": "external_id", "problem": "expected system:value"}])
            ext = tuple(external_id.split(":", 1))
        within_path = node.extras["resolve_within"](within) if within else None
        with node.db.unit_of_work(write=False) as session:
            page = registry.list(session, principal, limit=size, after=after, filters=filters, q=q,
                                 within=within_path, updated_since=updated_since, external_id=ext,
                                 include_deleted=include_deleted, total=total)
        if format == "json":
            return json_response(page)
        headers = {}
        if page["next_cursor"]:
            headers["Link"] = f'<{request.url.include_query_params(after=page["next_cursor"])}>; rel="next"'
        if format == "ndjson":
            body = b"".join(orjson.dumps(r, default=json_default) + b"\n" for r in page["items"])
            return Response(body, media_type="application/x-ndjson", headers=headers)
        return Response(_to_csv(page["items"]), media_type="text/csv", headers=headers)

    def create_record(request: Request, body: BaseModel,
                      principal: Principal = Depends(current_principal)) -> Response:
        node = node_of(request)
        refuse_unknown_query(request)
        _require_signed_in(principal)
        with node.db.unit_of_work() as session:
            record = registry.write_one(session, principal, body.model_dump(exclude_unset=True, mode="json"),
                                        Strategy.create)
        return json_response(record, 201, {"Location": f"/api/v1/{name}/{record['id']}"})

    # The body type is the registry's schema, known only at run time (annotations here are strings).
    create_record.__annotations__ = {"request": Request, "body": spec.schema, "principal": Principal,
                                     "return": Response}
    router.post("", summary=f"Create a {spec.title} record", status_code=201,
                responses={201: {"model": Record}})(create_record)

    @router.get("/{key}", summary=f"Read one {spec.title} record by id or code", responses={200: {"model": Record}})
    def read_record(request: Request, key: str, principal: Principal = Depends(current_principal)) -> Response:
        node = node_of(request)
        refuse_unknown_query(request)
        _require_reader(principal)
        with node.db.unit_of_work(write=False) as session:
            record = registry.get(session, principal, key)
        return json_response(record, headers={"ETag": f'"{record["version"]}"'})

    @router.patch("/{key}", summary=f"Change fields of a {spec.title} record", responses={200: {"model": Record}},
                  openapi_extra={"requestBody": {"required": True, "content": {"application/json": {
                      "schema": {"allOf": [schema_ref], "description": "any subset of the fields; add `version` to "
                                 "refuse the change if someone else changed the record meanwhile"}}}}})
    def patch_record(request: Request, key: str, body: dict[str, Any] = Body(...),
                     principal: Principal = Depends(current_principal)) -> Response:
        node = node_of(request)
        refuse_unknown_query(request)
        _require_signed_in(principal)
        expected = if_match_version(request) or body.pop("version", None)
        with node.db.unit_of_work() as session:
            current = registry.get(session, principal, key, include_deleted=True)
            body = {k: v for k, v in body.items() if k not in ("id", "code")}
            record = registry.write_one(session, principal, {**body, "id": current["id"]}, Strategy.update,
                                        expected_version=expected)
        return json_response(record)

    @router.delete("/{key}", summary=f"Soft-delete a {spec.title} record", status_code=200,
                   responses={200: {"model": Record}})
    def delete_record(request: Request, key: str, principal: Principal = Depends(current_principal)) -> Response:
        node = node_of(request)
        refuse_unknown_query(request)
        _require_signed_in(principal)
        with node.db.unit_of_work() as session:
            current = registry.get(session, principal, key)
            record = registry.write_one(session, principal, {"id": current["id"]}, Strategy.delete,
                                        expected_version=if_match_version(request))
        return json_response(record)

    @router.get("/{key}/history", summary=f"Version history of a {spec.title} record")
    def record_history(request: Request, key: str, principal: Principal = Depends(current_principal)) -> Response:
        node = node_of(request)
        refuse_unknown_query(request)
        _require_reader(principal)
        with node.db.unit_of_work(write=False) as session:
            return json_response({"items": registry.history(session, principal, key)})

    @router.post("/bulk", summary=f"Bulk import {spec.title} records (JSON array, NDJSON or CSV)",
                 responses={200: {"model": ImportSummaryOut}},
                 openapi_extra={"requestBody": {"required": True, "content": {
                     "application/json": {"schema": {"type": "array", "items": schema_ref}},
                     "application/x-ndjson": {"schema": {"type": "string"}},
                     "text/csv": {"schema": {"type": "string", "description": "header row; nested fields as a.b; "
                                             "lists separated by |"}}}}})
    async def bulk_import(
        request: Request,
        strategy: Strategy = Query(Strategy.create_and_update),
        atomic: bool = Query(True, description="all or nothing (true) or per record (false)"),
        dry_run: bool = Query(False, description="validate and report, write nothing"),
        report: str = Query("errors", pattern="^(errors|full)$"),
        principal: Principal = Depends(current_principal),
    ) -> Response:
        node = node_of(request)
        refuse_unknown_query(request, {"strategy", "atomic", "dry_run", "report"})
        _require_signed_in(principal)
        raw = await request.body()
        items = parse_bulk(request, raw, registry)
        if len(items) > node.settings.max_bulk_records:
            raise PayloadTooLarge(f"{len(items)} records exceed the limit of {node.settings.max_bulk_records} "
                                  "per request; split the import")
        summary = await _run_sync(_bulk_in_uow, node, registry, principal, items, strategy, atomic, dry_run)
        status = 200 if summary.status != "error" else 422
        return json_response(summary.to_dict(full=report == "full"), status)

    def _require_reader(principal: Principal) -> None:
        # Registries that are not public answer anonymous callers 401 (sign in), never an empty 200.
        if principal.is_anonymous and not spec.public_read:
            raise Unauthenticated(f"sign in to read {spec.title} records")

    return router


def _require_signed_in(principal: Principal) -> None:
    if principal.is_anonymous:
        raise Unauthenticated("sign in to change records")


def refuse_unknown_query(request: Request, allowed: frozenset[str] | set[str] = frozenset()) -> None:
    """Refuse query parameters the endpoint does not know (a typo such as ``dryrun=true`` must not write)."""
    unknown = sorted(set(request.query_params) - set(allowed))
    if unknown:
        raise ValidationFailed(f"unknown query parameter '{unknown[0]}'",
                               details=[{"field": k, "problem": "not a parameter of this endpoint; known: "
                                         + (", ".join(sorted(allowed)) or "none")} for k in unknown])


def _bulk_in_uow(node: Node, registry: Registry, principal: Principal, items, strategy, atomic, dry_run):
    with node.db.unit_of_work(write=not dry_run) as session:
        return registry.import_records(session, principal, items, strategy=strategy, atomic=atomic,
                                       dry_run=dry_run)


async def _run_sync(fn, *args):
    from starlette.concurrency import run_in_threadpool
    return await run_in_threadpool(fn, *args)


def if_match_version(request: Request) -> int | None:
    value = request.headers.get("if-match", "").strip('"W/ ')
    return int(value) if value.isdigit() else None


def _coerce(key: str, value: str, kind: type) -> Any:
    try:
        if kind is bool:
            if value.lower() not in ("true", "false", "1", "0"):
                raise ValueError
            return value.lower() in ("true", "1")
        return kind(value)
    except ValueError as exc:
        raise ValidationFailed(f"query parameter '{key}' must be {kind.__name__}",
                               details=[{"field": key, "problem": f"not a valid {kind.__name__}: {value!r}"}]) from exc


def _to_csv(items: list[dict[str, Any]]) -> bytes:
    import csv
    import io

    if not items:
        return b""
    flat = [_flatten(r) for r in items]
    columns: list[str] = []
    for r in flat:
        for k in r:
            if k not in columns:
                columns.append(k)
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=columns, extrasaction="ignore")
    writer.writeheader()
    writer.writerows(flat)
    return buf.getvalue().encode()


def _flatten(record: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    out: dict[str, Any] = {}
    for k, v in record.items():
        key = f"{prefix}{k}"
        if isinstance(v, dict):
            out.update(_flatten(v, f"{key}."))
        elif isinstance(v, list):
            out[key] = "|".join(orjson.dumps(x, default=json_default).decode() if isinstance(x, (dict, list))
                                else str(x) for x in v)
        elif isinstance(v, (uuid.UUID, dt.date, Decimal)):
            out[key] = str(v)
        else:
            out[key] = v
    return out
