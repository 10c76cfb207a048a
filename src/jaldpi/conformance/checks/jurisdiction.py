"""Checks of jurisdiction (docs/api.md#jurisdiction) with a second credential bound to a smaller subtree: the main
credential writes one record outside that subtree and one inside; the narrow credential must not see the first
(404, never 403: no existence oracle), must see the second, and must not write outside.
"""

from __future__ import annotations

from jaldpi.conformance.checks import check
from jaldpi.conformance.context import TAG_SYSTEM, WRITE_REGISTRY, RunContext
from jaldpi.conformance.http import CheckFailed, expect_error

BASE = f"/api/v1/{WRITE_REGISTRY}"


@check("JUR-001")
def outside_is_invisible(ctx: RunContext) -> str:
    narrow = ctx.narrow_login()
    unit = ctx.outside_village()
    record = ctx.created_record("outside", unit)
    for key in (record["id"], record["code"]):
        answer = ctx.target.get(f"{BASE}/{key}", token=narrow.token)
        if answer.status == 403:
            raise CheckFailed(f"{answer.label} as the narrow {narrow.credential.describe()}: 403 tells that the "
                              "record exists; expected 404 as for a record that does not")
        answer.expect(404)
    listed, found = ctx.find("outside", token=narrow.token)
    if any(r.get("id") == record["id"] for r in found):
        raise CheckFailed(f"{listed.label} as the narrow {narrow.credential.describe()} lists the record in "
                          f"{unit.describe()}, outside its jurisdiction")
    return f"record in {unit.describe()}: 404 by id and code, not found by {TAG_SYSTEM} external id"


@check("JUR-002")
def inside_is_visible(ctx: RunContext) -> str:
    narrow = ctx.narrow_login()
    unit = ctx.inside_village()
    record = ctx.created_record("inside", unit)
    answer = ctx.target.get(f"{BASE}/{record['id']}", token=narrow.token)
    if answer.status != 200:
        raise CheckFailed(f"{answer.label} as the narrow {narrow.credential.describe()} (record in "
                          f"{unit.describe()}, inside its jurisdiction): expected 200, got {answer.status} "
                          f"{answer.snippet()}")
    listed, found = ctx.find("inside", token=narrow.token)
    if [r.get("id") for r in found] != [record["id"]]:
        raise CheckFailed(f"{listed.label} as the narrow {narrow.credential.describe()}: expected the record in "
                          f"{unit.describe()}, got {[r.get('id') for r in found]}")
    return f"record in {unit.describe()} read and found by the narrow credential"


@check("JUR-003")
def outside_write_refused(ctx: RunContext) -> str:
    narrow = ctx.narrow_login()
    unit = ctx.outside_village()
    payload = ctx.payload("narrow-outside", unit)
    answer = ctx.target.post(BASE, json=payload, token=narrow.token)
    ctx.track(answer)
    if answer.status != 403:
        ctx.find("narrow-outside")  # whatever was written is swept up at the end
    expect_error(answer, 403, ("out_of_jurisdiction",))
    listed, found = ctx.find("narrow-outside")
    if found:
        raise CheckFailed(f"{answer.label} answered 403 but {listed.label} lists the record")
    return f"create in {unit.describe()} by the narrow credential: 403 out_of_jurisdiction, nothing written"
