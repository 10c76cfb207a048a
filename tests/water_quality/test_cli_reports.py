"""``jaldpi wq verify | status | overdue | ruleset`` against the test database (the one the API wrote)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from jaldpi.cli import app
from jaldpi.config import get_settings
from tests.water_quality.test_reports import AS_OF, at, world  # noqa: F401 (the fixture)
from tests.water_quality.test_signed_reports import tamper
from tests.water_quality.wq_world import V1, V2, V4


@pytest.fixture
def cli(database, monkeypatch):
    monkeypatch.setenv("JALDPI_DATABASE_URL", database.url)
    for name in ("JALDPI_SIGNING_KEY", "JALDPI_SECRET_KEY", "JALDPI_WQ_RULE_OVERRIDES"):
        monkeypatch.delenv(name, raising=False)
    get_settings.cache_clear()
    runner = CliRunner()

    def run(*args: str, input: str | None = None, code: int = 0):
        result = runner.invoke(app, ["wq", *args], input=input)
        assert result.exit_code == code, (result.exit_code, result.output, result.exception)
        return result.output

    yield run
    get_settings.cache_clear()


def test_status_and_overdue(world, cli):  # noqa: F811
    body = json.loads(cli("status", "--within", "district:745", "--since", "2030-01-01", "--until", "2030-12-31",
                          "--json"))
    assert body["within"] == "/S28/D745/"
    assert body["counts"] == {"safe": 1, "unsafe": 1, "not_tested": 1}
    assert {v["lgd_path"]: v["status"] for v in body["items"]} == {V1: "unsafe", V2: "safe", V4: "not_tested"}
    text = cli("status", "--within", "district:745", "--since", "2030-01-01", "--until", "2030-12-31")
    assert "safe 1, unsafe 1, not tested 1" in text and "e_coli" in text and "Alpha One" in text
    block = json.loads(cli("status", "--within", "block:4003", "--since", "2030-01-01", "--json"))
    assert [v["lgd_path"] for v in block["items"]] == [V4]

    body = json.loads(cli("overdue", "--within", "district:745", "--as-of", AS_OF, "--json"))
    assert (body["sources"], body["chemical_overdue"], body["bacteriological_overdue"]) == (3, 1, 2)
    assert sorted(i["code"] for i in body["items"]) == sorted([world.p1["code"], world.p4["code"]])
    text = cli("overdue", "--within", "district:745", "--as-of", AS_OF)
    assert "2 of 3 sources" in text and "2029-07-11" in text
    assert "no district with LGD code 999" in cli("overdue", "--within", "district:999", code=2)
    assert "ISO date" in cli("overdue", "--as-of", "15/08/2030", code=2)


def test_ruleset(cli, client):
    body = json.loads(cli("ruleset", "--json"))
    assert body["version"] == "IS10500:2012" and body["parameter_count"] == 67
    fluoride = next(p for p in body["parameters"] if p["code"] == "fluoride")
    assert (fluoride["acceptable_max"], fluoride["permissible_max"], fluoride["unit"]) == ("1.0", "1.5", "mg/L")
    assert body == client.get("/api/v1/water-quality/ruleset").json()
    text = cli("ruleset")
    assert "IS10500:2012" in text and "fluoride" in text


def test_verify_offline(world, cli, client, tmp_path: Path):  # noqa: F811
    sample = world.sample("analyst", world.p1, {"fluoride": "1.8"}, collected_at=at("2030-06-01"))
    answer = world.get("district", f"/api/v1/samples/{sample['id']}/signed-report")
    jws = answer["jws"]
    (tmp_path / "report.jws").write_text(jws + "\n")
    (tmp_path / "answer.json").write_text(json.dumps(answer))
    (tmp_path / "jwks.json").write_text(client.get("/.well-known/jwks.json").text)
    # with the node's published keys
    text = cli("verify", str(tmp_path / "report.jws"), "--jwks", str(tmp_path / "jwks.json"))
    assert "valid" in text and "verdict unsafe" in text and "fluoride" in text
    # the saved API answer, from stdin, with this node's own keys (same settings)
    body = json.loads(cli("verify", "-", "--json", input=(tmp_path / "answer.json").read_text()))
    assert body["valid"] is True and body["document"]["report"]["sample"]["id"] == sample["id"]
    # tampered: exit 1, and why
    forged = tamper(jws, lambda c: c["report"].update(verdict="safe"))
    text = cli("verify", "-", "--jwks", str(tmp_path / "jwks.json"), input=forged, code=1)
    assert "NOT VALID" in text and "signature does not match" in text
    assert json.loads(cli("verify", "-", "--json", input="garbage", code=1))["valid"] is False

    # the real entry point, another node's key set: not valid (exit 1)
    other = subprocess.run(
        [str(Path(sys.executable).parent / "jaldpi"), "wq", "verify", str(tmp_path / "report.jws"), "--json"],
        capture_output=True, text=True, timeout=60,
        env={**os.environ, "JALDPI_DATABASE_URL": world.node.db.url,
             "JALDPI_SIGNING_KEY": "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8"})
    assert other.returncode == 1, other.stderr
    assert "no key" in json.loads(other.stdout)["problem"]


def test_report_command_matches_the_api(world, cli):  # noqa: F811
    """``jaldpi wq report`` prints the same report shapes as the API (whole-node scope, narrowed by --within)."""
    w = world
    api_wq1 = w.get("state", "/api/v1/water-quality/reports/wq1", year=2030, level="block")["items"]
    assert json.loads(cli("report", "wq1", "--year", "2030", "--level", "block", "--within", "state:28"))[
        "items"] == api_wq1
    api_wq6 = w.get("state", "/api/v1/water-quality/reports/wq6", level="district", since="2030-01-01",
                    until="2030-12-31")["items"]
    assert json.loads(cli("report", "wq6", "--within", "state:28", "--since", "2030-01-01",
                          "--until", "2030-12-31"))["items"] == api_wq6
    api_hot = w.get("state", "/api/v1/water-quality/hotspots", level="block", since="2030-01-01",
                    until="2030-12-31")["items"]
    assert json.loads(cli("report", "hotspots", "--level", "block", "--within", "state:28", "--since", "2030-01-01",
                          "--until", "2030-12-31"))["items"] == api_hot
    assert "one of wq1" in cli("report", "wq9", code=2)
