"""PostgreSQL: a month's demands live in their own partition of ``demands``, built by the month's first run (filled
without indexes, indexed, attached); later runs of the month insert into it; a failed run leaves nothing; two runs
of one month at once are serialised."""

from __future__ import annotations

import datetime as dt
import threading
from decimal import Decimal

import pytest
from sqlalchemy import text

from jaldpi.core.errors import ValidationFailed
from jaldpi.core.registry import Strategy
from jaldpi.finances import service
from jaldpi.finances.service import demand_partitions, generate_demand
from tests.finances.fin_world import V1, build_committee
from tests.helpers import ROOT


@pytest.fixture
def pg_node(node):
    if node.db.dialect != "postgresql":
        pytest.skip("month partitions exist on PostgreSQL only")
    # partitions outlive the per-test TRUNCATE: start from a demands table without any
    with node.db.engine.begin() as conn:
        for (name,) in conn.execute(text(
                "SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid "
                "WHERE i.inhparent = CAST('demands' AS regclass)")):
            conn.execute(text(f"DROP TABLE {name}"))
    return node


def _run(node, month: str, within: str = "/") -> dict:
    with node.db.unit_of_work() as session:
        return generate_demand(session, node.catalogue, ROOT, month, within)


def _partitions(node) -> list[str]:
    with node.db.unit_of_work(write=False) as session:
        return demand_partitions(session)


def _scalar(node, sql: str, **params):
    with node.db.engine.connect() as conn:
        return conn.execute(text(sql), params).scalar_one()


def test_months_get_partitions_and_later_runs_of_a_month_insert_into_them(pg_node):
    node = pg_node
    build_committee(node)

    first = _run(node, "2025-10")
    assert first["created"] == 7 and _partitions(node) == ["demands_y2025m10"]
    assert {"index_pk", "index_month_lgd_path", "attach"} <= set(first["phases"])
    # the partition carries both indexes, attached to the parent's; its temporary CHECK constraint is gone
    indexes = {r for (r,) in node.db.engine.connect().execute(text(
        "SELECT indexname FROM pg_indexes WHERE tablename = 'demands_y2025m10'"))}
    assert indexes == {"demands_y2025m10_pkey", "demands_y2025m10_month_lgd_path_idx"}
    assert _scalar(node, "SELECT count(*) FROM pg_inherits WHERE inhrelid IN (CAST('demands_y2025m10_pkey' AS "
                   "regclass), CAST('demands_y2025m10_month_lgd_path_idx' AS regclass))") == 2
    assert _scalar(node, "SELECT count(*) FROM pg_constraint WHERE conrelid = CAST('demands_y2025m10' AS regclass) "
                   "AND contype = 'c'") == 0
    # the same amounts as the hand-computed committee month (test_committee_month): 150 + 190 + 50 + 50 + 82
    assert Decimal(first["run"]["amount_total"]) == Decimal("522")
    assert _scalar(node, "SELECT count(*) FROM demands_y2025m10") == 7

    # the next month: a second partition; October is unpaid, so it is carried as arrears with the late fee
    second = _run(node, "2025-11")
    assert second["created"] == 7 and _partitions(node) == ["demands_y2025m10", "demands_y2025m11"]
    assert Decimal(second["run"]["arrears_total"]) == Decimal("522")
    assert Decimal(second["run"]["late_fee_total"]) == Decimal("15.00")  # 10% of V1's 150 (flat plan only)

    # a re-run of October: the partition exists, nothing new, no run record
    again = _run(node, "2025-10")
    assert again["created"] == 0 and again["run"] is None and "index_pk" not in again.get("phases", {})

    # a top-up: one more household connected, October again adds exactly it, into the existing partition
    with node.db.unit_of_work() as session:
        summary = node.catalogue["households"].import_records(session, ROOT, [{
            "code": "HH-NOTAP", "village": V1, "members_count": 4, "has_tap_connection": True,
            "connected_on": "2025-10-05", "is_exempted": False, "social_category": "general"}],
            strategy=Strategy.create_and_update)
        assert summary.status == "ok", summary.to_dict()
    topup = _run(node, "2025-10")
    assert topup["created"] == 1 and topup["run"]["households"] == 1
    assert _partitions(node) == ["demands_y2025m10", "demands_y2025m11"]
    assert _scalar(node, "SELECT count(*) FROM demands WHERE month = :m", m=dt.date(2025, 10, 1)) == 8
    assert _scalar(node, "SELECT count(*) FROM ONLY demands") == 0  # rows live in partitions, never the parent


def test_a_failed_run_of_a_new_month_leaves_no_partition_and_no_rows(pg_node, monkeypatch):
    node = pg_node
    build_committee(node)
    assert _run(node, "2025-10")["created"] == 7
    # the run record is refused (its digest fails the schema): the whole unit of work is rolled back
    monkeypatch.setattr(service, "totals_digest", lambda rows: "not a digest")
    with pytest.raises(ValidationFailed, match="run record was refused"):
        _run(node, "2025-11")
    assert _partitions(node) == ["demands_y2025m10"]
    assert _scalar(node, "SELECT to_regclass('demands_y2025m11') IS NULL") is True
    assert _scalar(node, "SELECT count(*) FROM demands WHERE month = :m", m=dt.date(2025, 11, 1)) == 0
    assert _scalar(node, "SELECT count(*) FROM demand_village_totals WHERE month = :m", m=dt.date(2025, 11, 1)) == 0
    assert _scalar(node, "SELECT count(*) FROM demand_runs") == 1
    # and the month can be run once the cause is gone
    monkeypatch.undo()
    assert _run(node, "2025-11")["created"] == 7


def test_two_runs_of_a_new_month_at_once_are_serialised(pg_node):
    node = pg_node
    build_committee(node)
    outcome: dict = {}

    def second_run() -> None:
        try:
            outcome["result"] = _run(node, "2025-10")
        except Exception as exc:  # noqa: BLE001 - reported by the assertions below
            outcome["error"] = exc

    thread = threading.Thread(target=second_run)
    with node.db.unit_of_work() as session:
        # the first run builds October's partition and holds the month's lock until its unit of work commits
        assert generate_demand(session, node.catalogue, ROOT, "2025-10", "/")["created"] == 7
        thread.start()
        # wait (without a timing assertion) until the second run is blocked on the month's advisory lock
        with node.db.engine.connect() as conn:
            for _ in range(1200):
                waiting = conn.execute(text(
                    "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted AND objid = 202510 "
                    "AND database = (SELECT oid FROM pg_database WHERE datname = current_database())")).scalar_one()
                if waiting or not thread.is_alive():
                    break
                thread.join(0.05)
        assert waiting == 1 and thread.is_alive(), outcome
    thread.join(60)
    assert "error" not in outcome, outcome.get("error")
    # the second run found the partition and the first run's rows: nothing to add, no second run record
    assert outcome["result"]["created"] == 0 and outcome["result"]["run"] is None
    assert _partitions(node) == ["demands_y2025m10"]
    assert _scalar(node, "SELECT count(*) FROM demands") == 7
    assert _scalar(node, "SELECT count(*) FROM demand_runs") == 1
