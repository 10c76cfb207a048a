"""FIFO allocation of a household's collections to its demands.

Rule: money pays the oldest unpaid demand first (month order); payments are taken in the order they were made
(``paid_at``, then receipt number). What is left after every demand is paid is advance credit, used by the next
demand generated. Cancelled and deleted collections count for nothing.

``demands.paid`` and ``household_credits`` are a cache of :func:`fifo` over the household's whole history,
recomputed by :func:`reallocate` whenever one of its collections is written; a demand run only ever adds a demand
after all others, so it applies credit to it directly (credit > 0 means every older demand is paid).
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal

from sqlalchemy import bindparam, delete, insert, select, update
from sqlalchemy.orm import Session

from jaldpi.finances.models import Collection, Demand, HouseholdCredit

ZERO = Decimal("0.00")
CENT = Decimal("0.01")


@dataclass
class Allocation:
    """The outcome of FIFO for one household."""

    paid: dict[dt.date, Decimal]  # month -> amount of that month's demand covered
    by_collection: dict[str, list[tuple[dt.date, Decimal]]] = field(default_factory=dict)  # key -> [(month, amount)]
    advance_by_collection: dict[str, Decimal] = field(default_factory=dict)  # key -> part left as advance
    credit: Decimal = ZERO


def fifo(demands: Sequence[tuple[dt.date, Decimal]], collections: Sequence[tuple[str, Decimal]]) -> Allocation:
    """Allocate ``collections`` (key, amount; in payment order) to ``demands`` (month, amount; any order)."""
    ordered = sorted((m, Decimal(str(a)).quantize(CENT)) for m, a in demands)
    result = Allocation(paid={m: ZERO for m, _a in ordered})
    i = 0
    for key, amount in collections:
        left = Decimal(str(amount)).quantize(CENT)
        parts = result.by_collection.setdefault(key, [])
        while left > 0 and i < len(ordered):
            month, due = ordered[i]
            owed = due - result.paid[month]
            if owed <= 0:
                i += 1
                continue
            take = min(owed, left)
            result.paid[month] += take
            parts.append((month, take))
            left -= take
        if left > 0:
            result.advance_by_collection[key] = left
            result.credit += left
    return result


def household_history(session: Session, household_id: uuid.UUID
                      ) -> tuple[list[tuple[dt.date, Decimal]], list[dict]]:
    """(demands as (month, amount), live collections in payment order as rows) of one household."""
    d, c = Demand.__table__, Collection.__table__
    demands = [(m, Decimal(a)) for m, a in session.execute(
        select(d.c.month, d.c.amount).where(d.c.household_id == household_id).order_by(d.c.month))]
    collections = [dict(r) for r in session.execute(
        select(c).where(c.c.household_id == household_id, c.c.deleted_at.is_(None), c.c.cancelled.is_(False))
        .order_by(c.c.paid_at, c.c.code)).mappings()]
    return demands, collections


def reallocate(session: Session, household_ids: Iterable[uuid.UUID]) -> int:
    """Recompute ``demands.paid`` and advance credit of these households from their whole history. Returns the
    number of demand rows whose ``paid`` changed."""
    d = Demand.__table__
    credit_t = HouseholdCredit.__table__
    changed: list[dict] = []
    credits: list[dict] = []
    ids = [h for h in household_ids if h is not None]
    paths: dict[uuid.UUID, str] = {}
    from jaldpi.people.models import Household

    h = Household.__table__
    for start in range(0, len(ids), 1000):
        chunk = ids[start:start + 1000]
        paths.update({i: p for i, p in session.execute(select(h.c.id, h.c.lgd_path).where(h.c.id.in_(chunk)))})
    for household_id in ids:
        demands, collections = household_history(session, household_id)
        stored = {m: Decimal(p) for m, p in session.execute(
            select(d.c.month, d.c.paid).where(d.c.household_id == household_id))}
        result = fifo(demands, [(c["code"], Decimal(c["amount"])) for c in collections])
        for month, paid in result.paid.items():
            if stored.get(month) != paid:
                changed.append({"_h": household_id, "_m": month, "_paid": paid})
        if result.credit > 0:
            credits.append({"household_id": household_id, "lgd_path": paths.get(household_id, "/"),
                            "amount": result.credit, "updated_at": dt.datetime.now(dt.UTC)})
    if changed:
        session.execute(update(d).where(d.c.household_id == bindparam("_h"), d.c.month == bindparam("_m"))
                        .values(paid=bindparam("_paid")), changed)
    for start in range(0, len(ids), 1000):
        session.execute(delete(credit_t).where(credit_t.c.household_id.in_(ids[start:start + 1000])))
    if credits:
        session.execute(insert(credit_t), credits)
    return len(changed)
