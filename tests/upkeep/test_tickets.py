"""Breakdown tickets: manual tickets through the API walk the workflow to closed with escalation, the interface the
grievances package calls, tickets from inspections and alerts, workflow-owned fields, jurisdiction."""

from __future__ import annotations

import datetime as dt
import uuid

import pytest
from sqlalchemy import select

from jaldpi.alerts.models import Alert
from jaldpi.core.errors import ValidationFailed
from jaldpi.core.ids import new_id
from jaldpi.core.models import utcnow
from jaldpi.core.workflow_models import WorkflowCase
from jaldpi.upkeep.models import BreakdownTicket
from jaldpi.upkeep.service import open_breakdown_ticket, tickets_from_alerts
from tests.helpers import ROOT, error_of, login_as
from tests.upkeep.world import build_upkeep, engine_of, write

A1_PATH = "/S28/D745/B4001/G200001/V500001/"


def _case(node, ticket_id: str) -> WorkflowCase:
    with node.db.unit_of_work(write=False) as s:
        case = s.get(WorkflowCase, uuid.UUID(ticket_id))
        s.expunge_all()
        return case


def _ticket(node, ticket_id: str) -> dict:
    with node.db.unit_of_work(write=False) as s:
        return node.catalogue["breakdown_tickets"].get(s, ROOT, ticket_id)


def test_manual_ticket_walks_to_closed_with_escalation(client, node):
    w = build_upkeep(node)
    operator = login_as(client, node, "op", "vwsc_operator", "/S28/D745/B4001/G200001/")
    engineer = login_as(client, node, "je", "block_official", "/S28/D745/B4001/")
    failed = (utcnow() - dt.timedelta(hours=30)).replace(microsecond=0)
    r = client.post("/api/v1/breakdown_tickets", headers=operator, json={
        "component": w.pump, "description": "Pump tripping, no water since morning",
        "failed_at": failed.isoformat()})
    assert r.status_code == 201, r.text
    ticket = r.json()
    assert ticket["state"] == "reported" and ticket["case_id"] == ticket["id"]
    assert ticket["scheme_id"] == w.scheme["a1"] and ticket["lgd_path"] == A1_PATH  # derived from the component
    case = _case(node, ticket["id"])
    assert (case.workflow, case.state, case.assigned_level) == ("breakdown_ticket", "reported", "block")

    # the workflow's fields are not the caller's to set
    r = client.patch(f"/api/v1/breakdown_tickets/{ticket['id']}", headers=operator, json={"state": "closed"})
    assert r.status_code == 422 and error_of(r)["details"][0]["field"] == "state"

    # overdue (24 h SLA in "reported"): escalates to the district
    with node.db.unit_of_work() as s:
        moved = engine_of(node).escalate_overdue(s, utcnow() + dt.timedelta(hours=25))
    assert [(m["from_level"], m["to_level"]) for m in moved] == [("block", "district")]

    cases = f"/api/v1/cases/{ticket['id']}/transitions"
    r = client.post(f"{cases}/assign", headers=engineer, json={})
    assert r.status_code == 422 and error_of(r)["code"] == "missing_fields"
    assert client.post(f"{cases}/assign", headers=engineer, json={"assigned_to": "Mechanic R. Rao"}).status_code == 200
    assert client.post(f"{cases}/start_repair", headers=operator).status_code == 200
    r = client.post(f"{cases}/restore", headers=operator, json={"restored_at": (failed - dt.timedelta(hours=1))
                                                                 .isoformat()})
    assert r.status_code == 409 and "before the ticket's failed_at" in error_of(r)["message"]
    restored = failed + dt.timedelta(hours=20)
    r = client.post(f"{cases}/restore", headers=operator, json={"restored_at": restored.isoformat()})
    assert r.status_code == 200, r.text
    assert r.json()["assigned_level"] == "district"  # escalation kept the district responsible
    stored = _ticket(node, ticket["id"])
    assert stored["state"] == "restored"
    assert dt.datetime.fromisoformat(stored["restored_at"]) == restored
    # verification failed: the repair reopens, the downtime runs on
    assert client.post(f"{cases}/reopen", headers=engineer, json={"reason": "pressure still nil"}).status_code == 200
    assert _ticket(node, ticket["id"])["restored_at"] is None
    assert client.post(f"{cases}/restore", headers=operator).status_code == 200
    r = client.post(f"{cases}/close", headers=engineer)
    assert r.status_code == 200 and r.json()["state"] == "closed" and r.json()["closed_at"]
    stored = _ticket(node, ticket["id"])
    assert stored["state"] == "closed" and stored["closed_at"] and stored["restored_at"]
    assert stored["version"] == 7  # created, then one write per transition (six)
    # the history shows who moved it: the workflow, as system:upkeep
    history = client.get(f"/api/v1/breakdown_tickets/{ticket['id']}/history", headers=engineer).json()["items"]
    assert {h["actor"] for h in history[1:]} == {"system:upkeep"}


def test_open_breakdown_ticket_is_idempotent_per_origin(node):
    w = build_upkeep(node)
    with node.db.unit_of_work() as s:
        first = open_breakdown_ticket(s, "system:grievances", scheme=w.records["schemes"]["a1"]["code"],
                                      village=500001, origin="grievance", origin_ref="GRV-1",
                                      description="No water for two days")
        again = open_breakdown_ticket(s, "system:grievances", scheme=w.scheme["a1"], village="500001",
                                      origin="grievance", origin_ref="GRV-1", description="Still no water")
    assert again["id"] == first["id"] and again["description"] == "No water for two days"
    assert first["state"] == "reported" and first["case_id"] == first["id"]
    assert first["case_code"].startswith("BRK") and first["lgd_path"] == A1_PATH
    assert first["created_by"] == "system:grievances"
    assert first["failed_at"] == first["reported_at"]
    # once the ticket is no longer open, the same grievance may open a new one
    with node.db.unit_of_work() as s:
        engine_of(node).transition(s, ROOT, first["id"], "cancel", {"reason": "duplicate"})
    with node.db.unit_of_work() as s:
        third = open_breakdown_ticket(s, "system:grievances", scheme=w.scheme["a1"], origin="grievance",
                                      origin_ref="GRV-1", description="No water again")
    assert third["id"] != first["id"] and _ticket(node, first["id"])["state"] == "cancelled"


def test_workflow_mirrors_a_ticket_whose_scheme_serves_several_villages(node):
    """The hook writes the ticket's state as a system actor that can still see a multi-village scheme, which sits
    above the ticket's village (regression: ``jaldpi demo`` failed on the sandbox's MVS schemes)."""
    build_upkeep(node)
    mvs = write(node, "schemes", {"name": "MVS 500001+500002", "scheme_type": "mvs", "villages": [500001, 500002]})
    assert A1_PATH.startswith(mvs["lgd_path"]) and mvs["lgd_path"] != A1_PATH  # above the ticket's village
    with node.db.unit_of_work() as s:
        ticket = open_breakdown_ticket(s, ROOT, scheme=mvs["id"], village=500001, origin="manual",
                                       origin_ref="MVS-1", description="Main line burst", catalogue=node.catalogue)
        engine_of(node).transition(s, ROOT, ticket["id"], "assign", {"assigned_to": "Block repair team"})
    stored = _ticket(node, ticket["id"])
    assert stored["state"] == "assigned" and stored["scheme_id"] == mvs["id"] and stored["lgd_path"] == A1_PATH


def test_open_breakdown_ticket_refuses_bad_references(node):
    w = build_upkeep(node)

    with pytest.raises(ValidationFailed) as err, node.db.unit_of_work() as s:
        open_breakdown_ticket(s, "system:grievances", scheme=w.scheme["a1"], component=w.esr["a4"],
                              origin="grievance", origin_ref="GRV-2", description="x")
    assert err.value.details[0]["field"] == "component"
    with pytest.raises(ValidationFailed) as err, node.db.unit_of_work() as s:
        open_breakdown_ticket(s, "system:grievances", scheme=w.scheme["a1"], village=500003,
                              origin="grievance", origin_ref="GRV-3", description="x")
    assert "not served by scheme" in err.value.details[0]["problem"]
    with node.db.unit_of_work(write=False) as s:
        assert s.execute(select(BreakdownTicket.id)).first() is None  # nothing half-written
        assert s.execute(select(WorkflowCase.id)).first() is None


def test_poor_condition_or_needs_repair_opens_an_inspection_ticket(node):
    w = build_upkeep(node)
    now = utcnow().replace(microsecond=0)
    good = write(node, "condition_assessments", {"component": w.esr["a1"], "assessed_at": now.isoformat(),
                                                 "condition": 4})
    poor = write(node, "condition_assessments", {"component": w.pump, "assessed_at": now.isoformat(),
                                                 "condition": 2, "notes": "bearing noise"})
    flagged = write(node, "condition_assessments", {"component": w.esr["a4"], "assessed_at": now.isoformat(),
                                                    "condition": 3, "needs_repair": True})
    with node.db.unit_of_work(write=False) as s:
        tickets = {t.origin_ref: t for t in s.execute(select(BreakdownTicket)).scalars()}
        s.expunge_all()
    assert set(tickets) == {poor["code"], flagged["code"]} and good["code"] not in tickets
    t = tickets[poor["code"]]
    assert t.origin == "inspection" and str(t.component_id) == w.pump and t.state == "reported"
    assert "condition 2 (Poor" in t.description and "bearing noise" in t.description
    assert _case(node, str(t.id)).state == "reported"


def _alert(node, w, kind: str, opened_at: dt.datetime) -> str:
    aid = new_id()
    with node.db.unit_of_work() as s:
        s.add(Alert(id=aid, kind=kind, severity="high", status="open", dedup_key=f"{kind}:scheme:{aid}",
                    scheme_id=uuid.UUID(w.scheme["a1"]), village_id=uuid.UUID(_village_id(node, 500001)),
                    lgd_path=A1_PATH, value=30.0, threshold=24.0,
                    unit="h", details={}, routed_to=[], opened_at=opened_at, last_seen_at=opened_at, version=1))
    return str(aid)


def _village_id(node, lgd_code: int) -> str:
    from jaldpi.admin_units.models import AdminUnit

    with node.db.unit_of_work(write=False) as s:
        return str(s.execute(select(AdminUnit.id).where(AdminUnit.lgd_code == lgd_code,
                                                        AdminUnit.level == "village")).scalar_one())


def test_tickets_from_alerts_once_per_alert(node):
    w = build_upkeep(node)
    opened = (utcnow() - dt.timedelta(hours=6)).replace(microsecond=0)
    no_supply = _alert(node, w, "no_supply", opened)
    _alert(node, w, "low_pressure", opened)  # not a configured kind
    kinds = ["no_supply", "night_flow"]
    with node.db.unit_of_work() as s:
        result = tickets_from_alerts(s, kinds=kinds, catalogue=node.catalogue)
    assert (result["alerts"], result["opened"], result["errors"]) == (1, 1, [])
    with node.db.unit_of_work(write=False) as s:
        ticket = s.execute(select(BreakdownTicket)).scalar_one()
        s.expunge_all()
    assert (ticket.origin, ticket.origin_ref) == ("alert", no_supply)
    assert ticket.failed_at.replace(tzinfo=dt.UTC) == opened and ticket.description.startswith("no_supply alert: 30 h")
    with node.db.unit_of_work() as s:
        engine_of(node).transition(s, ROOT, ticket.id, "cancel", {"reason": "supply resumed by itself"})
    with node.db.unit_of_work() as s:
        again = tickets_from_alerts(s, kinds=kinds, catalogue=node.catalogue)
    assert (again["already_ticketed"], again["opened"]) == (1, 0)  # never a second ticket for one alert


def test_jurisdiction_of_tickets(client, node):
    w = build_upkeep(node)
    ticket = write(node, "breakdown_tickets", {"component": w.pump, "description": "pump burnt"})
    east = login_as(client, node, "je-east", "block_official", "/S28/D745/B4003/")
    district = login_as(client, node, "ee", "district_official", "/S28/D745/")
    assert client.get(f"/api/v1/breakdown_tickets/{ticket['id']}", headers=east).status_code == 404
    assert client.get("/api/v1/breakdown_tickets", headers=east).json()["items"] == []
    r = client.post("/api/v1/breakdown_tickets", headers=east, json={"component": w.esr["a4"], "description": "ok"})
    assert r.status_code == 201
    r = client.post("/api/v1/breakdown_tickets", headers=east, json={"component": w.pump, "description": "x"})
    assert r.status_code in (403, 422) and error_of(r)["code"] in ("out_of_jurisdiction", "validation_failed")
    r = client.post(f"/api/v1/cases/{ticket['id']}/transitions/assign", headers=east, json={"assigned_to": "me"})
    assert r.status_code == 404
    assert {t["id"] for t in client.get("/api/v1/breakdown_tickets", headers=district).json()["items"]} >= {
        ticket["id"]}
    r = client.get(f"/api/v1/upkeep/assets/{w.pump}", headers=east)
    assert r.status_code == 404
    with node.db.unit_of_work(write=False) as s:
        assert node.catalogue["breakdown_tickets"].get(s, ROOT, ticket["id"])["state"] == "reported"
