"""The ingest service: flags, idempotent replay, conflicts, latest value, daily rollups (IST), silent sensors."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select

from jaldpi.telemetry.ingest import TelemetryConfig, ingest, silent_datastreams
from jaldpi.telemetry.models import DailyRollup, LatestValue, Observation, ObservationConflict, flag_codes
from tests.helpers import ROOT
from tests.telemetry.world import build_telemetry

UTC = dt.UTC
NOW = dt.datetime(2026, 11, 27, 12, 0, tzinfo=UTC)


def t(hh: int, mm: int = 0, day: int = 26) -> str:
    return dt.datetime(2026, 11, day, hh, mm, tzinfo=UTC).isoformat()


def test_flags_replay_latest_and_rollups_with_an_ist_day_boundary(node):
    w = build_telemetry(node)
    flow = w.ids["flow_rate_a1"]
    # 18:29Z = 23:59 IST on the 26th; 18:30Z = 00:00 IST on the 27th
    rows = [(flow, t(10), 12.0), (flow, t(18, 29), 20.0), (flow, t(6), 8.0), (flow, t(18, 30), 5.0),
            (flow, t(20), 9000.0),  # out of range (flow_rate max 5000)
            (flow, dt.datetime(2026, 11, 27, 13, 0, tzinfo=UTC).isoformat(), 7.0)]  # 1 h ahead of NOW: clock skew
    with node.db.unit_of_work() as s:
        summary = ingest(s, ROOT, rows, now=NOW)
    assert [r.status for r in summary.rows] == ["created"] * 6
    assert [flag_codes(r.flags) for r in summary.rows] == [[], [], [], [], ["out_of_range"], ["clock_skew"]]

    # replay of the whole batch, plus a conflicting value for 10:00 and a bad row
    with node.db.unit_of_work() as s:
        again = ingest(s, ROOT, [*rows, (flow, t(10), 13.5), (flow, "yesterday", 1.0)], now=NOW)
    assert [r.status for r in again.rows] == ["duplicate"] * 6 + ["conflict", "error"]
    assert "phenomenonTime" in again.rows[-1].error

    with node.db.unit_of_work(write=False) as s:
        obs = s.scalars(select(Observation).order_by(Observation.phenomenon_time)).all()
        assert len(obs) == 6
        by_time = {o.phenomenon_time.replace(tzinfo=UTC): o for o in obs}
        assert flag_codes(by_time[dt.datetime(2026, 11, 26, 10, tzinfo=UTC)].quality) == ["duplicate_conflict"]
        assert by_time[dt.datetime(2026, 11, 26, 10, tzinfo=UTC)].result == 12.0  # first write kept
        conflict = s.scalars(select(ObservationConflict)).one()
        assert conflict.result == 13.5
        latest = s.get(LatestValue, obs[0].datastream_id)
        assert latest.result == 7.0 and flag_codes(latest.quality) == ["clock_skew"]
        roll = {r.day.isoformat(): (r.count, r.min, r.max, r.sum, r.first, r.last, r.flagged)
                for r in s.scalars(select(DailyRollup))}
    # IST 26th: 06:00Z(8) 10:00Z(12, conflict-flagged) 18:29Z(20); IST 27th: 18:30Z(5) 20:00Z(9000) 13:00Z+1d(7)
    assert roll["2026-11-26"] == (3, 8.0, 20.0, 40.0, 8.0, 20.0, 1)
    assert roll["2026-11-27"] == (3, 5.0, 9000.0, 9012.0, 5.0, 7.0, 2)
    assert set(roll) == {"2026-11-26", "2026-11-27"}


def test_latest_never_moves_back_and_utc_day_is_configurable(node):
    w = build_telemetry(node)
    cl = w.ids["residual_chlorine_a1"]
    with node.db.unit_of_work() as s:
        ingest(s, ROOT, [(cl, t(20), 0.4)], now=NOW)
        ingest(s, ROOT, [(cl, t(19), 0.2)], now=NOW)  # late, older data
    with node.db.unit_of_work(write=False) as s:
        assert s.scalars(select(LatestValue)).one().result == 0.4
    with node.db.unit_of_work() as s:
        ingest(s, ROOT, [(cl, t(20, day=25), 0.3)], now=NOW, config=TelemetryConfig(timezone="UTC"))
    with node.db.unit_of_work(write=False) as s:
        days = sorted(r.day.isoformat() for r in s.scalars(select(DailyRollup)))
    assert days == ["2026-11-25", "2026-11-27"]  # 20:00Z is the 27th in IST (19:00Z too), the 25th in UTC


def test_unknown_and_out_of_scope_datastreams_are_row_errors(node):
    from jaldpi.core.security import Grant, Principal
    from jaldpi.standard.codelists import role_permissions

    w = build_telemetry(node)
    district_745 = Principal("op", "system", (Grant("partner_system", "/S28/D745/"),), role_permissions())
    with node.db.unit_of_work() as s:
        summary = ingest(s, district_745, [(w.ids["flow_rate_a1"], t(1), 1.0), (w.ids["flow_rate_b3"], t(1), 1.0),
                                           ("0190d0c2-0000-7000-8000-000000000000", t(1), 1.0),
                                           (w.ids["flow_rate_a1"], t(2), "high")], now=NOW)
    assert [r.status for r in summary.rows] == ["created", "error", "error", "error"]
    # out of scope reads exactly like unknown: no existence oracle
    assert summary.rows[1].error == f"datastream {w.ids['flow_rate_b3']} not found"
    assert summary.rows[2].error == "datastream 0190d0c2-0000-7000-8000-000000000000 not found"
    assert "result" in summary.rows[3].error


def test_silent_sensor_listing(node):
    w = build_telemetry(node)
    with node.db.unit_of_work() as s:
        ingest(s, ROOT, [(w.ids["flow_rate_a1"], NOW - dt.timedelta(minutes=30), 3.0),  # 30 min < 3 x 15 min
                         (w.ids["residual_chlorine_a1"], NOW - dt.timedelta(hours=2), 0.5)], now=NOW)
    with node.db.unit_of_work(write=False) as s:
        silent = silent_datastreams(s, ROOT, NOW)
        names = sorted(x.name for x in silent)
        chlorine = next(x for x in silent if x.name == "residual_chlorine a1")
        tight = silent_datastreams(s, ROOT, NOW, factor=1.0)
    # never reported: both b3 streams; chlorine a1 silent for 2 h > 45 min
    assert names == ["flow_rate b3", "residual_chlorine a1", "residual_chlorine b3"]
    assert chlorine.silent_for_s == 7200
    assert "flow_rate a1" in {x.name for x in tight}  # 30 min > 1 x 15 min


def test_large_batch_goes_through_copy_on_postgresql(node):
    w = build_telemetry(node)
    flow = w.ids["flow_rate_a1"]
    start = dt.datetime(2026, 11, 20, 0, 0, tzinfo=UTC)
    rows = [(flow, start + dt.timedelta(minutes=m), float(m % 50), None, {"seq": m}) for m in range(2000)]
    with node.db.unit_of_work() as s:
        summary = ingest(s, ROOT, rows, now=NOW)
    assert summary.count("created") == 2000
    with node.db.unit_of_work() as s:
        summary = ingest(s, ROOT, rows, now=NOW)
    assert summary.count("duplicate") == 2000
    with node.db.unit_of_work(write=False) as s:
        total = sum(r.count for r in s.scalars(select(DailyRollup)))
        sums = sum(r.sum for r in s.scalars(select(DailyRollup)))
    assert total == 2000 and sums == sum(float(m % 50) for m in range(2000))
