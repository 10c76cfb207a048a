"""Downtime, MTTR, availability and PM compliance checked against figures computed by hand (March 2026, 744 hours),
including tickets that straddle the period's start, a ticket still open at its end, a duplicate ticket for the same
failure, a scheme-level ticket without a component and a cancelled ticket; repairs' costs; an asset's history."""

from __future__ import annotations

import datetime as dt

import pytest

from jaldpi.core.errors import ValidationFailed
from jaldpi.upkeep.reports import Period, mttr_report
from jaldpi.upkeep.service import open_breakdown_ticket
from tests.helpers import ROOT, login_as
from tests.upkeep.world import build_upkeep, engine_of, write

UTC = dt.UTC
MARCH = Period.of_dates(dt.date(2026, 3, 1), dt.date(2026, 3, 31), "UTC")
NOW = dt.datetime(2026, 4, 10, tzinfo=UTC)


def at(day: str) -> dt.datetime:
    return dt.datetime.fromisoformat(day).replace(tzinfo=UTC)


def _ticket(node, ref: str, failed: str, restored: str | None = None, cancel: bool = False, **where) -> str:
    with node.db.unit_of_work() as s:
        t = open_breakdown_ticket(s, ROOT, origin="manual", origin_ref=ref, description=ref, failed_at=at(failed),
                                  reported_at=at(failed) + dt.timedelta(hours=6 if ref == "T1" else 0), **where)
    engine = engine_of(node)
    with node.db.unit_of_work() as s:
        if cancel:
            engine.transition(s, ROOT, t["id"], "cancel", {"reason": "duplicate"})
        elif restored:
            engine.transition(s, ROOT, t["id"], "assign", {"assigned_to": "team"})
            engine.transition(s, ROOT, t["id"], "restore", {"restored_at": at(restored).isoformat()})
    return t["id"]


@pytest.fixture
def march(node):
    w = build_upkeep(node, installed_on="2025-01-01")
    a1, a4 = w.scheme["a1"], w.scheme["a4"]
    _ticket(node, "T1", "2026-02-27T00:00", "2026-03-02T00:00", scheme=a1, component=w.pump)  # 72 h, 24 h in March
    _ticket(node, "T2", "2026-03-10T00:00", "2026-03-10T12:00", scheme=a1, component=w.esr["a1"])  # 12 h
    _ticket(node, "T3", "2026-03-30T00:00", scheme=a1, component=w.pump)  # still down: 48 h to the end of March
    _ticket(node, "T6", "2026-03-30T12:00", scheme=a1, component=w.pump)  # same failure again: 36 h, overlaps T3
    _ticket(node, "T4", "2026-03-15T00:00", "2026-03-16T00:00", scheme=a4)  # 24 h, no component
    _ticket(node, "T5", "2026-03-05T00:00", cancel=True, scheme=a1, component=w.esr["a1"])  # never counts
    for component, task, due, status, done in (
            (w.pump, "pump_greasing", "2026-03-10", "done", "2026-03-15T10:00:00+00:00"),  # within 7 days' grace
            (w.esr["a1"], "reservoir_cleaning", "2026-03-20", "done", "2026-04-05T10:00:00+00:00"),  # 16 days late
            (w.pump, "pump_insulation_test", "2026-03-25", "open", None),  # not done
            (w.esr["a4"], "reservoir_cleaning", "2026-04-02", "open", None)):  # due after March: not counted
        write(node, "maintenance_tasks", {"component": component, "task": task, "due_on": due, "status": status,
                                          "done_at": done})
    return w


def _report(node, level, principal=ROOT, period=MARCH, now=NOW, within=None):
    with node.db.unit_of_work(write=False) as s:
        return mttr_report(s, principal, level=level, period=period, now=now, within=within, grace_days=7)


def test_block_figures_match_hand_computation(node, march):
    out = _report(node, "block")
    by_block = {g["lgd"]["block"]: g for g in out["items"]}
    b4001 = by_block[4001]
    assert (b4001["tickets"], b4001["restored"], b4001["mttr_hours"]) == (3, 2, 42.0)  # (72 + 12) / 2
    assert (b4001["downtime_hours"], b4001["down_at_end"]) == (120.0, 2)  # 24 + 12 + 48 + 36
    # pump: 24 (T1) + 48 (T3 and T6 as one interval); ESR: 12 -> 84 of 2 x 744 component-hours
    assert (b4001["components"], b4001["component_downtime_hours"], b4001["availability_pct"]) == (2, 84.0, 94.35)
    assert (b4001["pm_due"], b4001["pm_done_on_time"], b4001["pm_compliance_pct"]) == (3, 1, 33.33)
    b4003 = by_block[4003]
    assert (b4003["tickets"], b4003["mttr_hours"], b4003["downtime_hours"], b4003["availability_pct"]) == (
        1, 24.0, 24.0, 100.0)  # a scheme-level ticket costs no component-hours
    assert b4003["pm_due"] == 0 and b4003["pm_compliance_pct"] is None
    assert out["items"][0]["lgd"]["block"] == 4001  # worst availability first
    assert out["period"]["hours"] == 744.0


def test_district_and_scheme_levels(node, march):
    district = {g["lgd"]["district"]: g for g in _report(node, "district")["items"]}[745]
    assert (district["tickets"], district["restored"], district["mttr_hours"]) == (4, 3, 36.0)  # (72+12+24)/3
    assert (district["downtime_hours"], district["components"], district["availability_pct"]) == (144.0, 3, 96.24)
    schemes = {g["scheme"]["id"]: g for g in _report(node, "scheme")["items"]}
    assert schemes[march.scheme["a1"]]["availability_pct"] == 94.35
    assert schemes[march.scheme["a1"]]["scheme"]["code"] == march.records["schemes"]["a1"]["code"]
    total = _report(node, "scheme")["total"]
    assert (total["tickets"], total["downtime_hours"], total["components"]) == (4, 144.0, 4)


def test_open_tickets_count_until_now_inside_the_period(node, march):
    out = _report(node, "block", now=at("2026-03-31T00:00"))  # the report is read on 31 March, 00:00
    b4001 = {g["lgd"]["block"]: g for g in out["items"]}[4001]
    assert b4001["downtime_hours"] == 24 + 12 + 24 + 12 and out["period"]["hours"] == 720.0


def test_report_route_is_scoped(client, node, march):
    east = login_as(client, node, "je-east", "block_official", "/S28/D745/B4003/")
    r = client.get("/api/v1/upkeep/reports/mttr", headers=east,
                   params={"level": "block", "from": "2026-03-01", "to": "2026-03-31"})
    assert r.status_code == 200, r.text
    assert [g["lgd"]["block"] for g in r.json()["items"]] == [4003]
    r = client.get("/api/v1/upkeep/reports/mttr", headers=east, params={"from": "2026-03-31", "to": "2026-03-01"})
    assert r.status_code == 422
    assert client.get("/api/v1/upkeep/reports/mttr").status_code == 401


def test_repair_costs_are_exact_rupees(client, node, march):
    with pytest.raises(ValidationFailed) as err:
        write(node, "repairs", {"component": march.pump, "started_at": "2026-03-02T00:00:00Z", "work_done": "x",
                                "agency": march.records["entities"]["a1"]["id"]})  # a VWSC, not a contractor
    assert err.value.details[0]["field"] == "agency"
    t1 = _ticket(node, "T9", "2026-03-20T00:00", scheme=march.scheme["a1"], component=march.pump)
    repair = write(node, "repairs", {
        "ticket": t1, "started_at": "2026-03-20T08:00:00Z", "finished_at": "2026-03-20T15:00:00Z",
        "work_done": "rewound motor, replaced cable", "labour_cost_inr": "500",
        "parts": [{"part": "winding wire", "quantity": 2, "unit": "kg", "unit_cost_inr": "1250.50"},
                  {"part": "submersible cable", "quantity": "3.5", "unit": "m", "unit_cost_inr": "99.99"}]})
    assert repair["component_id"] == march.pump  # from the ticket
    assert (repair["parts_cost_inr"], repair["total_cost_inr"]) == ("2850.97", "3350.97")  # 2501 + 349.965
    engineer = login_as(client, node, "je", "block_official", "/S28/D745/B4001/")
    r = client.get(f"/api/v1/upkeep/assets/{march.pump}", headers=engineer)
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["totals"]["repair_cost_inr"] == "3350.97"
    assert (body["totals"]["open_tickets"], body["totals"]["not_restored"]) == (4, 3)  # T1 awaits verification
    assert [x["code"] for x in body["repairs"]] == [repair["code"]]
    assert {x["origin_ref"] for x in body["tickets"]} == {"T1", "T3", "T6", "T9"}
    assert {x["task"] for x in body["maintenance_tasks"]} == {"pump_greasing", "pump_insulation_test"}
