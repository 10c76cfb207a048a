"""Downtime, mean time to repair (MTTR), availability and PM compliance per scheme, block or district over a period.

Definitions (docs/upkeep.md, "Reports"); the period is ``[start, end)``, and ``end`` is cut at ``now`` so that a
period reaching into the future counts time that has passed only:

* **tickets**: breakdown tickets reported in the period (cancelled tickets, duplicates or not breakdowns, never
  count anywhere);
* **restored**: tickets whose ``restored_at`` falls in the period; **MTTR hours** = the mean of
  ``restored_at - failed_at`` over them (time from failure to restoration, so waiting time counts: what a household
  lives through);
* **downtime hours**: the sum over tickets of the part of ``[failed_at, restored_at)`` inside the period; a ticket
  not restored counts up to the period's end; **down at end**: tickets not restored by the period's end;
* **availability %** = 100 x (1 - component downtime / (components x period hours)), where components are the
  group's registered components installed before the period's end, and component downtime is, per component, the
  union of the downtime of the tickets naming it (two tickets for one failure count once). Tickets naming no
  component (a scheme-level "no supply") count in downtime hours but not in availability, which is therefore an
  upper bound; none when the group has no components;
* **PM compliance %** = PM tasks due in the period done by ``due_on + grace days`` / PM tasks due in the period
  (cancelled tasks excluded); none when nothing fell due.

Scoped by the caller's ``maintenance:read``. One query per figure kind (tickets, components, PM tasks); the
arithmetic on instants is done in Python so that SQLite and PostgreSQL give the same numbers.
"""

from __future__ import annotations

import datetime as dt
import uuid
import zoneinfo
from collections import defaultdict
from dataclasses import dataclass
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from jaldpi.assets.models import Component, Scheme
from jaldpi.core.errors import ValidationFailed
from jaldpi.core.models import utcnow
from jaldpi.core.security import Principal, scope_clause
from jaldpi.upkeep.models import BreakdownTicket, MaintenanceTask
from jaldpi.upkeep.registry import as_utc
from jaldpi.upkeep.service import READ, level_prefix

LEVELS = ("scheme", "block", "district")


@dataclass(frozen=True)
class Period:
    start: dt.datetime
    end: dt.datetime  # exclusive

    @classmethod
    def of_dates(cls, first: dt.date, last: dt.date, tz: str = "UTC") -> Period:
        """Whole local days ``first`` .. ``last`` (inclusive) in time zone ``tz``."""
        if last < first:
            raise ValidationFailed("the period ends before it starts",
                                   details=[{"field": "to", "problem": "before from"}])
        zone = zoneinfo.ZoneInfo(tz)
        return cls(dt.datetime.combine(first, dt.time.min, zone).astimezone(dt.UTC),
                   dt.datetime.combine(last + dt.timedelta(days=1), dt.time.min, zone).astimezone(dt.UTC))

    def hours(self, end: dt.datetime | None = None) -> float:
        return max(0.0, ((end or self.end) - self.start).total_seconds() / 3600)


def _hours(a: dt.datetime, b: dt.datetime) -> float:
    return max(0.0, (b - a).total_seconds() / 3600)


def _union_hours(intervals: list[tuple[dt.datetime, dt.datetime]]) -> float:
    total, current = 0.0, None
    for a, b in sorted(intervals):
        if current is None or a > current[1]:
            if current is not None:
                total += _hours(*current)
            current = [a, b]
        else:
            current[1] = max(current[1], b)
    if current is not None:
        total += _hours(*current)
    return total


def _group_of(level: str, scheme_id, path: str) -> str | None:
    return str(scheme_id) if level == "scheme" else level_prefix(path, level)


def mttr_report(session: Session, principal: Principal, *, level: str, period: Period, within: str | None = None,
                grace_days: int = 7, now: dt.datetime | None = None) -> dict[str, Any]:
    """The figures of the module docstring per ``level`` group, worst availability first, and for all groups."""
    from jaldpi.admin_units.paths import path_codes

    if level not in LEVELS:
        raise ValidationFailed(f"level must be one of {', '.join(LEVELS)}",
                               details=[{"field": "level", "problem": f"expected {' | '.join(LEVELS)}"}])
    now = as_utc(now) if now else utcnow()
    start, end = period.start, min(period.end, max(now, period.start))
    scope = principal.scope(READ)

    def new() -> dict[str, Any]:
        return {"tickets": 0, "restored": 0, "repair_hours": 0.0, "downtime_hours": 0.0, "down_at_end": 0,
                "components": 0, "component_down": defaultdict(list), "pm_due": 0, "pm_on_time": 0}

    groups: dict[str, dict[str, Any]] = defaultdict(new)
    total = new()

    t = BreakdownTicket.__table__
    stmt = select(t.c.scheme_id, t.c.component_id, t.c.lgd_path, t.c.reported_at, t.c.failed_at,
                  t.c.restored_at).where(
        t.c.deleted_at.is_(None), t.c.state != "cancelled", scope_clause(t.c.lgd_path, scope),
        t.c.failed_at < period.end,
        or_(t.c.restored_at.is_(None), t.c.restored_at >= start, t.c.reported_at >= start))
    if within:
        stmt = stmt.where(t.c.lgd_path.startswith(within, autoescape=True))
    for r in session.execute(stmt):
        key = _group_of(level, r.scheme_id, r.lgd_path)
        failed, restored, reported = as_utc(r.failed_at), as_utc(r.restored_at), as_utc(r.reported_at)
        for acc in ([groups[key], total] if key is not None else [total]):
            if start <= reported < period.end:
                acc["tickets"] += 1
            if restored is not None and start <= restored < period.end:
                acc["restored"] += 1
                acc["repair_hours"] += _hours(failed, restored)
            down_from, down_to = max(failed, start), min(restored or end, end)
            if down_to > down_from:
                acc["downtime_hours"] += _hours(down_from, down_to)
                if r.component_id is not None:
                    acc["component_down"][r.component_id].append((down_from, down_to))
            if failed < end and (restored is None or restored >= end):
                acc["down_at_end"] += 1

    c = Component.__table__
    cstmt = select(c.c.scheme_id, c.c.lgd_path).where(
        c.c.deleted_at.is_(None), scope_clause(c.c.lgd_path, scope),
        or_(c.c.installed_on.is_(None), c.c.installed_on < period.end.date()))
    if within:
        cstmt = cstmt.where(c.c.lgd_path.startswith(within, autoescape=True))
    for r in session.execute(cstmt):
        key = _group_of(level, r.scheme_id, r.lgd_path)
        if key is not None:
            groups[key]["components"] += 1
        total["components"] += 1

    m = MaintenanceTask.__table__
    mstmt = select(m.c.scheme_id, m.c.lgd_path, m.c.due_on, m.c.status, m.c.done_at).where(
        m.c.deleted_at.is_(None), m.c.status != "cancelled", scope_clause(m.c.lgd_path, scope),
        m.c.due_on >= start.date(), m.c.due_on < period.end.date())
    if within:
        mstmt = mstmt.where(m.c.lgd_path.startswith(within, autoescape=True))
    for r in session.execute(mstmt):
        key = _group_of(level, r.scheme_id, r.lgd_path)
        on_time = r.status == "done" and as_utc(r.done_at).date() <= r.due_on + dt.timedelta(days=grace_days)
        for acc in ([groups[key], total] if key is not None else [total]):
            acc["pm_due"] += 1
            acc["pm_on_time"] += on_time

    hours = _hours(start, end)
    names = {}
    if level == "scheme" and groups:
        s = Scheme.__table__
        names = {str(r.id): {"id": str(r.id), "code": r.code, "name": r.name} for r in session.execute(
            select(s.c.id, s.c.code, s.c.name).where(s.c.id.in_([uuid.UUID(k) for k in groups])))}

    def figures(acc: dict[str, Any]) -> dict[str, Any]:
        component_hours = sum((_union_hours(v) for v in acc["component_down"].values()), 0.0)
        capacity = acc["components"] * hours
        return {
            "tickets": acc["tickets"], "restored": acc["restored"],
            "mttr_hours": round(acc["repair_hours"] / acc["restored"], 2) if acc["restored"] else None,
            "downtime_hours": round(acc["downtime_hours"], 2), "down_at_end": acc["down_at_end"],
            "components": acc["components"], "component_downtime_hours": round(component_hours, 2),
            "availability_pct": round(100 * (1 - component_hours / capacity), 2) if capacity else None,
            "pm_due": acc["pm_due"], "pm_done_on_time": acc["pm_on_time"],
            "pm_compliance_pct": round(100 * acc["pm_on_time"] / acc["pm_due"], 2) if acc["pm_due"] else None,
        }

    items = []
    for key, acc in groups.items():
        head = ({"scheme": names.get(key, {"id": key})} if level == "scheme"
                else {"lgd_path": key, "lgd": path_codes(key)})
        items.append(head | figures(acc))
    items.sort(key=lambda g: (g["availability_pct"] if g["availability_pct"] is not None else 101,
                              -g["downtime_hours"], str(g.get("lgd_path") or g["scheme"]["id"])))
    return {"level": level, "period": {"from": start.isoformat(), "to": period.end.isoformat(),
                                       "counted_until": end.isoformat(), "hours": round(hours, 2)},
            "within": within, "pm_grace_days": grace_days, "items": items, "total": figures(total)}


__all__ = ["LEVELS", "Period", "mttr_report"]
