"""The ``documents`` registry: document metadata written through the one write path, bound to stored content.

Rules (checked on every write, single or bulk, so that metadata and bytes never diverge):

* ``sha256`` names content that is in the node's blob store, and ``size_bytes`` is that content's size (filled in
  from the store when absent);
* ``media_type`` is one the ``document_type`` accepts (``settings.documents_media_types``), the file name's extension
  fits it, and the content's first bytes do too (signatures in media.py);
* the document types listed in ``settings.documents_geotag_required`` (default: photo) carry lon/lat.
"""

from __future__ import annotations

import uuid
from typing import Any

from jaldpi.core.registry import Filter, Reference, RegistrySpec
from jaldpi.documents import media
from jaldpi.documents.models import Document
from jaldpi.documents.schemas import DocumentIn
from jaldpi.documents.storage import BlobNotFound, blob_store

ADMIN_LEVELS = ("state", "district", "subdistrict", "block", "gram_panchayat", "village", "habitation")


def content_url(record_id: str) -> str:
    return f"/api/v1/documents/{record_id}/content"


def public_url(record_id: str) -> str:
    return f"/public/v1/documents/{record_id}/content"


def _output(record: dict[str, Any]) -> dict[str, Any]:
    record["content_url"] = content_url(record["id"])
    record["public_url"] = public_url(record["id"]) if record.get("public") else None
    return record


def spec(settings) -> RegistrySpec:
    allowed_types: dict[str, list[str]] = settings.documents_media_types
    geotag_required = frozenset(settings.documents_geotag_required)

    def store():
        return blob_store(settings)  # built on first use: a node that keeps no documents needs no bucket

    def derive(data: dict[str, Any], resolved: dict[str, Any]) -> str:
        if data.get("size_bytes") is None:
            try:
                data["size_bytes"] = store().size(data["sha256"])
            except BlobNotFound:
                pass  # refused by the rules below, naming sha256
        return resolved["admin_unit"]["lgd_path"]

    def rules(data: dict[str, Any]) -> list[tuple[str, str]]:
        problems: list[tuple[str, str]] = []
        kind, media_type = data["document_type"], data["media_type"]
        accepted = allowed_types.get(kind, [])
        if media_type not in accepted:
            problems.append(("media_type", f"a {kind} document is one of: {', '.join(accepted) or 'none'} "
                                           f"(got {media_type})"))
        else:
            problem = media.extension_problem(media_type, data["filename"])
            if problem:
                problems.append(("filename", problem))
        if kind in geotag_required and (data.get("lon") is None or data.get("lat") is None):
            problems.append(("lon", f"a {kind} document carries its geotag (lon and lat, WGS 84 degrees)"))
        blobs = store()
        sha256 = data["sha256"]
        try:
            size = blobs.size(sha256)
        except BlobNotFound:
            problems.append(("sha256", "no content with this sha256 is stored on this node: upload the file "
                                       "(POST /api/v1/documents/upload) instead of sending only its metadata"))
            return problems
        if data.get("size_bytes") is not None and data["size_bytes"] != size:
            problems.append(("size_bytes", f"the stored content has {size} bytes, not {data['size_bytes']}"))
        if not any(f == "media_type" for f, _ in problems):
            with blobs.open(sha256) as stream:
                head = stream.read(media.SNIFF_BYTES)
            problem = media.content_problem(media_type, head)
            if problem:
                problems.append(("media_type", problem))
        return problems

    return RegistrySpec(
        name="documents", title="document", table=Document.__table__, schema=DocumentIn, code_prefix="DOC",
        derive_path=derive,
        references=(Reference("admin_unit", "admin_unit_id", "admin_units", levels=ADMIN_LEVELS),),
        filters={
            "document_type": Filter("document_type", str, "code list document_types"),
            "admin_unit_id": Filter("admin_unit_id", uuid.UUID),
            "subject_type": Filter("subject_type", str, "what the documents document, e.g. schemes"),
            "subject_id": Filter("subject_id", str, "id or code of the documented record"),
            "sha256": Filter("sha256", str, "documents with exactly this content"),
            "public": Filter("public", bool),
        },
        search_column="title",
        read_permission="documents:read",
        write_permission="documents:write",
        validate_row=rules,
        output=_output,
        output_fields=("content_url", "public_url"),
    )


def specs(settings, workflows) -> list[RegistrySpec]:
    """The RegistrySpecs this domain adds to the node's catalogue."""
    return [spec(settings)]
