"""`jaldpi conformance` usage: list, and the usage errors that exit 2 (unreachable target, bad options)."""

from __future__ import annotations

from typer.testing import CliRunner

from jaldpi.cli import app as cli
from jaldpi.conformance import CATALOGUE
from jaldpi.conformance.report import catalogue_markdown
from tests.liveserver import free_port


def invoke(*args: str):
    return CliRunner().invoke(cli, ["conformance", *args])


def test_unreachable_target_is_one_clear_line_and_exit_2():
    url = f"http://127.0.0.1:{free_port()}"  # nothing listens there
    result = invoke("run", "--target", url, "--timeout", "5")
    assert result.exit_code == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, lines
    assert lines[0].startswith(f"error: cannot reach {url} (GET /standard/v1/: ConnectError")
    assert result.stdout == ""


def test_target_must_be_an_http_url():
    result = invoke("run", "--target", "sandbox.example.gov.in")
    assert result.exit_code == 2
    assert "--target must be an http:// or https:// URL, got 'sandbox.example.gov.in'" in result.stderr


def test_unknown_requirement_id_is_a_usage_error():
    result = invoke("run", "--target", "http://127.0.0.1:9", "--only", "REG-001,XYZ-999")
    assert result.exit_code == 2
    assert "unknown requirement id(s): XYZ-999" in result.stderr


def test_half_a_credential_is_a_usage_error():
    result = invoke("run", "--target", "http://127.0.0.1:9", "--client-id", "partner")
    assert result.exit_code == 2
    assert "--client-id and --client-secret go together" in result.output


def test_client_and_user_credentials_are_exclusive():
    result = invoke("run", "--target", "http://127.0.0.1:9", "--client-id", "a", "--client-secret", "b",
                    "--username", "c", "--password", "d")
    assert result.exit_code == 2
    assert "not both" in result.output


def test_list_prints_every_requirement():
    result = CliRunner().invoke(cli, ["conformance", "list"], terminal_width=200)
    assert result.exit_code == 0
    for requirement in CATALOGUE:
        assert requirement.id in result.stdout


def test_list_markdown_is_the_docs_table():
    result = invoke("list", "--markdown")
    assert result.exit_code == 0
    assert result.stdout == catalogue_markdown()
