"""Loading LGD files through the registry's write path, on every test backend (SQLite, and PostgreSQL when set)."""

from __future__ import annotations

import json
import time

import pytest
from sqlalchemy import func, select
from typer.testing import CliRunner

from jaldpi.admin_units.lgd_import import load
from jaldpi.admin_units.models import AdminUnit
from jaldpi.core.changelog import ChangeRecord, verify
from jaldpi.core.registry import Strategy
from tests.admin_units import lgd_snippets as s
from tests.conftest import SHARED_DATA
from tests.helpers import ROOT


def _load(node, *paths):
    return load(node.db, node.catalogue["admin_units"], list(paths))


def _unit(node, level: str, code: int) -> dict:
    with node.db.unit_of_work(write=False) as session:
        row = session.execute(select(AdminUnit.__table__).where(
            AdminUnit.level == level, AdminUnit.lgd_code == code)).mappings().one()
        return dict(row)


def _count(node, model, *where) -> int:
    with node.db.unit_of_work(write=False) as session:
        return session.execute(select(func.count()).select_from(model).where(*where)).scalar_one()


def test_small_directory_loads_and_reloads_idempotently(node, tmp_path):
    folder = s.write_directory(tmp_path / "lgd")
    report = _load(node, folder)
    assert [f.kind for f in report.files] == ["local_body_type", "state", "district", "subdistrict", "block",
                                              "urban_local_body", "traditional_local_body"]
    assert [(f.rows_read, f.created, len(f.skipped)) for f in report.files[1:]] == [
        (2, 2, 0), (3, 3, 0), (2, 2, 0), (2, 2, 0), (2, 2, 0), (2, 2, 0)]
    assert _count(node, AdminUnit) == 13
    ap = _unit(node, "state", 28)
    assert (ap["lgd_path"], ap["name_local"], ap["lgd_version"], ap["attributes"], ap["source_system"]) == (
        "/S28/", "ఆంధ్ర ప్రదేశ్", 2, {"state_or_ut": "S"}, "lgd-directory")
    assert _unit(node, "block", 4001)["lgd_path"] == "/S28/D745/B4001/"
    assert _unit(node, "subdistrict", 5002)["census2011_code"] is None
    tlb = _unit(node, "traditional_local_body", 259500)
    assert tlb["lgd_path"] == "/S37/L259500/" and tlb["attributes"]["block_panchayat_code"] == 259698
    assert _unit(node, "urban_local_body", 257868)["attributes"]["local_body_type_name"] == "Town Panchayat"
    log_before = _count(node, ChangeRecord)
    assert log_before == 13

    again = _load(node, folder)
    t = again.totals()
    assert (t["created"], t["updated"], t["unchanged"], t["skipped"]) == (0, 0, 13, 0)
    assert _count(node, ChangeRecord) == log_before  # nothing new in the change log
    assert _unit(node, "state", 28)["version"] == 1
    with node.db.unit_of_work(write=False) as session:
        assert verify(session).ok


def test_renamed_unit_is_updated_and_keeps_history(node, client, tmp_path):
    _load(node, s.write_directory(tmp_path / "v1"))
    renamed = [s.BLOCK_HEADER, "1,28,ANDHRA PRADESH,745,ALPHA,4001,2,ALPHA NEW BLOCK,ఆల్ఫా",
               "2,28,ANDHRA PRADESH,746,BETA,4002,5,BETA BLOCK,"]
    report = _load(node, s.write(tmp_path, "later.csv", renamed))
    blocks = report.by_kind("block")
    assert (blocks.updated, blocks.unchanged, blocks.created) == (1, 1, 0)
    r = client.get("/api/v1/admin_units/LGD-B4001")
    assert r.status_code == 200 and r.json()["name"] == "ALPHA NEW BLOCK" and r.json()["version"] == 2
    assert r.json()["lgd_version"] == 2
    history = client.get("/api/v1/admin_units/LGD-B4001/history").json()["items"]
    assert [h["version"] for h in history] == [1, 2]
    assert history[0]["operation"] == "create" and history[0]["changes"]["name"] == [None, "ALPHA BLOCK"]
    assert history[1]["operation"] == "update" and history[1]["source_system"] == "lgd-directory"
    assert history[1]["changes"]["name"] == ["ALPHA BLOCK", "ALPHA NEW BLOCK"]


def test_reparented_block_moves_with_everything_below(node, client, tmp_path):
    _load(node, s.write_directory(tmp_path / "v1"))
    units = node.catalogue["admin_units"]
    households = node.catalogue["households"]
    with node.db.unit_of_work() as session:
        summary = units.import_records(session, ROOT, [
            {"level": "gram_panchayat", "lgd_code": 200001, "name": "Alpha GP", "parent": {"code": "LGD-B4001"}},
            {"level": "village", "lgd_code": 500001, "name": "Alpha One", "parent": {"code": "LGD-G200001"},
             "subdistrict": {"code": "LGD-T5001"}},
        ], strategy=Strategy.create)
        assert summary.status == "ok", summary.to_dict()
        summary = households.import_records(session, ROOT, [{"village": {"code": "LGD-V500001"},
                                                             "members_count": 4}], strategy=Strategy.create)
        assert summary.status == "ok", summary.to_dict()
        household_id = summary.rows[0].id
    moved = [s.BLOCK_HEADER, "1,28,ANDHRA PRADESH,746,BETA,4001,1,ALPHA BLOCK,ఆల్ఫా",
             "2,28,ANDHRA PRADESH,746,BETA,4002,5,BETA BLOCK,"]
    report = _load(node, s.write(tmp_path, "moved.csv", moved))
    assert report.by_kind("block").updated == 1
    block = _unit(node, "block", 4001)
    assert block["lgd_path"] == "/S28/D746/B4001/" and block["version"] == 2
    assert block["parent_id"] == _unit(node, "district", 746)["id"]
    assert _unit(node, "gram_panchayat", 200001)["lgd_path"] == "/S28/D746/B4001/G200001/"
    assert _unit(node, "village", 500001)["lgd_path"] == "/S28/D746/B4001/G200001/V500001/"
    r = client.get("/api/v1/admin_units/LGD-V500001")
    assert r.json()["lgd"] == {"state": 28, "district": 746, "block": 4001, "gram_panchayat": 200001,
                               "village": 500001}
    with node.db.unit_of_work(write=False) as session:
        hh = households.get(session, ROOT, household_id)
    assert hh["lgd_path"] == "/S28/D746/B4001/G200001/V500001/"
    history = client.get("/api/v1/admin_units/LGD-B4001/history").json()["items"]
    assert history[-1]["changes"]["lgd_path"] == ["/S28/D745/B4001/", "/S28/D746/B4001/"]


def test_village_file_keeps_a_village_already_under_a_gram_panchayat(node, tmp_path):
    _load(node, s.write_directory(tmp_path / "v1"))
    with node.db.unit_of_work() as session:
        assert node.catalogue["admin_units"].import_records(session, ROOT, [
            {"level": "gram_panchayat", "lgd_code": 200001, "name": "Alpha GP", "parent": {"code": "LGD-B4001"}},
            {"level": "village", "lgd_code": 500001, "name": "Alpha One", "parent": {"code": "LGD-G200001"}},
        ]).status == "ok"
    villages = s.write(tmp_path, "v.csv", [s.VILLAGE_HEADER,
                                         "1,28,AP,745,ALPHA,5001,Alpha Mandal,500001,1,Alpha One,,,",
                                         "2,28,AP,745,ALPHA,5001,Alpha Mandal,500009,1,Alpha Nine,,,"])
    report = _load(node, villages)
    assert (report.by_kind("village").updated, report.by_kind("village").created) == (1, 1)
    one, nine = _unit(node, "village", 500001), _unit(node, "village", 500009)
    assert one["lgd_path"] == "/S28/D745/B4001/G200001/V500001/"  # stays in the operational tree
    assert one["subdistrict_id"] == _unit(node, "subdistrict", 5001)["id"]
    assert nine["lgd_path"] == "/S28/D745/T5001/V500009/"


def test_skipped_rows_are_reported_and_do_not_stop_the_load(node, tmp_path):
    folder = s.write_directory(tmp_path / "lgd", {
        "a_blocks_or_not.csv": [s.BLOCK_HEADER,
                                "1,28,AP,745,ALPHA,4001,1,ALPHA BLOCK,",
                                "2,28,AP,999,NOWHERE,4002,1,LOST BLOCK,",  # district 999 is not in the directory
                                "3,28,AP,745,ALPHA,,1,NO CODE,",
                                "4,28,AP,745,ALPHA,4O03,1,LETTER O,",
                                "5,28,AP,745,ALPHA,4001,1,OTHER NAME,",
                                "6,28,AP,745,ALPHA,4004,1,FINE,"],
        "h.csv": ["Scheme Id,Scheme Name", "1,x"],
    })
    report = _load(node, folder)
    blocks = report.by_kind("block")
    assert (blocks.rows_read, blocks.created, len(blocks.skipped)) == (6, 2, 4)
    assert blocks.reasons() == {"unknown parent code": 1, "missing code": 1, "non-numeric code": 1,
                                "duplicate code within file": 1}
    lost = next(n for n in blocks.skipped if n.reason == "unknown parent code")
    assert (lost.line, lost.code, lost.detail) == (3, "4002", "district 999 is not in the directory")
    assert [n.line for n in blocks.skipped] == [3, 4, 5, 6]
    unknown = next(f for f in report.files if f.kind is None)
    assert unknown.rows_read == 1 and "not recognised" in unknown.note
    assert _count(node, AdminUnit, AdminUnit.level == "block") == 2
    as_dict = report.to_dict()
    assert as_dict["totals"]["skipped"] == 4
    entry = next(f for f in as_dict["files"] if f["kind"] == "block")
    assert entry["skipped_reasons"]["unknown parent code"] == 1 and len(entry["skipped_rows"]) == 4


def test_cli_prints_table_and_json(database, tmp_path, monkeypatch):
    from jaldpi.cli import app
    from jaldpi.config import get_settings

    folder = s.write_directory(tmp_path / "lgd")
    monkeypatch.setenv("JALDPI_DATABASE_URL", database.url)
    get_settings.cache_clear()
    try:
        runner = CliRunner()
        result = runner.invoke(app, ["lgd", "import", str(folder)], env={"COLUMNS": "200"})
        assert result.exit_code == 0, result.output
        assert "LGD import" in result.output and "traditional_local_body" in result.output
        result = runner.invoke(app, ["lgd", "import", str(folder / "b.csv"), str(folder), "--json"])
        assert result.exit_code == 0, result.output
        report = json.loads(result.stdout)
        assert report["totals"]["unchanged"] == 13 and report["totals"]["created"] == 0
        assert [f["kind"] for f in report["files"]][:2] == ["local_body_type", "state"]  # b.csv counted once
        result = runner.invoke(app, ["lgd", "import", str(tmp_path / "missing")])
        assert result.exit_code != 0
    finally:
        get_settings.cache_clear()


EXPECTED = {  # kind: (rows in the file, units stored, repeats merged)
    "state": (36, 36, 0), "district": (763, 763, 0), "subdistrict": (6921, 6921, 0),
    "block": (7233, 7223, 10),  # 10 Assam blocks are listed under two districts each
    "urban_local_body": (4814, 4814, 0),
    "traditional_local_body": (16071, 16067, 4),  # 4 Tripura councils listed under two district panchayats
}


@pytest.mark.slow
def test_real_lgd_files_load_completely(node, database):
    folder = SHARED_DATA / "lgd"
    if not (folder / "blocks.csv").exists():
        pytest.skip(f"real LGD files not found in {folder}")
    started = time.perf_counter()
    report = _load(node, folder)
    seconds = time.perf_counter() - started
    print(f"\nfull LGD load on {database.dialect}: {seconds:.1f} s")
    for kind, (read, stored, merged) in EXPECTED.items():
        f = report.by_kind(kind)
        assert (f.rows_read, f.created, len(f.merged), len(f.skipped)) == (read, stored, merged, 0), kind
        assert _count(node, AdminUnit, AdminUnit.level == kind) == stored, kind
    assert report.by_kind("local_body_type").note == "lookup table: 8 local body types"
    assert _unit(node, "block", 2494)["attributes"]["also_district_codes"] == [616]
    assert _unit(node, "urban_local_body", 253098)["attributes"] == {"local_body_type_code": 5,
                                                                     "local_body_type_name": "Municipality"}
    assert _unit(node, "state", 37)["census2011_code"] is None  # Ladakh: "00"
    assert _unit(node, "subdistrict", 6087)["census2011_code"] is None  # "00000"
    entries = _count(node, ChangeRecord)
    assert entries == sum(v[1] for v in EXPECTED.values())

    again = _load(node, folder)
    assert again.totals()["created"] == again.totals()["updated"] == 0
    assert again.totals()["unchanged"] == entries
    assert _count(node, ChangeRecord) == entries
