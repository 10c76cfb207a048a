"""Node-to-node sync between a national node and a state node over real HTTP: pull of national directories, push
of state-owned records, idempotence, ownership, personal data, signatures, conflicts."""

from __future__ import annotations

import uuid

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select, text, update

from jaldpi.core.changelog import ChangeRecord, verify
from jaldpi.core.registry import Strategy
from jaldpi.federation import envelope
from jaldpi.federation.models import FederationConflict, FederationCursor, FederationRefusal
from tests.federation.conftest import TestNode
from tests.helpers import ROOT, build_world, error_of, login_as


def write(node: TestNode, registry: str, items: list[dict], strategy: Strategy = Strategy.create_and_update):
    with node.db.unit_of_work() as session:
        summary = node.node.catalogue[registry].import_records(session, ROOT, items, strategy=strategy)
    return summary


def rows(node: TestNode, registry: str) -> dict[str, dict]:
    table = node.node.catalogue[registry].table
    with node.db.engine.connect() as conn:
        return {str(r["id"]): dict(r) for r in conn.execute(select(table)).mappings()}


def state_records(state: TestNode) -> dict[str, str]:
    """A scheme, a household with personal data and a lab sample, written on the state node."""
    ids = {}
    s = write(state, "schemes", [{"name": "Alpha SVS", "scheme_type": "svs", "villages": [500001],
                                  "external_ids": {"imis": "SCH-1"}}])
    assert s.status == "ok", s.to_dict()
    ids["scheme"] = str(s.rows[0].id)
    h = write(state, "households", [{"village": 500001, "members_count": 5, "head_name": "Kamala Devi",
                                     "phone": "9876512345", "aadhaar": "234567890124"}])
    assert h.status == "ok", h.to_dict()
    ids["household"] = str(h.rows[0].id)
    e = write(state, "entities", [{"entity_type": "vwsc", "name": "Alpha VWSC", "admin_unit": 500001,
                                   "members": [{"name": "Sita Bai", "gender": "female"},
                                               {"name": "Ram Lal", "gender": "male"}]}])
    assert e.status == "ok", e.to_dict()
    ids["entity"] = str(e.rows[0].id)
    return ids


@pytest.fixture
def synced(pair):
    national, state = pair
    build_world(national.node)
    report = state.fed.pull()
    assert report.caught_up and report.counts.get("applied", 0) == 13, report.to_dict()
    return national, state


def test_state_pulls_the_lgd_directory_with_the_same_ids(synced):
    national, state = synced
    assert rows(state, "admin_units").keys() == rows(national, "admin_units").keys()
    for rid, row in rows(state, "admin_units").items():
        assert row["version"] == rows(national, "admin_units")[rid]["version"]
    # pulled again: nothing new, nothing applied twice
    again = state.fed.pull()
    assert again.caught_up and again.counts.get("applied", 0) == 0


def test_state_records_reach_the_national_node_without_personal_data(synced):
    national, state = synced
    ids = state_records(state)
    report = state.fed.push()
    assert report.caught_up and report.counts == {"applied": 3}, report.to_dict()

    scheme = rows(national, "schemes")[ids["scheme"]]
    assert scheme["name"] == "Alpha SVS" and scheme["version"] == 1
    assert scheme["created_by"].startswith("state-28:p-")  # the state's user, pseudonymised
    household = rows(national, "households")[ids["household"]]
    assert household["members_count"] == 5
    entity = rows(national, "entities")[ids["entity"]]
    assert entity["member_count"] == 2 and entity["women_members"] == 1 and entity["members"] in ([], None)
    with national.db.engine.connect() as conn:
        assert conn.execute(text("SELECT COUNT(*) FROM household_personal_data")).scalar_one() == 0
        dump = "\n".join(str(r) for t in ("change_log", "households", "entities", "external_ids", "schemes")
                         for r in conn.execute(text(f'SELECT * FROM "{t}"')))
    for secret in ("Kamala", "9876512345", "234567890124", "Sita Bai", "Ram Lal"):
        assert secret not in dump
    # external ids travel with the record
    client = TestClient(national.app)
    headers = login_as(client, national.node, "nat-official", "national_official", "/")
    found = client.get("/api/v1/lookup", params={"system": "imis", "value": "SCH-1"}, headers=headers)
    assert found.status_code == 200 and found.json()["items"][0]["record"]["id"] == ids["scheme"]
    # the national node's own change feed carries the replicas, with their origin
    feed = client.get("/api/v1/changes", params={"types": "schemes"}, headers=headers).json()["items"]
    assert [(i["record_id"], i["origin"]["node"]) for i in feed] == [(ids["scheme"], "state-28")]
    # the national change log keeps event time and origin, and its chain verifies
    with national.db.unit_of_work(write=False) as session:
        replicated = session.execute(select(ChangeRecord).where(ChangeRecord.origin_node == "state-28")).scalars().all()
        assert len(replicated) == 3 and all(r.origin_seq for r in replicated)
        assert verify(session).ok


def test_updates_and_deletes_follow_with_the_same_versions(synced):
    national, state = synced
    ids = state_records(state)
    state.fed.push()
    write(state, "schemes", [{"id": ids["scheme"], "name": "Alpha SVS (retrofitted)"}])
    write(state, "schemes", [{"id": ids["scheme"], "lifecycle_stage": "commissioned"}]) \
        if "lifecycle_stage" in rows(state, "schemes")[ids["scheme"]] else None
    write(state, "households", [{"id": ids["household"]}], strategy=Strategy.delete)
    report = state.fed.push()
    assert report.counts.get("applied", 0) >= 2 and "conflict" not in report.counts
    for rid, row in rows(state, "schemes").items():
        assert rows(national, "schemes")[rid]["version"] == row["version"]
        assert rows(national, "schemes")[rid]["name"] == row["name"]
    assert rows(national, "households")[ids["household"]]["deleted_at"] is not None


def test_push_is_idempotent_after_a_lost_acknowledgement(synced):
    national, state = synced
    state_records(state)
    state.fed.push()
    before = rows(national, "schemes")
    with state.db.unit_of_work() as session:  # as if the ack never arrived: the state re-sends everything
        session.execute(update(FederationCursor).where(FederationCursor.direction == "push").values(position=0))
    again = state.fed.push()
    assert again.counts == {"duplicate": 3}, again.to_dict()
    assert rows(national, "schemes") == before
    with national.db.engine.connect() as conn:
        assert conn.execute(select(ChangeRecord).where(ChangeRecord.origin_node == "state-28")).all().__len__() == 3


def test_national_cannot_change_a_state_owned_record(synced):
    national, state = synced
    ids = state_records(state)
    state.fed.push()
    client = TestClient(national.app)
    headers = login_as(client, national.node, "nat-admin", "node_admin", "/")
    response = client.patch(f"/api/v1/schemes/{ids['scheme']}", json={"name": "Renamed in Delhi"}, headers=headers)
    err = error_of(response)
    assert response.status_code == 403 and err["code"] == "owned_by_another_node"
    assert "state-28" in err["message"]
    # ... while a record in a state without a node of its own stays national (created on the national node)
    # and LGD units are national: the state node refuses to change them
    state_client = TestClient(state.app)
    state_headers = login_as(state_client, state.node, "st-admin", "node_admin", "/")
    village = next(r for r in rows(state, "admin_units").values() if r["lgd_code"] == 500001)
    response = state_client.patch(f"/api/v1/admin_units/{village['id']}", json={"name": "Renamed"},
                                  headers=state_headers)
    assert response.status_code == 403 and error_of(response)["code"] == "owned_by_another_node"
    # habitations are surveyed by the state: the state node owns them
    hab = state_client.post("/api/v1/admin_units", json={"level": "habitation", "name": "Alpha Tola",
                                                         "parent": {"lgd_code": 500001}}, headers=state_headers)
    assert hab.status_code == 201, hab.text
    report = state.fed.push()
    assert report.counts == {"applied": 1}
    assert hab.json()["id"] in rows(national, "admin_units")


def test_a_change_from_the_wrong_node_is_refused(synced):
    national, state = synced
    outside = {"seq": 10_000, "record_type": "schemes", "record_id": str(uuid.uuid4()), "operation": "create",
               "version": 1, "event_time": "2026-01-01T00:00:00+00:00", "lgd_path": "/S29/D900/",
               "record": {"name": "Not yours", "scheme_type": "svs"}, "changes": {}, "actor": None,
               "source_system": None, "external_ids": {}, "hash": "0" * 64}
    token = envelope.sign(state.fed.key, "state-28", "national", envelope.CHANGES,
                          {"after": 9_999, "scanned_through": 10_000, "changes": [outside]})
    ack = httpx.post(national.url + "/federation/v1/inbox", content=token).json()["ack"]
    with state.db.unit_of_work(write=False) as session:  # the answer is signed by the national node
        body = envelope.verify(session, ack, receiver="state-28", kind=envelope.ACK, max_age_seconds=60,
                               expected_sender="national").claims
    assert body["counts"] == {"refused": 1}
    assert "owned by node 'national', not by 'state-28'" in body["results"][0]["reason"]
    assert outside["record_id"] not in rows(national, "schemes")


def test_personal_fields_in_a_message_are_refused(synced):
    national, state = synced
    leaked = {"seq": 5, "record_type": "households", "record_id": str(uuid.uuid4()), "operation": "create",
              "version": 1, "event_time": "2026-01-01T00:00:00+00:00",
              "lgd_path": next(r["lgd_path"] for r in rows(national, "admin_units").values()
                               if r["lgd_code"] == 500001),
              "record": {"members_count": 3, "head_name": "Leaked Name"}, "changes": {}, "actor": None,
              "source_system": None, "external_ids": {}, "hash": "0" * 64}
    token = envelope.sign(state.fed.key, "state-28", "national", envelope.CHANGES,
                          {"after": 0, "scanned_through": 5, "changes": [leaked]})
    ack = envelope.claims_of(httpx.post(national.url + "/federation/v1/inbox", content=token).json()["ack"])
    assert ack["counts"] == {"refused": 1} and "head_name" in ack["results"][0]["reason"]
    assert leaked["record_id"] not in rows(national, "households")


@pytest.mark.parametrize("tamper", ["signature", "unknown", "receiver"])
def test_unsigned_forged_or_misaddressed_messages_are_refused(synced, tamper):
    national, state = synced
    from jaldpi.core.signing import SigningKey
    from tests.federation.conftest import seed_for

    key, issuer, audience = state.fed.key, "state-28", "national"
    if tamper == "signature":
        key = SigningKey.from_setting(seed_for("impostor"), "x")
    elif tamper == "unknown":
        issuer = "state-99"
    else:
        audience = "state-29"
    token = envelope.sign(key, issuer, audience, envelope.CHANGES, {"after": 0, "scanned_through": 0,
                                                                    "changes": []})
    response = httpx.post(national.url + "/federation/v1/inbox", content=token)
    err = error_of(response)
    expected = {"signature": (401, "bad_signature"), "unknown": (401, "unknown_node"),
                "receiver": (422, "wrong_receiver")}[tamper]
    assert (response.status_code, err["code"]) == expected, err


def test_concurrent_edit_is_surfaced_as_a_conflict_and_resolved(synced):
    national, state = synced
    ids = state_records(state)
    state.fed.push()
    # The national copy changes outside the sync (say, a fix applied in the database before federation): version 2
    table = national.node.catalogue["schemes"].table
    with national.db.unit_of_work() as session:
        session.execute(update(table).where(table.c.id == uuid.UUID(ids["scheme"]))
                        .values(name="Fixed in Delhi", version=2))
    write(state, "schemes", [{"id": ids["scheme"], "name": "Renamed by the state"}])  # state: version 2 too
    report = state.fed.push()
    assert report.counts == {"conflict": 1}, report.to_dict()
    assert rows(national, "schemes")[ids["scheme"]]["name"] == "Fixed in Delhi"  # not silently overwritten
    conflicts = national.fed.conflicts()
    assert len(conflicts) == 1 and conflicts[0]["incoming_version"] == 2 and conflicts[0]["local_version"] == 2
    with state.db.unit_of_work(write=False) as session:  # the owner learns about it too
        refusals = session.execute(select(FederationRefusal)).scalars().all()
        assert [r.status for r in refusals] == ["conflict"]
    # an operator takes the owner's version
    client = TestClient(national.app)
    headers = login_as(client, national.node, "nat-admin", "node_admin", "/")
    listed = client.get("/federation/v1/conflicts", headers=headers).json()["items"]
    assert listed[0]["id"] == conflicts[0]["id"]
    done = client.post(f"/federation/v1/conflicts/{conflicts[0]['id']}/resolve", json={"keep": "incoming"},
                       headers=headers)
    assert done.status_code == 200 and done.json()["status"] == "took_incoming"
    assert rows(national, "schemes")[ids["scheme"]]["name"] == "Renamed by the state"
    # and later changes flow again
    write(state, "schemes", [{"id": ids["scheme"], "name": "Third name"}])
    assert state.fed.push().counts == {"applied": 1}
    assert rows(national, "schemes")[ids["scheme"]]["name"] == "Third name"
    with national.db.unit_of_work(write=False) as session:
        assert session.execute(select(FederationConflict.status)).scalars().all() == ["took_incoming"]


def test_status_and_operator_routes_need_node_admin(synced):
    national, state = synced
    state_records(state)
    client = TestClient(state.app)
    before = state.fed.status()
    assert before["peers"][0]["node_id"] == "national"
    state.fed.push()
    after = state.fed.status()
    assert after["peers"][0]["push"]["pending"] == 0 and after["peers"][0]["push"]["position"] > 0
    assert client.get("/federation/v1/status").status_code == 401
    headers = login_as(client, state.node, "district", "district_official", "/S28/D745/")
    assert client.get("/federation/v1/status", headers=headers).status_code == 403
    node = client.get("/federation/v1/node").json()
    assert node["node_id"] == "state-28" and node["jurisdiction"] == "/S28/" and node["jwks"]["keys"]


def test_a_standalone_node_refuses_federation_messages(client):
    response = client.post("/federation/v1/inbox", content="a.b.c")
    assert response.status_code in (409, 422)
