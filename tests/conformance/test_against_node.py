"""The conformance kit against a real jaldpi node served by uvicorn, on every backend: every requirement passes
(one test per requirement, so a regression names it), the kit cleans up after itself, --read-only writes nothing,
and the CLI reports and exits as documented.
"""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from jaldpi.cli import app as cli
from jaldpi.conformance import CATALOGUE, Credential, Outcome, run
from jaldpi.standard.codelists import reset_overlay
from tests.conformance.world import credential_args, live_test_records, options, prepare
from tests.conftest import _empty
from tests.helpers import count_rows, make_account
from tests.liveserver import serve


@pytest.fixture(scope="module")
def node_run(_shared_app, migrated_database):
    """One full run of the kit (main and narrow credentials, writing) against a fresh node, per backend.

    Module-scoped (one run serves every per-requirement test), so it empties the node itself, as the function-scoped
    ``database`` fixture does for other tests.
    """
    _empty(migrated_database)
    reset_overlay()
    node = _shared_app.state.node
    prepare(node)
    with serve(_shared_app) as base_url:
        report = run(options(base_url))
    return report, live_test_records(node)


@pytest.mark.parametrize("requirement_id", [r.id for r in CATALOGUE])
def test_requirement_passes_on_a_jaldpi_node(node_run, requirement_id):
    report, _ = node_run
    result = report.result(requirement_id)
    assert result.outcome is Outcome.PASS, f"{requirement_id} ({result.requirement.statement}): " \
                                           f"{result.outcome.value}: {result.reason}"


def test_node_conforms_and_the_kit_deletes_its_test_records(node_run):
    report, left_behind = node_run
    assert report.conforms and report.exit_code == 0
    assert report.cleanup["problems"] == []
    assert report.cleanup["deleted"] >= 5  # main, client-id, stale, partial-good, inside, outside records
    assert left_behind == [], f"test records not deleted: {left_behind}"


def test_read_only_run_writes_nothing_and_skips_writing_checks(app, node):
    prepare(node)
    changes_before = count_rows(node, "change_log")
    with serve(app) as base_url:
        report = run(options(base_url, read_only=True))
    assert count_rows(node, "change_log") == changes_before
    for result in report.results:
        if result.requirement.writes:
            assert result.outcome is Outcome.SKIP and "--read-only" in result.reason, result
        else:
            assert result.outcome is Outcome.PASS, f"{result.requirement.id}: {result.reason}"
    assert report.exit_code == 0


def test_without_credentials_only_public_checks_run(app, node):
    prepare(node)
    with serve(app) as base_url:
        report = run(options(base_url, credential=None, narrow=None))
    by_outcome = {o: {r.requirement.id for r in report.results if r.outcome is o} for o in Outcome}
    assert by_outcome[Outcome.FAIL] == set() and by_outcome[Outcome.ERROR] == set()
    assert {"STD-001", "STD-002", "ERR-001", "AUTH-002", "AUTH-004", "PAGE-001"} <= by_outcome[Outcome.PASS]
    skipped = {r.requirement.id: r.reason for r in report.results if r.outcome is Outcome.SKIP}
    assert "needs a credential" in skipped["REG-001"]
    assert "needs a credential" in skipped["FEED-003"]
    assert {"FEED-001", "FEED-002", "FEED-004"} <= by_outcome[Outcome.PASS]  # the feed of public record types
    assert report.exit_code == 0


def test_cli_run_prints_the_table_and_writes_json(app, node, tmp_path):
    prepare(node)
    out = tmp_path / "report.json"
    with serve(app) as base_url:
        result = CliRunner().invoke(cli, ["conformance", "run", "--target", base_url, *credential_args(),
                                          "--only", "reg-005,JUR-001,STD-005", "--json", str(out)])
    assert result.exit_code == 0, result.output
    for text in ("REG-005", "JUR-001", "STD-005", "PASS", "3 requirements: 3 PASS", "CONFORMS", "Clean-up: deleted"):
        assert text in result.stdout
    report = json.loads(out.read_text())
    assert [r["id"] for r in report["results"]] == ["STD-005", "REG-005", "JUR-001"]
    assert report["conforms"] is True and report["unmet_musts"] == []
    assert live_test_records(node) == []


def test_village_lgd_chooses_where_the_kit_writes(app, node):
    prepare(node)
    make_account(node, "district-746-system", "partner_system", "district:746", kind="system")
    elsewhere = Credential("client_credentials", "district-746-system", "password-123")
    with serve(app) as base_url:
        chosen = run(options(base_url, village_lgd=500004, only=("REG-001",)))
        outside = run(options(base_url, credential=elsewhere, village_lgd=500001, only=("REG-001",)))
    assert chosen.result("REG-001").outcome is Outcome.PASS
    assert "/V500004/" in chosen.result("REG-001").reason
    # a village the credential may not write in is the operator's mistake: reported as such, not as a FAIL
    result = outside.result("REG-001")
    assert result.outcome is Outcome.ERROR and outside.exit_code == 1
    assert "village 500001 (--village-lgd, /S28/D745/B4001/G200001/V500001/) is outside where the credential may " \
           "write entities (/S28/D746/)" in result.reason
