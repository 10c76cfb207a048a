"""Checks of one record's life through the registry API: create, read, update, stale update, re-send, invalid
input, history, delete, external-id search (docs/api.md#registries). The kit writes VWSCs tagged with its external-id
system and deletes them at the end.
"""

from __future__ import annotations

from typing import Any

from jaldpi.conformance.checks import check
from jaldpi.conformance.context import TAG_SYSTEM, WRITE_REGISTRY, RunContext, uuid7
from jaldpi.conformance.http import CheckFailed, PrerequisiteFailed, expect_error

BASE = f"/api/v1/{WRITE_REGISTRY}"


def read(ctx: RunContext, key: str, token: str | None = None) -> dict[str, Any]:
    answer = ctx.target.get(f"{BASE}/{key}", token=token or ctx.token()).expect(200)
    body = answer.json()
    if not isinstance(body, dict):
        raise CheckFailed(f"{answer.label}: expected the record as a JSON object, got {answer.snippet()}")
    return body


def history(ctx: RunContext, key: str) -> list[dict[str, Any]]:
    answer = ctx.target.get(f"{BASE}/{key}/history", token=ctx.token()).expect(200)
    body = answer.json()
    items = body.get("items") if isinstance(body, dict) else None
    if not isinstance(items, list):
        raise CheckFailed(f"{answer.label}: expected {{\"items\": [...]}}, got {answer.snippet()}")
    return items


def version_of(record: dict[str, Any], where: str) -> int:
    version = record.get("version")
    if not isinstance(version, int) or isinstance(version, bool):
        raise CheckFailed(f"{where}: version is {version!r}, expected an integer")
    return version


def etag_version(value: str | None) -> str | None:
    if value is None:
        return None
    return value.removeprefix("W/").strip('"')


def bump(ctx: RunContext, record: dict[str, Any], note: str) -> dict[str, Any]:
    """Change the record (registration_number) with its current version; the new record, or CheckFailed."""
    version = version_of(record, f"GET {BASE}/{record['id']}")
    answer = ctx.target.patch(f"{BASE}/{record['id']}", json={"registration_number": f"{ctx.tag}-{note}",
                                                               "version": version}, token=ctx.token())
    answer.expect(200)
    return answer.json()


@check("REG-001")
def create(ctx: RunContext) -> str:
    unit = ctx.home_village()
    try:
        record = ctx.created_record("main")
    except PrerequisiteFailed as exc:
        raise CheckFailed(str(exc)) from exc
    _, answer = ctx.sent("main")
    answer.expect(201)
    problems = []
    location = answer.headers.get("location")
    if not location or record["id"] not in location:
        problems.append(f"Location header {location!r} does not name the new record {record['id']}")
    if not isinstance(record.get("code"), str) or not record["code"]:
        problems.append(f"code is {record.get('code')!r}")
    if record.get("version") != 1:
        problems.append(f"version is {record.get('version')!r}, expected 1")
    path = record.get("lgd_path")
    if not isinstance(path, str) or not path.startswith(unit.lgd_path):
        problems.append(f"lgd_path is {path!r}, expected the village's path {unit.lgd_path}")
    if problems:
        raise CheckFailed(f"{answer.label}: {'; '.join(problems)}")
    return f"{answer.label}: 201, {record['code']} at {path}"


@check("REG-002")
def reads_back(ctx: RunContext) -> str:
    unit = ctx.home_village()
    created = ctx.created_record("main")
    sent, _ = ctx.sent("main")
    answer = ctx.target.get(f"{BASE}/{created['id']}", token=ctx.token()).expect(200)
    record = answer.json()
    problems = []
    for field in ("entity_type", "name"):
        if record.get(field) != sent[field]:
            problems.append(f"{field} is {record.get(field)!r}, sent {sent[field]!r}")
    if record.get("admin_unit_id") != unit.id:
        problems.append(f"admin_unit_id is {record.get('admin_unit_id')!r}, sent admin_unit {unit.id}")
    ext = record.get("external_ids") if isinstance(record.get("external_ids"), dict) else {}
    if ext.get(TAG_SYSTEM) != sent["external_ids"][TAG_SYSTEM]:
        problems.append(f"external_ids.{TAG_SYSTEM} is {ext.get(TAG_SYSTEM)!r}, sent "
                        f"{sent['external_ids'][TAG_SYSTEM]!r}")
    etag = etag_version(answer.headers.get("etag"))
    if etag != str(record.get("version")):
        problems.append(f"ETag is {answer.headers.get('etag')!r}, expected the version \"{record.get('version')}\"")
    if problems:
        raise CheckFailed(f"{answer.label}: {'; '.join(problems)}")
    by_code = ctx.target.get(f"{BASE}/{created['code']}", token=ctx.token()).expect(200)
    if by_code.json().get("id") != created["id"]:
        raise CheckFailed(f"{by_code.label}: answered record {by_code.json().get('id')}, expected {created['id']}")
    return f"read back by id and by code {created['code']}, values as sent, ETag {answer.headers.get('etag')}"


@check("REG-003")
def client_minted_id(ctx: RunContext) -> str:
    wanted = uuid7()
    _, answer = ctx.create("client-id", ctx.home_village(), id=wanted)
    answer.expect(201)
    got = answer.json().get("id")
    if str(got).lower() != wanted:
        raise CheckFailed(f"{answer.label}: sent id {wanted}, the record has id {got}")
    read(ctx, wanted)
    return f"record created and read back with the client's id {wanted}"


@check("REG-004")
def update_with_version(ctx: RunContext) -> str:
    record = read(ctx, ctx.created_record("main")["id"])
    before = version_of(record, f"GET {BASE}/{record['id']}")
    value = f"{ctx.tag}-reg004"
    answer = ctx.target.patch(f"{BASE}/{record['id']}", json={"registration_number": value, "version": before},
                              token=ctx.token()).expect(200)
    changed = answer.json()
    if changed.get("version") != before + 1:
        raise CheckFailed(f"{answer.label}: version went from {before} to {changed.get('version')!r}, expected "
                          f"{before + 1}")
    after = read(ctx, record["id"])
    if after.get("registration_number") != value or after.get("version") != before + 1:
        raise CheckFailed(f"GET {BASE}/{record['id']}: after the PATCH registration_number is "
                          f"{after.get('registration_number')!r} at version {after.get('version')}, expected {value!r}"
                          f" at {before + 1}")
    return f"PATCH with version {before}: applied, now version {before + 1}"


@check("REG-005")
def stale_version_refused(ctx: RunContext) -> str:
    record = ctx.created_record("stale")
    try:
        record = bump(ctx, record, "stale-v2")  # a second version, so that version 1 is stale
    except CheckFailed as exc:
        raise PrerequisiteFailed(f"cannot make a second version of the test record: {exc}") from exc
    current = version_of(record, f"PATCH {BASE}/{record['id']}")
    stale = current - 1
    answer = ctx.target.patch(f"{BASE}/{record['id']}", json={"registration_number": "stale-by-field",
                                                               "version": stale}, token=ctx.token())
    if answer.status != 409:
        raise CheckFailed(f"{answer.label} with \"version\": {stale} (record at version {current}): expected HTTP "
                          f"409, got {answer.status} {answer.snippet()}")
    expect_error(answer, 409, ("version_conflict",))
    answer = ctx.target.patch(f"{BASE}/{record['id']}", json={"registration_number": "stale-by-if-match"},
                              headers={"If-Match": f'"{stale}"'}, token=ctx.token())
    if answer.status != 409:
        raise CheckFailed(f"{answer.label} with If-Match: \"{stale}\" (record at version {current}): expected HTTP "
                          f"409, got {answer.status} {answer.snippet()}")
    expect_error(answer, 409, ("version_conflict",))
    after = read(ctx, record["id"])
    if after.get("version") != current or after.get("registration_number") != record.get("registration_number"):
        raise CheckFailed(f"GET {BASE}/{record['id']}: refused changes were applied (version "
                          f"{after.get('version')}, registration_number {after.get('registration_number')!r})")
    return f"version {stale} refused with 409 version_conflict (field and If-Match); record unchanged"


@check("REG-006")
def resend_is_idempotent(ctx: RunContext) -> str:
    record = read(ctx, ctx.created_record("main")["id"])
    before = version_of(record, f"GET {BASE}/{record['id']}")
    entries = len(history(ctx, record["id"]))
    answer = ctx.target.post(f"{BASE}/bulk", json=[record], token=ctx.token()).expect(200)
    summary = answer.json()
    stats = summary.get("stats") if isinstance(summary, dict) else None
    if not isinstance(stats, dict) or stats.get("ignored") != 1 or stats.get("updated") or stats.get("created"):
        raise CheckFailed(f"{answer.label} with the record as read: expected stats ignored=1, got {stats!r}")
    after = read(ctx, record["id"])
    if after.get("version") != before:
        raise CheckFailed(f"re-sending the record moved its version from {before} to {after.get('version')}")
    if len(history(ctx, record["id"])) != entries:
        raise CheckFailed(f"re-sending the record added a history entry (GET {BASE}/{record['id']}/history)")
    return f"{answer.label} with the record as read: ignored, still version {before}, no history entry"


@check("REG-007")
def invalid_record_refused(ctx: RunContext) -> str:
    payload = ctx.payload("invalid", ctx.home_village(), entity_type="not_a_code", name="")
    answer = ctx.target.post(BASE, json=payload, token=ctx.token())
    ctx.track(answer)
    err = expect_error(answer, 422)
    fields = [str(d.get("field")) for d in err["details"]]
    missing = [f for f in ("entity_type", "name") if not any(x == f or x.endswith("." + f) for x in fields)]
    if missing:
        raise CheckFailed(f"{answer.label}: 422 details name {fields}, expected also {', '.join(missing)}")
    _, found = ctx.find("invalid")
    if found:
        raise CheckFailed(f"{answer.label}: answered 422 but wrote record {found[0].get('id')}")
    return f"{answer.label}: 422 {err['code']} naming entity_type and name; nothing written"


@check("REG-008")
def history_lists_versions(ctx: RunContext) -> str:
    record = read(ctx, ctx.created_record("main")["id"])
    current = version_of(record, f"GET {BASE}/{record['id']}")
    items = history(ctx, record["id"])
    versions = [i.get("version") for i in items if isinstance(i, dict)]
    if versions != list(range(1, current + 1)):
        raise CheckFailed(f"GET {BASE}/{record['id']}/history: versions {versions}, expected 1..{current} in order")
    if items[0].get("operation") != "create":
        raise CheckFailed(f"GET {BASE}/{record['id']}/history: first operation is {items[0].get('operation')!r}, "
                          "expected create")
    return f"history lists versions 1..{current}, starting with create"


@check("REG-009")
def delete_is_soft(ctx: RunContext) -> str:
    record = ctx.created_record("delete")
    answer = ctx.target.delete(f"{BASE}/{record['id']}", token=ctx.token()).expect(200)
    gone = ctx.target.get(f"{BASE}/{record['id']}", token=ctx.token())
    if gone.status != 404:
        raise CheckFailed(f"{gone.label} after {answer.label}: expected HTTP 404, got {gone.status}")
    listed, found = ctx.find("delete", include_deleted=True)
    match = [r for r in found if r.get("id") == record["id"]]
    if not match or not match[0].get("deleted_at"):
        raise CheckFailed(f"{listed.label}: the deleted record is not listed with deleted_at set")
    items = history(ctx, record["id"])
    if not items or items[-1].get("operation") != "delete":
        raise CheckFailed(f"GET {BASE}/{record['id']}/history: last operation is "
                          f"{items[-1].get('operation') if items else None!r}, expected delete")
    return "deleted record answers 404, is listed with include_deleted=true, history ends with delete"


@check("REG-010")
def external_id_search(ctx: RunContext) -> str:
    record = ctx.created_record("main")
    answer, found = ctx.find("main")
    ids = [r.get("id") for r in found]
    if ids != [record["id"]]:
        raise CheckFailed(f"{answer.label}: found {ids}, expected exactly [{record['id']}]")
    answer, found = ctx.find("nobody-has-this")
    if found:
        raise CheckFailed(f"{answer.label}: found {[r.get('id') for r in found]} for an external id nobody has")
    return f"external_id={TAG_SYSTEM}:{ctx.external_id('main')} finds exactly the record"
