"""End to end, on the real Mosquitto broker (127.0.0.1:1883): sensors of a commissioned scheme publish a day of
observations at QoS 1, the real subscriber ingests them, `jaldpi service-levels derive` turns them into the day's
supply record, the village's service level follows, and evaluate_alerts opens a low-chlorine alert for the GP's
operator and the block's engineer."""

from __future__ import annotations

import datetime as dt
import json
import uuid

import orjson
import pytest
from sqlalchemy import select
from typer.testing import CliRunner

from jaldpi.admin_units.models import AdminUnit
from jaldpi.alerts.models import Alert
from jaldpi.alerts.service import evaluate_alerts
from jaldpi.cli import app
from jaldpi.config import get_settings
from jaldpi.core.registry import Strategy
from jaldpi.service_delivery.models import SupplyRecord
from jaldpi.service_delivery.service import Rules, village_month
from jaldpi.telemetry import service as telemetry
from jaldpi.telemetry.models import DailyRollup, LatestValue
from tests.helpers import ROOT, build_world, login_as
from tests.telemetry.test_mqtt import publish, start, wait_for

IST = dt.timezone(dt.timedelta(hours=5, minutes=30))
DAY = dt.datetime.now(IST).date() - dt.timedelta(days=2)  # a whole past day: nothing is in the future
V1 = "/S28/D745/B4001/G200001/V500001/"
POPULATION = 5 * 4  # five households of four in village 500001
FLOW = 0.8  # m3/h at the bulk meter during the morning window 06:00-08:00 (readings every 15 minutes)


def _world(node) -> dict[str, str]:
    build_world(node)
    ids: dict[str, str] = {}
    with node.db.unit_of_work() as s:
        cat = node.catalogue
        r = cat["households"].import_records(s, ROOT, [{"village": 500001, "members_count": 4} for _ in range(5)]
                                             + [{"village": 500002, "members_count": 6}], strategy=Strategy.create)
        assert r.status == "ok", r.to_dict()
        r = cat["schemes"].import_records(s, ROOT, [{
            "name": "SVS Alpha One", "scheme_type": "svs", "villages": [500001], "lifecycle_status": "commissioned",
            "attributes": {"supply_schedule": {"start": "06:00", "end": "08:00"}, "chlorinated": True},
            "external_ids": {"test": "svs-a1"}}], strategy=Strategy.create)
        assert r.status == "ok", r.to_dict()
        ids["scheme"] = str(r.rows[0].id)
        scheme = {"external_id": {"system": "test", "value": "svs-a1"}}
        comps = [{"scheme": scheme, "component_type": "pumping_station", "name": "Pump house"},
                 {"scheme": scheme, "component_type": "meter", "name": "Bulk meter"},
                 {"scheme": scheme, "component_type": "distribution_pipeline", "name": "Village network",
                  "village": 500001}]
        r = cat["components"].import_records(s, ROOT, comps, strategy=Strategy.create)
        assert r.status == "ok", r.to_dict()
        comp = {c["component_type"]: str(row.id) for c, row in zip(comps, r.rows, strict=True)}
        sensor = telemetry.create_sensor(s, ROOT, {"name": "Field sensor", "encodingType": "text/plain"})
        for ctype, props in (("pumping_station", ()), ("meter", ("flow_rate", "totalised_volume")),
                             ("distribution_pipeline", ("residual_chlorine",))):
            thing = telemetry.create_thing(s, ROOT, {"name": ctype, "properties": {"component_id": comp[ctype]}})
            for prop in props:
                ds = telemetry.create_datastream(s, ROOT, {
                    "name": prop, "Thing": {"@iot.id": str(thing.id)}, "Sensor": {"@iot.id": str(sensor.id)},
                    "ObservedProperty": {"@iot.id": prop}, "properties": {"expectedIntervalSeconds": 900}})
                ids[prop] = str(ds.id)
    return ids


def _day_of_readings() -> dict[str, list[list]]:
    """Every 15 minutes of DAY (IST): flow 0.8 m3/h from 06:00 to 07:45, else 0; the totaliser integrating it
    from 1000 m3; tail-end chlorine 0.15 mg/L while supplying, 0.09 otherwise (low all day)."""
    out: dict[str, list[list]] = {"flow_rate": [], "totalised_volume": [], "residual_chlorine": []}
    total = 1000.0
    for n in range(96):
        when = dt.datetime.combine(DAY, dt.time(0), IST) + dt.timedelta(minutes=15 * n)
        supplying = 6 * 60 <= n * 15 < 8 * 60
        out["totalised_volume"].append([when.isoformat(), round(total, 3)])
        flow = FLOW if supplying else 0.0
        out["flow_rate"].append([when.isoformat(), flow])
        out["residual_chlorine"].append([when.isoformat(), 0.15 if supplying else 0.09])
        total += flow * 0.25
    return out


@pytest.fixture
def cli(database, monkeypatch):
    monkeypatch.setenv("JALDPI_DATABASE_URL", database.url)
    get_settings.cache_clear()
    runner = CliRunner()

    def run(*args: str) -> str:
        result = runner.invoke(app, ["service-levels", *args])
        assert result.exit_code == 0, (result.output, result.exception)
        return result.output

    yield run
    get_settings.cache_clear()


def test_published_telemetry_becomes_supply_service_level_and_alert(node, client, cli):
    ids = _world(node)
    readings = _day_of_readings()
    ingestor = start(node, f"jaldpi-e2e-{uuid.uuid4().hex[:8]}")
    try:
        messages = [("v1.1/CreateObservations",
                     orjson.dumps([{"Datastream": {"@iot.id": ids[prop]}, "components": ["phenomenonTime", "result"],
                                    "dataArray": rows[i:i + 24]}]))
                    for prop, rows in readings.items() for i in range(0, 96, 24)]
        # and one reading as a single-observation message (a replay of the last chlorine reading)
        last = readings["residual_chlorine"][-1]
        messages.append((f"v1.1/Datastreams({ids['residual_chlorine']})/Observations",
                         orjson.dumps({"phenomenonTime": last[0], "result": last[1]})))
        publish(messages)
        wait_for(lambda: ingestor.stats["created"] + ingestor.stats["duplicate"] >= 3 * 96 + 1, timeout=15)
        assert ingestor.stats["created"] == 3 * 96 and ingestor.stats["duplicate"] == 1
    finally:
        ingestor.stop()

    # latest values and the daily rollups
    with node.db.unit_of_work(write=False) as s:
        latest = {str(x.datastream_id): x.result for x in s.scalars(select(LatestValue))}
        rolls = {str(r.datastream_id): r for r in s.execute(select(*DailyRollup.__table__.columns)
                                                            .where(DailyRollup.day == DAY))}
    assert latest == {ids["flow_rate"]: 0.0, ids["totalised_volume"]: 1001.6, ids["residual_chlorine"]: 0.09}
    flow = rolls[ids["flow_rate"]]
    assert (flow.count, flow.min, flow.max, flow.flagged) == (96, 0.0, FLOW, 0)
    assert flow.sum == pytest.approx(8 * FLOW)
    tot = rolls[ids["totalised_volume"]]
    assert (tot.first, tot.last) == (1000.0, 1001.6)
    chl = rolls[ids["residual_chlorine"]]
    assert (chl.count, chl.min, chl.max) == (96, 0.09, 0.15)

    # derive the day's supply record through the CLI
    summary = json.loads(cli("derive", "--from", DAY.isoformat(), "--to", DAY.isoformat(), "--json"))
    assert summary["schemes"] == 1 and summary["supply_records"] == 1
    # hand computation: flow above the threshold (max(0.5, 0.8 / 2)) from 06:00 to 07:45 -> session 06:00-08:00;
    # volume = totaliser 1001.6 - 1000.0 = 1.6 kL; chlorine = the day's mean (no pressure stream):
    # (8 x 0.15 + 88 x 0.09) / 96 = 9.12 / 96 = 0.095 mg/L; lpcd = 1.6 x 1000 / 20 persons = 80
    with node.db.unit_of_work(write=False) as s:
        (rec,) = s.scalars(select(SupplyRecord)).all()
        assert str(rec.scheme_id) == ids["scheme"] and rec.supply_date == DAY and rec.source == "telemetry"
        assert rec.supplied and rec.start_time == dt.time(6, 0) and rec.end_time == dt.time(8, 0)
        assert rec.hours_of_supply == 2.0 and rec.volume_supplied_kl == 1.6
        assert rec.tail_end_residual_chlorine_mg_l == pytest.approx(0.095) and rec.chlorinated
        assert rec.lgd_path == V1 and rec.schedule_source == "scheme" and rec.duration_share == 1.0
        unit = s.execute(select(AdminUnit).where(AdminUnit.lgd_path == V1)).scalar_one()
        village = {"id": str(unit.id), "code": unit.code, "lgd_code": unit.lgd_code, "name": unit.name,
                   "lgd_path": unit.lgd_path}
        month = village_month(s, ROOT, village, DAY.strftime("%Y-%m"), Rules(), today=DAY)
    (day,) = [d for d in month["days"] if d["date"] == DAY.isoformat()]
    assert month["population"] == POPULATION
    assert day["lpcd"] == 1.6 * 1000 / POPULATION == 80.0
    assert day["supplied"] and day["quantity"] and day["regular"] and day["hours_of_supply"] == 2.0
    assert not day["quality"] and not day["functional"] and "residual_chlorine_out_of_range" in day["reasons"]

    # a re-run updates the same record
    again = json.loads(cli("derive", "--from", DAY.isoformat(), "--to", DAY.isoformat(), "--json"))
    assert again["supply_records"] == 1
    with node.db.unit_of_work(write=False) as s:
        assert len(s.scalars(select(SupplyRecord)).all()) == 1

    # alerts: the tail-end analyser's latest value and the derived record are both below 0.2 mg/L
    with node.db.unit_of_work() as s:
        evaluate_alerts(s)
    with node.db.unit_of_work(write=False) as s:
        chlorine = s.scalars(select(Alert).where(Alert.kind == "low_chlorine", Alert.status == "open")).all()
        by_source = {a.details.get("source", "telemetry"): (str(a.id), a.value, a.lgd_path, a.routed_to)
                     for a in chlorine}
    assert set(by_source) == {"telemetry", "supply_records"}
    assert by_source["telemetry"][1] == 0.09 and by_source["supply_records"][1] == pytest.approx(0.095)
    assert {v[2] for v in by_source.values()} == {V1}
    assert by_source["telemetry"][3] == [{"role": "vwsc_operator", "path": "/S28/D745/B4001/G200001/"},
                                         {"role": "block_official", "path": "/S28/D745/B4001/"}]
    operator = login_as(client, node, "op", "vwsc_operator", "/S28/D745/B4001/G200001/")
    engineer = login_as(client, node, "eng", "block_official", "/S28/D745/B4001/")
    other = login_as(client, node, "beta", "district_official", "/S28/D746/")
    for headers in (operator, engineer):
        r = client.get("/api/v1/alerts?status=open&kind=low_chlorine", headers=headers)
        assert r.status_code == 200, r.text
        assert {i["id"] for i in r.json()["items"]} == {v[0] for v in by_source.values()}
    assert client.get("/api/v1/alerts?status=open&kind=low_chlorine", headers=other).json()["items"] == []
