"""CSV reports, the `jaldpi progress report` command, the sandbox seed."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json

from typer.testing import CliRunner

from jaldpi.core.registry import Strategy
from tests.helpers import ROOT
from tests.progress.conftest import UPDATES, financial, photo, physical


def _approved_world(client, node, world, estimates, people) -> None:
    update = client.post(UPDATES, json=physical(estimates["a4"], "12.5", [photo(node, 500004)]),
                         headers=people["block_east"]).json()
    money = client.post(UPDATES, json=financial(world.records["schemes"]["b3"]["id"], sanctioned="900000.00",
                                                central="300000.00", state="300000.00", spent="150000.00"),
                        headers=people["district_b"]).json()
    assert client.post(f"{UPDATES}/{update['code']}/approve", json={}, headers=people["district"]).status_code == 200
    assert client.post(f"{UPDATES}/{money['code']}/approve", json={}, headers=people["state"]).status_code == 200


def test_state_report_as_csv(client, node, world, estimates, people):
    _approved_world(client, node, world, estimates, people)
    response = client.get("/api/v1/progress/reports/state", params={"format": "csv"}, headers=people["national"])
    assert response.status_code == 200 and response.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(response.text)))
    assert len(rows) == 1
    row = rows[0]
    # items: a1 Rs 40 lakh 0%, a4 Rs 10 lakh 25% (12.5 of 50 KL), b3 Rs 25 lakh 0% -> 10e5*25 / 75e5 = 3.33%
    assert row["state_lgd_code"] == "28" and row["name"] == "Andhra Pradesh"
    assert row["physical_progress_pct"] == "3.33" and row["components"] == "3"
    assert row["components_with_progress"] == "1" and row["estimated_cost_inr"] == "7500000.00"
    assert row["released_total_inr"] == "600000.00" and row["utilisation_pct"] == "25.00"
    assert row["pending_approvals"] == "0" and row["oldest_pending_days"] == ""


def test_cli_report(client, node, world, estimates, people, monkeypatch):
    from jaldpi import cli as root_cli

    _approved_world(client, node, world, estimates, people)
    monkeypatch.setattr(root_cli, "database", lambda: node.db)
    runner = CliRunner()
    app = root_cli.app
    result = runner.invoke(app, ["progress", "report", "--level", "district", "--within", "/S28/", "--format", "json"])
    assert result.exit_code == 0, result.output
    items = {g["lgd_path"]: g for g in json.loads(result.output)["items"]}
    assert items["/S28/D745/"]["physical_progress_pct"] == "5.00"  # 10e5*25 / 50e5
    assert items["/S28/D746/"]["released_inr"]["central"] == "300000.00"
    result = runner.invoke(app, ["progress", "report", "--level", "district", "--within", "district:746"])
    assert result.exit_code == 0 and "Beta" in result.output and "Alpha" not in result.output
    result = runner.invoke(app, ["progress", "report", "--level", "village"])
    assert result.exit_code == 2


def test_sandbox_seed_writes_through_the_workflow_and_runs_twice(node, world):
    from jaldpi.progress.sandbox import seed_demo

    # the sandbox photographs located components: give the test components a position
    components = node.catalogue["components"]
    with node.db.unit_of_work() as session:
        for tag, lonlat in {"a1": [78.48, 17.38], "a4": [78.50, 17.40], "b3": [79.1, 16.9]}.items():
            components.write_one(session, ROOT, {"id": world.records["components"][tag]["id"],
                                                 "geometry": {"type": "Point", "coordinates": lonlat}},
                                 Strategy.update)
    counts = seed_demo(node, seed=7)
    assert counts["estimates"] == 3 and counts["physical_updates"] == 3 and counts["financial_updates"] == 3
    # physical updates 1 and 2 approved, the third left pending; the financial ones approved
    assert counts["approved"] == 5 and counts["returned"] == 0 and counts["photos"] == 3
    again = seed_demo(node, seed=7)
    assert again["physical_updates"] == 0 and again["financial_updates"] == 0
    from jaldpi.progress.reports import progress_report

    with node.db.unit_of_work(write=False) as session:
        report = progress_report(session, ROOT, "state")
    state = report["items"][0]
    assert state["components_with_progress"] == 2 and state["pending_approvals"] == 1
    assert state["schemes_with_financials"] == 3


def test_state_system_bulk_import_opens_one_case_per_update(client, node, world, estimates, people):
    from tests.helpers import login_as

    mis = login_as(client, node, "state-mis", "partner_system", "state:28", kind="system", source_system="mis")
    schemes = world.records["schemes"]
    body = [financial(schemes[tag]["id"], sanctioned="1000.00", central="250.00", state="250.00", spent="100.00",
                      external_ids={"mis": f"fin-{tag}"}) for tag in ("a1", "a4", "b3")]
    response = client.post(f"{UPDATES}/bulk", json=body, headers=mis)
    assert response.status_code == 200 and response.json()["stats"]["created"] == 3, response.text
    # a dry run writes nothing and opens nothing
    dry = client.post(f"{UPDATES}/bulk", params={"dry_run": "true"},
                      json=[financial(schemes["a1"]["id"], sanctioned="5.00", central="1.00", state="1.00",
                                      spent="1.00", as_of=dt.date(2026, 9, 1))], headers=mis)
    assert dry.status_code == 200 and dry.json()["written"] is False
    cases = client.get("/api/v1/cases", params={"workflow": "progress_approval", "total": "true"},
                       headers=people["state"]).json()
    # a state-level maker (the state system) is checked at the state
    assert cases["total"] == 3 and {c["assigned_path"] for c in cases["items"]} == {"/S28/"}
    # re-sending the same rows changes nothing and opens no case
    again = client.post(f"{UPDATES}/bulk", json=body, headers=mis)
    assert again.json()["stats"]["ignored"] == 3
    assert client.get("/api/v1/cases", params={"workflow": "progress_approval", "total": "true"},
                      headers=people["state"]).json()["total"] == 3
    code = client.get(UPDATES, params={"external_id": "mis:fin-b3"}, headers=people["state"]).json()
    assert len(code["items"]) == 1
    approved = client.post(f"{UPDATES}/{code['items'][0]['code']}/approve", json={}, headers=people["state"])
    assert approved.status_code == 200, approved.text
