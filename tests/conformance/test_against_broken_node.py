"""The conformance kit against a deliberately broken implementation (broken_node.py): exactly the requirements it
breaks fail, each with a reason naming the problem, and the CLI exits 1."""

from __future__ import annotations

from typer.testing import CliRunner

from jaldpi.cli import app as cli
from jaldpi.conformance import Outcome, run
from tests.conformance.broken_node import BREAKS, broken_app
from tests.conformance.world import credential_args, live_test_records, options, prepare
from tests.liveserver import serve


def test_exactly_the_broken_requirements_fail_with_a_reason(app, node):
    prepare(node)
    with serve(broken_app(app)) as base_url:
        report = run(options(base_url))
    outcomes = {r.requirement.id: r for r in report.results}
    failed = sorted(i for i, r in outcomes.items() if r.outcome is Outcome.FAIL)
    assert failed == sorted(BREAKS), "\n".join(f"{i}: {r.outcome.value}: {r.reason}" for i, r in outcomes.items()
                                               if r.outcome is not Outcome.PASS)
    for requirement_id, (how, fragment) in BREAKS.items():
        assert fragment in outcomes[requirement_id].reason, (requirement_id, how, outcomes[requirement_id].reason)
    assert all(r.outcome is Outcome.PASS for i, r in outcomes.items() if i not in BREAKS)
    assert not report.conforms and report.exit_code == 1
    assert {r.requirement.id for r in report.unmet_musts} == set(BREAKS)  # every break is of a MUST
    # what the broken node wrote despite dry_run=true is swept up by the kit's external ids
    assert live_test_records(node) == []


def test_cli_exits_1_and_names_the_unmet_requirements(app, node):
    prepare(node)
    with serve(broken_app(app)) as base_url:
        result = CliRunner().invoke(cli, ["conformance", "run", "--target", base_url, *credential_args(narrow=False),
                                          "--only", "ERR-001,REG-005,STD-001"])
    assert result.exit_code == 1, result.output
    assert "DOES NOT CONFORM: MUST requirements not met: ERR-001, REG-005" in " ".join(result.stdout.split())
    assert "FAIL" in result.stdout and "PASS" in result.stdout
