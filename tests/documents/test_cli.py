"""``jaldpi documents add | verify`` against the test database and a temporary store."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from jaldpi.cli import app
from jaldpi.config import get_settings
from tests.documents.conftest import JPEG, PDF


@pytest.fixture
def cli(database, world, doc_settings, monkeypatch):
    monkeypatch.setenv("JALDPI_DATABASE_URL", database.url)
    monkeypatch.setenv("JALDPI_DOCUMENTS_DIR", str(doc_settings.documents_dir))
    get_settings.cache_clear()
    runner = CliRunner()

    def run(*args: str, code: int = 0) -> str:
        result = runner.invoke(app, ["documents", *args])
        assert result.exit_code == code, (result.exit_code, result.output, result.exception)
        return result.output

    yield run
    get_settings.cache_clear()


def test_add_and_verify(cli, tmp_path, doc_settings):
    photo = tmp_path / "esr.jpg"
    photo.write_bytes(JPEG)
    added = json.loads(cli("add", str(photo), "--type", "photo", "--admin-unit", "500001", "--lon", "78.4",
                           "--lat", "17.3", "--captured-at", "2026-11-20T10:30:00+05:30", "--public"))
    assert added["document_type"] == "photo" and added["public"] is True
    assert added["lgd_path"].endswith("/V500001/") and added["size_bytes"] == len(JPEG)
    refused = cli("add", str(photo), "--type", "photo", "--admin-unit", "500001", code=1)  # no geotag
    assert "geotag" in refused
    assert "checked 1 blobs" in cli("verify") and "0 corrupt" in cli("verify")

    # an orphan (stored, no record) is reported but harmless; damage and loss fail the check
    from jaldpi.documents.storage import DiskStore

    store = DiskStore(doc_settings.documents_dir)
    orphan = store.put(PDF)
    report = json.loads(cli("verify", "--json"))
    assert report["orphans"] == [orphan] and report["corrupt"] == [] and report["missing"] == []
    store.path_of(added["sha256"]).write_bytes(JPEG + b"bit rot")
    damaged = cli("verify", code=1)
    assert f"corrupt: {added['sha256']}" in damaged
    store.path_of(added["sha256"]).unlink()
    lost = json.loads(cli("verify", "--json", code=1))
    assert lost["missing"] == [{"code": added["code"], "sha256": added["sha256"]}]
