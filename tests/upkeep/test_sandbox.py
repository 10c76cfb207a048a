"""The sandbox's upkeep demo data: written through the domain's write paths, and a second run adds nothing."""

from __future__ import annotations

from sqlalchemy import func, select

from jaldpi.core.workflow_models import WorkflowCase
from jaldpi.upkeep.models import BreakdownTicket, MaintenanceTask, Repair
from jaldpi.upkeep.sandbox import seed_demo
from tests.upkeep.world import build_upkeep


def test_seed_demo_writes_a_little_of_everything_once(node):
    build_upkeep(node, installed_on="2025-01-01")
    first = seed_demo(node, seed=3)
    assert first["breakdown_tickets"] == 4  # every ESR and the pump
    assert first["maintenance_tasks"] >= 1 and first["maintenance_tasks_done"] >= 1 and first["repairs"] >= 1
    second = seed_demo(node, seed=3)
    assert (second["breakdown_tickets"], second["maintenance_tasks_done"], second["repairs"]) == (0, 0, 0)
    with node.db.unit_of_work(write=False) as s:
        assert s.execute(select(func.count()).select_from(BreakdownTicket)).scalar_one() == 4
        assert s.execute(select(func.count()).select_from(WorkflowCase)).scalar_one() == 4
        states = set(s.execute(select(BreakdownTicket.state)).scalars())
        assert states <= {"reported", "assigned", "in_repair", "restored", "closed"} and len(states) == 4
        assert s.execute(select(func.count()).select_from(Repair)).scalar_one() == first["repairs"]
        assert s.execute(select(func.count()).select_from(MaintenanceTask).where(
            MaintenanceTask.status == "done")).scalar_one() == first["maintenance_tasks_done"]
