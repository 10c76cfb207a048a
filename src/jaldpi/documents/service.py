"""Service functions of the documents domain: store a document (bytes, then its record), look documents up for
other domains' guards, serve content, check the store's integrity.

Services flush, never commit: the caller's unit of work commits the record and its change-log entry together. The
bytes are stored before the record is written (the record's rule checks they are there); if the record is refused or
the unit of work rolls back, the bytes stay behind as an orphan blob: harmless (no record points at it, so no API
serves it), and ``jaldpi documents verify`` lists it.
"""

from __future__ import annotations

import datetime as dt
import io
import uuid
from collections.abc import Iterable
from pathlib import PurePosixPath
from typing import Any, BinaryIO

from sqlalchemy import select
from sqlalchemy.orm import Session

from jaldpi.core.errors import Forbidden, NotFound, PayloadTooLarge, Unauthenticated, ValidationFailed
from jaldpi.core.ids import parse_uuid
from jaldpi.core.registry import Catalogue, Registry, Strategy
from jaldpi.core.security import Principal
from jaldpi.documents import media
from jaldpi.documents.models import Document
from jaldpi.documents.storage import (
    BlobNotFound,
    BlobStore,
    BlobTooLarge,
    EmptyContent,
    blob_store,
    sha256_of_stream,
)

WRITE = "documents:write"
READ = "documents:read"

def _registry(settings: Any, catalogue: Catalogue | None) -> Registry:
    """The documents registry of the node's ``catalogue`` (a route's ``node.catalogue``, a hook's
    ``ctx.engine.catalogue``). Only a caller with no node at hand gets, as a last resort, a catalogue built from
    ``settings`` for this call (specs only, no database access)."""
    if catalogue is None:
        from jaldpi.registries import build_catalogue

        catalogue = build_catalogue(settings)
    return catalogue["documents"]


def clean_filename(filename: str) -> str:
    """The last part of a path as some clients send it (``C:\\fakepath\\x.jpg``); folders are never kept."""
    return PurePosixPath(filename.replace("\\", "/")).name.strip()


def guess_media_type(filename: str) -> str | None:
    """The media type a file name's extension stands for (media.EXTENSIONS), or None."""
    name = filename.lower()
    for media_type, extensions in media.EXTENSIONS.items():
        if name.endswith(extensions):
            return media_type
    return None


def store_content(settings: Any, content: bytes | BinaryIO) -> tuple[str, int]:
    """Store bytes in the node's blob store (streamed, hashed, stored once); return (sha256, size in bytes).

    Refuses empty content (422) and content above ``settings.documents_max_bytes`` (413), storing nothing.
    """
    source = io.BytesIO(content) if isinstance(content, bytes | bytearray | memoryview) else content
    try:
        return blob_store(settings).put_file(source, max_bytes=settings.documents_max_bytes)
    except BlobTooLarge as exc:
        raise PayloadTooLarge(f"the file is larger than the limit of {exc.limit} bytes",
                              details=[{"field": "file", "problem": f"at most {exc.limit} bytes"}]) from None
    except EmptyContent:
        raise ValidationFailed("the file is empty", details=[{"field": "file", "problem": "0 bytes"}]) from None


def store_document(session: Session, principal: Principal, settings: Any, *, content: bytes | BinaryIO,
                   filename: str, media_type: str, document_type: str, admin_unit: Any, title: str | None = None,
                   captured_at: dt.datetime | str | None = None, lon: float | None = None, lat: float | None = None,
                   subject_type: str | None = None, subject_id: str | None = None, public: bool = False,
                   attributes: dict[str, Any] | None = None, external_ids: dict[str, str] | None = None,
                   catalogue: Catalogue | None = None) -> dict[str, Any]:
    """Store ``content`` and write its record through the registry's one write path; return the record.

    ``admin_unit`` is an LGD code, id or code of the unit the document belongs to (its jurisdiction). With
    ``external_ids`` a retry of the same upload finds the record it wrote and changes nothing (idempotent).
    Refusals: 401/403 without ``documents:write``, 413 too large, 422 empty, unknown type, media type not accepted
    for the type or contradicted by the file name or the bytes, missing geotag where required, 403 out of
    jurisdiction (see registry.py for the rules).

    Large files (videos) are better stored with :func:`store_content` BEFORE the unit of work opens, then recorded
    with :func:`record_document` inside it, so that the database is not held while the bytes are copied.

    Pass the node's ``catalogue`` (``node.catalogue``; ``ctx.engine.catalogue`` in a workflow hook): without it a
    catalogue is built from ``settings`` for the call.
    """
    require_writer(principal)
    sha256, size = store_content(settings, content)
    return record_document(session, principal, settings, sha256=sha256, size_bytes=size, filename=filename,
                           media_type=media_type, document_type=document_type, admin_unit=admin_unit, title=title,
                           captured_at=captured_at, lon=lon, lat=lat, subject_type=subject_type,
                           subject_id=subject_id, public=public, attributes=attributes, external_ids=external_ids,
                           catalogue=catalogue)


def require_writer(principal: Principal) -> None:
    """Refuse callers who may add documents nowhere (checked before any bytes are stored)."""
    if not principal.has(WRITE):
        if principal.is_anonymous:
            raise Unauthenticated("sign in to add documents")
        raise Forbidden("your roles do not allow adding documents (documents:write)")


def record_document(session: Session, principal: Principal, settings: Any, *, sha256: str,
                    size_bytes: int | None = None, filename: str, media_type: str, document_type: str,
                    admin_unit: Any, title: str | None = None, captured_at: dt.datetime | str | None = None,
                    lon: float | None = None, lat: float | None = None, subject_type: str | None = None,
                    subject_id: str | None = None, public: bool = False, attributes: dict[str, Any] | None = None,
                    external_ids: dict[str, str] | None = None, catalogue: Catalogue | None = None
                    ) -> dict[str, Any]:
    """Write the record of content already stored (``sha256``) through the registry's one write path."""
    item: dict[str, Any] = {
        "document_type": document_type, "filename": clean_filename(filename), "media_type": media_type,
        "size_bytes": size_bytes, "sha256": sha256, "admin_unit": admin_unit, "title": title,
        "captured_at": captured_at, "lon": lon, "lat": lat, "subject_type": subject_type, "subject_id": subject_id,
        "public": public, "attributes": attributes or {},
    }
    if external_ids:
        item["external_ids"] = external_ids
    return _registry(settings, catalogue).write_one(session, principal, item, Strategy.create_and_update)


def _plain(value: Any) -> Any:
    if isinstance(value, uuid.UUID):
        return str(value)
    if isinstance(value, dt.datetime):
        return (value.replace(tzinfo=dt.UTC) if value.tzinfo is None else value.astimezone(dt.UTC)).isoformat()
    return value


def documents_by_id(session: Session, ids: Iterable[str | uuid.UUID]) -> dict[str, dict[str, Any]]:
    """Documents (not deleted) by id, WITHOUT a jurisdiction check: for other domains' guards ("is this id a
    gram_sabha_resolution of this village?"). Keys are ``str(uuid)``; ids not found (or deleted, or not UUIDs) are
    absent. Values are the stored columns, JSON-ready (ids and instants as strings), including ``lgd_path``."""
    wanted = {u for u in (parse_uuid(str(i)) for i in ids) if u is not None}
    if not wanted:
        return {}
    table = Document.__table__
    found: dict[str, dict[str, Any]] = {}
    chunk = sorted(wanted)
    for start in range(0, len(chunk), 5000):
        rows = session.execute(select(table).where(table.c.id.in_(chunk[start:start + 5000]),
                                                   table.c.deleted_at.is_(None))).mappings()
        for row in rows:
            found[str(row["id"])] = {k: _plain(v) for k, v in row.items()}
    return found


def open_content(settings: Any, sha256: str) -> tuple[BinaryIO, int]:
    """A stream of the stored content (the caller closes it) and its size in bytes; 404 when not stored."""
    store = blob_store(settings)
    try:
        size = store.size(sha256)
        return store.open(sha256), size
    except BlobNotFound:
        raise NotFound(f"no stored content has sha256 {sha256}") from None


def verify_store(session: Session, store: BlobStore) -> dict[str, Any]:
    """Re-hash every stored blob against its name and compare the store with the records.

    Returns ``{"checked", "bytes", "corrupt": [sha256...], "missing": [{"code", "sha256"}...], "orphans": [...]}``:
    corrupt = content no longer matches its name (disk or bucket damage); missing = a live record's content is
    absent (restore it from backup); orphans = stored content no record points at (an upload whose record was
    refused or rolled back: harmless, may be removed).
    """
    table = Document.__table__
    referenced = {sha for (sha,) in session.execute(select(table.c.sha256).distinct())}
    stored: set[str] = set()
    corrupt: list[str] = []
    total = 0
    for name in store.names():
        stored.add(name)
        with store.open(name) as stream:
            digest, size = sha256_of_stream(stream)
        total += size
        if digest != name:
            corrupt.append(name)
    missing = [{"code": code, "sha256": sha} for code, sha in session.execute(
        select(table.c.code, table.c.sha256).where(table.c.deleted_at.is_(None)).order_by(table.c.code))
        if sha not in stored]
    return {"checked": len(stored), "bytes": total, "corrupt": sorted(corrupt), "missing": missing,
            "orphans": sorted(stored - referenced)}
