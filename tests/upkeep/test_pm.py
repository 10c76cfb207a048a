"""Preventive maintenance: national defaults and plan overrides, idempotent generation, completion moves the next due
date (and writes the condition observed), overdue lists per block, the shipped schedule checked against code lists."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select

from jaldpi.core.errors import ValidationFailed
from jaldpi.upkeep.models import BreakdownTicket, ConditionAssessment, MaintenanceTask
from jaldpi.upkeep.service import load_schedules, overdue_pm, plan_tasks, system_principal
from tests.helpers import ROOT, error_of, login_as
from tests.upkeep.world import build_upkeep, write

SCHEDULES = load_schedules()


def _plan(node, through: dt.date, principal=None) -> dict:
    with node.db.unit_of_work() as s:
        return plan_tasks(s, principal or system_principal(), through, schedules=SCHEDULES,
                          catalogue=node.catalogue)


def _open_tasks(node) -> dict[tuple[str, str], MaintenanceTask]:
    with node.db.unit_of_work(write=False) as s:
        rows = s.execute(select(MaintenanceTask).where(MaintenanceTask.status == "open")).scalars().all()
        s.expunge_all()
    return {(str(t.component_id), t.task): t for t in rows}


def test_shipped_schedule_names_known_codes_and_covers_the_issue_types():
    assert {"pump", "chlorinator", "esr", "gsr", "valve", "meter"} <= set(SCHEDULES)
    esr = {e["task"]: e for e in SCHEDULES["esr"]}
    assert esr["reservoir_cleaning"]["interval_days"] == 180  # every six months (issue 7)


def test_bad_schedule_file_is_refused_naming_the_problems(tmp_path):
    bad = tmp_path / "pm.json"
    bad.write_text('{"schedules": {"pump": [{"task": "polishing", "interval_days": 0, "role": "vwsc_operator"}]}}')
    with pytest.raises(ValueError) as err:
        load_schedules(bad)
    assert "unknown task polishing" in str(err.value) and "interval_days" in str(err.value)


def test_generation_uses_overrides_and_is_idempotent(node):
    w = build_upkeep(node, installed_on="2026-01-01")
    # district 745: reservoirs cleaned every 90 days; the pump of scheme a1 has no insulation test
    write(node, "maintenance_plans", {"admin_unit": {"code": "LGD-D745"}, "component_type": "esr",
                                      "task": "reservoir_cleaning", "interval_days": 90})
    off = write(node, "maintenance_plans", {"component": w.pump, "task": "pump_insulation_test",
                                            "interval_days": 180, "active": False})
    assert off["component_type"] == "pump" and off["lgd_path"] == "/S28/D745/B4001/G200001/V500001/"
    with pytest.raises(ValidationFailed) as err:  # one plan per target and task
        write(node, "maintenance_plans", {"component": w.pump, "task": "pump_insulation_test", "interval_days": 30})
    assert "already sets pump_insulation_test" in err.value.details[0]["problem"]

    result = _plan(node, dt.date(2026, 4, 15))
    tasks = _open_tasks(node)
    assert set(tasks) == {(w.pump, "pump_greasing"), (w.esr["a1"], "reservoir_cleaning"),
                          (w.esr["a4"], "reservoir_cleaning")}
    assert tasks[(w.pump, "pump_greasing")].due_on == dt.date(2026, 4, 1)  # 90 days after installation
    esr = tasks[(w.esr["a1"], "reservoir_cleaning")]
    assert (esr.due_on, esr.interval_days, esr.responsible_role) == (dt.date(2026, 4, 1), 90, "vwsc_operator")
    assert esr.schedule_source.startswith("PMP")
    # district 746 keeps the national six months: not due yet (2026-06-30)
    assert result == {"components": 4, "created": 3, "already_open": 0, "not_yet_due": 2, "switched_off": 1}
    again = _plan(node, dt.date(2026, 4, 15))
    assert (again["created"], again["already_open"]) == (0, 3)
    assert len(_open_tasks(node)) == 3


def test_completion_moves_the_next_due_date_and_records_condition(client, node):
    w = build_upkeep(node, installed_on="2026-01-01")
    _plan(node, dt.date(2026, 4, 15))
    task = _open_tasks(node)[(w.pump, "pump_greasing")]
    operator = login_as(client, node, "op", "vwsc_operator", "/S28/D745/B4001/G200001/")
    r = client.post(f"/api/v1/upkeep/pm/tasks/{task.code}/complete", headers=operator, json={
        "done_at": "2026-04-05T09:30:00+05:30", "findings": "greased, gland repacked", "condition": 4})
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["task"]["status"] == "done" and body["task"]["done_by"] == "op"
    assert body["next_task"]["due_on"] == "2026-07-04" and body["next_task"]["status"] == "open"
    assert body["condition_assessment"]["condition"] == 4 and body["ticket"] is None
    r = client.post(f"/api/v1/upkeep/pm/tasks/{task.code}/complete", headers=operator, json={})
    assert r.status_code == 409 and error_of(r)["code"] == "task_not_open"
    # the job sees the open next task: no second one
    assert _plan(node, dt.date(2026, 7, 10))["already_open"] >= 1
    assert [t.due_on for k, t in _open_tasks(node).items() if k == (w.pump, "pump_greasing")] == [dt.date(2026, 7, 4)]
    # a poor condition at a PM visit opens a ticket
    esr = _open_tasks(node)[(w.esr["a1"], "reservoir_cleaning")]
    r = client.post(f"/api/v1/upkeep/pm/tasks/{esr.code}/complete", headers=operator, json={
        "condition": 1, "findings": "roof slab cracked"})
    assert r.status_code == 200 and r.json()["ticket"]["origin"] == "inspection"
    with node.db.unit_of_work(write=False) as s:
        assert len(s.execute(select(ConditionAssessment.id)).all()) == 2
        assert s.execute(select(BreakdownTicket.origin)).scalars().all() == ["inspection"]


def test_overdue_per_block_and_jurisdiction(client, node):
    build_upkeep(node, installed_on="2026-01-01")
    _plan(node, dt.date(2026, 7, 15))
    with node.db.unit_of_work(write=False) as s:
        out = overdue_pm(s, ROOT, as_of=dt.date(2026, 7, 1), level="block")
    by_block = {g["lgd"]["block"]: g for g in out["groups"]}
    # block 4001: pump greasing (04-01), insulation test and ESR a1 cleaning (06-30); block 4003: ESR a4 (06-30)
    assert by_block[4001]["overdue"] == 3 and by_block[4001]["oldest_due_on"] == "2026-04-01"
    assert by_block[4003]["by_task"] == {"reservoir_cleaning": 1}
    assert by_block[4002]["overdue"] == 1  # district 746
    assert out["items"][0]["days_overdue"] == 91 and out["total"] == 5
    east = login_as(client, node, "je-east", "block_official", "/S28/D745/B4003/")
    r = client.get("/api/v1/upkeep/pm/overdue", headers=east, params={"as_of": "2026-07-01", "level": "block"})
    assert r.status_code == 200 and [g["lgd"]["block"] for g in r.json()["groups"]] == [4003]
    r = client.get("/api/v1/upkeep/pm/overdue", headers=east, params={"within": "district:746"})
    assert r.status_code == 200 and r.json()["total"] == 0  # outside the caller's jurisdiction: nothing
