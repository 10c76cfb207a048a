"""Applying received changes on one node: order, deferral of changes whose references are not here yet."""

from __future__ import annotations

import uuid

from sqlalchemy import select

from jaldpi.federation import inbound
from jaldpi.federation.ownership import Topology
from jaldpi.federation.policy import FederationPolicy
from tests.helpers import build_world

POLICY = FederationPolicy.load()
TOPOLOGY = Topology("national", "national", "/", (("state-28", "state", "/S28/"),))


def change(seq: int, record_id: str, village_id: str, path: str) -> dict:
    return {"seq": seq, "record_type": "households", "record_id": record_id, "operation": "create", "version": 1,
            "event_time": "2026-11-01T10:00:00+00:00", "lgd_path": path, "hash": "0" * 64, "actor": None,
            "source_system": None, "external_ids": {},
            "record": {"id": record_id, "code": f"HH-{seq}", "version": 1, "lgd_path": path,
                       "village_id": village_id, "members_count": 4, "has_tap_connection": True,
                       "is_exempted": False, "created_at": "2026-11-01T10:00:00+00:00",
                       "updated_at": "2026-11-01T10:00:00+00:00", "deleted_at": None},
            "changes": {}}


def test_a_change_whose_reference_is_missing_is_deferred_and_the_rest_waits(node):
    world = build_world(node)
    village = world.ids["LGD-V500001"]
    table = node.catalogue["admin_units"].table
    with node.db.unit_of_work(write=False) as session:
        path = session.execute(select(table.c.lgd_path).where(table.c.id == uuid.UUID(village))).scalar_one()
    first, second, third = (str(uuid.uuid4()) for _ in range(3))
    changes = [change(11, first, village, path), change(12, second, str(uuid.uuid4()), path),
               change(13, third, village, path)]
    with node.db.unit_of_work() as session:
        result = inbound.apply_changes(session, node.catalogue, POLICY, TOPOLOGY, "state-28", changes,
                                       start_after=10)
    assert [r["status"] for r in result.results] == ["applied", "deferred"]
    assert "admin_units" in result.results[1]["reason"]
    assert result.accepted_through == 11  # the sender re-sends from 12; 13 is not taken before 12
    households = node.catalogue["households"].table
    with node.db.unit_of_work(write=False) as session:
        held = {str(r) for r in session.execute(select(households.c.id)).scalars()}
    assert held == {first}


def test_out_of_order_or_unknown_changes_are_refused(node):
    build_world(node)
    bad = [{"seq": 5, "record_type": "accounts", "record_id": str(uuid.uuid4()), "operation": "create",
            "version": 1, "lgd_path": "/S28/", "record": {}},
           {"seq": 4, "record_type": "households", "record_id": str(uuid.uuid4()), "operation": "create",
            "version": 1, "lgd_path": "/S28/", "record": {}},
           {"seq": 6, "record_type": "households", "record_id": str(uuid.uuid4()), "operation": "explode",
            "version": 1, "lgd_path": "/S28/", "record": {}}]
    with node.db.unit_of_work() as session:
        result = inbound.apply_changes(session, node.catalogue, POLICY, TOPOLOGY, "state-28", bad, start_after=0)
    reasons = [(r["status"], r["reason"]) for r in result.results]
    assert reasons[0][0] == "refused" and "not exchanged" in reasons[0][1]
    assert reasons[1][0] == "refused" and "not after 5" in reasons[1][1]
    assert reasons[2][0] == "refused" and "explode" in reasons[2][1]
