"""``jaldpi records import | export``: any registry from the command line, through the one write path."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from jaldpi.cli import app
from jaldpi.config import get_settings
from tests.helpers import build_world, count_rows


@pytest.fixture
def run(database, monkeypatch):
    monkeypatch.setenv("JALDPI_DATABASE_URL", database.url)
    get_settings.cache_clear()
    runner = CliRunner()

    def invoke(*args: str, code: int = 0) -> str:
        result = runner.invoke(app, ["records", *args])
        assert result.exit_code == code, (result.output, result.exception)
        return result.output

    yield invoke
    get_settings.cache_clear()


def test_import_csv_dry_run_per_record_and_export(node, run, tmp_path):
    build_world(node)
    csv = tmp_path / "households.csv"
    csv.write_text("village,members_count,social_category,external_ids.state_mis,head_name\n"
                   "500001,4,sc,HH-1,Lakshmi Devi\n"
                   "500002,6,general,HH-2,Ravi Kumar\n"
                   "999999,3,st,HH-3,Nobody\n", encoding="utf-8")
    dry = json.loads(run("import", "households", str(csv), "--dry-run", "--per-record", code=0))
    assert dry["dry_run"] is True and dry["stats"]["errors"] == 1 and count_rows(node, "households") == 0
    assert dry["rows"][0]["errors"][0]["code"] == "reference_not_found"
    atomic = json.loads(run("import", "households", str(csv), code=1))
    assert atomic["status"] == "error" and count_rows(node, "households") == 0
    partial = json.loads(run("import", "households", str(csv), "--per-record"))
    assert partial["status"] == "partial" and partial["stats"]["created"] == 2
    again = json.loads(run("import", "households", str(csv), "--per-record"))
    assert again["stats"]["ignored"] == 2 and again["stats"]["created"] == 0

    lines = [json.loads(x) for x in run("export", "households").splitlines() if x.strip()]
    assert sorted(r["external_ids"]["state_mis"] for r in lines) == ["HH-1", "HH-2"]
    assert {r["head_name"] for r in lines} == {"Lakshmi Devi", "Ravi Kumar"}  # node_admin holds pii:read
    only_745 = run("export", "admin_units", "--within", "district:746", "--page-size", "1").splitlines()
    assert {json.loads(x)["lgd"]["district"] for x in only_745} == {746}
    assert "no registry nope" in run("import", "nope", str(csv), code=2)
