"""Sandbox telemetry (one block sandbox + a month of telemetry per backend): determinism, incidents visible in the
derived supply records and in the observations, fault flags, silent sensors and service levels from the result."""

from __future__ import annotations

import datetime as dt
import uuid

import pytest
from sqlalchemy import func, select

from jaldpi.config import Settings
from jaldpi.registries import build_catalogue
from jaldpi.sandbox.generate import generate, generator_principal
from jaldpi.sandbox.telemetry import IST, generate_telemetry
from jaldpi.service_delivery.models import SupplyRecord
from jaldpi.service_delivery.service import Rules, village_month
from jaldpi.telemetry.ingest import silent_datastreams
from jaldpi.telemetry.models import CLOCK_SKEW, OUT_OF_RANGE, DailyRollup, Observation
from tests.conftest import _empty

END = dt.date(2026, 11, 1)  # October 2026, a whole month
DAYS = 31
ARGS = dict(seed=7, days=DAYS, interval_minutes=15, schemes=8, end=END)


@pytest.fixture(scope="module")
def tel(migrated_database):
    _empty(migrated_database)
    settings = Settings(env="test", database_url=migrated_database.url, node_id="test-node")
    catalogue = build_catalogue(settings)
    generate(migrated_database, catalogue, seed=7, scale="block")
    result = generate_telemetry(migrated_database, catalogue, **ARGS)
    yield {"db": migrated_database, "catalogue": catalogue, "result": result}
    _empty(migrated_database)


def _values(db, ds):
    with db.unit_of_work(write=False) as s:
        return s.execute(select(Observation.phenomenon_time, Observation.result)
                         .where(Observation.datastream_id == ds).order_by(Observation.phenomenon_time)).all()


def test_summary_and_rollups(tel):
    r, db = tel["result"], tel["db"]
    assert r.schemes == 8 and r.datastreams == r.datastreams_created > 8 * 4
    assert r.created == r.observations > r.datastreams * DAYS * 80  # ~96 a day, minus silent periods
    assert 0 < r.flagged < r.created * 0.01 and r.supply_records > 0
    with db.unit_of_work(write=False) as s:
        assert s.execute(select(func.count()).select_from(Observation)).scalar_one() == r.created
        assert s.execute(select(func.count()).select_from(DailyRollup)).scalar_one() >= r.datastreams * DAYS * 0.9
        assert s.execute(select(func.count()).select_from(SupplyRecord)
                         .where(SupplyRecord.source == "telemetry")).scalar_one() == r.supply_records


def test_deterministic(tel):
    r, db = tel["result"], tel["db"]
    ds = r.plants[0].flow_ds
    before = _values(db, ds)
    # same seed, the first two schemes only (each scheme draws from its own stream): every observation comes back
    # identical (a different value would be a conflict)
    again = generate_telemetry(db, tel["catalogue"], **{**ARGS, "schemes": 2})
    assert again.created == 0 and again.conflicts == 0 and again.duplicates == again.observations > 0
    assert again.datastreams_created == 0 and [p.flow_ds for p in again.plants] == [p.flow_ds for p in r.plants[:2]]
    codes = {p.code for p in again.plants}
    assert [(e.kind, e.start, e.datastream_id) for e in again.events] == \
        [(e.kind, e.start, e.datastream_id) for e in r.events if e.scheme in codes]
    assert _values(db, ds) == before and len(before) > DAYS * 80


def test_breakdown_days_have_no_supply(tel):
    r, db = tel["result"], tel["db"]
    ids = {p.code: p.scheme_id for p in r.plants}
    breakdowns = [(ids[e.scheme], e.start.date()) for e in r.events if e.kind == "breakdown"]
    assert breakdowns
    with db.unit_of_work(write=False) as s:
        found = [s.execute(select(SupplyRecord.supplied, SupplyRecord.reason_no_supply, SupplyRecord.hours_of_supply)
                           .where(SupplyRecord.scheme_id == sid, SupplyRecord.supply_date == day)).all()
                 for sid, day in breakdowns]
    rows = [row for rows in found for row in rows]
    assert rows and all(not row.supplied and row.hours_of_supply == 0 for row in rows)
    assert {row.reason_no_supply for row in rows} <= {"pump_failure", "power_cut"}
    assert "pump_failure" in {row.reason_no_supply for row in rows}


def _night_flow(db, ds, day: dt.date) -> list[float]:
    a = dt.datetime.combine(day, dt.time(0), IST)
    with db.unit_of_work(write=False) as s:
        return list(s.execute(select(Observation.result).where(
            Observation.datastream_id == ds, Observation.quality == 0,
            Observation.phenomenon_time >= a.astimezone(dt.UTC),
            Observation.phenomenon_time < (a + dt.timedelta(hours=4)).astimezone(dt.UTC))).scalars())


def test_leak_days_have_night_flow(tel):
    r, db = tel["result"], tel["db"]
    plants = {p.code: p for p in r.plants}
    leaks = [e for e in r.events if e.kind == "leak"]
    assert leaks
    e = leaks[0]
    p = plants[e.scheme]
    leak_days = {x.start.date() for x in leaks if x.scheme == e.scheme}
    quiet = next(d for d in (END - dt.timedelta(days=n) for n in range(1, DAYS)) if d not in leak_days)
    leak_night, quiet_night = _night_flow(db, p.flow_ds, e.start.date()), _night_flow(db, p.flow_ds, quiet)
    assert leak_night and quiet_night
    assert min(leak_night) > 0.5 and max(quiet_night) == 0.0


def test_faults_are_flagged(tel):
    r, db = tel["result"], tel["db"]
    counts = r.event_counts()
    assert counts.get("spike") and counts.get("clock_skew") and counts.get("stuck") and counts.get("silent")
    with db.unit_of_work(write=False) as s:
        out_of_range = s.execute(select(func.count()).select_from(Observation)
                                 .where(Observation.quality.op("&")(OUT_OF_RANGE) != 0)).scalar_one()
        skewed = s.execute(select(Observation.phenomenon_time).where(
            Observation.quality.op("&")(CLOCK_SKEW) != 0)).scalars().all()
    assert out_of_range >= counts["spike"] * 0.5
    assert skewed and all(t.year == 2000 for t in skewed)


def test_silent_sensor_is_listed(tel):
    r, db = tel["result"], tel["db"]
    dead = r.plants[0].villages[0].chlorine_ds  # the first scheme's tail-end analyser dies before the end
    now = dt.datetime.combine(END, dt.time(0), IST)
    with db.unit_of_work(write=False) as s:
        silent = {x.datastream_id: x for x in silent_datastreams(s, generator_principal(), now)}
    assert dead in silent and silent[dead].silent_for_s >= 24 * 3600
    assert r.plants[0].flow_ds not in silent


def test_service_levels_from_telemetry(tel):
    r, db = tel["result"], tel["db"]
    verdicts = []
    with db.unit_of_work(write=False) as s:
        from jaldpi.admin_units.models import AdminUnit

        for p in r.plants:
            for v in p.villages:
                unit = s.execute(select(AdminUnit).where(AdminUnit.id == v.village_id)).scalar_one()
                village = {"id": str(unit.id), "code": unit.code, "lgd_code": unit.lgd_code, "name": unit.name,
                           "lgd_path": unit.lgd_path}
                verdicts.append(village_month(s, generator_principal(), village, "2026-10", Rules(),
                                              today=dt.date(2026, 10, 31)))
    lpcds = [d["lpcd"] for m in verdicts for d in m["days"] if d["supplied"]]
    assert lpcds and all(15 <= x <= 250 for x in lpcds)
    assert 40 <= sorted(lpcds)[len(lpcds) // 2] <= 120  # the median around the norm
    assert all(m["verdict"]["days"] == 31 for m in verdicts)
    assert any(m["verdict"]["days_with_records"] >= 25 for m in verdicts)
    regular = [d["regular"] for m in verdicts for d in m["days"] if d["supplied"]]
    assert sum(regular) > len(regular) * 0.6  # most supplies are on schedule
    assert {m["verdict"]["functional"] for m in verdicts} <= {True, False}
    assert any(m["verdict"]["quantity_days"] > 0 for m in verdicts)
    assert uuid.UUID(verdicts[0]["village"]["id"])
