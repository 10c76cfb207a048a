"""The hash-chained change log: written with every write, in the same transaction; tampering is caught."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest
from sqlalchemy import text

from jaldpi.core.changelog import verify
from tests.helpers import build_records, build_world, count_rows, login_as


@pytest.fixture
def logged(client, node):
    build_world(node)
    build_records(node, {"a1": 500001}, registries=("entities", "households"))
    d745 = login_as(client, node, "d745", "district_official", "district:745")
    ent = client.get("/api/v1/entities", headers=d745).json()["items"][0]
    for name in ("One", "Two", "Three"):
        assert client.patch(f"/api/v1/entities/{ent['id']}", json={"name": name}, headers=d745).status_code == 200
    assert client.delete(f"/api/v1/entities/{ent['id']}", headers=d745).status_code == 200
    return d745, ent


def cli_verify(node, monkeypatch) -> tuple[int, dict]:
    """`jaldpi audit verify` in-process (the subprocess run is in test_cli_verify_passes_on_a_clean_log)."""
    from typer.testing import CliRunner

    from jaldpi.cli import app
    from jaldpi.config import get_settings

    monkeypatch.setenv("JALDPI_DATABASE_URL", node.db.url)
    get_settings.cache_clear()
    try:
        result = CliRunner().invoke(app, ["audit", "verify"])
    finally:
        get_settings.cache_clear()
    return result.exit_code, json.loads(result.stdout)


def run_verify(node) -> tuple[int, dict]:
    env = {**os.environ, "JALDPI_DATABASE_URL": node.db.url}
    p = subprocess.run([sys.executable, "-m", "jaldpi.cli", "audit", "verify"], env=env, capture_output=True,
                       text=True, timeout=60)
    if p.returncode == 0 and not p.stdout:  # `python -m jaldpi.cli` has no __main__ guard: call main()
        p = subprocess.run([sys.executable, "-c", "from jaldpi.cli import main; main()", "audit", "verify"],
                           env=env, capture_output=True, text=True, timeout=60)
    return p.returncode, json.loads(p.stdout)


def _sql(node, statement: str, **params) -> None:
    with node.db.engine.begin() as conn:
        conn.execute(text(statement), params)


def _verify(node):
    with node.db.unit_of_work(write=False) as session:
        return verify(session)


def test_every_write_appends_one_entry_and_failures_none(client, node, logged):
    d745, ent = logged
    n = count_rows(node, "change_log")
    # admin units (10+3), 2 records, 1 account, 3 updates, 1 delete
    assert n == 13 + 2 + 1 + 4
    r = client.patch(f"/api/v1/entities/{ent['id']}", json={"name": "Back"}, headers=d745)
    assert r.status_code == 200 and count_rows(node, "change_log") == n + 1
    r = client.post("/api/v1/entities", json={"entity_type": "vwsc", "name": "x", "admin_unit": 42}, headers=d745)
    assert r.status_code == 422 and count_rows(node, "change_log") == n + 1
    report = _verify(node)
    assert report.ok and report.entries == n + 1, report.problems


def test_cli_verify_passes_on_a_clean_log(node, logged):
    code, report = run_verify(node)
    assert code == 0 and report["ok"] is True and report["problems"] == []
    assert report["entries"] == count_rows(node, "change_log")


def _middle(node) -> int:
    with node.db.engine.connect() as conn:
        seqs = [s for (s,) in conn.execute(text("SELECT seq FROM change_log ORDER BY seq"))]
    return seqs[len(seqs) // 2]


@pytest.mark.parametrize("tamper", ["payload", "delete_middle", "cut_tail", "actor_column", "occurred_at_column",
                                    "record_id_column"])
def test_verify_catches_tampering(node, logged, tamper, monkeypatch):
    seq = _middle(node)
    with node.db.engine.connect() as conn:
        last = conn.execute(text("SELECT MAX(seq) FROM change_log")).scalar_one()
        payload = conn.execute(text("SELECT payload FROM change_log WHERE seq = :s"), {"s": seq}).scalar_one()
    named = seq
    if tamper == "payload":
        _sql(node, "UPDATE change_log SET payload = :p WHERE seq = :s", p=payload.replace('"version":', '"version":1'),
             s=seq)
    elif tamper == "delete_middle":
        _sql(node, "DELETE FROM change_log WHERE seq = :s", s=seq)
        named = seq + 1
    elif tamper == "cut_tail":
        _sql(node, "DELETE FROM change_log WHERE seq >= :s", s=last - 1)
        named = last - 2
    elif tamper == "actor_column":
        _sql(node, "UPDATE change_log SET actor = 'someone-else' WHERE seq = :s", s=seq)
    elif tamper == "occurred_at_column":
        _sql(node, "UPDATE change_log SET occurred_at = :t WHERE seq = :s", t="2001-01-01 00:00:00", s=seq)
    elif tamper == "record_id_column":
        _sql(node, "UPDATE change_log SET record_id = (SELECT record_id FROM change_log WHERE seq = 1) "
                   "WHERE seq = :s", s=seq)
    code, report = run_verify(node) if tamper == "payload" else cli_verify(node, monkeypatch)
    assert code == 1 and report["ok"] is False
    assert any(f"seq {named}" in p for p in report["problems"]), report["problems"]
