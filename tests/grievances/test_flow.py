"""The issue's definition of done: a complaint sent by SMS reaches the right operator, escalates when its SLA passes,
and closes with the citizen's confirmation."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select

from jaldpi.core.workflow_models import WorkflowCase
from jaldpi.grievances import service
from tests.grievances.conftest import BLOCK_4001, BLOCK_PHONE, CITIZEN, OPERATOR_PHONE, V1, sent, sms


def _case(node, reference):
    from types import SimpleNamespace

    with node.db.unit_of_work(write=False) as session:
        case = session.execute(select(WorkflowCase).where(WorkflowCase.data["grievance"].as_string() == reference)
                               ).scalar_one()
        return SimpleNamespace(assigned_path=case.assigned_path, data=dict(case.data), due_at=case.due_at,
                               closed_at=case.closed_at)


def test_sms_grievance_reaches_operator_escalates_to_block_and_closes_on_sms_confirmation(
        gclient, gnode, engine, operator, block):
    r = sms(gclient, "jal  500001   nowater  no water since two days", message_id="gw-1")
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["outcome"] == "submitted" and body["duplicate"] is False
    reference = body["reference"]
    assert "pin" not in body  # the PIN travels only in the SMS to the complainant

    ack = sent(gnode, CITIZEN)
    assert [m["template"] for m in ack] == ["grievances_received"]
    assert reference in ack[0]["body"] and "PIN" in ack[0]["body"]
    to_operator = sent(gnode, OPERATOR_PHONE)
    assert [m["template"] for m in to_operator] == ["grievances_assigned"] and reference in to_operator[0]["body"]
    assert sent(gnode, BLOCK_PHONE) == []  # the nearest holder only: the village's operator

    with gnode.db.unit_of_work(write=False) as session:
        view = service.public_view(session, reference)
    assert view["status"] == "assigned" and view["assigned_level"] == "village" and view["category"] == "no_water"
    case = _case(gnode, reference)
    assert case.assigned_path == V1 and case.data["sla_hours"] == 24

    # the SLA (24 h for no water) passes: the job moves it to the block and tells the block official
    later = service._aware(case.due_at) + dt.timedelta(minutes=1)
    with gnode.db.unit_of_work() as session:
        moved = service.escalate_overdue(session, gnode.settings, engine=engine, now=later)
    assert [(m["from_level"], m["to_level"], m["to_path"]) for m in moved] == [("village", "block", BLOCK_4001)]
    escalated = sent(gnode, BLOCK_PHONE)
    assert [m["template"] for m in escalated] == ["grievances_escalated"] and reference in escalated[0]["body"]
    with gnode.db.unit_of_work(write=False) as session:
        record = service.registry_of(gnode.catalogue).get(session, block, reference)
    assert record["routed_to_role"] == "block_official" and record["routed_to_path"] == BLOCK_4001
    assert record["escalation_count"] == 1 and record["status"] == "assigned"

    # the block official resolves it; the citizen is asked to confirm
    with gnode.db.unit_of_work() as session:
        service.take_transition(session, gnode.settings, block, reference, "resolve",
                                {"resolution_note": "valve at the ESR reopened"}, engine=engine)
    asked = [m for m in sent(gnode, CITIZEN) if m["template"] == "grievances_resolved"]
    assert len(asked) == 1 and f"OK {reference}" in asked[0]["body"] and f"REOPEN {reference}" in asked[0]["body"]

    r = sms(gclient, f"JAL OK {reference.lower()}", message_id="gw-2")
    assert r.json()["outcome"] == "confirmed", r.text
    with gnode.db.unit_of_work(write=False) as session:
        view = service.public_view(session, reference)
    assert view["status"] == "closed" and view["confirmed_at"] is not None and view["closed_at"] is not None
    assert [h["event"] for h in view["history"]] == ["submitted", "escalate", "resolve", "confirm"]
    assert [m["template"] for m in sent(gnode, CITIZEN)][-1] == "grievances_closed"
    assert _case(gnode, reference).closed_at is not None
