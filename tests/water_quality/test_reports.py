"""Village status, hotspots, WQ1-like and WQ6-like reports, the surveillance schedule and field-kit coverage, checked
exactly on a small world built through the API; every view is scoped (the other district's data never appears)."""

from __future__ import annotations

import datetime as dt

import pytest

from jaldpi.accounts.service import GrantSpec, create_account
from tests.water_quality.wq_world import V1, V2, V3, V4, WQ, build_wq

YEAR = {"since": "2030-01-01", "until": "2030-12-31"}
AS_OF = "2030-08-15"  # post-monsoon (Jul-Dec); the previous season is Jan-Jun 2030


def at(day: str) -> str:
    return f"{day}T08:00:00+00:00"


@pytest.fixture
def world(client, node) -> WQ:
    w = build_wq(client, node)
    w.p1 = w.point("district", 500001)
    w.t1 = w.point("district", 500001, "household_tap")
    w.p2 = w.point("district", 500002)
    w.p4 = w.point("district", 500004)
    w.p3 = w.point("other", 500003)
    # village 500001: a fluoride source, later re-tested safe; a tap with E. coli
    w.sample("analyst", w.p1, {"fluoride": "1.8"}, collected_at=at("2030-02-10"))
    w.sample("analyst", w.t1, {"e_coli": "detected"}, collected_at=at("2030-03-01"))
    w.sample("analyst", w.p1, {"fluoride": "0.9"}, collected_at=at("2030-05-01"))
    # village 500002: safe, chemically and bacteriologically tested in both seasons
    w.sample("analyst", w.p2, {"fluoride": "0.5", "e_coli": "absent"}, collected_at=at("2030-03-05"))
    w.sample("analyst", w.p2, {"e_coli": "<1"}, collected_at=at("2030-07-20"))
    # village 500004: tested chemically 400 days before AS_OF only
    w.sample("analyst", w.p4, {"fluoride": "0.5"}, collected_at=at("2029-07-11"))
    # district 746: arsenic
    w.sample("other_analyst", w.p3, {"arsenic": "0.08"}, collected_at=at("2030-02-01"), lab=w.lab_b)
    # field kits (screening: they never make a village's status); one in April
    w.sample("tester", w.p1, {"fluoride": "1.5-2.0"}, kind="field_kit", collected_at=at("2030-03-02"))
    w.sample("tester", w.t1, {"h2s_vial": "absent"}, kind="field_kit", collected_at=at("2030-03-03"))
    w.sample("tester2", w.p2, {"nitrate": ">100"}, kind="field_kit", collected_at=at("2030-03-04"))
    w.sample("tester", w.p1, {"fluoride": "0.5"}, kind="field_kit", collected_at=at("2030-04-01"))
    return w


P = "/api/v1/water-quality"


def test_village_status(world):
    w = world
    body = w.get("district", f"{P}/village-status", **YEAR)
    assert body["counts"] == {"safe": 1, "unsafe": 1, "not_tested": 1}
    got = {v["lgd_path"]: (v["status"], v["contaminants"], v["lab_samples"]) for v in body["items"]}
    # the latest lab sample per point counts: the source of 500001 is safe again, its tap is not
    assert got == {V1: ("unsafe", ["e_coli"], 3), V2: ("safe", [], 2), V4: ("not_tested", [], 0)}
    assert [v["lgd_path"] for v in w.get("district", f"{P}/village-status", status="unsafe", **YEAR)["items"]] == [V1]
    assert [v["lgd_path"] for v in w.get("block", f"{P}/village-status", **YEAR)["items"]] == [V1, V2]
    other = w.get("other", f"{P}/village-status", **YEAR)
    assert [(v["lgd_path"], v["status"], v["contaminants"]) for v in other["items"]] == [(V3, "unsafe", ["arsenic"])]
    # another district named explicitly: nothing of it leaks
    assert w.get("other", f"{P}/village-status", within="district:745", **YEAR)["items"] == []
    # a period before the contamination: 500004's old sample makes it safe, the others are not tested
    early = w.get("district", f"{P}/village-status", since="2029-01-01", until="2029-12-31")
    assert early["counts"] == {"safe": 1, "unsafe": 0, "not_tested": 2}

    one = w.get("district", f"{P}/villages/500001/status", **YEAR)
    assert one["status"] == "unsafe" and one["contaminants"] == ["e_coli"]
    # newest first; field kits are listed but do not count for the status
    assert [(t["test_kind"], t["collected_at"][:10], t["verdict"]) for t in one["latest_tests"]] == [
        ("lab", "2030-05-01", "safe"), ("field_kit", "2030-04-01", "safe"), ("field_kit", "2030-03-03", "safe"),
        ("field_kit", "2030-03-02", "unsafe"), ("lab", "2030-03-01", "unsafe"), ("lab", "2030-02-10", "unsafe")]
    assert one["latest_tests"][0]["collected_at"] == "2030-05-01T08:00:00+00:00"
    assert one["latest_tested_at"] == "2030-05-01T08:00:00+00:00"
    w.get("other", f"{P}/villages/500001/status", 404, **YEAR)
    w.get("district", f"{P}/villages/500003/status", 404, **YEAR)
    assert w.client.get(f"{P}/village-status").status_code == 401


def test_hotspots(world):
    w = world
    blocks = w.get("district", f"{P}/hotspots", level="block", **YEAR)["items"]
    assert [(b["lgd_path"], b["villages"], b["tested"], b["unsafe"], b["unsafe_share_of_tested"],
             b["contaminants"]) for b in blocks] == [
        ("/S28/D745/B4001/", 2, 2, 1, 0.5, {"e_coli": 1}),
        ("/S28/D745/B4003/", 1, 0, 0, None, {}),
    ]
    districts = w.get("district", f"{P}/hotspots", level="district", **YEAR)["items"]
    assert [(d["lgd_path"], d["villages"], d["tested"], d["unsafe"]) for d in districts] == [
        ("/S28/D745/", 3, 2, 1)]
    both = w.get("state", f"{P}/hotspots", level="district", **YEAR)["items"]
    assert [(d["lgd_path"], d["unsafe_share_of_tested"]) for d in both] == [("/S28/D746/", 1.0),
                                                                              ("/S28/D745/", 0.5)]
    assert [d["lgd_path"] for d in w.get("other", f"{P}/hotspots", level="district", **YEAR)["items"]] == [
        "/S28/D746/"]


def test_wq6(world):
    w = world
    items = w.get("district", f"{P}/reports/wq6", level="district", **YEAR)["items"]
    assert len(items) == 1 and items[0]["lgd_path"] == "/S28/D745/"
    # contaminated samples in the period, even if re-tested safe later (the WQ6 count is of contamination found)
    assert items[0]["villages_contaminated"] == 1
    assert {k: v for k, v in items[0]["by_contaminant"].items() if v} == {"fluoride": 1, "e_coli": 1}
    state = w.get("state", f"{P}/reports/wq6", level="district", **YEAR)["items"]
    assert [(i["lgd_path"], {k: v for k, v in i["by_contaminant"].items() if v}) for i in state] == [
        ("/S28/D745/", {"fluoride": 1, "e_coli": 1}), ("/S28/D746/", {"arsenic": 1})]
    other = w.get("other", f"{P}/reports/wq6", level="district", **YEAR)["items"]
    assert [i["lgd_path"] for i in other] == ["/S28/D746/"]


def test_wq1(world):
    w = world
    items = w.get("district", f"{P}/reports/wq1", year=2030, level="block")["items"]
    assert items == [
        {"lgd_path": "/S28/D745/B4001/", "lgd": items[0]["lgd"], "sources": 2, "chemical_tested": 2,
         "bacteriological_pre_monsoon": 1, "bacteriological_post_monsoon": 1, "chemical_tested_pct": 100.0,
         "bacteriological_pre_monsoon_pct": 50.0, "bacteriological_post_monsoon_pct": 50.0},
        {"lgd_path": "/S28/D745/B4003/", "lgd": items[1]["lgd"], "sources": 1, "chemical_tested": 0,
         "bacteriological_pre_monsoon": 0, "bacteriological_post_monsoon": 0, "chemical_tested_pct": 0.0,
         "bacteriological_pre_monsoon_pct": 0.0, "bacteriological_post_monsoon_pct": 0.0},
    ]
    [d] = w.get("district", f"{P}/reports/wq1", year=2030, level="district")["items"]
    assert (d["sources"], d["chemical_tested"], d["chemical_tested_pct"], d["bacteriological_pre_monsoon_pct"]) == (
        3, 2, 66.7, 33.3)
    [d] = w.get("district", f"{P}/reports/wq1", year=2029, level="district")["items"]
    assert (d["sources"], d["chemical_tested"]) == (3, 1)
    other = w.get("other", f"{P}/reports/wq1", year=2030, level="district")["items"]
    assert [(i["lgd_path"], i["sources"], i["chemical_tested"]) for i in other] == [("/S28/D746/", 1, 1)]


def test_surveillance_schedule(world):
    w = world
    body = w.get("district", f"{P}/surveillance", within="district:745", as_of=AS_OF)
    assert (body["sources"], body["chemical_overdue"], body["bacteriological_overdue"]) == (3, 1, 2)
    got = {i["code"]: i for i in body["items"]}
    p1, p2, p4 = got[w.p1["code"]], got[w.p2["code"]], got[w.p4["code"]]
    assert p1["chemical"] == {"last_tested": "2030-05-01", "due_by": "2031-05-01", "overdue": False}
    assert p1["bacteriological"] == {"current_season": "post_monsoon", "tested_this_season": False,
                                     "previous_season": "pre_monsoon", "tested_previous_season": False,
                                     "overdue": True}
    assert p2["bacteriological"]["overdue"] is False and p2["bacteriological"]["tested_this_season"] is True
    # tested chemically 400 days ago: overdue, and the report still says when it was last tested
    assert p4["chemical"] == {"last_tested": "2029-07-11", "due_by": "2030-07-11", "overdue": True}
    assert w.get("district", f"{P}/surveillance", as_of="2030-07-11")["chemical_overdue"] == 0
    assert w.get("district", f"{P}/surveillance", as_of="2030-07-12")["chemical_overdue"] == 1
    overdue = w.get("district", f"{P}/surveillance", as_of=AS_OF, overdue_only="true")
    assert sorted(i["code"] for i in overdue["items"]) == sorted([w.p1["code"], w.p4["code"]])
    # in January the previous season is July-December of the year before
    jan = {i["code"]: i for i in w.get("district", f"{P}/surveillance", as_of="2031-01-10")["items"]}
    assert jan[w.p2["code"]]["bacteriological"]["previous_season"] == "post_monsoon"
    assert jan[w.p2["code"]]["bacteriological"]["overdue"] is False
    assert jan[w.p1["code"]]["bacteriological"]["overdue"] is True
    other = w.get("other", f"{P}/surveillance", as_of=AS_OF)
    assert [i["code"] for i in other["items"]] == [w.p3["code"]]
    assert w.get("other", f"{P}/surveillance", as_of=AS_OF, within="district:745")["items"] == []


def test_ftk_coverage(world, node):
    w = world
    with node.db.unit_of_work() as session:
        # one account with two grants over village 500001 counts once; a GP-level tester covers both villages
        create_account(session, node.passwords, username="twice", secret="password-123", kind="person",
                       display_name="twice", grants=[GrantSpec("field_tester", V1),
                                                     GrantSpec("field_tester", "/S28/D745/B4001/G200001/")])
        create_account(session, node.passwords, username="gp", secret="password-123", kind="person",
                       display_name="gp", grants=[GrantSpec("field_tester", "/S28/D745/B4001/G200001/")])
        create_account(session, node.passwords, username="beta", secret="password-123", kind="person",
                       display_name="beta", grants=[GrantSpec("field_tester", V3)])
        create_account(session, node.passwords, username="stateman", secret="password-123", kind="person",
                       display_name="stateman", grants=[GrantSpec("block_official", V4)])
    body = w.get("district", f"{P}/ftk-coverage", month="2030-03", within="district:745")
    got = {v["lgd_path"]: (v["trained_testers"], v["ftk_tests"], v["ftk_adverse"]) for v in body["items"]}
    assert got == {V1: (3, 2, 1), V2: (3, 1, 1), V4: (0, 0, 0)}
    assert (body["month"], body["villages"], body["villages_with_ftk_tests"], body["ftk_tests"],
            body["villages_meeting_tester_norm"]) == ("2030-03", 3, 2, 3, 0)
    april = w.get("district", f"{P}/ftk-coverage", month="2030-04")
    assert april["ftk_tests"] == 1
    other = w.get("other", f"{P}/ftk-coverage", month="2030-03")
    assert [(v["lgd_path"], v["trained_testers"], v["ftk_tests"]) for v in other["items"]] == [(V3, 1, 0)]


@pytest.mark.parametrize(("day", "pre", "expected"), [
    ("2030-08-15", (1, 2, 3, 4, 5, 6), ("post_monsoon", "2030-07-01", "2030-12-31")),
    ("2030-03-01", (1, 2, 3, 4, 5, 6), ("pre_monsoon", "2030-01-01", "2030-06-30")),
    ("2030-04-01", (3, 4, 5), ("pre_monsoon", "2030-03-01", "2030-05-31")),
    ("2030-08-15", (3, 4, 5), ("post_monsoon", "2030-06-01", "2031-02-28")),  # wraps over the new year
    ("2030-01-10", (3, 4, 5), ("post_monsoon", "2029-06-01", "2030-02-28")),
])
def test_season_windows(day, pre, expected):
    from jaldpi.water_quality.service import _season_window

    season, start, end = _season_window(dt.date.fromisoformat(day), pre)
    assert (season, start.isoformat(), end.isoformat()) == expected


def test_pre_monsoon_months_must_be_one_contiguous_run():
    from pydantic import ValidationError

    from jaldpi.config import Settings

    assert Settings(wq_pre_monsoon_months=[5, 3, 4]).wq_pre_monsoon_months == [3, 4, 5]
    for bad in ([1, 3], [], list(range(1, 13)), [0, 1]):
        with pytest.raises(ValidationError, match="wq_pre_monsoon_months"):
            Settings(wq_pre_monsoon_months=bad)
