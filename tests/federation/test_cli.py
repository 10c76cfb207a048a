"""``jaldpi federation ...`` on the command line."""

from __future__ import annotations

import json

import orjson
from typer.testing import CliRunner

from jaldpi.cli import app
from jaldpi.config import get_settings

runner = CliRunner()


def invoke(monkeypatch, database, *args, role="state", jurisdiction="S28"):
    monkeypatch.setenv("COLUMNS", "200")  # Rich tables are as wide as the terminal
    monkeypatch.setenv("JALDPI_DATABASE_URL", database.url)
    monkeypatch.setenv("JALDPI_NODE_ID", "state-28")
    monkeypatch.setenv("JALDPI_FEDERATION_ROLE", role)
    monkeypatch.setenv("JALDPI_FEDERATION_JURISDICTION", jurisdiction)
    get_settings.cache_clear()
    try:
        return runner.invoke(app, ["federation", *args])
    finally:
        get_settings.cache_clear()


def test_describe_peer_add_list_status_and_errors(monkeypatch, database, tmp_path):
    described = invoke(monkeypatch, database, "describe")
    assert described.exit_code == 0, described.output
    me = orjson.loads(described.stdout)
    assert me["node_id"] == "state-28" and me["jurisdiction"] == "/S28/" and me["jwks"]["keys"][0]["kty"] == "OKP"

    keys = tmp_path / "national.jwks.json"
    keys.write_text(json.dumps(me["jwks"]))  # any Ed25519 key set will do for registration
    added = invoke(monkeypatch, database, "peer", "add", "national", "--role", "national",
                   "--url", "http://127.0.0.1:9", "--jwks-file", str(keys))
    assert added.exit_code == 0, added.output
    listed = invoke(monkeypatch, database, "peer", "list")
    assert "national" in listed.stdout and "http://127.0.0.1:9" in listed.stdout
    status = orjson.loads(invoke(monkeypatch, database, "status").stdout)
    assert status["peers"][0]["node_id"] == "national" and status["open_conflicts"] == 0

    # nothing to send: a push is caught up without calling the peer
    pushed = invoke(monkeypatch, database, "push")
    assert pushed.exit_code == 0 and orjson.loads(pushed.stdout)["caught_up"] is True
    # a pull calls it, and nothing listens on port 9: a clear error, exit 1, kept for `status`
    failed = invoke(monkeypatch, database, "pull")
    assert failed.exit_code == 1 and "error" in failed.output
    status = orjson.loads(invoke(monkeypatch, database, "status").stdout)
    assert status["peers"][0]["pull"]["last_error"]

    missing_keys = invoke(monkeypatch, database, "peer", "add", "state-29", "--role", "state")
    assert missing_keys.exit_code == 1 and "--jwks-file" in missing_keys.output
    bad_role = invoke(monkeypatch, database, "peer", "add", "x", "--role", "district", "--jwks-file", str(keys))
    assert bad_role.exit_code == 1 and "national or state" in bad_role.output


def test_a_standalone_node_says_so(monkeypatch, database):
    result = invoke(monkeypatch, database, "push", role="standalone", jurisdiction="")
    assert result.exit_code == 1 and "standalone" in result.output
