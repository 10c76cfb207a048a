"""``jaldpi hgj status | summary`` against the test database (the one the API wrote)."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from jaldpi.cli import app
from jaldpi.config import get_settings
from tests.certification.conftest import report, upload


@pytest.fixture
def cli(database, monkeypatch):
    monkeypatch.setenv("JALDPI_DATABASE_URL", database.url)
    get_settings.cache_clear()
    runner = CliRunner()

    def run(*args: str, code: int = 0) -> str:
        result = runner.invoke(app, ["hgj", *args])
        assert result.exit_code == code, (result.exit_code, result.output, result.exception)
        return result.output

    yield run
    get_settings.cache_clear()


def test_status_and_summary(hgj_client, people, cli):
    for village, who in ((500001, "block"), (500004, "district")):
        certificate = upload(hgj_client, people[who], "completion_certificate", village)
        assert report(hgj_client, people[who], certificate, village).status_code == 201
    items = json.loads(cli("status", "--within", "block:4001", "--json"))
    assert [(i["village"]["lgd_code"], i["status"]) for i in items] == [(500001, "reported")]
    text = cli("status", "--within", "district:745")
    assert "500004" in text and "2 villages" in text
    summary = {i["district"]["lgd_code"]: (i["villages"], i["reported"], i["certified"])
               for i in json.loads(cli("summary", "--json"))}
    assert summary == {745: (3, 2, 0), 746: (1, 0, 0)}
    assert "total" in cli("summary", "--within", "state:28")
    assert "no district with LGD code 999" in " ".join(cli("summary", "--within", "district:999", code=2).split())
