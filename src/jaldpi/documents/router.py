"""HTTP routes of the documents domain: upload (multipart), content download (scoped), public content.

The metadata has the generic registry routes (/api/v1/documents: search, get, patch, delete, history, bulk); these
routes add what a registry of JSON records cannot do: carry the bytes.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from typing import Any
from urllib.parse import quote

import orjson
from fastapi import APIRouter, Depends, File, Form, Request, UploadFile
from fastapi.responses import Response, StreamingResponse
from sqlalchemy import select

from jaldpi.core.api import current_principal, json_response, node_of
from jaldpi.core.errors import NotFound, Unauthenticated, ValidationFailed
from jaldpi.core.ids import parse_uuid
from jaldpi.core.security import Principal
from jaldpi.documents.models import Document
from jaldpi.documents.service import (
    guess_media_type,
    open_content,
    record_document,
    require_writer,
    store_content,
)
from jaldpi.documents.storage import CHUNK_BYTES

UPLOAD_PATH = "/api/v1/documents/upload"

# Media types a browser may show in place; anything else is offered as a download.
INLINE_TYPES = frozenset({"image/jpeg", "image/png", "image/webp", "video/mp4", "video/webm", "application/pdf"})

router = APIRouter(tags=["document"])


def upload_body_limits(settings: Any) -> dict[str, int]:
    """Request-body limits by path for the node's body-size middleware: the upload route takes documents up to
    ``documents_max_bytes`` plus the multipart overhead, where every other route keeps ``max_body_bytes``."""
    return {UPLOAD_PATH: settings.documents_max_bytes + settings.documents_form_overhead_bytes}


@router.post(UPLOAD_PATH, status_code=201, summary="Upload a document: the file and its metadata (multipart form)",
             responses={201: {"description": "the document record (as GET /api/v1/documents/{id})"},
                        413: {"description": "larger than the node's documents_max_bytes"}})
def upload_document(
    request: Request,
    file: UploadFile = File(description="The file"),
    document_type: str = Form(description="code list document_types"),
    admin_unit: str = Form(description="LGD code, id or code of the unit the document belongs to (usually a village)"),
    media_type: str | None = Form(None, description="IANA media type; default: the file part's Content-Type, "
                                  "else guessed from the file name"),
    filename: str | None = Form(None, description="default: the file part's file name"),
    title: str | None = Form(None),
    captured_at: dt.datetime | None = Form(None, description="when the photo or video was taken (ISO 8601)"),
    lon: float | None = Form(None, description="geotag longitude, WGS 84 degrees"),
    lat: float | None = Form(None, description="geotag latitude, WGS 84 degrees"),
    subject_type: str | None = Form(None),
    subject_id: str | None = Form(None),
    public: bool = Form(False, description="the content may be served to anyone"),
    attributes: str | None = Form(None, description="a JSON object"),
    external_ids: str | None = Form(None, description="a JSON object {system: value}; makes retries idempotent"),
    principal: Principal = Depends(current_principal),
) -> Response:
    node = node_of(request)
    require_writer(principal)
    name = filename or file.filename or ""
    if not name:
        raise ValidationFailed("the file has no name", details=[{"field": "filename", "problem": "required"}])
    declared = media_type or (file.content_type or "").split(";", 1)[0].strip().lower()
    if not declared or declared == "application/octet-stream":
        declared = guess_media_type(name) or declared or "application/octet-stream"
    extra = {"attributes": _json_object("attributes", attributes), "external_ids": _json_object("external_ids",
                                                                                                external_ids)}
    # The bytes first, outside the unit of work: copying a video must not hold the database.
    sha256, size = store_content(node.settings, file.file)
    with node.db.unit_of_work() as session:
        record = record_document(
            session, principal, node.settings, sha256=sha256, size_bytes=size, filename=name, media_type=declared,
            document_type=document_type, admin_unit=admin_unit, title=title, captured_at=captured_at, lon=lon,
            lat=lat, subject_type=subject_type, subject_id=subject_id, public=public,
            attributes=extra["attributes"], external_ids=extra["external_ids"], catalogue=node.catalogue)
    return json_response(record, 201, {"Location": f"/api/v1/documents/{record['id']}"})


@router.get("/api/v1/documents/{key}/content", summary="Download a document's content (within your jurisdiction)",
            response_class=Response, responses={200: {"content": {"application/octet-stream": {}}}})
def document_content(request: Request, key: str, principal: Principal = Depends(current_principal)) -> Response:
    node = node_of(request)
    if principal.is_anonymous:
        raise Unauthenticated("sign in to read documents (public ones: /public/v1/documents/{key}/content)")
    with node.db.unit_of_work(write=False) as session:
        record = node.catalogue["documents"].get(session, principal, key)  # 404 outside the jurisdiction
    return _content_response(request, record, cache="private")


@router.get("/public/v1/documents/{key}/content", summary="Download a public document's content (no sign-in)",
            response_class=Response, responses={200: {"content": {"application/octet-stream": {}}}})
def public_document_content(request: Request, key: str) -> Response:
    node = node_of(request)
    table = Document.__table__
    rid = parse_uuid(key)
    cond = table.c.id == rid if rid else table.c.code == key
    with node.db.unit_of_work(write=False) as session:
        row = session.execute(select(table).where(cond, table.c.public.is_(True), table.c.deleted_at.is_(None))
                              ).mappings().first()
    if row is None:  # the same answer for missing and not public: no oracle
        raise NotFound(f"no public document '{key}'")
    return _content_response(request, dict(row), cache="public, max-age=3600")


def _json_object(field: str, raw: str | None) -> dict[str, Any] | None:
    if raw in (None, ""):
        return None
    try:
        value = orjson.loads(raw)
    except orjson.JSONDecodeError:
        value = None
    if not isinstance(value, dict):
        raise ValidationFailed(f"{field} must be a JSON object", details=[{"field": field,
                                                                          "problem": "not a JSON object"}])
    return value


def content_disposition(filename: str, inline: bool) -> str:
    """RFC 6266: an ASCII fallback name plus the exact UTF-8 name (RFC 8187), so Hindi file names survive."""
    fallback = "".join(c if 32 <= ord(c) < 127 and c not in '"\\' else "_" for c in filename) or "document"
    kind = "inline" if inline else "attachment"
    return f"{kind}; filename=\"{fallback}\"; filename*=UTF-8''{quote(filename, safe='')}"


def _content_response(request: Request, record: dict[str, Any], *, cache: str) -> Response:
    node = node_of(request)
    sha256 = record["sha256"]
    etag = f'"{sha256}"'
    headers = {
        "ETag": etag,
        "Cache-Control": cache,
        "X-Content-Type-Options": "nosniff",
        # uploaded content is never a page of this origin: no scripts, no requests, even if a browser renders it
        "Content-Security-Policy": "default-src 'none'; sandbox",
        "Content-Disposition": content_disposition(record["filename"], record["media_type"] in INLINE_TYPES),
    }
    if etag in [t.strip() for t in request.headers.get("if-none-match", "").split(",")]:
        return Response(status_code=304, headers=headers)
    stream, size = open_content(node.settings, sha256)
    headers["Content-Length"] = str(size)

    def chunks() -> Iterator[bytes]:
        try:
            while True:
                chunk = stream.read(CHUNK_BYTES)
                if not chunk:
                    return
                yield chunk
        finally:
            stream.close()

    return StreamingResponse(chunks(), media_type=record["media_type"], headers=headers)
