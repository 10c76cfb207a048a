"""Checks of the change feed, GET /api/v1/changes (docs/feed_and_webhooks.md): the page and change shape, resuming
from any cursor without gaps or duplicates, deletes included, the types filter, and jurisdiction.

Changes the kit causes are found with ``since`` = the target's own clock (its Date header) when the run began, so a
clock difference between the kit's machine and the target does not matter.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from jaldpi.conformance.checks import check
from jaldpi.conformance.context import WRITE_REGISTRY, RunContext
from jaldpi.conformance.http import Answer, CheckFailed, CheckSkipped, PrerequisiteFailed

FEED = "/api/v1/changes"
CHANGE_FIELDS = ("seq", "cursor", "record_type", "record_id", "operation", "version", "occurred_at", "lgd_path",
                 "record", "changes", "hash")
OPERATIONS = frozenset({"create", "update", "delete", "restore"})
MAX_PAGES = 20


def page(ctx: RunContext, params: dict[str, Any], token: str | None = None) -> tuple[Answer, dict[str, Any]]:
    """One feed page, or CheckFailed naming how it departs from {items, next_cursor, has_more}."""
    if token is None and ctx.options.credential is not None:
        token = ctx.token()  # without a credential the feed is read anonymously: public record types only
    answer = ctx.target.get(FEED, params=params, token=token)
    answer.expect(200)
    body = answer.json()
    if not isinstance(body, dict) or not isinstance(body.get("items"), list):
        raise CheckFailed(f"{answer.label}: expected {{items, next_cursor, has_more}}, got {answer.snippet()}")
    if "next_cursor" not in body:
        raise CheckFailed(f"{answer.label}: next_cursor is missing (it must always be present)")
    if not isinstance(body.get("has_more"), bool):
        raise CheckFailed(f"{answer.label}: has_more is {body.get('has_more')!r}, expected true or false")
    if body["items"] and not (isinstance(body["next_cursor"], str) and body["next_cursor"]):
        raise CheckFailed(f"{answer.label}: next_cursor is {body['next_cursor']!r} after {len(body['items'])} "
                          "changes, expected a cursor to resume from")
    return answer, body


def since_start(ctx: RunContext) -> str:
    """``since`` covering this run: the target's clock at the start, less a margin for its one-second resolution."""
    start = ctx.server_started_at or (dt.datetime.now(dt.UTC) - dt.timedelta(minutes=5))
    return (start - dt.timedelta(seconds=2)).astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def changes_of(ctx: RunContext, record_ids: set[str], token: str | None = None) -> tuple[str, list[dict[str, Any]]]:
    """Every change of the write registry since the run began whose record is one of ``record_ids``."""
    params: dict[str, Any] = {"types": WRITE_REGISTRY, "since": since_start(ctx), "limit": 200}
    found: list[dict[str, Any]] = []
    first_label = ""
    for _ in range(MAX_PAGES):
        answer, body = page(ctx, params, token)
        first_label = first_label or answer.label
        found += [c for c in body["items"] if isinstance(c, dict) and c.get("record_id") in record_ids]
        if not body["has_more"]:
            break
        params["after"] = body["next_cursor"]
    return first_label, found


def _first_changes(ctx: RunContext, limit: int) -> tuple[Answer, dict[str, Any]]:
    answer, body = page(ctx, {"limit": limit})
    if len(body["items"]) < 4 and ctx.options.credential is not None and not ctx.options.read_only:
        try:
            ctx.created_record("main")  # an empty feed on a new node: make a change to look at
        except PrerequisiteFailed:
            pass
        answer, body = page(ctx, {"limit": limit})
    return answer, body


@check("FEED-001")
def change_shape(ctx: RunContext) -> str:
    answer, body = _first_changes(ctx, 50)
    items = body["items"]
    if not items:
        raise CheckSkipped(f"{answer.label}: the feed has no changes to inspect")
    last_seq = None
    for position, change in enumerate(items):
        if not isinstance(change, dict):
            raise CheckFailed(f"{answer.label}: item {position} is not an object")
        missing = [f for f in CHANGE_FIELDS if f not in change]
        if missing:
            raise CheckFailed(f"{answer.label}: change {change.get('seq', position)} lacks {', '.join(missing)}")
        if change["operation"] not in OPERATIONS:
            raise CheckFailed(f"{answer.label}: change {change['seq']} has operation {change['operation']!r}, "
                              f"expected one of {', '.join(sorted(OPERATIONS))}")
        seq = change["seq"]
        if not isinstance(seq, int) or (last_seq is not None and seq <= last_seq):
            raise CheckFailed(f"{answer.label}: seq {seq!r} follows {last_seq}; expected increasing integers")
        last_seq = seq
    return f"{len(items)} changes with every documented field, seq increasing"


def _seqs(items: list[Any]) -> list[Any]:
    return [c.get("seq") for c in items if isinstance(c, dict)]


@check("FEED-002")
def resumable(ctx: RunContext) -> str:
    answer, reference = _first_changes(ctx, 50)
    items = reference["items"]
    if len(items) < 4:
        raise CheckSkipped(f"{answer.label}: only {len(items)} changes, too few to page through")
    expected = _seqs(items)
    size, walked, cursor = 3, [], None
    while len(walked) < min(len(expected), 12):
        params: dict[str, Any] = {"limit": size}
        if cursor:
            params["after"] = cursor
        step, body = page(ctx, params)
        if not body["items"]:
            break
        walked += _seqs(body["items"])
        cursor = body["next_cursor"]
    if walked[:len(expected)] != expected[:len(walked)] or len(walked) < min(len(expected), 12):
        raise CheckFailed(f"pages of limit={size} give seq {walked[:12]}, one page of limit=50 gives "
                          f"{expected[:12]}")
    middle = len(items) // 2
    step, body = page(ctx, {"after": items[middle - 1]["cursor"], "limit": size})
    resumed = _seqs(body["items"])
    if resumed != expected[middle:middle + size]:
        raise CheckFailed(f"{step.label} (the cursor of seq {expected[middle - 1]}): got seq {resumed}, expected "
                          f"{expected[middle:middle + size]}")
    note = ""
    if not reference["has_more"]:
        step, body = page(ctx, {"after": reference["next_cursor"]})
        if body["items"] or body["next_cursor"] != reference["next_cursor"] or body["has_more"]:
            raise CheckFailed(f"{step.label} (past the last change): expected no items, the same next_cursor and "
                              f"has_more false, got {len(body['items'])} items, next_cursor "
                              f"{body['next_cursor']!r}, has_more {body['has_more']}")
        note = "; past the end: no items, same cursor"
    return f"{len(walked)} changes over pages of {size} match one page; resumed mid-way from a cursor{note}"


@check("FEED-003")
def deletes_included(ctx: RunContext) -> str:
    record = ctx.created_record("feed")
    version = record.get("version", 1)
    ctx.target.patch(f"/api/v1/{WRITE_REGISTRY}/{record['id']}", json={"registration_number": f"{ctx.tag}-feed",
                                                                        "version": version},
                     token=ctx.token()).expect(200)
    ctx.target.delete(f"/api/v1/{WRITE_REGISTRY}/{record['id']}", token=ctx.token()).expect(200)
    label, changes = changes_of(ctx, {record["id"]})
    operations = [c.get("operation") for c in changes]
    if operations != ["create", "update", "delete"]:
        raise CheckFailed(f"{label}: record {record['id']} shows operations {operations}, expected create, update, "
                          "delete")
    versions = [c.get("version") for c in changes]
    if versions != [1, 2, 3]:
        raise CheckFailed(f"{label}: record {record['id']} shows versions {versions}, expected 1, 2, 3")
    if changes[-1].get("record") is not None:
        raise CheckFailed(f"{label}: the delete of record {record['id']} carries a record snapshot, expected null")
    return "create, update and delete of a test record appear in order, the delete with record null"


@check("FEED-004")
def types_filter(ctx: RunContext) -> str:
    _, reference = _first_changes(ctx, 50)
    kinds = sorted({c.get("record_type") for c in reference["items"] if isinstance(c, dict)})
    if not kinds:
        raise CheckSkipped("the feed has no changes to filter")
    wanted = kinds[0]
    answer, body = page(ctx, {"types": wanted, "limit": 50})
    others = sorted({c.get("record_type") for c in body["items"]} - {wanted})
    if others:
        raise CheckFailed(f"{answer.label}: also lists changes of {', '.join(map(str, others))}")
    if not body["items"]:
        raise CheckFailed(f"{answer.label}: no changes, though the unfiltered feed has {wanted} changes")
    return f"types={wanted} lists only {wanted} changes"


@check("FEED-005")
def feed_respects_jurisdiction(ctx: RunContext) -> str:
    narrow = ctx.narrow_login()
    outside = ctx.created_record("outside", ctx.outside_village())
    params = {"types": WRITE_REGISTRY, "since": since_start(ctx), "limit": 1}
    probe = ctx.target.get(FEED, params=params, token=narrow.token)
    if probe.status in (401, 403):
        return f"{probe.label}: the narrow credential may not read the feed at all ({probe.status})"
    label, changes = changes_of(ctx, {outside["id"]}, token=narrow.token)
    if changes:
        raise CheckFailed(f"{label} as the narrow {narrow.credential.describe()} lists {len(changes)} change(s) of "
                          f"record {outside['id']} in {ctx.outside_village().describe()}, outside its jurisdiction")
    return "changes of a record outside the narrow credential's jurisdiction are not in its feed"
