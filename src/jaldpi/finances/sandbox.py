"""Demo data for committee finances: a few villages' tariffs, meter readings, last month's demand, collections and
expenses, written through the finance registries and the demand generator as the sandbox's system principal."""

from __future__ import annotations

import datetime as dt
import random
from decimal import Decimal

from sqlalchemy import func, select

from jaldpi.core.registry import Strategy
from jaldpi.finances.models import Demand
from jaldpi.finances.service import generate_demand
from jaldpi.people.models import Household

VILLAGES = 3  # a small, realistic amount: three committees


def _last_complete_month(today: dt.date) -> dt.date:
    first = today.replace(day=1)
    return (first - dt.timedelta(days=1)).replace(day=1)


def seed_demo(node, *, seed: int = 7) -> dict[str, int]:
    """Tariff plans for up to three villages with tap connections (flat, metered, flat with concessions), readings
    for the metered one, last month's demand, payments from about 70% of households and the month's O&M expenses.
    Codes are deterministic, so a second run updates nothing and generates no second demand."""
    from jaldpi.sandbox.generate import generator_principal

    principal = generator_principal()
    rng = random.Random(seed)
    month = _last_complete_month(dt.date.today())
    month_end = (month + dt.timedelta(days=32)).replace(day=1) - dt.timedelta(days=1)
    fy_start = dt.date(month.year if month.month >= 4 else month.year - 1, 4, 1)  # plans from the financial year
    counts = {"tariff_plans": 0, "meter_readings": 0, "demands": 0, "collections": 0, "expenditures": 0}
    h = Household.__table__
    with node.db.unit_of_work() as session:
        villages = [v for (v,) in session.execute(
            select(h.c.village_id).where(h.c.has_tap_connection.is_(True), h.c.deleted_at.is_(None))
            .group_by(h.c.village_id).order_by(func.count().desc(), h.c.village_id).limit(VILLAGES))]
        if not villages:
            return counts
        plans, readings = [], []
        for i, village_id in enumerate(villages):
            base = {"code": f"TP-SBX-{str(village_id)[-8:]}", "village": str(village_id),
                    "effective_from": fy_start.isoformat(), "attributes": {"synthetic": True}}
            if i == 1:
                plans.append({**base, "kind": "metered", "minimum_charge": "40", "slabs": [
                    {"up_to_kl": "8", "rate_per_kl": "4"}, {"up_to_kl": "20", "rate_per_kl": "7"},
                    {"up_to_kl": None, "rate_per_kl": "12"}], "exempted_pays_percent": "0"})
                homes = [hid for (hid,) in session.execute(select(h.c.id).where(
                    h.c.village_id == village_id, h.c.has_tap_connection.is_(True)).order_by(h.c.id))]
                for hid in homes:
                    start = Decimal(rng.randint(50, 900))
                    used = Decimal(rng.randint(4, 30))
                    readings.append({"household": str(hid), "read_on": (month - dt.timedelta(days=1)).isoformat(),
                                     "reading_kl": str(start), "attributes": {"synthetic": True}})
                    readings.append({"household": str(hid), "read_on": month_end.isoformat(),
                                     "reading_kl": str(start + used), "attributes": {"synthetic": True}})
            else:
                plans.append({**base, "kind": "flat", "flat_amount": "60" if i == 0 else "100",
                              "exempted_pays_percent": "0",
                              "category_pays_percent": {"sc": "50", "st": "50"} if i == 2 else {}})
        for registry, items in (("tariff_plans", plans), ("meter_readings", readings)):
            summary = node.catalogue[registry].import_records(session, principal, items,
                                                              strategy=Strategy.create_and_update)
            assert summary.status == "ok", summary.to_dict()
            counts[registry] = summary.stats()["created"]
        paths = [p for (p,) in session.execute(select(h.c.lgd_path).where(h.c.village_id.in_(villages)).distinct())]
        for path in sorted(paths):
            counts["demands"] += generate_demand(session, node.catalogue, principal, f"{month:%Y-%m}", path,
                                                 lookback_days=node.settings.finances_reading_lookback_days)["created"]
        d = Demand.__table__
        due = session.execute(select(d.c.household_id, d.c.lgd_path, d.c.amount).where(
            d.c.month == month, d.c.village_id.in_(villages), d.c.amount > 0).order_by(d.c.household_id)).all()
        payments = []
        for n, (hid, path, amount) in enumerate(due):
            if rng.random() < 0.7:
                lgd = path.rstrip("/").rsplit("/", 1)[-1].lstrip("V")
                day = month_end + dt.timedelta(days=rng.randint(1, 12))
                payments.append({"code": f"R-{lgd}-{month:%y%m}-SBX{n:04d}", "household": str(hid),
                                 "amount": str(amount), "mode": rng.choice(["cash", "cash", "upi", "upi", "bank"]),
                                 "paid_at": dt.datetime.combine(day, dt.time(10, 30), dt.UTC).isoformat(),
                                 "attributes": {"synthetic": True}})
        expenses = []
        for village_id in villages:
            for category, low, high in (("electricity", 800, 2500), ("operator_salary", 1500, 3000),
                                        ("chemicals", 100, 400)):
                expenses.append({"code": f"EXP-SBX-{str(village_id)[-8:]}-{month:%y%m}-{category[:4].upper()}",
                                 "village": str(village_id), "category": category,
                                 "amount": str(rng.randint(low, high)), "spent_on": month_end.isoformat(),
                                 "payee": {"electricity": "State electricity distribution company",
                                           "operator_salary": "pump operator",
                                           "chemicals": "block chemical store"}[category],
                                 "attributes": {"synthetic": True}})
        for registry, items in (("collections", payments), ("expenditures", expenses)):
            if items:
                summary = node.catalogue[registry].import_records(session, principal, items,
                                                                  strategy=Strategy.create_and_update)
                assert summary.status == "ok", summary.to_dict()
                counts[registry] = summary.stats()["created"]
    return counts
