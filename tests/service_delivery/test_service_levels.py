"""Service levels and functionality, checked against hand computations.

The world (sd_world.py), month 2026-10 (31 days, all in the past), schedule 06:00-08:00, defaults: 55 lpcd, start
within 30 minutes, at least 80% of the scheduled duration, functional on at least 80% of the month's days.

* 500001: 5 households x 4 = 20 persons; 1.2 kL every day = 1200 L / 20 = 60 lpcd >= 55; starts 06:10 (10 min
  late), ends 08:00 (110 of 120 minutes = 0.917); chlorinated, 0.5 mg/L at the tail end -> functional 31/31 days.
* 500002: 3 x 5 = 15 persons; 0.75 kL = 750 / 15 = 50 lpcd < 55 -> quantity fails every day -> not functional.
* 500004: 2 x 5 = 10 persons; 0.6 kL = 60 lpcd, on schedule, but records on days 1-25 only: 25/31 = 0.806 >= 0.8
  -> functional (days 26-31 count as not functional).
* 500003 (district 746): 4 x 4 = 16 persons; 0.88 kL = 55.0 lpcd (exactly the norm: holds), starts 06:31 (31
  minutes late > 30) -> not regular any day -> not functional.

Block 4001: 1 of 2 = 50%; block 4003: 1 of 1 = 100%; block 4002: 0 of 1 = 0%. District 745: 2 of 3 = 66.67%;
district 746: 0 of 1 = 0%; state 28: 2 of 4 = 50%.
"""

from __future__ import annotations

import json

from typer.testing import CliRunner

from jaldpi.cli import app
from jaldpi.config import get_settings
from jaldpi.core.registry import Strategy
from jaldpi.service_delivery import service
from tests.helpers import ROOT, login_as
from tests.service_delivery.sd_world import build_sd, days, record, write

URL = "/api/v1/service-levels"


def month_world(node) -> dict[int, str]:
    s = build_sd(node)
    rows = []
    for d in days():
        rows.append(record(s[500001], 500001, d, start_time="06:10", volume_supplied_kl=1.2,
                           tail_end_residual_chlorine_mg_l=0.5))
        rows.append(record(s[500002], 500002, d, volume_supplied_kl=0.75))
        rows.append(record(s[500003], 500003, d, start_time="06:31", end_time="08:31", volume_supplied_kl=0.88))
    for d in days(count=25):
        rows.append(record(s[500004], 500004, d, volume_supplied_kl=0.6))
    write(node, rows)
    return s


def test_village_month_hand_computed(client, node):
    month_world(node)
    h = login_as(client, node, "block", "block_official", "/S28/D745/B4001/")
    r = client.get(f"{URL}/villages/500001", params={"month": "2026-10"}, headers=h)
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["population"] == 20
    assert len(body["days"]) == 31
    day = body["days"][0]
    assert (day["date"], day["volume_kl"], day["lpcd"], day["hours_of_supply"]) == ("2026-10-01", 1.2, 60.0, 1.83)
    assert day["quantity"] and day["regular"] and day["quality"] and day["functional"] and day["reasons"] == []
    assert day["supply_records"][0]["start_offset_minutes"] == 10
    assert body["verdict"] == {"days": 31, "days_with_records": 31, "functional_days": 31, "quantity_days": 31,
                               "regular_days": 31, "quality_days": 31, "functional_share": 1.0, "functional": True,
                               "reasons": []}
    two = client.get(f"{URL}/villages/500002", params={"month": "2026-10"}, headers=h).json()
    assert two["population"] == 15 and two["days"][0]["lpcd"] == 50.0
    assert two["days"][0]["reasons"] == ["below_norm_lpcd"]
    assert two["verdict"]["functional"] is False and two["verdict"]["reasons"] == ["quantity"]


def test_month_share_edge_and_missing_days(client, node):
    month_world(node)
    h = login_as(client, node, "district", "district_official", "/S28/D745/")
    body = client.get(f"{URL}/villages/500004", params={"month": "2026-10"}, headers=h).json()
    v = body["verdict"]
    assert (v["days"], v["days_with_records"], v["functional_days"]) == (31, 25, 25)
    assert v["functional_share"] == round(25 / 31, 4) and v["functional"] is True
    assert body["days"][25]["reasons"] == ["no_record"] and body["days"][25]["regular"] is False
    # one more day without supply: 24/31 = 0.774 < 0.8 -> not functional, failing quantity and regularity
    scheme = body["days"][0]["supply_records"][0]["scheme"]
    write(node, [record(scheme, 500004, "2026-10-25", supplied=False, reason_no_supply="power_cut",
                        volume_supplied_kl=None)])  # a re-send: updates the day, stored times cleared
    v = client.get(f"{URL}/villages/500004", params={"month": "2026-10"}, headers=h).json()["verdict"]
    assert (v["functional_days"], v["functional"], v["reasons"]) == (24, False, ["quantity", "regularity"])


def test_functionality_per_unit_exact(client, node):
    month_world(node)
    h = login_as(client, node, "state", "state_official", "/S28/")

    def get(level, **params):
        r = client.get(URL, params={"month": "2026-10", "level": level, **params}, headers=h)
        assert r.status_code == 200, r.text
        return r.json()

    blocks = {u["lgd"]["block"]: u for u in get("block")["units"]}
    assert {b: (u["villages"], u["functional"], u["functional_pct"]) for b, u in blocks.items()} == {
        4001: (2, 1, 50.0), 4003: (1, 1, 100.0), 4002: (1, 0, 0.0)}
    assert blocks[4001]["failing"] == {"quantity": 1, "regularity": 0, "quality": 0, "no_records": 0}
    assert blocks[4002]["failing"] == {"quantity": 0, "regularity": 1, "quality": 0, "no_records": 0}
    assert blocks[4001]["name"] == "Alpha Block"
    districts = {u["lgd"]["district"]: (u["villages"], u["functional"], u["functional_pct"])
                 for u in get("district")["units"]}
    assert districts == {745: (3, 2, 66.67), 746: (1, 0, 0.0)}
    state = get("state")
    assert [(u["lgd"], u["functional_pct"]) for u in state["units"]] == [({"state": 28}, 50.0)]
    assert state["total"]["functional"] == 2 and state["total"]["villages"] == 4
    gps = {u["lgd"]["gram_panchayat"]: u["functional_pct"] for u in get("gram_panchayat")["units"]}
    assert gps == {200001: 50.0, 200003: 100.0, 200002: 0.0}
    within = get("block", within="district:745")
    assert [u["lgd"]["block"] for u in within["units"]] == [4001, 4003]
    assert within["total"]["functional_pct"] == 66.67
    # a month without any record: served villages counted, none functional
    empty = get("district", month="2026-09")
    assert empty["total"]["villages"] == 4 and empty["total"]["functional"] == 0
    assert empty["total"]["failing"]["no_records"] == 4


def test_unsafe_water_is_not_functional(client, node):
    month_world(node)
    with node.db.unit_of_work() as session:
        lab = node.catalogue["entities"].import_records(session, ROOT, [{
            "entity_type": "water_quality_lab", "name": "District lab", "admin_unit": {"code": "LGD-D745"},
            "lab_level": "district"}], strategy=Strategy.create)
        assert lab.status == "ok", lab.to_dict()
        point = node.catalogue["sampling_points"].import_records(session, ROOT, [{
            "point_type": "source", "admin_unit": 500001, "name": "Borewell"}], strategy=Strategy.create)
        sample = node.catalogue["samples"].import_records(session, ROOT, [{
            "sampling_point": str(point.rows[0].id), "test_kind": "lab", "lab": str(lab.rows[0].id),
            "collected_at": "2026-08-01T08:00:00+00:00", "results": [{"parameter": "arsenic", "value": "0.08"}]}],
            strategy=Strategy.create)
        assert sample.status == "ok", sample.to_dict()
    h = login_as(client, node, "district", "district_official", "/S28/D745/")
    body = client.get(f"{URL}/villages/500001", params={"month": "2026-10"}, headers=h).json()
    assert body["water_quality"]["status"] == "unsafe" and body["water_quality"]["contaminants"] == ["arsenic"]
    assert body["days"][0]["quality"] is False and "water_quality_unsafe" in body["days"][0]["reasons"]
    assert body["verdict"]["functional"] is False and body["verdict"]["reasons"] == ["quality"]
    units = client.get(URL, params={"month": "2026-10", "level": "block", "within": "district:745"},
                       headers=h).json()["units"]
    blocks = {u["lgd"]["block"]: u for u in units}
    assert (blocks[4001]["functional"], blocks[4001]["functional_pct"]) == (0, 0.0)
    assert blocks[4001]["failing"]["quality"] == 1


def test_chlorine_on_chlorinated_supply(client, node):
    s = build_sd(node)  # 500001 is chlorinated, 500002 is not
    write(node, [
        record(s[500001], 500001, "2026-10-01", volume_supplied_kl=1.2, tail_end_residual_chlorine_mg_l=0.2),
        record(s[500001], 500001, "2026-10-02", volume_supplied_kl=1.2, tail_end_residual_chlorine_mg_l=1.0),
        record(s[500001], 500001, "2026-10-03", volume_supplied_kl=1.2, tail_end_residual_chlorine_mg_l=0.1),
        record(s[500001], 500001, "2026-10-04", volume_supplied_kl=1.2, tail_end_residual_chlorine_mg_l=1.1),
        record(s[500001], 500001, "2026-10-05", volume_supplied_kl=1.2),
        record(s[500002], 500002, "2026-10-01", volume_supplied_kl=0.9)])
    h = login_as(client, node, "district", "district_official", "/S28/D745/")
    got = client.get(f"{URL}/villages/500001", params={"month": "2026-10"}, headers=h).json()["days"][:5]
    assert [d["quality"] for d in got] == [True, True, False, False, False]
    assert got[2]["reasons"] == ["residual_chlorine_out_of_range"]
    two = client.get(f"{URL}/villages/500002", params={"month": "2026-10"}, headers=h).json()["days"][0]
    assert two["functional"] is True and two["lpcd"] == 60.0  # 900 L / 15; no chlorination, no chlorine rule


def test_regularity_tolerance_edges(client, node):
    s = build_sd(node)
    s1 = s[500001]
    write(node, [
        record(s1, 500001, "2026-10-01", start_time="05:30", end_time="07:30"),  # 30 early, full duration
        record(s1, 500001, "2026-10-02", start_time="06:31", end_time="08:31"),  # 31 late
        record(s1, 500001, "2026-10-03", start_time="06:00", end_time="07:36"),  # 96/120 = 0.8
        record(s1, 500001, "2026-10-04", start_time="06:00", end_time="07:35"),  # 95/120 < 0.8
        record(s1, 500001, "2026-10-05", start_time="00:10", end_time="01:50",  # across midnight: 20 late
               scheduled_start="23:50", scheduled_end="01:50"),
        record(s1, 500001, "2026-10-06", start_time=None, end_time=None, hours_of_supply=2),  # no start time
        record(s1, 500001, "2026-10-07", start_time="23:40", end_time="01:40",  # 20 early, before midnight
               scheduled_start="00:00", scheduled_end="02:00"),
    ])
    regular = [True, False, True, False, True, False, True]
    with node.db.unit_of_work(write=False) as session:
        village = node.catalogue["admin_units"].get(session, ROOT, "LGD-V500001")
        rules = service.Rules()
        got = service.village_month(session, ROOT, village, "2026-10", rules)["days"][:7]
        assert [d["regular"] for d in got] == regular
        assert got[4]["hours_of_supply"] == 1.67 and got[6]["supply_records"][0]["start_offset_minutes"] == -20
        looser = service.village_month(session, ROOT, village, "2026-10",
                                       service.Rules(start_tolerance_minutes=31, min_duration_share=0.79))["days"]
        assert [d["regular"] for d in looser[:7]] == [True, True, True, True, True, False, True]
        # the month verdict with a low day share: 4 regular days of 31 are not enough at 80%
        assert service.village_month(session, ROOT, village, "2026-10", rules)["verdict"]["functional"] is False


def test_jurisdiction_of_service_levels(client, node):
    month_world(node)
    other = login_as(client, node, "other", "district_official", "/S28/D746/")
    assert client.get(f"{URL}/villages/500001", params={"month": "2026-10"}, headers=other).status_code == 404
    assert client.get(f"{URL}/villages/999999", params={"month": "2026-10"}, headers=other).status_code == 404
    r = client.get(URL, params={"month": "2026-10", "within": "district:745"}, headers=other)
    assert r.status_code == 404
    mine = client.get(URL, params={"month": "2026-10", "level": "district"}, headers=other).json()
    assert [u["lgd"]["district"] for u in mine["units"]] == [746]
    assert mine["total"]["villages"] == 1
    op = login_as(client, node, "op1", "vwsc_operator", "/S28/D745/B4001/G200001/")
    gp = client.get(URL, params={"month": "2026-10", "level": "block"}, headers=op).json()
    assert gp["total"]["villages"] == 2 and gp["units"][0]["lgd"]["block"] == 4001
    assert client.get(URL, params={"month": "2026-10"}).status_code == 401
    lab = login_as(client, node, "lab", "lab_analyst", "/S28/D745/")
    assert client.get(f"{URL}/villages/500001", params={"month": "2026-10"}, headers=lab).status_code == 404
    assert client.get(URL, params={"month": "2026-10"}, headers=lab).json()["total"]["villages"] == 0
    assert client.get(URL, params={"month": "2026-13"}, headers=other).status_code == 422
    assert client.get(URL, params={"month": "2026-10", "level": "habitation"}, headers=other).status_code == 422


def test_cli_compute(node, database, monkeypatch):
    month_world(node)
    monkeypatch.setenv("JALDPI_DATABASE_URL", database.url)
    get_settings.cache_clear()
    try:
        result = CliRunner().invoke(app, ["service-levels", "compute", "--month", "2026-10", "--within",
                                          "district:745", "--level", "block"])
    finally:
        get_settings.cache_clear()
    assert result.exit_code == 0, (result.output, result.exception)
    out = json.loads(result.output)
    assert out["within"] == "/S28/D745/"
    assert [(u["lgd"]["block"], u["villages"], u["functional"], u["functional_pct"]) for u in out["units"]] == [
        (4001, 2, 1, 50.0), (4003, 1, 1, 100.0)]
    assert out["total"]["functional_pct"] == 66.67
