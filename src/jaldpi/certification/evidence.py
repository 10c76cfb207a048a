"""The documents a certification rests on: lookups and publication through the documents domain.

The files themselves are kept by :mod:`jaldpi.documents` (content-hashed, on disk or S3-compatible storage); this
module only reads what certification needs to know about them (type, village, public flag) and makes them public
once a village is certified. Keeping every call to the documents domain here keeps the dependency in one place.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from typing import Any

from sqlalchemy.orm import Session

from jaldpi.core.ids import parse_uuid

COMPLETION_CERTIFICATE = "completion_certificate"
RESOLUTION = "gram_sabha_resolution"
VIDEO = "video"
HGJ_CERTIFICATE = "hgj_certificate"
VILLAGE_ACTION_PLAN = "village_action_plan"


def load(session: Session, ids: Iterable[Any]) -> dict[str, dict[str, Any]]:
    """Documents by id (str), deleted ones left out; ids that are not UUIDs are ignored."""
    from jaldpi.documents.service import documents_by_id

    wanted = [u for u in (parse_uuid(str(i)) for i in ids if i is not None) if u is not None]
    if not wanted:
        return {}
    found = documents_by_id(session, wanted)
    return {str(k): v for k, v in found.items() if not v.get("deleted_at")}


def problem(doc: dict[str, Any] | None, *, field: str, document_type: str, village_id: str,
            village_path: str) -> str | None:
    """Why ``doc`` cannot serve as the ``document_type`` of this village (None when it can).

    A document is of the village when it was filed under the village itself or under one of its habitations
    (its jurisdiction path lies under the village's).
    """
    if doc is None:
        return f"{field}: no document with this id (upload it first through the documents API)"
    if doc.get("document_type") != document_type:
        return f"{field}: document {doc.get('code')} is a {doc.get('document_type')}, not a {document_type}"
    if str(doc.get("admin_unit_id")) != str(village_id) and not str(doc.get("lgd_path", "")).startswith(village_path):
        return f"{field}: document {doc.get('code')} belongs to another village"
    return None


def publish(session: Session, principal, documents_registry, ids: Iterable[uuid.UUID | str]) -> None:
    """Make documents public (the certification's evidence is open once the village is certified), through the
    documents registry's one write path (so the change log and the federation see it)."""
    from jaldpi.core.errors import ValidationFailed
    from jaldpi.core.registry import Strategy

    items = [{"id": str(i), "public": True} for i in dict.fromkeys(str(i) for i in ids if i)]
    if not items:
        return
    summary = documents_registry.import_records(session, principal, items, strategy=Strategy.update)
    errors = [e for r in summary.rows for e in r.errors]
    if errors:
        raise ValidationFailed("the certification's documents could not be made public: " + errors[0]["message"],
                               details=[{"field": e["field"], "problem": e["message"]} for e in errors])


def public_url(doc: dict[str, Any]) -> str:
    """Where anyone can fetch a public document's content."""
    return f"/public/v1/documents/{doc['id']}/content"
