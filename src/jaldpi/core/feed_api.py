"""HTTP routes of the change feed: ``GET /api/v1/changes`` and ``GET /api/v1/changes/types``.

The contract (the client SDK and the conformance kit are built against it) is in docs/feed_and_webhooks.md; the
query itself is :func:`jaldpi.core.feed.read_changes`. The node supplies the published record types and their read
permissions in ``node.extras["feed_types"]`` (a :class:`~jaldpi.core.feed.FeedTypes`).
"""

from __future__ import annotations

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import Response
from pydantic import BaseModel, Field

from jaldpi.core.api import current_principal, json_response, node_of, refuse_unknown_query
from jaldpi.core.errors import ValidationFailed
from jaldpi.core.feed import FeedTypes, decode_seq, parse_instant, read_changes
from jaldpi.core.security import Principal

_PARAMETERS = {"after", "types", "within", "since", "until", "limit"}


class ChangeOut(BaseModel):
    seq: int = Field(description="change-log sequence number: commit order, strictly increasing")
    cursor: str = Field(description="resume after this item: pass it as `after`")
    record_type: str
    record_id: str
    operation: str = Field(description="create | update | delete | restore")
    version: int = Field(description="the record's version after this change")
    occurred_at: str = Field(description="when the change was made (UTC, ISO 8601)")
    actor: str | None
    source_system: str | None
    lgd_path: str
    lgd: dict[str, int | str] = Field(description="LGD codes of the path by level")
    record: dict | None = Field(description="the record as it was after the change (personal data excluded); "
                                "null for a delete")
    changes: dict | None = Field(description="field -> [before, after]")
    hash: str = Field(description="the change-log hash of this entry (sha256 chain; `jaldpi audit verify`)")


class ChangePageOut(BaseModel):
    items: list[ChangeOut]
    next_cursor: str = Field(description="cursor to resume from (store it); equals `after` when there are no items")
    has_more: bool


def feed_types_of(request: Request) -> FeedTypes:
    return node_of(request).extras["feed_types"]


def feed_router() -> APIRouter:
    router = APIRouter(prefix="/api/v1/changes", tags=["change feed"])

    @router.get("", summary="The change feed: every change in commit order, resumable from any cursor",
                responses={200: {"model": ChangePageOut}})
    def list_changes(
        request: Request,
        after: str | None = Query(None, description="cursor from a previous page (`next_cursor` or an item's "
                                  "`cursor`); absent: from the beginning"),
        types: str | None = Query(None, description="comma-separated record types, e.g. households,samples"),
        within: str | None = Query(None, description="LGD unit as level:code (district:745) or a jurisdiction path"),
        since: str | None = Query(None, description="occurred at or after this ISO 8601 instant"),
        until: str | None = Query(None, description="occurred before this ISO 8601 instant"),
        limit: int | None = Query(None, ge=1, description="page size; capped by the node's max_page_size"),
        principal: Principal = Depends(current_principal),
    ) -> Response:
        node = node_of(request)
        refuse_unknown_query(request, _PARAMETERS)
        feed_types = feed_types_of(request)
        after_seq = decode_seq(after) if after else 0
        wanted = None
        if types is not None:
            wanted = feed_types.validate([t.strip() for t in types.split(",") if t.strip()])
            if not wanted:
                raise ValidationFailed("types: empty list", details=[{"field": "types",
                                       "problem": "name at least one record type, or leave the parameter out"}])
        start = parse_instant(since, field="since") if since else None
        end = parse_instant(until, field="until") if until else None
        if start and end and end <= start:
            raise ValidationFailed("until must be later than since",
                                   details=[{"field": "until", "problem": "not later than since"}])
        within_path = node.extras["resolve_within"](within) if within else None
        size = min(limit or node.settings.default_page_size, node.settings.max_page_size)
        with node.db.unit_of_work(write=False) as session:
            page = read_changes(session, feed_types, principal, after_seq=after_seq, types=wanted,
                                within=within_path, since=start, until=end, limit=size)
        return json_response(page.to_dict())

    @router.get("/types", summary="Record types of the feed you can read, and where")
    def readable_types(request: Request, principal: Principal = Depends(current_principal)) -> Response:
        refuse_unknown_query(request)
        feed_types = feed_types_of(request)
        items = [{"record_type": name, "permission": feed_types.permissions[name],
                  "public": feed_types.permissions[name] is None, "scope": prefixes}
                 for name, prefixes in feed_types.readable(principal).items()]
        return json_response({"items": items})

    return router
