"""Checks of bulk import (docs/api.md#bulk-import): the summary shape, dry run, atomic and per-record modes, the
documented per-row error codes, the three body formats, and refusal of unknown parameters.
"""

from __future__ import annotations

import csv
import io
import json
from typing import Any

from jaldpi.conformance.checks import check
from jaldpi.conformance.context import TAG_SYSTEM, WRITE_REGISTRY, RunContext, uuid7
from jaldpi.conformance.http import Answer, CheckFailed, expect_error

BULK = f"/api/v1/{WRITE_REGISTRY}/bulk"
ROW_ERROR_CODES = frozenset({"invalid", "not_found", "already_exists", "reference_not_found", "reference_ambiguous",
                             "out_of_jurisdiction", "version_conflict", "duplicate_in_payload",
                             "duplicate_external_id", "rule_violation", "owned_by_another_node"})
STATS = ("created", "updated", "deleted", "ignored", "errors", "total")


def bulk(ctx: RunContext, rows: list[dict[str, Any]], **params: Any) -> Answer:
    query = {k: str(v).lower() if isinstance(v, bool) else v for k, v in params.items()}
    return ctx.target.post(BULK, json=rows, params=query or None, token=ctx.token())


def summary_of(answer: Answer) -> dict[str, Any]:
    """The summary, or CheckFailed saying how it departs from the documented shape."""
    body = answer.json()
    problems = []
    if not isinstance(body, dict):
        raise CheckFailed(f"{answer.label}: expected the summary object, got {answer.snippet()}")
    for key, kind in (("registry", str), ("status", str), ("strategy", str), ("atomic", bool), ("dry_run", bool),
                      ("written", bool), ("stats", dict), ("rows", list)):
        if not isinstance(body.get(key), kind):
            problems.append(f"{key} is {body.get(key)!r:.40}, expected {kind.__name__}")
    if body.get("status") not in ("ok", "partial", "error"):
        problems.append(f"status is {body.get('status')!r}, expected ok, partial or error")
    stats = body.get("stats") if isinstance(body.get("stats"), dict) else {}
    for key in STATS:
        if not isinstance(stats.get(key), int) or isinstance(stats.get(key), bool):
            problems.append(f"stats.{key} is {stats.get(key)!r}, expected an integer")
    for row in body.get("rows") or []:
        if not isinstance(row, dict) or not all(k in row for k in ("index", "action", "errors")):
            problems.append(f"row {row!r:.60} lacks index, action or errors")
            break
    if problems:
        raise CheckFailed(f"{answer.label}: summary {'; '.join(problems)}")
    return body


def nothing_written(ctx: RunContext, answer: Answer, *purposes: str) -> None:
    for purpose in purposes:
        listed, found = ctx.find(purpose)
        if found:
            raise CheckFailed(f"{answer.label} wrote the row tagged {TAG_SYSTEM}:{ctx.external_id(purpose)} "
                              f"({listed.label} lists {len(found)} record)")


def missing_unit_row(ctx: RunContext, purpose: str) -> dict[str, Any]:
    """A row whose administrative unit does not exist (a random UUIDv7): a reference_not_found."""
    row = ctx.payload(purpose, ctx.home_village())
    row["admin_unit"] = uuid7()
    return row


@check("IMP-001")
def summary_shape(ctx: RunContext) -> str:
    rows = [ctx.payload("imp-shape-1", ctx.home_village()), ctx.payload("imp-shape-2", ctx.home_village())]
    answer = bulk(ctx, rows, dry_run=True).expect(200)
    summary = summary_of(answer)
    stats = summary["stats"]
    if summary["registry"] != WRITE_REGISTRY:
        raise CheckFailed(f"{answer.label}: registry is {summary['registry']!r}, expected {WRITE_REGISTRY!r}")
    if stats["total"] != len(rows) or sum(stats[k] for k in STATS[:-1]) != stats["total"]:
        raise CheckFailed(f"{answer.label}: stats {stats} do not add up to the {len(rows)} rows sent")
    return f"{answer.label}: summary with every documented field, stats add up"


@check("IMP-002")
def dry_run_writes_nothing(ctx: RunContext) -> str:
    answer = bulk(ctx, [ctx.payload("dry-run", ctx.home_village())], dry_run=True).expect(200)
    summary = summary_of(answer)
    nothing_written(ctx, answer, "dry-run")
    if summary["dry_run"] is not True or summary["written"] is not False:
        raise CheckFailed(f"{answer.label}: summary says dry_run={summary['dry_run']}, written="
                          f"{summary['written']}; expected true and false")
    if summary["stats"]["created"] != 1:
        raise CheckFailed(f"{answer.label}: stats.created is {summary['stats']['created']}, expected the 1 record "
                          "it would create")
    return f"{answer.label}: reports 1 created, written=false, and nothing was written"


@check("IMP-003")
def atomic_all_or_nothing(ctx: RunContext) -> str:
    rows = [ctx.payload("atomic-good", ctx.home_village()), missing_unit_row(ctx, "atomic-bad")]
    answer = bulk(ctx, rows, atomic=True).expect(422)
    summary = summary_of(answer)
    if summary["status"] != "error" or summary["written"] is not False:
        raise CheckFailed(f"{answer.label}: status {summary['status']!r}, written {summary['written']}; expected "
                          "error and false")
    if not any(r.get("index") == 1 and r.get("errors") for r in summary["rows"]):
        raise CheckFailed(f"{answer.label}: rows do not report the bad row (index 1): {summary['rows']!r:.120}")
    nothing_written(ctx, answer, "atomic-good", "atomic-bad")
    return f"{answer.label}: 422, status error, the good row was not written"


@check("IMP-004")
def per_record_mode(ctx: RunContext) -> str:
    rows = [ctx.payload("partial-good", ctx.home_village()), missing_unit_row(ctx, "partial-bad")]
    answer = bulk(ctx, rows, atomic=False).expect(200)
    summary = summary_of(answer)
    listed, found = ctx.find("partial-good")
    stats = summary["stats"]
    if summary["status"] != "partial" or stats["created"] != 1 or stats["errors"] != 1:
        raise CheckFailed(f"{answer.label}: status {summary['status']!r}, stats {stats}; expected partial with 1 "
                          "created and 1 error")
    bad = [r for r in summary["rows"] if r.get("index") == 1]
    if not bad or bad[0].get("action") != "error" or not bad[0].get("errors"):
        raise CheckFailed(f"{answer.label}: row 1 (the bad one) is not reported as an error: {bad!r:.120}")
    if len(found) != 1:
        raise CheckFailed(f"{answer.label} said it created the good row, but {listed.label} lists {len(found)}")
    return f"{answer.label}: good row written, bad row reported, status partial"


@check("IMP-005")
def documented_row_codes(ctx: RunContext) -> str:
    unit = ctx.home_village()
    shared_id = uuid7()
    rows = [ctx.payload("codes-invalid", unit, entity_type="not_a_code"),
            missing_unit_row(ctx, "codes-reference"),
            ctx.payload("codes-dup-1", unit, id=shared_id),
            ctx.payload("codes-dup-2", unit, id=shared_id)]
    answer = bulk(ctx, rows, atomic=False, dry_run=True, report="full")
    answer.expect(200, 422)
    summary = summary_of(answer)
    codes: dict[int, set[str]] = {}
    for row in summary["rows"]:
        for error in row.get("errors") or []:
            code = error.get("code") if isinstance(error, dict) else None
            if code not in ROW_ERROR_CODES:
                raise CheckFailed(f"{answer.label}: row {row.get('index')} has error code {code!r}, not one of the "
                                  f"documented codes ({', '.join(sorted(ROW_ERROR_CODES))})")
            codes.setdefault(row.get("index"), set()).add(code)
    expected = {0: {"invalid"}, 1: {"reference_not_found"}}
    problems = [f"row {i} should report {' or '.join(sorted(want))}, got {sorted(codes.get(i, set())) or 'none'}"
                for i, want in expected.items() if not codes.get(i, set()) & want]
    if "duplicate_in_payload" not in codes.get(2, set()) | codes.get(3, set()):
        problems.append(f"rows 2 and 3 share an id and should report duplicate_in_payload, got "
                        f"{sorted(codes.get(2, set()) | codes.get(3, set())) or 'none'}")
    if problems:
        raise CheckFailed(f"{answer.label}: {'; '.join(problems)}")
    return "invalid, reference_not_found and duplicate_in_payload reported with the documented codes"


@check("IMP-006")
def ndjson_and_csv(ctx: RunContext) -> str:
    unit = ctx.home_village()
    ndjson_row = ctx.payload("ndjson", unit)
    csv_row = ctx.payload("csv", unit)
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(["entity_type", "name", "admin_unit", f"external_ids.{TAG_SYSTEM}"])
    writer.writerow([csv_row["entity_type"], csv_row["name"], csv_row["admin_unit"],
                     csv_row["external_ids"][TAG_SYSTEM]])
    done = []
    for kind, content_type, body in (
            ("NDJSON", "application/x-ndjson", json.dumps(ndjson_row) + "\n"),
            ("CSV", "text/csv", buffer.getvalue())):
        answer = ctx.target.post(BULK, content=body.encode(), params={"dry_run": "true"},
                                 headers={"Content-Type": content_type}, token=ctx.token()).expect(200)
        stats = summary_of(answer)["stats"]
        if stats["total"] != 1 or stats["errors"] != 0:
            raise CheckFailed(f"{answer.label} with a one-record {kind} body: stats {stats}, expected total 1, "
                              "errors 0")
        done.append(kind)
    return f"{' and '.join(done)} bodies accepted (dry run)"


@check("IMP-007")
def unknown_parameter_refused(ctx: RunContext) -> str:
    answer = ctx.target.post(BULK, json=[ctx.payload("typo", ctx.home_village())], params={"dryrun": "true"},
                             token=ctx.token())
    if answer.status != 422:
        nothing_written(ctx, answer, "typo")
        raise CheckFailed(f"{answer.label}: expected HTTP 422 for the unknown parameter dryrun, got {answer.status}")
    err = expect_error(answer, 422)
    nothing_written(ctx, answer, "typo")
    return f"{answer.label}: 422 {err['code']}, nothing written"
