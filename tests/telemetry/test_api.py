"""SensorThings endpoints: creation, query options, CreateObservations, jurisdiction, latest and rollups."""

from __future__ import annotations

import datetime as dt

from tests.helpers import build_records, error_of, login_as
from tests.telemetry.world import build_telemetry

STA = "/sta/v1.1"


def _hour(h: int) -> str:
    return (dt.datetime(2026, 11, 26, 0, 0, tzinfo=dt.UTC) + dt.timedelta(hours=h)).isoformat().replace("+00:00", "Z")


def _seed(client, node, headers, ds: str, n: int = 10) -> None:
    body = [{"Datastream": {"@iot.id": ds}, "components": ["phenomenonTime", "result"],
             "dataArray": [[_hour(h), float(h * 3 % 7)] for h in range(n)]}]
    r = client.post(f"{STA}/CreateObservations", json=body, headers=headers)
    assert r.status_code == 201, r.text
    assert all("/Observations(" in x for x in r.json())


def test_create_entities_and_observations_over_http(client, node):
    build_telemetry(node)
    admin = login_as(client, node, "admin", "node_admin", "/")
    comp = build_records(node, {"a4": 500004}, ("components",))["components"]["a4"]["id"]
    r = client.post(f"{STA}/Things", headers=admin, json={"name": "Pump house", "description": "pump",
                                                           "properties": {"component_id": comp}})
    assert r.status_code == 201, r.text
    thing = r.json()
    assert r.headers["location"] == thing["@iot.selfLink"]
    assert thing["@iot.selfLink"].endswith(f"Things({thing['@iot.id']})")
    sensor = client.post(f"{STA}/Sensors", headers=admin, json={"name": "Pressure transmitter",
                                                                 "encodingType": "text/plain", "metadata": "4-20mA"})
    assert sensor.status_code == 201
    r = client.post(f"{STA}/Datastreams", headers=admin, json={
        "name": "Delivery pressure", "Thing": {"@iot.id": thing["@iot.id"]},
        "Sensor": {"@iot.id": sensor.json()["@iot.id"]}, "ObservedProperty": {"@iot.id": "pressure"},
        "properties": {"expectedIntervalSeconds": 300, "validMax": 6}})
    assert r.status_code == 201, r.text
    ds = r.json()
    assert ds["unitOfMeasurement"]["symbol"] == "bar" and ds["properties"]["validMax"] == 6
    obs = {"phenomenonTime": "2026-11-26T10:00:00+05:30", "result": 7.5, "Datastream": {"@iot.id": ds["@iot.id"]}}
    r = client.post(f"{STA}/Observations", headers=admin, json=obs)
    assert r.status_code == 201, r.text
    created = r.json()
    assert created["phenomenonTime"] == "2026-11-26T04:30:00Z" and created["resultQuality"] == ["out_of_range"]
    again = client.post(f"{STA}/Datastreams({ds['@iot.id']})/Observations", headers=admin, json=obs)
    assert again.status_code == 200 and again.json()["@iot.id"] == created["@iot.id"]
    r = client.get(f"{STA}/Things({thing['@iot.id']})/Datastreams", headers=admin)
    assert [d["@iot.id"] for d in r.json()["value"]] == [ds["@iot.id"]]
    bad = client.post(f"{STA}/Datastreams", headers=admin, json={"name": "x", "Thing": {"@iot.id": thing["@iot.id"]},
                      "Sensor": {"@iot.id": sensor.json()["@iot.id"]}, "ObservedProperty": {"@iot.id": "colour"}})
    assert bad.status_code == 422 and error_of(bad)["code"] == "validation_failed"
    ops = client.get(f"{STA}/ObservedProperties", headers=admin).json()["value"]
    assert {o["@iot.id"] for o in ops} >= {"flow_rate", "pump_run_status", "power"}
    assert client.get(f"{STA}/Things", headers=admin).json()["value"]
    assert client.get(f"{STA}/Locations", headers=admin).json()["value"][0]["location"]["type"] == "Point"


def test_query_options(client, node):
    w = build_telemetry(node)
    admin = login_as(client, node, "admin", "node_admin", "/")
    ds = w.ids["flow_rate_a1"]
    _seed(client, node, admin, ds)  # results h*3 % 7 for h = 0..9: 0 3 6 2 5 1 4 0 3 6
    url = f"{STA}/Datastreams({ds})/Observations"
    r = client.get(url, headers=admin, params={"$top": 4, "$count": "true"}).json()
    assert r["@iot.count"] == 10 and [o["result"] for o in r["value"]] == [0, 3, 6, 2]
    nxt = r["@iot.nextLink"]
    assert "%24skip=4" in nxt or "$skip=4" in nxt
    r2 = client.get(nxt, headers=admin).json()
    assert [o["result"] for o in r2["value"]] == [5, 1, 4, 0]
    last = client.get(r2["@iot.nextLink"], headers=admin).json()
    assert [o["result"] for o in last["value"]] == [3, 6] and "@iot.nextLink" not in last
    r = client.get(url, headers=admin, params={"$filter": f"phenomenonTime ge {_hour(2)} and phenomenonTime lt "
                                               f"{_hour(6)} and result gt 1", "$orderby": "result desc"}).json()
    assert [(o["result"], o["phenomenonTime"]) for o in r["value"]] == [(6, _hour(2)), (5, _hour(4)), (2, _hour(3))]
    r = client.get(url, headers=admin, params={"$filter": "result eq 0", "$orderby": "phenomenonTime desc"}).json()
    assert [o["phenomenonTime"] for o in r["value"]] == [_hour(7), _hour(0)]
    r = client.get(f"{STA}/Observations", headers=admin, params={"$skip": 8, "$top": 5}).json()
    assert [o["result"] for o in r["value"]] == [3, 6]
    for bad in ({"$filter": "result ne 3"}, {"$filter": "substringof('a', name)"}, {"$orderby": "name"},
                {"$filter": "phenomenonTime ge yesterday"}, {"$expand": "Datastream"}, {"$top": "many"}):
        resp = client.get(url, headers=admin, params=bad)
        assert resp.status_code == 400, bad
        assert error_of(resp)["code"] == "invalid_query"
    capped = client.get(url, headers=admin, params={"$top": 10**6}).json()
    assert len(capped["value"]) == 10


def test_create_observations_reports_each_row(client, node):
    w = build_telemetry(node)
    operator = login_as(client, node, "op", "vwsc_operator", "/S28/D745/")
    ds, other = w.ids["flow_rate_a1"], w.ids["flow_rate_b3"]
    body = [{"Datastream": {"@iot.id": ds}, "components": ["phenomenonTime", "result", "resultTime"],
             "dataArray": [[_hour(1), 4.0, _hour(1)], ["not a time", 5.0, None], [_hour(2), "x", None],
                           [_hour(3), 6.0], [_hour(1), 4.0, None]]},
            {"Datastream": {"@iot.id": other}, "components": ["phenomenonTime", "result"],
             "dataArray": [[_hour(1), 1.0]]}]
    r = client.post(f"{STA}/CreateObservations", json=body, headers=operator)
    assert r.status_code == 201, r.text
    out = r.json()
    assert out[0].endswith(")") and "/Observations(" in out[0]
    assert out[1].startswith("error") and "phenomenonTime" in out[1]
    assert out[2].startswith("error") and "result" in out[2]
    assert out[3].startswith("error")  # wrong number of values
    assert out[4] == out[0]  # replay inside the same request: the same observation
    assert out[5].startswith("error") and "not found" in out[5]  # district 746: outside the operator's scope
    admin = login_as(client, node, "admin", "node_admin", "/")
    r = client.get(f"{STA}/Observations", headers=admin, params={"$count": "true"}).json()
    assert r["@iot.count"] == 1


def test_jurisdiction(client, node):
    w = build_telemetry(node)
    admin = login_as(client, node, "admin", "node_admin", "/")
    _seed(client, node, admin, w.ids["flow_rate_a1"], 3)
    beta = login_as(client, node, "beta", "district_official", "/S28/D746/")
    assert {t["@iot.id"] for t in client.get(f"{STA}/Things", headers=beta).json()["value"]} == {w.ids["thing_b3"]}
    ds_ids = {d["@iot.id"] for d in client.get(f"{STA}/Datastreams", headers=beta).json()["value"]}
    assert ds_ids == {w.ids["flow_rate_b3"], w.ids["residual_chlorine_b3"]}
    assert client.get(f"{STA}/Observations", headers=beta).json()["value"] == []
    for path in (f"Things({w.ids['thing_a1']})", f"Things({w.ids['thing_a1']})/Datastreams",
                 f"Datastreams({w.ids['flow_rate_a1']})", f"Datastreams({w.ids['flow_rate_a1']})/Observations"):
        resp = client.get(f"{STA}/{path}", headers=beta)
        assert resp.status_code == 404 and error_of(resp)["code"] == "not_found", path
    first = client.get(f"{STA}/Observations", headers=admin).json()["value"][0]["@iot.id"]
    assert client.get(f"{STA}/Observations({first})", headers=beta).status_code == 404
    assert client.get(f"{STA}/Observations({first})", headers=admin).status_code == 200
    # officials read but do not write
    r = client.post(f"{STA}/Datastreams({w.ids['flow_rate_b3']})/Observations", headers=beta,
                    json={"phenomenonTime": _hour(1), "result": 1.0})
    assert r.status_code == 404
    assert client.get(f"{STA}/Things").status_code == 401
    latest = client.get("/api/v1/telemetry/latest", headers=beta).json()["items"]
    assert latest == []
    assert client.get("/api/v1/telemetry/rollups", headers=beta,
                      params={"datastream": w.ids["flow_rate_a1"]}).status_code == 404


def test_latest_rollups_and_silent_endpoints(client, node):
    w = build_telemetry(node)
    admin = login_as(client, node, "admin", "node_admin", "/")
    ds = w.ids["flow_rate_a1"]
    # 17:00Z..21:00Z on the 26th: 22:30 and 23:30 IST on the 26th, then 00:30, 01:30, 02:30 IST on the 27th
    body = [{"Datastream": {"@iot.id": ds}, "components": ["phenomenonTime", "result"],
             "dataArray": [[_hour(17), 10.0], [_hour(18), 20.0], [_hour(19), 30.0], [_hour(20), 40.0],
                           [_hour(21), 6000.0]]}]
    assert client.post(f"{STA}/CreateObservations", json=body, headers=admin).status_code == 201
    latest = client.get("/api/v1/telemetry/latest", headers=admin, params={"within": "district:745"}).json()["items"]
    assert [(x["datastream_id"], x["result"], x["flags"]) for x in latest] == [(ds, 6000.0, ["out_of_range"])]
    assert client.get("/api/v1/telemetry/latest", headers=admin, params={"within": "district:746"}).json()[
        "items"] == []
    r = client.get("/api/v1/telemetry/rollups", headers=admin,
                   params={"datastream": ds, "from": "2026-11-26", "to": "2026-11-27"}).json()
    assert r["timezone"] == "Asia/Kolkata"
    assert [(d["day"], d["count"], d["min"], d["max"], d["sum"], d["first"], d["last"], d["flagged"])
            for d in r["items"]] == [("2026-11-26", 2, 10.0, 20.0, 30.0, 10.0, 20.0, 0),
                                     ("2026-11-27", 3, 30.0, 6000.0, 6070.0, 30.0, 6000.0, 1)]
    only = client.get("/api/v1/telemetry/rollups", headers=admin,
                      params={"datastream": ds, "from": "2026-11-27"}).json()["items"]
    assert [d["day"] for d in only] == ["2026-11-27"]
    silent = client.get("/api/v1/telemetry/silent", headers=admin, params={"within": "district:745"}).json()["items"]
    # the flow stream last reported on 2026-11-26 (long ago for the real clock); chlorine a1 never did
    assert {s["name"] for s in silent} == {"flow_rate a1", "residual_chlorine a1"}
