"""Water-quality views over the samples: village status, hotspots, the national report shapes (WQ1-like, WQ6-like),
the surveillance schedule and field-kit coverage. All scoped by the caller's jurisdiction for ``samples:read``.

Definitions (JJM_NORMS.md; configurable where the reference is not firm):

* A **village's status** in a period comes from **lab** results (a field-kit result is a screening result and counts
  only once a lab confirms it): for every sampling point of the village the latest lab sample in the period is
  taken (points at a habitation count for its village); the village is *unsafe* if any of those is unsafe (its
  contaminants are the union), *safe* if at least one of them is safe and none is unsafe, and *not_tested* otherwise
  (no lab sample in the period, or only ``incomplete`` ones).
* **Surveillance schedule** for every source: a chemical lab test at least every ``wq_chemical_interval_days``
  (default 365) and a bacteriological test in each season (pre- and post-monsoon, by month, see settings): a source
  is overdue for bacteriology when the last completed season had none, and due when the current season has none yet.
* **Field-kit coverage**: trained testers per village are the distinct active accounts holding the
  ``field_tester`` role over the village (or the gram panchayat or block containing it); the norm is five per
  village. The chemical schedule uses the last chemical lab test whenever it was taken.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections import Counter, defaultdict
from dataclasses import dataclass
from typing import Any

from sqlalchemy import case, func, or_, select
from sqlalchemy.orm import Session

from jaldpi.accounts.models import Account, AccountGrant
from jaldpi.admin_units.models import AdminUnit
from jaldpi.admin_units.paths import letters, path_codes
from jaldpi.core.security import Principal, scope_clause
from jaldpi.water_quality.models import Sample, SamplingPoint

READ = "samples:read"
# WQ6 columns as in the national report (JJM_NORMS.md); parameters not listed fall under "other".
WQ6_CHEMICAL = ("ph", "tds", "turbidity", "chloride", "total_alkalinity", "total_hardness", "sulphate", "iron",
                "arsenic", "fluoride", "nitrate", "free_residual_chlorine")
WQ6_BACTERIOLOGICAL = ("e_coli", "total_coliform")
BACTERIOLOGICAL = frozenset({"e_coli", "total_coliform", "h2s", "thermotolerant_coliform"})
FTK_TESTERS_PER_VILLAGE = 5


@dataclass
class Period:
    since: dt.datetime
    until: dt.datetime

    @classmethod
    def last_days(cls, days: int, until: dt.datetime | None = None) -> "Period":
        end = until or dt.datetime.now(dt.UTC)
        return cls(end - dt.timedelta(days=days), end)


def _scope(principal: Principal) -> list[str]:
    return principal.scope(READ)


def _level_prefix(path: str, level: str) -> str | None:
    """The part of ``path`` down to and including the segment of ``level`` (None if the path has no such level)."""
    letter = letters()[level]
    out = "/"
    for seg in path.strip("/").split("/"):
        if not seg:
            continue
        out += seg + "/"
        if seg[0] == letter:
            return out
    return None


def _lab_samples(session: Session, principal: Principal, period: Period, within: str | None) -> list[Any]:
    s, p = Sample.__table__, SamplingPoint.__table__
    stmt = (select(s.c.id, s.c.code, s.c.sampling_point_id, s.c.collected_at, s.c.verdict, s.c.contaminants,
                   s.c.lgd_path, s.c.bacteriological_positive, p.c.point_type, p.c.admin_unit_id)
            .join(p, p.c.id == s.c.sampling_point_id)
            .where(scope_clause(s.c.lgd_path, _scope(principal)), s.c.deleted_at.is_(None),
                   s.c.test_kind == "lab", s.c.verdict != "pending",
                   s.c.collected_at >= period.since, s.c.collected_at <= period.until)
            .order_by(s.c.collected_at))
    if within:
        stmt = stmt.where(s.c.lgd_path.startswith(within, autoescape=True))
    return list(session.execute(stmt))


def village_statuses(session: Session, principal: Principal, period: Period, within: str | None = None
                     ) -> dict[str, dict[str, Any]]:
    """Status of every village in scope (and under ``within``), keyed by village path."""
    a = AdminUnit.__table__
    stmt = select(a.c.id, a.c.code, a.c.lgd_code, a.c.name, a.c.lgd_path).where(
        a.c.level == "village", a.c.deleted_at.is_(None), scope_clause(a.c.lgd_path, _scope(principal)))
    if within:
        stmt = stmt.where(a.c.lgd_path.startswith(within, autoescape=True))
    villages = {row.lgd_path: {"village_id": str(row.id), "code": row.code, "lgd_code": row.lgd_code,
                               "name": row.name, "lgd_path": row.lgd_path, "status": "not_tested",
                               "contaminants": [], "lab_samples": 0, "latest_tested_at": None}
                for row in session.execute(stmt)}
    latest: dict[str, dict[uuid.UUID, Any]] = defaultdict(dict)
    for row in _lab_samples(session, principal, period, within):
        path = _village_of(row.lgd_path)  # a point at a habitation counts for its village
        village = villages.get(path)
        if village is None:
            continue
        village["lab_samples"] += 1
        latest[path][row.sampling_point_id] = row  # ordered by time: the last one wins
    for path, points in latest.items():
        village = villages[path]
        unsafe = [r for r in points.values() if r.verdict == "unsafe"]
        village["latest_tested_at"] = _aware(max(_aware(r.collected_at) for r in points.values())).isoformat()
        if unsafe:
            village["status"] = "unsafe"
            village["contaminants"] = sorted({c for r in unsafe for c in (r.contaminants or [])})
        elif any(r.verdict == "safe" for r in points.values()):
            village["status"] = "safe"
    return villages


def village_status(session: Session, principal: Principal, village_path: str, period: Period) -> dict[str, Any]:
    statuses = village_statuses(session, principal, period, within=village_path)
    status = statuses.get(village_path)
    s, p = Sample.__table__, SamplingPoint.__table__
    rows = session.execute(
        select(s.c.id, s.c.code, s.c.test_kind, s.c.purpose, s.c.collected_at, s.c.verdict, s.c.contaminants,
               p.c.code.label("point_code"), p.c.point_type)
        .join(p, p.c.id == s.c.sampling_point_id)
        .where(s.c.lgd_path.startswith(village_path, autoescape=True), s.c.deleted_at.is_(None),
               scope_clause(s.c.lgd_path, _scope(principal)))
        .order_by(s.c.collected_at.desc()).limit(10)).all()
    if status is None:
        return {}
    status["latest_tests"] = [{"sample_id": str(r.id), "code": r.code, "test_kind": r.test_kind,
                               "purpose": r.purpose, "collected_at": _aware(r.collected_at).isoformat(),
                               "verdict": r.verdict, "contaminants": r.contaminants,
                               "sampling_point": r.point_code, "point_type": r.point_type} for r in rows]
    status["period"] = {"since": period.since.isoformat(), "until": period.until.isoformat()}
    return status


def hotspots(session: Session, principal: Principal, period: Period, level: str, within: str | None = None
             ) -> list[dict[str, Any]]:
    """Per block or district: villages tested, unsafe, share unsafe, and villages per contaminant; worst first."""
    groups: dict[str, dict[str, Any]] = {}
    for path, v in village_statuses(session, principal, period, within).items():
        key = _level_prefix(path, level)
        if key is None:
            continue
        g = groups.setdefault(key, {"lgd_path": key, "lgd": path_codes(key), "villages": 0, "tested": 0,
                                    "unsafe": 0, "contaminants": Counter()})
        g["villages"] += 1
        if v["status"] != "not_tested":
            g["tested"] += 1
        if v["status"] == "unsafe":
            g["unsafe"] += 1
            g["contaminants"].update(v["contaminants"])
    out = []
    for g in groups.values():
        g["unsafe_share_of_tested"] = round(g["unsafe"] / g["tested"], 4) if g["tested"] else None
        g["contaminants"] = dict(g["contaminants"].most_common())
        out.append(g)
    out.sort(key=lambda g: (-g["unsafe"], -(g["unsafe_share_of_tested"] or 0), g["lgd_path"]))
    return out


def wq6(session: Session, principal: Principal, period: Period, level: str, within: str | None = None
        ) -> list[dict[str, Any]]:
    """Contaminant-wise number of villages with at least one contaminated lab sample in the period (WQ6-like)."""
    per_group: dict[str, dict[str, set[str]]] = defaultdict(lambda: defaultdict(set))
    for row in _lab_samples(session, principal, period, within):
        if row.verdict != "unsafe":
            continue
        key = _level_prefix(row.lgd_path, level) or row.lgd_path
        village = _level_prefix(row.lgd_path, "village") or row.lgd_path
        for c in row.contaminants or []:
            if c in WQ6_CHEMICAL or c in WQ6_BACTERIOLOGICAL:
                column = c
            elif c in BACTERIOLOGICAL:
                column = "other_bacteriological"
            else:
                column = "other_chemical"
            per_group[key][column].add(village)
        per_group[key]["any"].add(village)
    columns = [*WQ6_CHEMICAL, "other_chemical", *WQ6_BACTERIOLOGICAL, "other_bacteriological"]
    return [{"lgd_path": key, "lgd": path_codes(key), "villages_contaminated": len(cols.get("any", ())),
             "by_contaminant": {c: len(cols.get(c, ())) for c in columns}}
            for key, cols in sorted(per_group.items())]


def _month_start(year: int, month: int) -> dt.date:
    """First day of ``month`` of ``year``; months past 12 or before 1 roll into the next or previous year."""
    year, month = year + (month - 1) // 12, (month - 1) % 12 + 1
    return dt.date(year, month, 1)


def _season_window(day: dt.date, pre_months: tuple[int, ...]) -> tuple[str, dt.date, dt.date]:
    """The season containing ``day`` and its first and last dates.

    The pre-monsoon season is a contiguous run of months (settings validate it, e.g. Jan-Jun or Mar-May); the
    post-monsoon season is the rest of the year, which may wrap over the new year (Jun-Feb for a Mar-May run).
    """
    first, last = min(pre_months), max(pre_months)
    if first <= day.month <= last:
        return "pre_monsoon", _month_start(day.year, first), _month_start(day.year, last + 1) - dt.timedelta(days=1)
    # post-monsoon: from the month after the run to the month before it, possibly across the new year
    start_year = day.year if day.month > last else day.year - 1
    start = _month_start(start_year, last + 1)
    end = _month_start(start_year, first + 12) - dt.timedelta(days=1)
    return "post_monsoon", start, end


def surveillance(session: Session, principal: Principal, as_of: dt.date, *, within: str | None,
                 chemical_interval_days: int, pre_months: tuple[int, ...]) -> list[dict[str, Any]]:
    """Schedule status of every source sampling point in scope: chemical and bacteriological, due or overdue."""
    s, p = Sample.__table__, SamplingPoint.__table__
    scope = _scope(principal)
    points_stmt = select(p.c.id, p.c.code, p.c.name, p.c.lgd_path).where(
        p.c.point_type == "source", p.c.deleted_at.is_(None), scope_clause(p.c.lgd_path, scope))
    if within:
        points_stmt = points_stmt.where(p.c.lgd_path.startswith(within, autoescape=True))
    points = {r.id: r for r in session.execute(points_stmt)}
    season, season_start, _ = _season_window(as_of, pre_months)
    previous_season, prev_start, prev_end = _season_window(season_start - dt.timedelta(days=1), pre_months)
    horizon = dt.datetime.combine(prev_start, dt.time(), dt.UTC)
    bact_dates: dict[uuid.UUID, list[dt.date]] = defaultdict(list)
    until = dt.datetime.combine(as_of, dt.time.max, dt.UTC)
    # the last chemical test whenever it was (a source tested 400 days ago is overdue, and says when it was tested)
    last_chem: dict[uuid.UUID, dt.datetime] = {
        pid: when for pid, when in session.execute(
            select(s.c.sampling_point_id, func.max(s.c.collected_at))
            .where(s.c.test_kind == "lab", s.c.deleted_at.is_(None), s.c.chemical_tested.is_(True),
                   s.c.collected_at <= until, scope_clause(s.c.lgd_path, scope))
            .group_by(s.c.sampling_point_id))
        if pid in points}
    for row in session.execute(
            select(s.c.sampling_point_id, s.c.collected_at, s.c.bacteriological_tested)
            .where(s.c.test_kind == "lab", s.c.deleted_at.is_(None), s.c.collected_at >= horizon,
                   s.c.collected_at <= until, scope_clause(s.c.lgd_path, scope),
                   s.c.bacteriological_tested.is_(True))):
        if row.sampling_point_id not in points:
            continue
        if row.bacteriological_tested:
            bact_dates[row.sampling_point_id].append(_as_date(row.collected_at))
    out = []
    for pid, point in points.items():
        chem = last_chem.get(pid)
        chem_due = (_as_date(chem) + dt.timedelta(days=chemical_interval_days)) if chem else None
        dates = bact_dates.get(pid, [])
        out.append({
            "sampling_point_id": str(pid), "code": point.code, "name": point.name, "lgd_path": point.lgd_path,
            "lgd": path_codes(point.lgd_path),
            "chemical": {"last_tested": _as_date(chem).isoformat() if chem else None,
                         "due_by": chem_due.isoformat() if chem_due else None,
                         "overdue": chem_due is None or chem_due < as_of},
            "bacteriological": {
                "current_season": season, "tested_this_season": any(d >= season_start for d in dates),
                "previous_season": previous_season,
                "tested_previous_season": any(prev_start <= d <= prev_end for d in dates),
                "overdue": not any(prev_start <= d <= prev_end for d in dates),
            },
        })
    out.sort(key=lambda r: r["lgd_path"])
    return out


def ftk_coverage(session: Session, principal: Principal, month: dt.date, within: str | None = None
                 ) -> dict[str, Any]:
    """Trained field-kit testers per village and field-kit tests in the month."""
    a, g, s = AdminUnit.__table__, AccountGrant.__table__, Sample.__table__
    scope = _scope(principal)
    stmt = select(a.c.id, a.c.code, a.c.name, a.c.lgd_path).where(
        a.c.level == "village", a.c.deleted_at.is_(None), scope_clause(a.c.lgd_path, scope))
    if within:
        stmt = stmt.where(a.c.lgd_path.startswith(within, autoescape=True))
    villages = {r.lgd_path: {"village_id": str(r.id), "code": r.code, "name": r.name, "lgd_path": r.lgd_path,
                             "trained_testers": 0, "ftk_tests": 0, "ftk_adverse": 0} for r in session.execute(stmt)}
    # distinct active accounts with a field_tester grant over the village (or a unit containing it)
    acc = Account.__table__
    tester_grants = session.execute(
        select(g.c.account_id, g.c.lgd_path).join(acc, acc.c.id == g.c.account_id)
        .where(g.c.role == "field_tester", acc.c.active.is_(True), g.c.lgd_path != "/")).all()
    for path, v in villages.items():
        v["trained_testers"] = len({aid for aid, tp in tester_grants if path.startswith(tp)})
    start = dt.datetime(month.year, month.month, 1, tzinfo=dt.UTC)
    end = dt.datetime(month.year + (month.month == 12), 1 if month.month == 12 else month.month + 1, 1, tzinfo=dt.UTC)
    rows = session.execute(
        select(s.c.lgd_path, func.count(), func.sum(case((s.c.verdict == "unsafe", 1), else_=0)))
        .where(s.c.test_kind == "field_kit", s.c.deleted_at.is_(None), s.c.collected_at >= start,
               s.c.collected_at < end, scope_clause(s.c.lgd_path, scope))
        .group_by(s.c.lgd_path))
    for path, count, adverse in rows:
        v = villages.get(_village_of(path))
        if v is not None:
            v["ftk_tests"] += count
            v["ftk_adverse"] += int(adverse or 0)
    items = sorted(villages.values(), key=lambda v: v["lgd_path"])
    return {
        "month": start.strftime("%Y-%m"), "villages": len(items),
        "villages_meeting_tester_norm": sum(1 for v in items if v["trained_testers"] >= FTK_TESTERS_PER_VILLAGE),
        "tester_norm_per_village": FTK_TESTERS_PER_VILLAGE,
        "villages_with_ftk_tests": sum(1 for v in items if v["ftk_tests"]),
        "ftk_tests": sum(v["ftk_tests"] for v in items), "items": items,
    }


def wq1(session: Session, principal: Principal, year: int, level: str, within: str | None, *,
        pre_months: tuple[int, ...]) -> list[dict[str, Any]]:
    """Sources and testing achievement (WQ1-like): per unit, sources, and sources tested chemically in the year and
    bacteriologically in each season, with percentages."""
    s, p = Sample.__table__, SamplingPoint.__table__
    scope = _scope(principal)
    points_stmt = select(p.c.id, p.c.lgd_path).where(p.c.point_type == "source", p.c.deleted_at.is_(None),
                                                     scope_clause(p.c.lgd_path, scope))
    if within:
        points_stmt = points_stmt.where(p.c.lgd_path.startswith(within, autoescape=True))
    group_of = {r.id: (_level_prefix(r.lgd_path, level) or r.lgd_path) for r in session.execute(points_stmt)}
    start = dt.datetime(year, 1, 1, tzinfo=dt.UTC)
    end = dt.datetime(year + 1, 1, 1, tzinfo=dt.UTC)
    tested: dict[str, set[uuid.UUID]] = defaultdict(set)
    for row in session.execute(
            select(s.c.sampling_point_id, s.c.season, s.c.chemical_tested, s.c.bacteriological_tested)
            .where(s.c.test_kind == "lab", s.c.deleted_at.is_(None), s.c.collected_at >= start,
                   s.c.collected_at < end, scope_clause(s.c.lgd_path, scope),
                   or_(s.c.chemical_tested.is_(True), s.c.bacteriological_tested.is_(True)))):
        if row.sampling_point_id not in group_of:
            continue
        if row.chemical_tested:
            tested["chemical"].add(row.sampling_point_id)
        if row.bacteriological_tested:
            tested[f"bacteriological_{row.season}"].add(row.sampling_point_id)
    groups: dict[str, dict[str, Any]] = {}
    for pid, key in group_of.items():
        g = groups.setdefault(key, {"lgd_path": key, "lgd": path_codes(key), "sources": 0, "chemical_tested": 0,
                                    "bacteriological_pre_monsoon": 0, "bacteriological_post_monsoon": 0})
        g["sources"] += 1
        g["chemical_tested"] += pid in tested["chemical"]
        g["bacteriological_pre_monsoon"] += pid in tested["bacteriological_pre_monsoon"]
        g["bacteriological_post_monsoon"] += pid in tested["bacteriological_post_monsoon"]
    for g in groups.values():
        for k in ("chemical_tested", "bacteriological_pre_monsoon", "bacteriological_post_monsoon"):
            g[f"{k}_pct"] = round(100 * g[k] / g["sources"], 1) if g["sources"] else None
    return [groups[k] for k in sorted(groups)]


def ruleset_description(ruleset, ftk_parameters: list[str] | None = None) -> dict[str, Any]:
    """The effective rule set as published (``GET /api/v1/water-quality/ruleset``, ``jaldpi wq ruleset``): version,
    hashes, overrides and every parameter with its accepted units and limits (decimal strings, as in the file)."""
    out = ruleset.describe()
    out["parameter_count"] = out.pop("parameters")
    keys = ("code", "name", "basis", "unit", "table", "kind", "acceptable_min", "acceptable_max", "permissible_max",
            "no_relaxation", "qualitative", "status", "aliases")
    out["parameters"] = [{k: p.get(k) for k in keys} | {"units": [u["unit"] for u in p.get("units", ())]}
                         for p in ruleset.document["parameters"]]
    out["field_test_kit_parameters"] = list(ftk_parameters or [])
    return out


def _aware(value: dt.datetime) -> dt.datetime:
    """In UTC: SQLite hands back naive datetimes (stored in UTC), PostgreSQL aware ones in the session's zone."""
    return value.replace(tzinfo=dt.UTC) if value.tzinfo is None else value.astimezone(dt.UTC)


def _as_date(value: dt.datetime | dt.date) -> dt.date:
    """The UTC calendar date of a timestamp."""
    return _aware(value).date() if isinstance(value, dt.datetime) else value


def _village_of(path: str) -> str:
    return _level_prefix(path, "village") or path


__all__ = ["Period", "ruleset_description", "village_statuses", "village_status", "hotspots", "wq6", "wq1",
           "surveillance", "ftk_coverage"]
