"""Progress reports per block, district or state (and one scheme's physical figures), from approved figures only.

Set-based: each figure is one aggregate query grouped by the records' jurisdiction path (works the same on SQLite
and PostgreSQL), rolled up to the requested level in Python (a handful of rows per village). Scoped by the caller's
``progress:read`` grants; a record whose path has no segment of the requested level (a multi-village scheme kept at
the district is not in any block) counts only at the levels it has.

Definitions:

* **physical progress %** of a group = sum(estimated cost x percent complete) / sum(estimated cost) over every
  work item (component_estimates) in the group; the percent of an item is its current approved update's, capped
  at 100, and 0 with no approved update (cost-weighted, so a pipeline outweighs a tap stand);
* a **component** counts when it has at least one work item; *with progress* when at least one of its items has an
  approved update; *complete* when every item is at 100% or more;
* **sanctioned, released (Central / State / community), spent** sum the current approved financial update of each
  scheme; **utilisation %** = spent / released x 100;
* **pending approvals** = updates with status ``submitted``; the oldest one's age in days since its submission.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import uuid
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from sqlalchemy import and_, case, func, select
from sqlalchemy.orm import Session

from jaldpi.admin_units.models import AdminUnit
from jaldpi.admin_units.paths import letters, path_codes
from jaldpi.assets.models import Scheme
from jaldpi.core.models import aware, utcnow
from jaldpi.core.security import Principal, scope_clause
from jaldpi.progress.models import ComponentEstimate, ProgressUpdate
from jaldpi.progress.service import READ

LEVELS = ("state", "district", "block")
CENT = Decimal("0.01")
ZERO = Decimal(0)
SHARES = ("central", "state", "community")


def _money(value: Any) -> Decimal:
    return (Decimal(str(value)) if value is not None else ZERO).quantize(CENT, rounding=ROUND_HALF_UP)


def _pct(part: Decimal, whole: Decimal) -> Decimal | None:
    return (part * 100 / whole).quantize(CENT, rounding=ROUND_HALF_UP) if whole else None


def _prefix(path: str, level: str) -> str | None:
    """``path`` cut after the segment of ``level``; None when the path has no such segment."""
    letter = letters()[level]
    out = "/"
    for seg in path.strip("/").split("/"):
        out += seg + "/"
        if seg[:1] == letter and seg[1:].isdigit():
            return out
    return None


def _scoped(column, principal: Principal, within: str | None):
    cond = scope_clause(column, principal.scope(READ))
    return and_(cond, column.startswith(within, autoescape=True)) if within else cond


def _item_rows(session: Session, principal: Principal, within: str | None, scheme_id: uuid.UUID | None = None):
    """Per component: estimated cost, cost x capped approved percent, items, items complete, items reported."""
    e, p = ComponentEstimate.__table__, ProgressUpdate.__table__
    pct = func.coalesce(p.c.percent_complete, 0)
    capped = case((pct > 100, 100), else_=pct)
    stmt = (select(e.c.lgd_path, e.c.component_id,
                   func.sum(e.c.estimated_cost_inr).label("cost"),
                   func.sum(e.c.estimated_cost_inr * capped).label("weighted"),
                   func.count(e.c.id).label("items"),
                   func.sum(case((pct >= 100, 1), else_=0)).label("items_complete"),
                   func.count(p.c.id).label("items_reported"))
            .select_from(e.outerjoin(p, and_(p.c.estimate_id == e.c.id, p.c.kind == "physical",
                                             p.c.is_current.is_(True), p.c.status == "approved",
                                             p.c.deleted_at.is_(None))))
            .where(e.c.deleted_at.is_(None), _scoped(e.c.lgd_path, principal, within))
            .group_by(e.c.lgd_path, e.c.component_id))
    if scheme_id is not None:
        stmt = stmt.where(e.c.scheme_id == scheme_id)
    return session.execute(stmt).all()


def physical_figures(session: Session, principal: Principal, *, within: str | None = None,
                     scheme_id: uuid.UUID | None = None) -> dict[str, Any]:
    """Cost-weighted physical progress of the work items in scope (one scheme's, or everything under ``within``)."""
    group = _empty_group("/")
    for row in _item_rows(session, principal, within, scheme_id):
        _add_items(group, row)
    _finish(group, utcnow())
    return {k: group[k] for k in ("components", "components_with_progress", "components_complete",
                                  "estimated_cost_inr", "physical_progress_pct")}


def _empty_group(path: str) -> dict[str, Any]:
    return {"lgd_path": path, "lgd": path_codes(path), "name": None, "schemes": 0, "components": 0,
            "components_with_progress": 0, "components_complete": 0, "estimated_cost_inr": ZERO, "_weighted": ZERO,
            "physical_progress_pct": None, "schemes_with_financials": 0, "sanctioned_inr": ZERO,
            "released_inr": {s: ZERO for s in (*SHARES, "total")}, "expenditure_inr": ZERO,
            "utilisation_pct": None, "pending_approvals": 0, "_oldest": None, "oldest_pending_days": None}


def _add_items(g: dict[str, Any], row) -> None:
    g["components"] += 1
    g["components_with_progress"] += 1 if row.items_reported else 0
    g["components_complete"] += 1 if row.items_complete == row.items else 0
    g["estimated_cost_inr"] += Decimal(str(row.cost or 0))
    g["_weighted"] += Decimal(str(row.weighted or 0))


def _finish(g: dict[str, Any], now: dt.datetime) -> None:
    weighted, cost = g.pop("_weighted"), g["estimated_cost_inr"]  # weighted = sum(cost x percent)
    g["physical_progress_pct"] = (weighted / cost).quantize(CENT, rounding=ROUND_HALF_UP) if cost else None
    g["estimated_cost_inr"] = _money(g["estimated_cost_inr"])
    g["sanctioned_inr"], g["expenditure_inr"] = _money(g["sanctioned_inr"]), _money(g["expenditure_inr"])
    g["released_inr"] = {k: _money(v) for k, v in g["released_inr"].items()}
    g["utilisation_pct"] = _pct(g["expenditure_inr"], g["released_inr"]["total"])
    oldest = g.pop("_oldest", None)
    g["oldest_pending_days"] = (round((now - aware(oldest)).total_seconds() / 86400, 1)
                                if oldest is not None else None)


def progress_report(session: Session, principal: Principal, level: str, within: str | None = None, *,
                    now: dt.datetime | None = None) -> dict[str, Any]:
    """Physical and financial progress and pending approvals per unit of ``level`` (state | district | block)."""
    if level not in LEVELS:
        raise ValueError(f"level is one of {', '.join(LEVELS)}")
    now = now or utcnow()
    groups: dict[str, dict[str, Any]] = {}

    def group_of(path: str) -> dict[str, Any] | None:
        key = _prefix(path, level)
        if key is None:
            return None
        if key not in groups:
            groups[key] = _empty_group(key)
        return groups[key]

    s = Scheme.__table__
    for path, count in session.execute(
            select(s.c.lgd_path, func.count()).where(s.c.deleted_at.is_(None),
                                                      _scoped(s.c.lgd_path, principal, within))
            .group_by(s.c.lgd_path)):
        g = group_of(path)
        if g is not None:
            g["schemes"] += count
    for row in _item_rows(session, principal, within):
        g = group_of(row.lgd_path)
        if g is not None:
            _add_items(g, row)
    p = ProgressUpdate.__table__
    live = and_(p.c.deleted_at.is_(None), _scoped(p.c.lgd_path, principal, within))
    for row in session.execute(
            select(p.c.lgd_path, func.count().label("n"), func.sum(p.c.sanctioned_inr).label("sanctioned"),
                   func.sum(p.c.released_central_inr).label("central"),
                   func.sum(p.c.released_state_inr).label("state"),
                   func.sum(p.c.released_community_inr).label("community"),
                   func.sum(p.c.expenditure_inr).label("spent"))
            .where(live, p.c.kind == "financial", p.c.is_current.is_(True), p.c.status == "approved")
            .group_by(p.c.lgd_path)):
        g = group_of(row.lgd_path)
        if g is None:
            continue
        g["schemes_with_financials"] += row.n
        g["sanctioned_inr"] += Decimal(str(row.sanctioned or 0))
        g["expenditure_inr"] += Decimal(str(row.spent or 0))
        for share in SHARES:
            amount = Decimal(str(getattr(row, share) or 0))
            g["released_inr"][share] += amount
            g["released_inr"]["total"] += amount
    for row in session.execute(
            select(p.c.lgd_path, func.count().label("n"), func.min(p.c.submitted_at).label("oldest"))
            .where(live, p.c.status == "submitted").group_by(p.c.lgd_path)):
        g = group_of(row.lgd_path)
        if g is None:
            continue
        g["pending_approvals"] += row.n
        if row.oldest is not None and (g["_oldest"] is None or aware(row.oldest) < aware(g["_oldest"])):
            g["_oldest"] = row.oldest
    a = AdminUnit.__table__
    if groups:
        for path, name in session.execute(select(a.c.lgd_path, a.c.name).where(
                a.c.lgd_path.in_(list(groups)), a.c.deleted_at.is_(None))):
            groups[path]["name"] = name
    for g in groups.values():
        _finish(g, now)
    return {"level": level, "within": within, "as_of": now.isoformat(),
            "items": [groups[k] for k in sorted(groups)]}


CSV_COLUMNS = ("lgd_path", "name", "schemes", "components", "components_with_progress", "components_complete",
               "estimated_cost_inr", "physical_progress_pct", "schemes_with_financials", "sanctioned_inr",
               "released_central_inr", "released_state_inr", "released_community_inr", "released_total_inr",
               "expenditure_inr", "utilisation_pct", "pending_approvals", "oldest_pending_days")


def report_csv(report: dict[str, Any]) -> str:
    """The report as CSV (one row per unit; LGD codes as columns; amounts in rupees with two decimals)."""
    level_names = [lv for lv in LEVELS if lv == report["level"] or LEVELS.index(lv) < LEVELS.index(report["level"])]
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow([f"{lv}_lgd_code" for lv in level_names] + list(CSV_COLUMNS))
    for g in report["items"]:
        flat = {**g, **{f"released_{k}_inr": v for k, v in g["released_inr"].items()}}
        writer.writerow([g["lgd"].get(lv, "") for lv in level_names]
                        + ["" if flat[c] is None else str(flat[c]) for c in CSV_COLUMNS])
    return out.getvalue()


__all__ = ["CSV_COLUMNS", "LEVELS", "physical_figures", "progress_report", "report_csv"]
