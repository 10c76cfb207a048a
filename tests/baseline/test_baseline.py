"""JJM village profiles: parsing, matching to LGD units and node villages, idempotent re-import, the below-norm
report over the API and the CLI; and the real files against an independent computation (both backends)."""

from __future__ import annotations

import csv
import datetime as dt
import json
import time
from collections import Counter
from decimal import Decimal

import pytest
from sqlalchemy import func, select
from typer.testing import CliRunner

from jaldpi.admin_units.lgd_import import load
from jaldpi.baseline.importer import har_ghar_jal_code, import_files, import_profile, read_profile
from jaldpi.baseline.models import VillageBaseline
from jaldpi.core.registry import Strategy
from tests.conftest import SHARED_DATA
from tests.helpers import ROOT, login_as

HEADER = ("state_name,district_name,block_name,blcode11,village_name,vil_encode,service_level,TotalHab,"
          "TotalNoofHouseholds,HousesWithTaps,NoofSchool,School_TapCon,RunningWater_In_Toilet_Urinals_School,"
          "hand_wash_avail_School,NoofBal_Agan,Bal_Agan_TapCon,RunningWater_In_Toilet_Urinals_Agan,"
          "hand_wash_avail_Agan,JJMStatus,SCCurrentPop,STCurrentPop,GENCurrentPop,TotalCurrentPop")


def _row(state, district, block, village, code, lpcd, status="100% Har Ghar Jal", households=100, taps=90):
    return (f"{state},{district},{block},81541,{village},{code},{lpcd},1,{households},{taps},2,2,0,0,1,1,0,0,"
            f"{status},10,20,70,100")


# --------------------------------------------------------------------------------------------------- parsing
def test_header_variants_missing_values_and_status_codes():
    # the dashboard header (as in the real files)
    text = HEADER + "\n" + _row("Kerala", "Alappuzha", "Aryad", "Panavally", "11112825221", "56.84",
                                status="In progress") + "\n"
    header, columns, rows = read_profile(text)
    assert {"external_id", "block_external_id", "service_level_lpcd", "households", "houses_with_taps",
            "schools_with_taps", "anganwadis_with_taps", "har_ghar_jal_status", "population_total"} <= set(columns)
    v = rows[0].values
    assert (v["service_level_lpcd"], v["households"], v["houses_with_taps"], v["external_id"]) == (
        Decimal("56.84"), 100, 90, "11112825221")
    assert (v["har_ghar_jal_status"], v["har_ghar_jal"]) == ("In progress", "none")
    assert v["population"] == {"sc": 10, "st": 20, "general": 70, "total": 100}
    assert rows[0].raw["blcode11"] == "81541"  # the raw row is kept for provenance

    # another spelling of the headers (BOM, spaces, capitals), missing values, thousands separators, junk
    other = ("\ufeffState Name,District,Block Name,Village Name,Village ID,Service Level (LPCD),Total Households,"
             "HH with Tap,HGJ Status,Extra\n"
             'Ladakh,Kargil,Drass,Abran,x%3A1,-,"1,204",,Har Ghar Jal Certified,z\n'
             "Ladakh,Kargil,Drass,Akshoo,x2,,NA,12.5,100% Har Ghar Jal,\n"
             "Ladakh,Kargil,Drass,Bodh,x3,abc,7,7,,\n"
             ",,,,,,,,,\n")
    header, columns, rows = read_profile(other)
    assert len(rows) == 3  # the blank line is not a row
    a, b, c = (r.values for r in rows)
    assert (a["service_level_lpcd"], a["households"], a["houses_with_taps"], a["har_ghar_jal"]) == (
        None, 1204, None, "certified")
    assert a["external_id"] == "x%3A1" and a["population"] is None and a["schools_with_taps"] is None
    assert (b["service_level_lpcd"], b["households"], b["houses_with_taps"], b["har_ghar_jal"]) == (
        None, None, None, "reported")
    assert rows[1].problems == ["houses_with_taps"]  # 12.5 houses: unreadable, kept as missing, counted
    assert (c["service_level_lpcd"], c["har_ghar_jal_status"], c["har_ghar_jal"]) == (None, None, None)
    assert rows[2].problems == ["service_level_lpcd"]

    with pytest.raises(ValueError, match="no column for block_name"):
        read_profile("state_name,district_name,village_name\nA,B,C\n")
    assert [har_ghar_jal_code(s) for s in ("100% Har Ghar Jal", "Har Ghar Jal Certified", "In progress",
                                           "Not started", "", "something else")] == [
        "reported", "certified", "none", "none", None, None]


# --------------------------------------------------------------------------------------------------- a small world
UNITS = [
    {"level": "state", "lgd_code": 36, "name": "TELANGANA"},
    {"level": "state", "lgd_code": 37, "name": "LADAKH"},
    {"level": "state", "lgd_code": 1, "name": "JAMMU AND KASHMIR"},
    {"level": "district", "lgd_code": 522, "name": "WARANGAL", "parent": {"code": "LGD-S36"}},
    {"level": "district", "lgd_code": 686, "name": "HANUMAKONDA", "parent": {"code": "LGD-S36"}},
    {"level": "district", "lgd_code": 9, "name": "LEH LADAKH", "parent": {"code": "LGD-S37"}},
    {"level": "block", "lgd_code": 5001, "name": "RAYAPARTHY", "parent": {"code": "LGD-D522"}},
    {"level": "block", "lgd_code": 5002, "name": "VEMULAWADA RURAL", "parent": {"code": "LGD-D522"}},
    {"level": "block", "lgd_code": 5003, "name": "ELKATHURTHI", "parent": {"code": "LGD-D686"}},
    {"level": "block", "lgd_code": 98, "name": "Deskit", "parent": {"code": "LGD-D9"}},
    {"level": "gram_panchayat", "lgd_code": 210001, "name": "RAYAPARTHY GP", "parent": {"code": "LGD-B5001"}},
    {"level": "village", "lgd_code": 570001, "name": "Kondur", "parent": {"code": "LGD-G210001"}},
    {"level": "village", "lgd_code": 570002, "name": "Mylaram", "parent": {"code": "LGD-G210001"}},
    {"level": "village", "lgd_code": 570003, "name": "Kothur", "parent": {"code": "LGD-G210001"}},
    {"level": "village", "lgd_code": 570004, "name": "Kothur", "parent": {"code": "LGD-G210001"}},
]

SMALL = "\n".join([
    HEADER,
    _row("Telangana", "Warangal Rural", "Rayaparthi", "KONDUR", "v1", "40.5"),      # alias district, fuzzy block
    _row("Telangana", "Warangal Rural", "Rayaparthi", "Mylaaram", "v2", "60"),      # fuzzy village
    _row("Telangana", "Warangal Rural", "Rayaparthi", "Kothur", "v3", "54.99"),     # two villages named Kothur
    _row("Telangana", "Warangal Rural", "Rayaparthi", "Nowhere", "v4", "-"),        # village not found; missing lpcd
    _row("Telangana", "Warangal Rural", "Vemulawada Urban", "Ganta", "v5", "0"),    # urban is never rural
    _row("Telangana", "Warangal Urban", "Elkathurthy", "Peddapur", "v6", "55"),     # no village registry
    _row("Telangana", "Atlantis", "Nowhere", "Anything", "v7", "12"),                # district not found
    _row("Ladakh", "Leh (ladakh)", "Diskit", "Hunder", "v8", "23.58", "In progress"),  # block alias
    _row("Narnia", "X", "Y", "Z", "v9", "10"),                                        # state not found
]) + "\n"


def _small_world(node) -> None:
    with node.db.unit_of_work() as session:
        summary = node.catalogue["admin_units"].import_records(session, ROOT, UNITS, strategy=Strategy.create)
        assert summary.status == "ok", summary.to_dict()


def _rows(node) -> dict[str, dict]:
    with node.db.unit_of_work(write=False) as session:
        return {r["external_id"]: dict(r) for r in session.execute(select(VillageBaseline.__table__)).mappings()}


def _import_small(node, tmp_path, text: str = SMALL, as_on: dt.date = dt.date(2024, 2, 1)):
    path = tmp_path / "small.csv"
    path.write_text(text, encoding="utf-8")
    return import_profile(node.db, path, as_on=as_on)


def test_matching_report_and_stored_rows(node, tmp_path):
    _small_world(node)
    report = _import_small(node, tmp_path).to_dict()
    assert report["rows_read"] == 9 and report["written"] == {"created": 9, "updated": 0, "unchanged": 0}
    lv = report["levels"]
    assert lv["state"] == {"matched": 8, "unmatched": 1, "exact": 8, "alias": 0, "fuzzy": 0}
    assert lv["district"] == {"matched": 7, "unmatched": 2, "exact": 1, "alias": 6, "fuzzy": 0}
    assert lv["block"] == {"matched": 6, "unmatched": 3, "exact": 0, "alias": 1, "fuzzy": 5}
    assert lv["village"] == {"matched": 2, "unmatched": 7, "exact": 1, "alias": 0, "fuzzy": 1}
    for counts in lv.values():
        assert counts["matched"] + counts["unmatched"] == report["rows_read"]
    assert report["unmatched"]["state"] == [{"state": "Narnia", "reason": "state not found", "rows": 1}]
    assert {(g["district"], g["reason"]) for g in report["unmatched"]["district"]} == {
        ("Atlantis", "district not found in TELANGANA"), ("X", "state not matched")}
    assert ("Vemulawada Urban", "block not found in WARANGAL") in {
        (g["block"], g["reason"]) for g in report["unmatched"]["block"]}
    villages = {(g["block"], g["reason"]): g["rows"] for g in report["unmatched"]["village"]}
    assert villages[("Rayaparthi", "village name matches 2 villages in this block")] == 1
    assert villages[("Rayaparthi", "village not found in this block")] == 1
    assert villages[("Elkathurthy", "no village registry under this block")] == 1
    assert villages[("Diskit", "no village registry under this block")] == 1
    assert villages[("Vemulawada Urban", "village not found in this district")] == 1
    assert report["missing_lpcd"] == 1 and report["har_ghar_jal"] == {"100% Har Ghar Jal": 8, "In progress": 1}

    rows = _rows(node)
    v1, v2, v4, v6, v8, v9 = (rows[k] for k in ("v1", "v2", "v4", "v6", "v8", "v9"))
    assert (v1["state_match"], v1["district_match"], v1["block_match"], v1["village_match"]) == (
        "exact", "alias", "fuzzy", "exact")
    assert v1["lgd_path"] == "/S36/D522/B5001/G210001/V570001/" and v1["service_level_lpcd"] == Decimal("40.50")
    assert v1["match_scores"]["block"] >= 0.85 and v1["population"]["total"] == 100
    assert v2["village_match"] == "fuzzy" and v2["match_scores"]["village"] >= 0.85
    assert v4["service_level_lpcd"] is None and v4["lgd_path"] == "/S36/D522/B5001/"
    assert v6["lgd_path"] == "/S36/D686/B5003/" and v6["village_id"] is None
    assert v8["block_match"] == "alias" and v8["lgd_path"] == "/S37/D9/B98/" and v8["har_ghar_jal"] == "none"
    assert v9["lgd_path"] is None and v9["state_id"] is None and v9["raw"]["state_name"] == "Narnia"
    assert v1["as_on"] == dt.date(2024, 2, 1) and v1["source"] == "jjm-village-profile"


def test_reimport_is_idempotent_and_updates_changed_rows(node, tmp_path):
    _small_world(node)
    _import_small(node, tmp_path)
    before = _rows(node)
    again = _import_small(node, tmp_path).to_dict()
    assert again["written"] == {"created": 0, "updated": 0, "unchanged": 9}
    assert _rows(node) == before

    changed = SMALL.replace(",KONDUR,v1,40.5,", ",KONDUR,v1,61.2,") + _row(
        "Telangana", "Warangal Rural", "Rayaparthi", "Kothur", "v10", "70") + "\n"
    third = _import_small(node, tmp_path, changed).to_dict()
    assert third["written"] == {"created": 1, "updated": 1, "unchanged": 8}
    after = _rows(node)
    assert len(after) == 10 and after["v1"]["service_level_lpcd"] == Decimal("61.20")
    assert after["v1"]["id"] == before["v1"]["id"]  # updated in place
    assert after["v2"]["imported_at"] == before["v2"]["imported_at"]


def test_below_norm_api_scoped_and_paged(node, client, tmp_path):
    _small_world(node)
    _import_small(node, tmp_path)
    state = login_as(client, node, "ts_official", "state_official", "/S36/")
    r = client.get("/api/v1/baseline/below-norm", params={"level": "district"}, headers=state)
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["norm_lpcd"] == 55
    by = {i["district"]["lgd_code"]: i for i in body["items"] if i["matched"]}
    # Warangal: 40.5, 60, 54.99, missing, 0 -> 3 below, 1 at/above, 1 missing; Hanumakonda: 55 is not below
    assert (by[522]["villages"], by[522]["below_norm"], by[522]["at_or_above_norm"], by[522]["missing_lpcd"]) == (
        5, 3, 1, 1)
    assert (by[686]["below_norm"], by[686]["at_or_above_norm"]) == (0, 1)
    assert 9 not in by  # Ladakh is outside the state official's jurisdiction
    # the unmatched district row ("Atlantis") is under /S36/ and shown by its names
    assert [i["names_in_file"] for i in body["items"] if not i["matched"]] == [[["Telangana", "Atlantis"]]]
    assert body["totals"]["villages"] == 7

    r = client.get("/api/v1/baseline/below-norm", params={"level": "state"}, headers=state)
    assert [(i["state"]["lgd_code"], i["below_norm"]) for i in r.json()["items"]] == [(36, 4)]
    r = client.get("/api/v1/baseline/below-norm", params={"within": "district:686"}, headers=state)
    assert r.json()["totals"] == {"villages": 1, "below_norm": 0, "missing_lpcd": 0, "at_or_above_norm": 1}

    # villages below the norm, two per page
    seen, after = [], None
    while True:
        params = {"below_norm": "true", "limit": 2, "total": "true"} | ({"after": after} if after else {})
        page = client.get("/api/v1/baseline/villages", params=params, headers=state).json()
        assert page["total"] == 4
        seen += [i["names"]["village"] for i in page["items"]]
        after = page["next_cursor"]
        if not after:
            break
    assert sorted(seen) == ["Anything", "Ganta", "KONDUR", "Kothur"]

    partner = login_as(client, node, "partner", "partner_system", "/S37/", kind="system", source_system="p")
    page = client.get("/api/v1/baseline/villages", headers=partner).json()
    assert [i["names"]["village"] for i in page["items"]] == ["Hunder"]
    assert page["items"][0]["service_level_lpcd"] == 23.58 and page["items"][0]["har_ghar_jal"] == "none"

    citizen = login_as(client, node, "citizen", "citizen", "/")
    assert client.get("/api/v1/baseline/below-norm", headers=citizen).status_code == 403
    assert client.get("/api/v1/baseline/villages").status_code == 401


def test_cli_import_and_report(database, tmp_path, monkeypatch, node):
    from jaldpi.cli import app
    from jaldpi.config import get_settings

    _small_world(node)
    path = tmp_path / "small.csv"
    path.write_text(SMALL, encoding="utf-8")
    monkeypatch.setenv("JALDPI_DATABASE_URL", database.url)
    get_settings.cache_clear()
    try:
        runner = CliRunner()
        result = runner.invoke(app, ["baseline", "import", str(path), "--as-on", "2024-01-15", "--json"])
        assert result.exit_code == 0, result.output
        reports = json.loads(result.output)
        assert reports[0]["rows_read"] == 9 and reports[0]["as_on"] == "2024-01-15"
        result = runner.invoke(app, ["baseline", "report", "--within", "district:522", "--json"])
        assert result.exit_code == 0, result.output
        data = json.loads(result.output)
        assert (data["totals"]["villages"], data["totals"]["below_norm"]) == (5, 3)
        result = runner.invoke(app, ["baseline", "report", "--level", "state"])
        assert result.exit_code == 0 and "below 55 lpcd per state" in result.output
    finally:
        get_settings.cache_clear()


# --------------------------------------------------------------------------------------------------- real files
PROFILES = SHARED_DATA / "jjm_village_profile"
LGD = SHARED_DATA / "lgd"
FILES = ("telangana.csv", "kerala.csv", "ladakh.csv")


def _independent(path) -> tuple[int, dict[str, list[int]]]:
    """Rows, and per district name as written in the file: [rows, below 55, missing], with the csv module only."""
    counts: dict[str, list[int]] = {}
    n = 0
    with open(path, encoding="utf-8-sig", newline="") as fh:
        for rec in csv.DictReader(fh):
            n += 1
            c = counts.setdefault(rec["district_name"], [0, 0, 0])
            c[0] += 1
            value = rec["service_level"].strip()
            if value in ("", "-", "NA", "N/A") or value.lower() in ("na", "null", "none", "nil"):
                c[2] += 1
            elif float(value) < 55:
                c[1] += 1
    return n, counts


def test_real_profiles_against_an_independent_count(node, database):
    if not all((PROFILES / f).exists() for f in FILES) or not (LGD / "blocks.csv").exists():
        pytest.skip(f"real JJM profiles or LGD files not found under {SHARED_DATA}")
    started = time.perf_counter()
    load(node.db, node.catalogue["admin_units"], [LGD / "1-state.csv", LGD / "2-district.csv", LGD / "blocks.csv"])
    reports = import_files(node.db, [PROFILES / f for f in FILES])
    seconds = time.perf_counter() - started
    assert seconds < 60, seconds

    expected_rows = {"telangana.csv": 9458, "kerala.csv": 1411, "ladakh.csv": 240}
    lines = {f: sum(1 for _ in open(PROFILES / f, encoding="utf-8-sig")) - 1 for f in FILES}
    assert lines == expected_rows
    by_file = {r.file: r.to_dict() for r in reports}
    summary = {}
    for f in FILES:
        rep = by_file[f]
        assert rep["rows_read"] == lines[f] and rep["written"]["created"] == lines[f]
        for level, counts in rep["levels"].items():
            assert counts["matched"] + counts["unmatched"] == rep["rows_read"], (f, level)
            assert counts["exact"] + counts["alias"] + counts["fuzzy"] == counts["matched"]
            assert sum(g["rows"] for g in rep["unmatched"][level]) == counts["unmatched"], (f, level)
        # no village file is loaded: every village is reported, none crashes
        assert rep["levels"]["village"]["matched"] == 0
        assert {g["reason"] for g in rep["unmatched"]["village"]} <= {
            "no village registry under this block", "no village registry under this district"}
        summary[f] = {lv: rep["levels"][lv]["matched"] for lv in ("state", "district", "block")}
    print(f"\nreal JJM profiles on {database.dialect}: {seconds:.1f} s; matched per level {summary}")
    assert all(s["state"] == expected_rows[f] for f, s in summary.items())  # every state name matched
    assert all(s["district"] == expected_rows[f] for f, s in summary.items())  # every district name matched

    with node.db.unit_of_work(write=False) as session:
        assert session.execute(select(func.count()).select_from(VillageBaseline)).scalar_one() == sum(lines.values())

    from jaldpi.baseline.service import below_norm

    with node.db.unit_of_work(write=False) as session:
        districts = below_norm(session, ROOT, 55, level="district")
        states = below_norm(session, ROOT, 55, level="state")
    by_code = {i["district"]["lgd_code"]: i for i in districts["items"] if i["matched"]}
    state_codes = {"telangana.csv": 36, "kerala.csv": 32, "ladakh.csv": 37}
    state_items = {i["state"]["lgd_code"]: i for i in states["items"] if i["matched"]}
    for f in FILES:
        n, independent = _independent(PROFILES / f)
        assert n == lines[f]
        # file district name -> LGD district code, from the import report
        code_of = {d["district"]: d["lgd_code"] for d in by_file[f]["districts"] if d["lgd_code"] is not None}
        merged: dict[int, list[int]] = {}
        for name, counts in independent.items():
            if name in code_of:
                m = merged.setdefault(code_of[name], [0, 0, 0])
                for i in range(3):
                    m[i] += counts[i]
        assert merged, f
        for code, (rows, below, missing) in merged.items():
            item = by_code[code]
            assert (item["villages"], item["below_norm"], item["missing_lpcd"]) == (rows, below, missing), (f, code)
        total = [sum(c[i] for c in independent.values()) for i in range(3)]
        st = state_items[state_codes[f]]
        assert [st["villages"], st["below_norm"], st["missing_lpcd"]] == total, f
    print("below 55 lpcd per state:", {c: (i["below_norm"], i["villages"]) for c, i in state_items.items()})
    # every Ladakh village is in Leh or Kargil, now districts of the union territory Ladakh (not Jammu & Kashmir)
    assert {i["district"]["lgd_code"] for i in districts["items"] if i["matched"]
            and i["district"]["lgd_path"].startswith("/S37/")} == {6, 9}
    assert Counter(r.file for r in reports) == Counter(FILES)
