"""A deliberately broken implementation of standard v1 and its API, to prove the conformance kit catches what it
should and names the problem.

It fronts a real jaldpi node (called in-process through ASGI) and breaks a handful of rules, each a mistake a
state's own system could plausibly make; every other request passes through unchanged, so every other requirement
still passes and the test can assert that exactly the broken ones fail.
"""

from __future__ import annotations

import json
from typing import Any

import httpx
from fastapi import FastAPI, Request
from fastapi.responses import Response

# requirement id -> how this node breaks it, and a fragment the kit's reason must contain
BREAKS: dict[str, tuple[str, str]] = {
    "AUTH-002": ("wrong credentials answer 400 {'error': 'invalid_grant'} (RFC 6749 style, not 401 and the shape)",
                 "expected HTTP 401, got 400"),
    "ERR-001": ("a record that does not exist answers 404 {'detail': 'Not Found'}", "not the error shape"),
    "STD-002": ("the entities input schema declares \"type\": \"objekt\"", "entities.json: not a valid 2020-12"),
    "STD-005": ("the genders code list has no Hindi labels", "genders"),
    "PAGE-001": ("admin_units pages by offset and each page restarts at the previous page's last item", "repeats"),
    "REG-005": ("PATCH ignores the version field and If-Match", "(record at version 2): expected HTTP 409, got 200"),
    "IMP-002": ("dry_run=true is ignored: the import writes", "dry_run=true wrote the row"),
    "IMP-005": ("per-row reference_not_found is reported as bad_reference", "'bad_reference'"),
}

HOP_HEADERS = {"content-length", "content-encoding", "transfer-encoding", "date", "server", "connection"}


def _json_response(body: Any, status: int, headers: dict[str, str] | None = None) -> Response:
    return Response(json.dumps(body), status_code=status, media_type="application/json", headers=headers)


def broken_app(inner) -> FastAPI:
    """The broken node in front of ``inner`` (a jaldpi ASGI app)."""
    app = FastAPI(openapi_url=None, docs_url=None, redoc_url=None)  # the inner node's /openapi.json passes through
    client = httpx.AsyncClient(transport=httpx.ASGITransport(app=inner), base_url="http://inner")

    async def forward(method: str, path: str, params: list[tuple[str, str]], headers: dict[str, str],
                      body: bytes) -> httpx.Response:
        return await client.request(method, "/" + path, params=params, headers=headers, content=body)

    async def offset_pages(path: str, params: list[tuple[str, str]], headers: dict[str, str]) -> Response:
        """Offset pagination with a cursor that is an offset; each page starts at the previous page's last item."""
        query = dict(params)
        limit = int(query.pop("limit", "100"))
        after = query.pop("after", None)
        if after is not None and not after.isdigit():
            return _json_response({"error": {"code": "validation_failed", "message": "invalid cursor",
                                             "details": [{"field": "after", "problem": "not an offset"}]}}, 422)
        everything = await forward("GET", path, [*query.items(), ("limit", "500")], headers, b"")
        items = everything.json()["items"]
        start = int(after or 0)
        end = start + limit
        # the bug: the next page starts at the last item of this one (an off-by-one in offset arithmetic)
        return _json_response({"items": items[start:end], "next_cursor": str(end - 1) if end < len(items) else None},
                              200)

    @app.api_route("/{path:path}", methods=["GET", "POST", "PATCH", "DELETE"])
    async def proxy(request: Request, path: str) -> Response:
        params = list(request.query_params.multi_items())
        headers = {k: v for k, v in request.headers.items() if k.lower() not in HOP_HEADERS | {"host"}}
        body = await request.body()
        parts = path.strip("/").split("/")
        method = request.method

        if method == "GET" and path == "api/v1/admin_units":
            limit = dict(params).get("limit", "100")
            if limit.isdigit() and int(limit) >= 1:
                return await offset_pages(path, params, headers)
        if method == "PATCH" and parts[:2] == ["api", "v1"] and len(parts) == 4:
            headers.pop("if-match", None)
            payload = json.loads(body or b"{}")
            payload.pop("version", None)
            body = json.dumps(payload).encode()
        if method == "POST" and parts[-1:] == ["bulk"]:
            params = [(k, v) for k, v in params if k != "dry_run"]

        answer = await forward(method, path, params, headers, body)
        out_headers = {k: v for k, v in answer.headers.items() if k.lower() not in HOP_HEADERS}
        content = answer.content

        if method == "POST" and path == "api/v1/auth/token" and answer.status_code == 401:
            return _json_response({"error": "invalid_grant"}, 400)
        if method == "GET" and parts[:2] == ["api", "v1"] and len(parts) == 4 and answer.status_code == 404:
            return _json_response({"detail": "Not Found"}, 404)
        if method == "GET" and path == "standard/v1/schemas/entities.json":
            schema = answer.json()
            schema["type"] = "objekt"
            content = json.dumps(schema).encode()
        if method == "GET" and path in ("standard/v1/codelists", "standard/v1/codelists/genders"):
            lists = answer.json()
            genders = lists["genders"] if path.endswith("codelists") else lists
            for item in genders["items"]:
                item["label"].pop("hi", None)
            content = json.dumps(lists).encode()
        if method == "POST" and parts[-1:] == ["bulk"] and answer.headers.get("content-type", "").startswith(
                "application/json"):
            summary = answer.json()
            for row in summary.get("rows", []):
                for error in row.get("errors", []):
                    if error.get("code") == "reference_not_found":
                        error["code"] = "bad_reference"
            content = json.dumps(summary).encode()
        return Response(content, status_code=answer.status_code, headers=out_headers)

    return app
