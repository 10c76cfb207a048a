"""Demo progress for the sandbox (`jaldpi demo`): work items, geotagged site photos, physical and financial updates
through the real write paths, some approved, one returned with reasons, some left pending.

For the first schemes (by code) with located components: one work item per component (up to three), a photo and a
physical update per item by a block-level maker, and a financial update per scheme whose releases follow the
state's funding pattern (settings); a district-level checker approves most, returns one. Every record carries an
external id ``sandbox=...``: running the seed again skips what exists.
"""

from __future__ import annotations

import datetime as dt
import random
from decimal import Decimal
from typing import Any

from sqlalchemy import select

from jaldpi.assets.models import Component, Scheme
from jaldpi.core.models import ExternalIdentifier
from jaldpi.core.registry import Strategy
from jaldpi.core.security import Grant, Principal
from jaldpi.core.workflow import cut_path
from jaldpi.progress import service
from jaldpi.standard.codelists import role_permissions

SCHEMES = 4
ITEMS_PER_SCHEME = 3
# component type -> (unit, estimated quantity, rupees per unit)
WORK = {"pipeline": ("km", Decimal("4.5"), Decimal("900000")), "esr": ("kl", Decimal("100"), Decimal("42000")),
        "fhtc": ("nos", Decimal("1"), Decimal("6500"))}
DEFAULT_WORK = ("nos", Decimal("1"), Decimal("250000"))


def _exists(session, record_type: str, value: str) -> bool:
    e = ExternalIdentifier
    return session.execute(select(e.record_id).where(e.record_type == record_type, e.system == "sandbox",
                                                     e.value == value)).first() is not None


def _person(name: str, role: str, path: str) -> Principal:
    return Principal(name, "system", (Grant(role, path),), role_permissions(), source_system="jaldpi-sandbox")


def seed_demo(node, *, seed: int = 7) -> dict[str, int]:
    """Write a small amount of progress data; returns the counts written by this run."""
    from jaldpi.documents.sandbox import png_image
    from jaldpi.documents.service import store_document
    from jaldpi.sandbox.generate import generator_principal

    rng = random.Random(seed)
    engine = node.extras["workflows"]
    estimates, updates = node.catalogue["component_estimates"], node.catalogue["progress_updates"]
    counts = {"estimates": 0, "photos": 0, "physical_updates": 0, "financial_updates": 0, "approved": 0,
              "returned": 0}
    as_of = dt.date.today() - dt.timedelta(days=3)
    taken = dt.datetime.combine(as_of, dt.time(10, 30), dt.UTC)
    with node.db.unit_of_work(write=False) as session:
        schemes = session.execute(select(Scheme.id, Scheme.code, Scheme.lgd_path, Scheme.sanctioned_cost_inr,
                                         Scheme.village_ids)
                                  .where(Scheme.deleted_at.is_(None)).order_by(Scheme.code)).all()
        plan: list[tuple[Any, list[Any]]] = []
        for scheme in schemes:
            parts = session.execute(select(Component.id, Component.code, Component.component_type,
                                           Component.village_id, Component.lgd_path, Component.longitude,
                                           Component.latitude)
                                    .where(Component.scheme_id == scheme.id, Component.deleted_at.is_(None),
                                           Component.longitude.is_not(None))
                                    .order_by(Component.code).limit(ITEMS_PER_SCHEME)).all()
            if parts and cut_path(parts[0].lgd_path, "B"):
                plan.append((scheme, parts))
            if len(plan) == SCHEMES:
                break
    decision = 0
    for scheme, parts in plan:
        block = cut_path(parts[0].lgd_path, "B")
        maker = _person("sandbox-block-engineer", "block_official", block)
        checker = _person("sandbox-district-engineer", "district_official", cut_path(parts[0].lgd_path, "D"))
        with node.db.unit_of_work() as session:
            if _exists(session, "progress_updates", f"fin-{scheme.code}"):
                continue
            total_cost = Decimal(0)
            for part in parts:
                unit, quantity, rate = WORK.get(part.component_type, DEFAULT_WORK)
                cost = (quantity * rate).quantize(Decimal("0.01"))
                total_cost += cost
                est = estimates.write_one(session, generator_principal(), {
                    "component": str(part.id), "item": f"{part.component_type} {part.code}", "unit": unit,
                    "estimated_quantity": str(quantity), "estimated_cost_inr": str(cost),
                    "external_ids": {"sandbox": f"est-{part.code}"}}, Strategy.create_and_update)
                counts["estimates"] += 1
                doc = store_document(session, generator_principal(), node.settings,
                                     content=png_image(40, 30, tuple(rng.randrange(80, 200) for _ in range(3)),
                                                       (200, 120, 40)),
                                     filename=f"progress-{part.code}.png", media_type="image/png",
                                     document_type="photo",
                                     admin_unit=str(part.village_id or scheme.village_ids[0]),
                                     title=f"Work on {part.code}", captured_at=taken, lon=part.longitude,
                                     lat=part.latitude, subject_type="components", subject_id=part.code,
                                     external_ids={"sandbox": f"progress-photo-{part.code}"},
                                     catalogue=node.catalogue)
                counts["photos"] += 1
                done = (quantity * Decimal(rng.choice((25, 40, 60, 80, 100))) / 100).quantize(Decimal("0.001"))
                update = updates.write_one(session, maker, {
                    "kind": "physical", "estimate": est["id"], "as_of": as_of.isoformat(),
                    "quantity_done": str(done), "photos": [doc["id"]],
                    "external_ids": {"sandbox": f"phy-{part.code}"}}, Strategy.create)
                counts["physical_updates"] += 1
                decision += 1
                _decide(engine, session, checker, update["id"], decision, counts)
            sanctioned = Decimal(scheme.sanctioned_cost_inr or total_cost)
            central_pct = Decimal(str(node.settings.progress_central_share_pct_by_state.get(
                int(scheme.lgd_path.strip("/").split("/")[0][1:]), node.settings.progress_central_share_pct_default)))
            released = (sanctioned * Decimal(rng.choice((30, 45, 60))) / 100).quantize(Decimal("0.01"))
            central = (released * central_pct / 100).quantize(Decimal("0.01"))
            update = updates.write_one(session, maker, {
                "kind": "financial", "scheme": str(scheme.id), "as_of": as_of.isoformat(),
                "sanctioned_inr": str(sanctioned), "released_central_inr": str(central),
                "released_state_inr": str(released - central), "released_community_inr": "0",
                "expenditure_inr": str((released * Decimal(rng.choice((55, 70, 85))) / 100).quantize(
                    Decimal("0.01"))), "external_ids": {"sandbox": f"fin-{scheme.code}"}}, Strategy.create)
            counts["financial_updates"] += 1
            _decide(engine, session, checker, update["id"], 0, counts)
    return counts


def _decide(engine, session, checker: Principal, update_id: str, n: int, counts: dict[str, int]) -> None:
    """Every third physical update stays pending, the fifth is returned with a reason, the rest are approved."""
    if n % 3 == 0 and n:
        return
    case = service.case_of(engine, session, update_id)
    if n == 5:
        engine.transition(session, checker, case.id, "return", {"reasons": [
            {"field": "photos", "problem": "the photo does not show the work item; retake it at the site"}]})
        counts["returned"] += 1
    else:
        engine.transition(session, checker, case.id, "approve", {})
        counts["approved"] += 1
