"""A grievance about an asset opens a breakdown ticket in asset upkeep; the repair restoring the asset resolves the
grievance and asks the citizen to confirm."""

from __future__ import annotations

import pytest

from jaldpi.core.errors import Conflict
from jaldpi.grievances import service
from tests.grievances.conftest import CITIZEN, sent
from tests.helpers import build_records


def test_raise_ticket_then_restore_resolves_the_grievance(gnode, engine, operator):
    records = build_records(gnode, registries=("components",))
    component = records["components"]["a1"]["code"]  # an ESR of the scheme serving village 500001
    with gnode.db.unit_of_work() as session:
        g = service.submit_grievance(session, gnode.settings, operator, village=500001, category="leak_burst",
                                     description="ESR overflow pipe leaking", channel="staff_call", phone=CITIZEN,
                                     component=component, engine=engine)
        refused = service.submit_grievance(session, gnode.settings, operator, village=500001, category="billing",
                                           description="charged twice", channel="staff_call", engine=engine)
    with gnode.db.unit_of_work() as session:
        out = service.take_transition(session, gnode.settings, operator, g["reference"], "raise_ticket", {},
                                      engine=engine)
    ticket = out["grievance"]["breakdown_ticket"]
    assert ticket and out["grievance"]["status"] == "in_progress"
    with pytest.raises(Conflict, match="not about an asset"), gnode.db.unit_of_work() as session:
        service.take_transition(session, gnode.settings, operator, refused["reference"], "raise_ticket", {},
                                engine=engine)
    with gnode.db.unit_of_work() as session:  # idempotent on origin + reference: the guard refuses a second one
        with pytest.raises(Conflict, match="already open"):
            service.take_transition(session, gnode.settings, operator, g["reference"], "raise_ticket", {},
                                    engine=engine)
    with gnode.db.unit_of_work() as session:
        ticket_row = gnode.catalogue["breakdown_tickets"].get(session, operator, ticket)
        assert (ticket_row["origin"], ticket_row["origin_ref"]) == ("grievance", g["reference"])
        engine.transition(session, operator, ticket_row["id"], "assign", {"assigned_to": "vwsc-500001"})
        engine.transition(session, operator, ticket_row["id"], "restore", {})
    with gnode.db.unit_of_work(write=False) as session:
        public = service.public_view(session, g["reference"])
    assert public["status"] == "resolved" and ticket in public["resolution_note"]
    assert [m["template"] for m in sent(gnode, CITIZEN)][-1] == "grievances_resolved"
