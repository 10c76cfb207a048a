"""Demo upkeep data for the sandbox (`jaldpi demo`): PM tasks for one block, some completed with the condition seen,
and a handful of breakdown tickets in every state, with repairs; written through the domain's own write paths as the
sandbox generator's system principal. Running it again adds nothing new (tickets carry ``sandbox-*`` origin refs)."""

from __future__ import annotations

import datetime as dt
import random
from decimal import Decimal

from sqlalchemy import select

from jaldpi.admin_units.paths import letters
from jaldpi.assets.models import Component
from jaldpi.core.models import utcnow
from jaldpi.core.registry import Strategy
from jaldpi.core.workflow import cut_path
from jaldpi.upkeep.models import BreakdownTicket, MaintenanceTask
from jaldpi.upkeep.service import complete_task, open_breakdown_ticket, plan_tasks, schedules_from_settings

TICKETS = 8  # walked to: reported, assigned, in_repair, restored, closed (repeating)
BREAKDOWN_TYPES = ("pump", "pumping_station", "chlorinator", "valve", "esr", "source", "distribution_pipeline")


def seed_demo(node, *, seed: int = 7) -> dict[str, int]:
    from jaldpi.sandbox.generate import generator_principal

    rng = random.Random(seed)
    principal = generator_principal()
    catalogue, engine, db = node.catalogue, node.extras["workflows"], node.db
    now = utcnow().replace(microsecond=0)
    counts = {"maintenance_tasks": 0, "maintenance_tasks_done": 0, "breakdown_tickets": 0, "repairs": 0}
    with db.unit_of_work(write=False) as session:
        components = session.execute(
            select(Component.id, Component.component_type, Component.scheme_id, Component.lgd_path)
            .where(Component.deleted_at.is_(None), Component.component_type.in_(BREAKDOWN_TYPES))
            .order_by(Component.id)).all()
        seeded = session.execute(select(BreakdownTicket.id).where(
            BreakdownTicket.origin_ref.like("sandbox-%")).limit(1)).first() is not None
    if not components:
        return counts
    block = cut_path(components[0].lgd_path, letters()["block"]) or components[0].lgd_path

    # preventive maintenance for one block: tasks due today, a third of them done in the last fortnight
    with db.unit_of_work() as session:
        result = plan_tasks(session, principal, now.date(), schedules=schedules_from_settings(node.settings),
                            within=block, catalogue=catalogue)
    counts["maintenance_tasks"] = result["created"]
    with db.unit_of_work(write=False) as session:
        open_tasks = session.execute(select(MaintenanceTask.code).where(
            MaintenanceTask.status == "open", MaintenanceTask.lgd_path.startswith(block, autoescape=True))
            .order_by(MaintenanceTask.code)).scalars().all()
        any_done = session.execute(select(MaintenanceTask.id).where(MaintenanceTask.status == "done").limit(1)
                                   ).first() is not None
    if not any_done:
        for code in open_tasks[: max(1, len(open_tasks) // 3)]:
            with db.unit_of_work() as session:
                complete_task(session, principal, code, done_at=now - dt.timedelta(days=rng.randint(0, 14)),
                              done_by="sandbox-operator", findings="routine work done",
                              condition=rng.choice((3, 4, 4, 5)), catalogue=catalogue)
            counts["maintenance_tasks_done"] += 1

    if seeded:
        return counts
    picks = rng.sample(components, min(TICKETS, len(components)))
    for n, comp in enumerate(picks):
        failed = now - dt.timedelta(days=rng.randint(1, 25), hours=rng.randint(0, 23))
        with db.unit_of_work() as session:
            ticket = open_breakdown_ticket(
                session, principal, component=str(comp.id), origin="manual", origin_ref=f"sandbox-{seed}-{n}",
                description=f"{comp.component_type.replace('_', ' ')} not working", failed_at=failed,
                reported_at=failed + dt.timedelta(hours=rng.randint(1, 12)), catalogue=catalogue)
        counts["breakdown_tickets"] += 1
        steps = n % 5  # 0 reported, 1 assigned, 2 in repair, 3 restored, 4 closed
        if steps == 0:
            continue
        with db.unit_of_work() as session:
            engine.transition(session, principal, ticket["id"], "assign", {"assigned_to": "Block repair team"})
            if steps >= 2:
                engine.transition(session, principal, ticket["id"], "start_repair", {})
            if steps >= 3:
                restored = min(now, failed + dt.timedelta(hours=rng.randint(6, 96)))
                catalogue["repairs"].write_one(session, principal, {
                    "ticket": ticket["id"], "started_at": (restored - dt.timedelta(hours=4)).isoformat(),
                    "finished_at": restored.isoformat(), "work_done": "replaced the failed part",
                    "labour_cost_inr": str(Decimal(rng.choice((300, 500, 800)))),
                    "parts": [{"part": "spare part", "quantity": 1, "unit": "nos",
                               "unit_cost_inr": str(Decimal(rng.randint(200, 4000)))}]}, Strategy.create)
                counts["repairs"] += 1
                engine.transition(session, principal, ticket["id"], "restore", {"restored_at": restored.isoformat()})
            if steps >= 4:
                engine.transition(session, principal, ticket["id"], "close", {})
    return counts
