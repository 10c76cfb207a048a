"""Alerts: each condition opens an alert with its value and threshold, re-evaluation refreshes instead of
duplicating, the alert closes when the condition clears, per-scheme overrides, routing and scoping, end to end."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select, text

from jaldpi.alerts.models import Alert
from jaldpi.alerts.service import Thresholds, evaluate_alerts, last_night, routing
from jaldpi.assets.models import Scheme
from jaldpi.core.models import utcnow
from jaldpi.telemetry import service as telemetry
from jaldpi.telemetry.ingest import ingest
from tests.helpers import ROOT, login_as
from tests.service_delivery.sd_world import build_sd, record, write
from tests.telemetry.world import build_telemetry

UTC = dt.UTC
NOW = dt.datetime(2026, 11, 27, 12, 0, tzinfo=UTC)  # 17:30 IST
V1 = "/S28/D745/B4001/G200001/V500001/"
TH = Thresholds()


def _add_streams(node, w, props=("pressure", "reservoir_level")) -> None:
    with node.db.unit_of_work() as s:
        for prop in props:
            ds = telemetry.create_datastream(s, ROOT, {
                "name": f"{prop} a1", "Thing": {"@iot.id": w.ids["thing_a1"]}, "Sensor": {"@iot.id": w.ids["sensor"]},
                "ObservedProperty": {"@iot.id": prop}})
            w.ids[f"{prop}_a1"] = str(ds.id)


def _ingest(node, rows, now=NOW) -> None:
    with node.db.unit_of_work() as s:
        summary = ingest(s, ROOT, rows, now=now)
    assert {r.status for r in summary.rows} <= {"created", "duplicate"}, [r.error for r in summary.rows]


def _evaluate(node, now=NOW, th=TH) -> dict:
    with node.db.unit_of_work() as s:
        return evaluate_alerts(s, now, thresholds=th)


def _alerts(node, kind=None) -> list[Alert]:
    with node.db.unit_of_work(write=False) as s:
        q = select(Alert).order_by(Alert.opened_at, Alert.dedup_key)
        if kind:
            q = q.where(Alert.kind == kind)
        rows = s.scalars(q).all()
        s.expunge_all()
        return rows


def _log_count(node) -> int:
    with node.db.engine.connect() as c:
        return c.execute(text("SELECT COUNT(*) FROM change_log WHERE record_type = 'alerts'")).scalar_one()


def at(minutes_before: int, now=NOW) -> str:
    return (now - dt.timedelta(minutes=minutes_before)).isoformat()


def test_latest_value_conditions_open_refresh_and_close(node):
    w = build_telemetry(node)
    _add_streams(node, w)
    cl, pr, lv = w.ids["residual_chlorine_a1"], w.ids["pressure_a1"], w.ids["reservoir_level_a1"]
    _ingest(node, [(cl, at(10), 0.5), (cl, at(5), 0.1), (pr, at(5), 0.3), (lv, at(5), 4.8)])
    result = _evaluate(node)
    by_kind = {a.kind: a for a in _alerts(node) if a.kind != "silent_sensor"}
    assert set(by_kind) == {"low_chlorine", "low_pressure", "reservoir_overflow"}
    assert (by_kind["low_chlorine"].value, by_kind["low_chlorine"].threshold) == (0.1, 0.2)
    assert (by_kind["low_pressure"].value, by_kind["low_pressure"].threshold) == (0.3, 0.7)
    assert (by_kind["reservoir_overflow"].value, by_kind["reservoir_overflow"].threshold) == (4.8, 4.5)
    a = by_kind["low_chlorine"]
    assert a.status == "open" and a.lgd_path == V1 and str(a.datastream_id) == cl and a.severity == "high"
    assert a.routed_to == [{"role": "vwsc_operator", "path": "/S28/D745/B4001/G200001/"},
                           {"role": "block_official", "path": "/S28/D745/B4001/"}]
    assert a.scheme_id is not None and a.component_id is not None
    assert result["opened"] == len(_alerts(node))
    logged = _log_count(node)
    assert logged == result["opened"]

    # second evaluation, later: no duplicate, last_seen_at moves, value follows
    later = NOW + dt.timedelta(minutes=5)
    _ingest(node, [(cl, at(1, later), 0.15)], now=later)
    again = _evaluate(node, later)
    assert again["opened"] == 0 and again["refreshed"] == result["opened"]
    chlorine = _alerts(node, "low_chlorine")
    assert len(chlorine) == 1 and chlorine[0].value == 0.15 and chlorine[0].version == 2
    assert chlorine[0].last_seen_at.replace(tzinfo=UTC) == later and chlorine[0].opened_at.replace(tzinfo=UTC) == NOW
    assert _log_count(node) == logged + again["refreshed"]

    # a flagged (out of range) reading is no evidence: the alert stays open
    _ingest(node, [(cl, at(0, later + dt.timedelta(minutes=1)), -3.0)], now=later)
    _evaluate(node, later + dt.timedelta(minutes=2))
    assert _alerts(node, "low_chlorine")[0].status == "open"

    # normal readings: all three close
    end = NOW + dt.timedelta(minutes=20)
    _ingest(node, [(cl, at(1, end), 0.4), (pr, at(1, end), 1.2), (lv, at(1, end), 3.0)], now=end)
    closed = _evaluate(node, end)
    assert closed["closed"] >= 3
    for kind in ("low_chlorine", "low_pressure", "reservoir_overflow"):
        (a,) = _alerts(node, kind)
        assert a.status == "closed" and a.closed_at.replace(tzinfo=UTC) == end


def test_silent_sensor_opens_and_closes(node):
    w = build_telemetry(node)
    flow = w.ids["flow_rate_a1"]
    _ingest(node, [(flow, at(60), 5.0)])  # expected every 15 min: silent after 45 min
    _evaluate(node)
    silent = {str(a.datastream_id): a for a in _alerts(node, "silent_sensor")}
    assert set(silent) == {w.ids[k] for k in ("flow_rate_a1", "residual_chlorine_a1", "flow_rate_b3",
                                               "residual_chlorine_b3")}
    assert silent[flow].value == 1.0 and silent[flow].threshold == 0.75 and silent[flow].severity == "low"
    assert silent[w.ids["residual_chlorine_a1"]].value is None  # never reported
    _ingest(node, [(flow, at(1), 5.0)])
    assert _evaluate(node)["opened"] == 0
    assert {str(a.datastream_id) for a in _alerts(node, "silent_sensor") if a.status == "open"} == set(silent) - {flow}


def test_no_supply_and_night_flow_from_flow_telemetry(node):
    w = build_telemetry(node)
    flow = w.ids["flow_rate_a1"]
    # last flow 30 h ago, zero flow since (readings keep coming): no supply for 30 h > 24 h
    _ingest(node, [(flow, at(30 * 60), 12.0), (flow, at(20 * 60), 0.0), (flow, at(10), 0.0)])
    _evaluate(node)
    (a,) = _alerts(node, "no_supply")
    assert (a.value, a.threshold, a.details["source"]) == (30.0, 24.0, "telemetry")
    assert a.dedup_key == f"no_supply:datastream:{flow}"

    # the last complete night 01:00-04:00 IST is 26 Nov 19:30Z - 22:30Z; minimum night flow 2.5 > 1.0
    start, end = last_night(NOW, TH)
    assert (start, end) == (dt.datetime(2026, 11, 26, 19, 30, tzinfo=UTC),
                            dt.datetime(2026, 11, 26, 22, 30, tzinfo=UTC))
    _ingest(node, [(flow, (start + dt.timedelta(minutes=m)).isoformat(), v)
                   for m, v in ((0, 3.0), (60, 2.5), (120, 4.0))]
            + [(flow, (end + dt.timedelta(minutes=30)).isoformat(), 0.0)])  # after the window: not counted
    _evaluate(node)
    (n,) = _alerts(node, "night_flow")
    assert (n.value, n.threshold, n.details["readings"]) == (2.5, 1.0, 3)
    assert n.status == "open"
    # flow seen 19.5 h ago now: the no_supply alert closes
    assert _alerts(node, "no_supply")[0].status == "closed"

    # the next night is quiet: closed
    tomorrow = NOW + dt.timedelta(days=1)
    s2, _ = last_night(tomorrow, TH)
    _ingest(node, [(flow, (s2 + dt.timedelta(minutes=30)).isoformat(), 0.2),
                   (flow, at(5, tomorrow), 8.0)], now=tomorrow)
    _evaluate(node, tomorrow)
    assert [a.status for a in _alerts(node, "night_flow")] == ["closed"]


def test_per_scheme_override_and_disable(node):
    w = build_telemetry(node)
    cl = w.ids["residual_chlorine_a1"]
    _ingest(node, [(cl, at(5), 0.3)])
    _evaluate(node)
    assert _alerts(node, "low_chlorine") == []
    with node.db.unit_of_work() as s:
        scheme = s.scalars(select(Scheme).where(Scheme.name == "Scheme a1")).one()
        scheme.attributes = {**scheme.attributes, "alert_thresholds": {"min_chlorine_mg_l": 0.5}}
    _evaluate(node)
    (a,) = _alerts(node, "low_chlorine")
    assert (a.value, a.threshold, a.status) == (0.3, 0.5, "open")
    with node.db.unit_of_work() as s:
        scheme = s.scalars(select(Scheme).where(Scheme.name == "Scheme a1")).one()
        scheme.attributes = {**scheme.attributes, "alert_thresholds": {"min_chlorine_mg_l": None}}
    _evaluate(node)
    assert _alerts(node, "low_chlorine")[0].status == "closed"


def test_supply_record_conditions(node):
    codes = build_sd(node, chlorinated=(500001,))
    today = NOW.date()  # 27 Nov (IST at 17:30)
    d = lambda n: (today - dt.timedelta(days=n)).isoformat()  # noqa: E731
    write(node, [
        # 500001: supplied today 06-08 with chlorine 0.1 on a chlorinated supply
        record(codes[500001], 500001, d(0), volume_supplied_kl=1.5, tail_end_residual_chlorine_mg_l=0.1),
        # 500002: last supply three days ago, no supply since
        record(codes[500002], 500002, d(3), volume_supplied_kl=1.0),
        record(codes[500002], 500002, d(1), supplied=False, reason_no_supply="pump_failure", start_time=None,
               end_time=None),
        # 500004: supplied yesterday 06-08 (33.5 h ago): over 24 h, but the scheme allows 48
        record(codes[500004], 500004, d(1), volume_supplied_kl=1.0),
    ])
    with node.db.unit_of_work() as s:
        scheme = s.scalars(select(Scheme).where(Scheme.code == codes[500004])).one()
        scheme.attributes = {**scheme.attributes, "alert_thresholds": {"no_supply_hours": 48}}
    _evaluate(node)
    (chlorine,) = _alerts(node, "low_chlorine")
    assert (chlorine.value, chlorine.threshold, chlorine.lgd_path) == (0.1, 0.2, V1)
    assert chlorine.details == {"source": "supply_records", "supply_date": d(0)}
    (nos,) = _alerts(node, "no_supply")
    # supply ended 24 Nov 08:00 IST = 02:30Z; now 27 Nov 12:00Z: 81.5 h
    assert (nos.value, nos.threshold, nos.details["source"]) == (81.5, 24.0, "supply_records")
    assert nos.lgd_path == "/S28/D745/B4001/G200001/V500002/"
    assert nos.routed_to[0] == {"role": "vwsc_operator", "path": "/S28/D745/B4001/G200001/"}
    assert _evaluate(node)["opened"] == 0  # dedup

    write(node, [record(codes[500001], 500001, d(0), volume_supplied_kl=1.5, tail_end_residual_chlorine_mg_l=0.4),
                 record(codes[500002], 500002, d(0), volume_supplied_kl=1.0)])
    closed = _evaluate(node)
    assert closed["closed"] == 2 and closed["open"] == 0
    assert {a.status for a in _alerts(node)} == {"closed"}


def test_routing_scoping_and_acknowledge(client, node):
    w = build_telemetry(node)
    cl_a, cl_b = w.ids["residual_chlorine_a1"], w.ids["residual_chlorine_b3"]
    now = utcnow()
    _ingest(node, [(cl_a, at(5, now), 0.05), (cl_b, at(5, now), 0.05)], now=now)
    _evaluate(node, now)
    mine = next(a for a in _alerts(node, "low_chlorine") if str(a.datastream_id) == cl_a)
    other = next(a for a in _alerts(node, "low_chlorine") if str(a.datastream_id) == cl_b)
    assert routing(other.lgd_path) == [{"role": "vwsc_operator", "path": "/S28/D746/B4002/G200002/"},
                                       {"role": "block_official", "path": "/S28/D746/B4002/"}]
    operator = login_as(client, node, "op", "vwsc_operator", "/S28/D745/B4001/G200001/")
    engineer = login_as(client, node, "eng", "block_official", "/S28/D745/B4001/")
    beta = login_as(client, node, "beta", "district_official", "/S28/D746/")
    tester = login_as(client, node, "tester", "field_tester", "/")

    for headers in (operator, engineer):
        r = client.get("/api/v1/alerts?status=open&kind=low_chlorine", headers=headers)
        assert r.status_code == 200, r.text
        assert [i["id"] for i in r.json()["items"]] == [str(mine.id)]
        assert client.get(f"/api/v1/alerts/{mine.id}", headers=headers).json()["value"] == 0.05
        assert client.get(f"/api/v1/alerts/{other.id}", headers=headers).status_code == 404
    r = client.get("/api/v1/alerts", headers=beta)
    ids = {i["id"] for i in r.json()["items"]}
    assert str(other.id) in ids and str(mine.id) not in ids
    assert client.get(f"/api/v1/alerts/{mine.id}", headers=beta).status_code == 404
    assert client.post(f"/api/v1/alerts/{mine.id}/acknowledge", headers=beta).status_code == 404
    assert client.get("/api/v1/alerts", headers=tester).json()["items"] == []  # no alerts:read
    assert client.get("/api/v1/alerts").status_code == 401
    r = client.get("/api/v1/alerts?within=district:746&status=open", headers=beta)
    assert {i["datastream_id"] for i in r.json()["items"] if i["kind"] == "low_chlorine"} == {cl_b}
    assert client.get("/api/v1/alerts?status=closed", headers=beta).json()["items"] == []

    r = client.post(f"/api/v1/alerts/{mine.id}/acknowledge", headers=operator, json={"note": "dosing pump fixed"})
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["acknowledged_by"] == "op" and body["acknowledged_at"] and body["version"] == 2
    again = client.post(f"/api/v1/alerts/{mine.id}/acknowledge", headers=engineer).json()
    assert again["acknowledged_by"] == "op"  # the first acknowledgement is kept
    with node.db.engine.connect() as c:
        actors = c.execute(text("SELECT actor FROM change_log WHERE record_type = 'alerts' AND record_id = :i "
                                "ORDER BY seq"), {"i": mine.id if node.db.dialect == "postgresql" else mine.id.hex}
                           ).scalars().all()
    assert actors == ["system:alerts", "op"]


def test_end_to_end_sensorthings_observation_to_alert_and_back(client, node):
    w = build_telemetry(node)
    cl = w.ids["residual_chlorine_a1"]
    partner = login_as(client, node, "scada", "partner_system", "/S28/", kind="system", source_system="scada")
    operator = login_as(client, node, "op", "vwsc_operator", "/S28/D745/B4001/G200001/")
    t0 = utcnow().replace(microsecond=0)
    r = client.post(f"/sta/v1.1/Datastreams({cl})/Observations", headers=partner,
                    json={"phenomenonTime": (t0 - dt.timedelta(minutes=2)).isoformat(), "result": 0.08})
    assert r.status_code == 201, r.text
    _evaluate(node, t0)
    r = client.get("/api/v1/alerts?status=open&kind=low_chlorine", headers=operator)
    (alert,) = r.json()["items"]
    assert (alert["value"], alert["threshold"], alert["datastream_id"]) == (0.08, 0.2, cl)

    r = client.post(f"/sta/v1.1/Datastreams({cl})/Observations", headers=partner,
                    json={"phenomenonTime": (t0 - dt.timedelta(minutes=1)).isoformat(), "result": 0.5})
    assert r.status_code == 201, r.text
    _evaluate(node, t0)
    assert client.get("/api/v1/alerts?status=open&kind=low_chlorine", headers=operator).json()["items"] == []
    closed = client.get(f"/api/v1/alerts/{alert['id']}", headers=operator).json()
    assert closed["status"] == "closed" and closed["closed_at"]
