"""Bulk pushes through the SDK: batches, merged summaries with row indices, partial failures, dry runs, splitting."""

from __future__ import annotations

import pytest

from jaldpi.app import create_app
from jaldpi.client import Household, ImportFailed, ImportSummary, JaldpiClient
from tests.client.conftest import PASSWORD, households
from tests.conftest import test_settings
from tests.helpers import build_world, count_rows, make_account
from tests.liveserver import serve


def test_batches_merge_into_one_summary_with_indices_of_the_push(live, partner):
    rows = households(500001, 10)
    rows[5]["village"] = 999999  # no such village
    rows[9]["members_count"] = 0  # below the minimum
    summary = partner.households.bulk_push(rows, atomic=False, batch_size=4)
    assert isinstance(summary, ImportSummary)
    assert (summary.status, summary.written, summary.ok) == ("partial", True, False)
    assert summary.stats.model_dump() == {"created": 8, "updated": 0, "deleted": 0, "ignored": 0, "errors": 2,
                                          "total": 10}
    assert [(b.first_index, b.count, b.status) for b in summary.batches] == [(0, 4, "ok"), (4, 4, "partial"),
                                                                             (8, 2, "partial")]
    assert [(r.index, r.errors[0].code, r.errors[0].field) for r in summary.failed_rows] == [
        (5, "reference_not_found", "village"), (9, "invalid", "members_count")]
    with pytest.raises(ImportFailed, match="2 of 10 rows failed; first: row 5 reference_not_found") as caught:
        summary.raise_for_errors()
    assert caught.value.summary is summary
    assert count_rows(live.node, "households") == 8


def test_atomic_push_stops_at_the_first_refused_batch(live, partner):
    rows = households(500002, 10)
    rows[5]["village"] = 999999
    summary = partner.households.bulk_push(rows, batch_size=4)  # atomic by default: all or nothing per batch
    assert (summary.status, summary.written, summary.unsent) == ("partial", True, 2)
    assert [(b.first_index, b.status, b.written) for b in summary.batches] == [(0, "ok", True), (4, "error", False)]
    assert (summary.stats.created, summary.stats.ignored, summary.stats.errors, summary.stats.total) == (4, 3, 1, 8)
    assert [r.index for r in summary.failed_rows] == [5]
    assert count_rows(live.node, "households") == 4
    with pytest.raises(ImportFailed, match="2 rows not sent"):
        summary.raise_for_errors()
    # one batch refused whole: nothing written, status error
    alone = partner.households.bulk_push(rows[4:8])
    assert (alone.status, alone.written, alone.unsent, alone.stats.errors) == ("error", False, 0, 1)


def test_dry_run_checks_everything_and_writes_nothing(live, partner):
    rows = households(500004, 6)
    rows[1]["social_category"] = "unknown"
    summary = partner.households.bulk_push(rows, dry_run=True, batch_size=2, report="full")
    assert (summary.dry_run, summary.written, summary.unsent) == (True, False, 0)
    # a dry run checks every batch, even after a refused one
    assert [b.status for b in summary.batches] == ["error", "ok", "ok"]
    assert [r.action for r in summary.rows] == ["ignored", "error", "created", "created", "created", "created"]
    assert summary.rows[1].errors[0].field == "social_category"
    assert count_rows(live.node, "households") == 0


def test_pushing_the_same_records_again_changes_nothing(live, partner):
    rows = households(500001, 7)
    first = partner.households.bulk_push(rows, batch_size=3, report="full").raise_for_errors()
    assert first.stats.created == 7 and {str(r.id) for r in first.rows} == {r["id"] for r in rows}
    again = partner.households.bulk_push(rows, batch_size=3)
    assert (again.stats.ignored, again.stats.created, again.status) == (7, 0, "ok")
    rows[2]["members_count"] = 12
    changed = partner.households.bulk_push([Household(**rows[2])], strategy="update")
    assert changed.stats.updated == 1
    assert partner.households.get(rows[2]["id"]).version == 2
    gone = partner.households.bulk_push([{"id": rows[0]["id"]}], strategy="delete")
    assert gone.stats.deleted == 1 and count_rows(live.node, "households") == 7  # soft delete


def test_empty_push_sends_nothing(live, partner):
    summary = partner.households.bulk_push([])
    assert (summary.status, summary.stats.total, summary.batches) == ("ok", 0, [])


def test_bad_arguments_are_refused_before_sending(live, partner):
    with pytest.raises(ValueError, match="strategy"):
        partner.households.bulk_push([], strategy="upsert")
    with pytest.raises(ValueError, match="batch_size"):
        partner.households.bulk_push([], batch_size=0)
    with pytest.raises(TypeError):  # the source system is the account's, never per request
        partner.households.bulk_push(households(500001, 1), source_system="other-mis")
    assert count_rows(live.node, "households") == 0


def test_a_batch_over_the_node_limit_is_split(database):
    app = create_app(test_settings(database, max_bulk_records=3), database)
    node = app.state.node
    build_world(node)
    make_account(node, "state-mis", "partner_system", "state:28", kind="system", source_system="state-mis")
    rows = households(500001, 10)
    rows[7]["village"] = 999999
    with serve(app) as url, JaldpiClient(url, client_id="state-mis", client_secret=PASSWORD) as client:
        summary = client.households.bulk_push(rows, atomic=False, batch_size=10)
    # 10 -> 5 + 5 -> (2 + 3) + (2 + 3): every request within the node's limit of 3 records
    assert [(b.first_index, b.count) for b in summary.batches] == [(0, 2), (2, 3), (5, 2), (7, 3)]
    assert (summary.stats.created, summary.stats.errors) == (9, 1)
    assert [r.index for r in summary.failed_rows] == [7]
    assert count_rows(node, "households") == 9
