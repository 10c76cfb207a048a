"""Three nodes as separate server processes with separate databases (PostgreSQL for the national node and state 29
when PostgreSQL is available, SQLite for state 28): edits on all three, state 28 killed (SIGKILL, server and sync
worker) in the middle of a push and restarted, then convergence with no lost, duplicated or wrongly-owned record and
no personal data on the national node."""

from __future__ import annotations

import time
import uuid

import pytest
from sqlalchemy import create_engine, text

from jaldpi.core.changelog import verify
from jaldpi.core.db import Database
from jaldpi.federation.localnet import LocalNode, register_peers
from tests.conftest import PG_URL

STATES = (28, 29, 30)  # 28 and 29 run nodes; 30 has none, so the national node owns its records
VILLAGES = 3
EXCHANGED_STATE_TABLES = ("households", "schemes", "entities")
# small messages, so that the kill lands in the middle of a push; code lists reloaded on a miss every 2 s at most
ENV = {"JALDPI_FEDERATION_BATCH_SIZE": "100", "JALDPI_CODELIST_RELOAD_SECONDS": "2"}


def units() -> list[dict]:
    items = []
    for s in STATES:
        items += [
            {"level": "state", "lgd_code": s, "name": f"State {s}"},
            {"level": "district", "lgd_code": 100 + s, "name": f"District {s}", "parent": {"code": f"LGD-S{s}"}},
            {"level": "block", "lgd_code": 1000 + s, "name": f"Block {s}", "parent": {"code": f"LGD-D{100 + s}"}},
            {"level": "gram_panchayat", "lgd_code": 10_000 + s, "name": f"GP {s}",
             "parent": {"code": f"LGD-B{1000 + s}"}},
        ]
        items += [{"level": "village", "lgd_code": village(s, i), "name": f"Village {s}-{i}",
                   "parent": {"code": f"LGD-G{10_000 + s}"}} for i in range(VILLAGES)]
    return items


def village(state: int, i: int) -> int:
    return 100_000 + state * 10 + i


def households(state: int, n: int) -> list[dict]:
    return [{"id": str(uuid.uuid4()), "village": village(state, i % VILLAGES), "members_count": 1 + i % 7,
             "head_name": f"Secret Person {state}-{i}", "phone": f"9{state:02d}{i:07d}",
             "external_ids": {"state_mis": f"HH-{state}-{i}"}} for i in range(n)]


T0 = time.monotonic()


def phase(name: str) -> None:
    print(f"[{time.monotonic() - T0:7.1f} s] {name}", flush=True)


def wait_for(predicate, timeout_s: float, what: str, interval: float = 0.2):
    phase(f"waiting for {what}")
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout_s} s waiting for {what}")


def count(node: LocalNode, registry: str, within: str) -> int:
    response = node.api("GET", f"/api/v1/{registry}", params={"within": within, "total": "true", "limit": 1})
    assert response.status_code == 200, response.text
    return response.json()["total"]


def snapshot(engine, table: str, prefix: str) -> dict[str, tuple]:
    with engine.connect() as conn:
        return {str(uuid.UUID(str(r[0]))): (r[1], r[2] is not None) for r in conn.execute(
            text(f'SELECT id, version, deleted_at FROM "{table}" WHERE lgd_path LIKE :p'), {"p": prefix + "%"})}


@pytest.fixture
def databases(tmp_path):
    created = []

    def url(name: str, postgres: bool) -> str:
        # One PostgreSQL schema per node in the test database (dropping a whole database forces a checkpoint:
        # seconds on a busy server); the node sees only its schema through search_path.
        if postgres and PG_URL:
            schema = f"fed_{name}_{uuid.uuid4().hex[:6]}"
            with admin.begin() as conn:
                conn.execute(text(f'CREATE SCHEMA "{schema}"'))
            created.append(schema)
            return f"{PG_URL}?options=-csearch_path%3D{schema}"
        return f"sqlite:///{tmp_path / name}.db"

    admin = create_engine(PG_URL) if PG_URL else None
    yield url
    if admin is not None:
        with admin.begin() as conn:
            for schema in created:
                conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


def test_three_nodes_converge_after_a_crash(tmp_path, databases):
    national = LocalNode("national", "national", databases("national", True), tmp_path / "national",
                         extra_env=ENV)
    s28 = LocalNode("state-28", "state", databases("s28", False), tmp_path / "s28", jurisdiction="S28",
                    extra_env=ENV)
    s29 = LocalNode("state-29", "state", databases("s29", True), tmp_path / "s29", jurisdiction="S29",
                    extra_env=ENV)
    nodes = (national, s28, s29)
    try:
        phase("start")
        for node in nodes:
            node.prepare()
            node.start_server(wait=False)
        for node in nodes:
            node.wait_until_serving()
        phase("three nodes serving")
        register_peers(national, s28)
        register_peers(national, s29)
        phase("peers registered")

        # national: the LGD directory of three states
        loaded = national.api("POST", "/api/v1/admin_units/bulk", json=units(), params={"strategy": "create"})
        assert loaded.status_code == 200, loaded.text
        # ... and a code added to the standard (national owns the code lists)
        solar = {"name": "S29 solar scheme", "scheme_type": "solar", "villages": [village(29, 1)]}
        assert s29.api("POST", "/api/v1/schemes", json=solar).status_code == 422  # not a code yet
        added = national.api("POST", "/api/v1/codelist_entries", json={
            "codelist": "scheme_types", "value": "solar",
            "label": {"en": "Solar-powered scheme", "hi": "सौर ऊर्जा योजना"}})
        assert added.status_code == 201, added.text
        for state in (s28, s29):
            state.start_worker(interval=0.3)
        wait_for(lambda: count(s28, "admin_units", "/S28/") == 4 + VILLAGES, 60, "state 28 to pull its units")
        wait_for(lambda: count(s29, "admin_units", "/S29/") == 4 + VILLAGES, 60, "state 29 to pull its units")
        assert count(s28, "admin_units", "/S29/") == 0  # a state holds its own state's units only
        # the pulled code is accepted by the state node's API (its server reloads the code lists on a miss)
        wait_for(lambda: s29.api("POST", "/api/v1/schemes", json=solar).status_code == 201, 30,
                 "state 29 to accept the national code 'solar'", interval=0.5)

        # edits on all three nodes
        r = s29.api("POST", "/api/v1/households/bulk", json=households(29, 300))
        assert r.status_code == 200, r.text
        r = s29.api("POST", "/api/v1/schemes", json={"name": "S29 scheme", "scheme_type": "svs",
                                                     "villages": [village(29, 0)]})
        assert r.status_code == 201, r.text
        r = national.api("POST", "/api/v1/schemes", json={"name": "S30 scheme (no state node)",
                                                          "scheme_type": "mvs",
                                                          "villages": [village(30, 0), village(30, 1)]})
        assert r.status_code == 201, r.text
        s30_scheme = r.json()["id"]
        renamed = national.api("PATCH", f"/api/v1/admin_units/LGD-V{village(28, 0)}", json={"name": "Renamed A"})
        assert renamed.status_code == 200, renamed.text

        # state 28: a large push, killed in the middle
        r = s28.api("POST", "/api/v1/households/bulk", json=households(28, 3000))
        assert r.status_code == 200, r.text
        r = s28.api("POST", "/api/v1/entities", json={
            "entity_type": "vwsc", "name": "VWSC 28", "admin_unit": village(28, 1),
            "members": [{"name": "Secret Member One", "gender": "female"},
                        {"name": "Secret Member Two", "gender": "male"}]})
        assert r.status_code == 201, r.text
        partial = wait_for(lambda: (lambda n: n if 0 < n < 3000 else 0)(count(national, "households", "/S28/")),
                           60, "the push of state 28 to be under way", interval=0.02)
        s28.kill()
        at_kill = count(national, "households", "/S28/")
        assert 0 < partial <= at_kill < 3000, (partial, at_kill)  # really interrupted mid-sync

        # meanwhile the national node renames another village of state 28 and cannot touch state 29's records
        renamed = national.api("PATCH", f"/api/v1/admin_units/LGD-V{village(28, 1)}", json={"name": "Renamed B"})
        assert renamed.status_code == 200, renamed.text
        wait_for(lambda: count(national, "households", "/S29/") == 300, 60, "state 29's households")
        some = national.api("GET", "/api/v1/households", params={"within": "/S29/", "limit": 1}).json()["items"][0]
        refused = national.api("PATCH", f"/api/v1/households/{some['id']}", json={"members_count": 9})
        assert refused.status_code == 403 and refused.json()["error"]["code"] == "owned_by_another_node"

        # state 28 restarts and keeps working: updates and deletes
        s28.start_server()
        s28.start_worker(interval=0.3)
        page = s28.api("GET", "/api/v1/households", params={"within": "/S28/", "limit": 150}).json()["items"]
        changed = s28.api("POST", "/api/v1/households/bulk", json=[
            {"id": h["id"], "members_count": h["members_count"] + 1} for h in page[:100]])
        assert changed.status_code == 200, changed.text
        for h in page[100:150]:
            assert s28.api("DELETE", f"/api/v1/households/{h['id']}").status_code == 200

        # convergence
        engines = {n.node_id: create_engine(n.database_url.replace("postgresql://", "postgresql+psycopg://"))
                   for n in nodes}
        nat = engines["national"]

        differences: list[str] = []

        def converged() -> bool:
            differences.clear()
            for state, prefix in ((s28, "/S28/"), (s29, "/S29/")):
                for table in (*EXCHANGED_STATE_TABLES, "admin_units"):
                    here, there = snapshot(engines[state.node_id], table, prefix), snapshot(nat, table, prefix)
                    if here != there:
                        diff = sorted(k for k in here.keys() | there.keys() if here.get(k) != there.get(k))
                        differences.append(f"{state.node_id} {table}: {len(diff)} differ, e.g. "
                                           f"{[(k, here.get(k), there.get(k)) for k in diff[:3]]}")
            return not differences

        try:
            wait_for(converged, 120, "the three nodes to converge", interval=0.5)
        except AssertionError:
            statuses = {s.node_id: s.api("GET", "/federation/v1/status").json() for s in (s28, s29)}
            raise AssertionError(f"not converged: {differences}; status: {statuses}") from None
        phase("converged")
        for state in (s28, s29):
            status = state.api("GET", "/federation/v1/status").json()
            push = status["peers"][0]["push"]
            assert push["pending"] == 0 and push["last_error"] is None, status

        with nat.connect() as conn:
            # nothing lost: every household of state 28, with the updates and deletes made after the restart
            assert conn.execute(text("SELECT COUNT(*) FROM households WHERE lgd_path LIKE '/S28/%'")).scalar() == 3000
            assert conn.execute(text("SELECT COUNT(*) FROM households WHERE lgd_path LIKE '/S28/%' "
                                     "AND deleted_at IS NOT NULL")).scalar() == 50
            assert conn.execute(text("SELECT COUNT(*) FROM households WHERE lgd_path LIKE '/S28/%' "
                                     "AND version = 2 AND deleted_at IS NULL")).scalar() == 100
            # nothing duplicated: one replicated log entry per record version
            dupes = conn.execute(text(
                "SELECT record_id, version, COUNT(*) FROM change_log WHERE origin_node IS NOT NULL "
                "GROUP BY record_id, version HAVING COUNT(*) > 1")).all()
            assert dupes == []
            # nothing wrongly owned: every state record on the national node came from its state's node
            wrong = conn.execute(text(
                "SELECT c.record_type, c.lgd_path, c.origin_node FROM change_log c WHERE c.record_type IN "
                "('households', 'schemes', 'entities') AND ((c.lgd_path LIKE '/S28/%' AND "
                "(c.origin_node IS NULL OR c.origin_node <> 'state-28')) OR (c.lgd_path LIKE '/S29/%' AND "
                "(c.origin_node IS NULL OR c.origin_node <> 'state-29')))")).all()
            assert wrong == []
            # no personal data on the national node
            assert conn.execute(text("SELECT COUNT(*) FROM household_personal_data")).scalar() == 0
            for table in ("households", "change_log", "entities", "external_ids"):
                dump = " ".join(str(row) for row in conn.execute(text(f'SELECT * FROM "{table}"')))
                assert "Secret Person" not in dump and "Secret Member" not in dump, table
                assert "9280000001" not in dump and "9290000001" not in dump, table
        # national's own edits reached state 28 (including the one made while it was down), and only there
        with engines["state-28"].connect() as conn:
            names = dict(conn.execute(text("SELECT lgd_code, name FROM admin_units WHERE level = 'village'")).all())
            assert names[village(28, 0)] == "Renamed A" and names[village(28, 1)] == "Renamed B"
            assert conn.execute(text("SELECT COUNT(*) FROM schemes WHERE id = :i"),
                                {"i": s30_scheme.replace("-", "") if "sqlite" in s28.database_url
                                 else s30_scheme}).scalar() == 0
        phase("checked the national database")
        # every node's hash-chained change log still verifies
        for node in nodes:
            database = Database(node.database_url)
            with database.unit_of_work(write=False) as session:
                report = verify(session)
            database.dispose()
            assert report.ok and report.entries > 0, (node.node_id, report.problems)
        for engine in engines.values():
            engine.dispose()
        phase("audit verified")
    finally:
        for node in nodes:
            node.stop()
        phase("stopped")
        for node in nodes:  # keep the logs in the failure output
            for log in ("server.log", "sync.log"):
                path = node.workdir / log
                if path.exists() and "Traceback" in path.read_text(errors="replace"):
                    print(f"--- {node.node_id} {log}\n{path.read_text(errors='replace')[-4000:]}")
