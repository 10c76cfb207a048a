"""Service levels and functionality of villages, per day and per month, from supply records.

Definitions (docs/service_delivery.md; the numbers are settings):

* **Population served** of a village: the sum of ``members_count`` of its households in the registry (not deleted;
  households of its habitations included), connected or not: the mission measures litres per person of the
  village. A village without households has no lpcd and fails quantity.
* **Day** of a village: all its supply records of that date are aggregated in one SQL query per request
  (several schemes may serve a village; volumes add up).

  - ``lpcd`` = sum of ``volume_supplied_kl`` x 1000 / population; **quantity** holds when lpcd >=
    ``service_norm_lpcd`` (55) and every supplied record of the day gives its volume;
  - **regularity** holds when every record of the day is a supply that started within
    ``sl_start_tolerance_minutes`` (30) of the scheduled start (either side, across midnight) and lasted at least
    ``sl_min_duration_share`` (0.8) of the scheduled duration; a record without a schedule, or without a start time,
    or a day without supply, is not regular;
  - **quality** holds when the village's water-quality status (``water_quality.service.village_statuses`` over the
    ``wq_status_period_days`` ending on the last day of the month) is not ``unsafe`` (and not ``not_tested`` when
    ``sl_quality_requires_test``), and every chlorinated supply of the day has a tail-end residual chlorine reading
    within ``sl_chlorine_min_mg_l``..``sl_chlorine_max_mg_l`` (0.2..1.0 mg/L);
  - **functional**: supplied, quantity, regularity and quality all hold.
  - A day without any record is not functional: no supply is known, so it is neither regular nor sufficient
    (its quality is the water-quality status alone).
* **Month** of a village: its days are the calendar days of the month up to today (a month not begun has none).
  It is **functional** when it was functional on at least ``sl_functional_day_share`` (80%) of them. A criterion
  (quantity, regularity, quality) *fails for the month* when it held on fewer than that share of the days; the
  month's reasons list the failing criteria (``no_records`` when there was no record at all).
* **Villages counted** under a unit: villages in the caller's jurisdiction served by a commissioned or handed-over
  scheme, or with at least one supply record in the month. Functionality % = functional villages / villages
  counted x 100, rounded to 2 decimals.
"""

from __future__ import annotations

import calendar
import datetime as dt
import uuid
from collections import defaultdict
from dataclasses import dataclass
from typing import Any

from sqlalchemy import String, and_, case, func, literal, or_, select
from sqlalchemy.orm import Session

from jaldpi.admin_units.models import AdminUnit
from jaldpi.admin_units.paths import letters, path_codes
from jaldpi.assets.models import Scheme
from jaldpi.core.errors import ValidationFailed
from jaldpi.core.security import Grant, Principal, scope_clause
from jaldpi.people.models import Household
from jaldpi.service_delivery.models import SupplyRecord
from jaldpi.water_quality.service import Period, village_statuses

READ = "supply_records:read"
LEVELS = ("state", "district", "block", "gram_panchayat")
SERVING_LIFECYCLE = ("commissioned", "handed_over")


@dataclass(frozen=True)
class Rules:
    norm_lpcd: float = 55
    start_tolerance_minutes: int = 30
    min_duration_share: float = 0.8
    functional_day_share: float = 0.8
    chlorine_min: float = 0.2
    chlorine_max: float = 1.0
    quality_requires_test: bool = False
    wq_period_days: int = 365

    @classmethod
    def from_settings(cls, settings) -> "Rules":
        return cls(norm_lpcd=settings.service_norm_lpcd, start_tolerance_minutes=settings.sl_start_tolerance_minutes,
                   min_duration_share=settings.sl_min_duration_share,
                   functional_day_share=settings.sl_functional_day_share,
                   chlorine_min=settings.sl_chlorine_min_mg_l, chlorine_max=settings.sl_chlorine_max_mg_l,
                   quality_requires_test=settings.sl_quality_requires_test,
                   wq_period_days=settings.wq_status_period_days)

    def as_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


def parse_month(month: str) -> tuple[dt.date, dt.date]:
    try:
        year, mon = (int(x) for x in month.split("-"))
        first = dt.date(year, mon, 1)
    except (ValueError, TypeError) as exc:
        raise ValidationFailed("month: expected YYYY-MM", details=[{"field": "month", "problem": "expected YYYY-MM"}]
                               ) from exc
    return first, dt.date(year, mon, calendar.monthrange(year, mon)[1])


def month_days(first: dt.date, last: dt.date, today: dt.date | None = None) -> list[dt.date]:
    end = min(last, today or dt.date.today())
    return [first + dt.timedelta(days=i) for i in range((end - first).days + 1)] if end >= first else []


def _scope(principal: Principal, within: str | None) -> list[str]:
    scope = principal.scope(READ)
    if within is None:
        return scope
    # the narrower of each pair (within inside a grant, or a grant inside within)
    out = [within for p in scope if within.startswith(p)] + [p for p in scope if p.startswith(within)]
    return sorted(set(out))


def _villages(session: Session, scope: list[str]) -> dict[uuid.UUID, dict[str, Any]]:
    a = AdminUnit.__table__
    stmt = select(a.c.id, a.c.code, a.c.lgd_code, a.c.name, a.c.lgd_path).where(
        a.c.level == "village", a.c.deleted_at.is_(None), scope_clause(a.c.lgd_path, scope))
    return {r.id: {"village_id": str(r.id), "code": r.code, "lgd_code": r.lgd_code, "name": r.name,
                   "lgd_path": r.lgd_path} for r in session.execute(stmt)}


def _served(session: Session, scope: list[str]) -> set[str]:
    """Ids of villages served by a commissioned or handed-over scheme that may lie under ``scope``: schemes under
    a scope prefix, or above it (an MVS is recorded at the lowest unit containing all its villages)."""
    s = Scheme.__table__
    if not scope:
        return set()
    near = []
    for p in scope:
        near.append(s.c.lgd_path.startswith(p, autoescape=True))
        near.append(literal(p, String).like(s.c.lgd_path.concat("%")))
    stmt = select(s.c.village_ids).where(s.c.deleted_at.is_(None), s.c.lifecycle_status.in_(SERVING_LIFECYCLE),
                                         or_(*near))
    return {str(v) for (ids,) in session.execute(stmt) for v in ids or []}


def _population(session: Session, scope: list[str]) -> dict[uuid.UUID, int]:
    h = Household.__table__
    stmt = (select(h.c.village_id, func.sum(h.c.members_count))
            .where(h.c.deleted_at.is_(None), scope_clause(h.c.lgd_path, scope)).group_by(h.c.village_id))
    return {vid: int(total or 0) for vid, total in session.execute(stmt)}


def _day_aggregates(session: Session, scope: list[str], first: dt.date, last: dt.date, rules: Rules,
                    village_id: uuid.UUID | None = None):
    """One row per village and day with records: the set-based part (one query, GROUP BY village, date)."""
    r = SupplyRecord.__table__
    tol = rules.start_tolerance_minutes
    regular = case((and_(r.c.supplied.is_(True), r.c.start_offset_minutes.is_not(None),
                         r.c.start_offset_minutes >= -tol, r.c.start_offset_minutes <= tol,
                         r.c.duration_share >= rules.min_duration_share), 1), else_=0)
    chlorine = r.c.tail_end_residual_chlorine_mg_l
    chlorine_bad = case((and_(r.c.supplied.is_(True), r.c.chlorinated.is_(True),
                              or_(chlorine.is_(None), chlorine < rules.chlorine_min, chlorine > rules.chlorine_max)),
                         1), else_=0)
    supplied = case((r.c.supplied.is_(True), 1), else_=0)
    no_volume = case((and_(r.c.supplied.is_(True), r.c.volume_supplied_kl.is_(None)), 1), else_=0)
    stmt = (select(r.c.village_id, r.c.supply_date, func.count().label("records"),
                   func.sum(supplied).label("supplied"), func.sum(r.c.volume_supplied_kl).label("volume_kl"),
                   func.sum(r.c.hours_of_supply).label("hours"), func.sum(regular).label("regular"),
                   func.sum(chlorine_bad).label("chlorine_bad"), func.sum(no_volume).label("no_volume"),
                   func.min(chlorine).label("chlorine_min"), func.max(chlorine).label("chlorine_max"))
            .where(r.c.deleted_at.is_(None), scope_clause(r.c.lgd_path, scope),
                   r.c.supply_date >= first, r.c.supply_date <= last)
            .group_by(r.c.village_id, r.c.supply_date))
    if village_id is not None:
        stmt = stmt.where(r.c.village_id == village_id)
    return session.execute(stmt)


def _quality_status(session: Session, scope: list[str], last: dt.date, rules: Rules) -> dict[str, dict[str, Any]]:
    """Water-quality status per village path over the look-back ending on ``last``, read for exactly the places
    the caller may read supply records (not the caller's own samples:read scope)."""
    reader = Principal("system:service-levels", "system", tuple(Grant("wq", p) for p in scope),
                       {"wq": frozenset({"samples:read"})})
    end = dt.datetime.combine(last, dt.time.max, dt.UTC)
    period = Period(end - dt.timedelta(days=rules.wq_period_days), end)
    return village_statuses(session, reader, period) if scope else {}


def judge_day(agg: Any | None, population: int, wq_status: str, rules: Rules) -> dict[str, Any]:
    """The verdict of one village-day from its aggregate row (None: no record that day)."""
    wq_ok = wq_status != "unsafe" and (wq_status != "not_tested" or not rules.quality_requires_test)
    if agg is None:
        return {"records": 0, "supplied": False, "volume_kl": None, "lpcd": None, "hours_of_supply": None,
                "quantity": False, "regular": False, "quality": wq_ok, "functional": False,
                "reasons": ["no_record"] + ([] if wq_ok else [f"water_quality_{wq_status}"])}
    volume = float(agg.volume_kl) if agg.volume_kl is not None else None
    lpcd = round(volume * 1000 / population, 2) if volume is not None and population else None
    supplied = (agg.supplied or 0) > 0
    quantity = supplied and lpcd is not None and (agg.no_volume or 0) == 0 and lpcd >= rules.norm_lpcd
    regular = supplied and int(agg.regular or 0) == int(agg.records)
    chlorine_ok = int(agg.chlorine_bad or 0) == 0
    quality = wq_ok and chlorine_ok
    reasons = []
    if not supplied:
        reasons.append("no_supply")
    if supplied and not quantity:
        reasons.append("no_population" if not population else
                       "volume_not_recorded" if (agg.no_volume or 0) else "below_norm_lpcd")
    if supplied and not regular:
        reasons.append("not_on_schedule")
    if not wq_ok:
        reasons.append(f"water_quality_{wq_status}")
    if not chlorine_ok:
        reasons.append("residual_chlorine_out_of_range")
    return {"records": int(agg.records), "supplied": supplied, "volume_kl": volume, "lpcd": lpcd,
            "hours_of_supply": round(float(agg.hours), 2) if agg.hours is not None else None,
            "quantity": quantity, "regular": regular, "quality": quality,
            "functional": supplied and quantity and regular and quality, "reasons": reasons}


def judge_month(days: list[dict[str, Any]], rules: Rules) -> dict[str, Any]:
    n = len(days)
    count = {k: sum(1 for d in days if d[k]) for k in ("functional", "quantity", "regular", "quality")}
    with_records = sum(1 for d in days if d["records"])
    need = rules.functional_day_share * n
    functional = n > 0 and count["functional"] >= need
    reasons = []
    if n and not with_records:
        reasons.append("no_records")
    for criterion, name in (("quantity", "quantity"), ("regular", "regularity"), ("quality", "quality")):
        if n and count[criterion] < need:
            reasons.append(name)
    if n == 0:
        reasons.append("no_days")
    elif not functional and not reasons:
        reasons.append("criteria_not_met_on_the_same_days")
    return {"days": n, "days_with_records": with_records, "functional_days": count["functional"],
            "quantity_days": count["quantity"], "regular_days": count["regular"], "quality_days": count["quality"],
            "functional_share": round(count["functional"] / n, 4) if n else None,
            "functional": functional, "reasons": reasons}


def village_month(session: Session, principal: Principal, village: dict[str, Any], month: str, rules: Rules,
                  today: dt.date | None = None) -> dict[str, Any]:
    """Daily rows and the month verdict of one village the caller may read (checked by the caller)."""
    first, last = parse_month(month)
    vid = uuid.UUID(str(village["id"]))
    scope = [village["lgd_path"]]
    population = _population(session, scope).get(vid, 0)
    status = _quality_status(session, scope, last, rules).get(village["lgd_path"], {})
    wq_status = status.get("status", "not_tested")
    aggs = {row.supply_date: row for row in _day_aggregates(session, scope, first, last, rules, vid)}
    r, s = SupplyRecord.__table__, Scheme.__table__
    records: dict[dt.date, list[dict[str, Any]]] = defaultdict(list)
    for row in session.execute(
            select(r, s.c.code.label("scheme_code")).join(s, s.c.id == r.c.scheme_id)
            .where(r.c.village_id == vid, r.c.deleted_at.is_(None), r.c.supply_date >= first,
                   r.c.supply_date <= last).order_by(r.c.supply_date, s.c.code)).mappings():
        records[row["supply_date"]].append({
            "code": row["code"], "scheme": row["scheme_code"], "supplied": row["supplied"],
            "start_time": _t(row["start_time"]), "end_time": _t(row["end_time"]),
            "scheduled_start": _t(row["scheduled_start"]), "scheduled_end": _t(row["scheduled_end"]),
            "hours_of_supply": row["hours_of_supply"], "start_offset_minutes": row["start_offset_minutes"],
            "duration_share": row["duration_share"], "volume_supplied_kl": row["volume_supplied_kl"],
            "tail_end_residual_chlorine_mg_l": row["tail_end_residual_chlorine_mg_l"],
            "chlorinated": row["chlorinated"], "reason_no_supply": row["reason_no_supply"], "source": row["source"]})
    days = []
    for day in month_days(first, last, today):
        verdict = judge_day(aggs.get(day), population, wq_status, rules)
        days.append({"date": day.isoformat(), **verdict, "supply_records": records.get(day, [])})
    return {"village": {k: village.get(k) for k in ("id", "code", "lgd_code", "name", "lgd_path")},
            "month": month, "population": population,
            "water_quality": {"status": wq_status, "contaminants": status.get("contaminants", []),
                              "latest_tested_at": status.get("latest_tested_at")},
            "rules": rules.as_dict(), "verdict": judge_month(days, rules), "days": days}


def _t(value: dt.time | None) -> str | None:
    return value.strftime("%H:%M") if value is not None else None


def _unit_prefix(path: str, letter: str) -> str | None:
    out = "/"
    for seg in path.strip("/").split("/"):
        out += seg + "/"
        if seg[:1] == letter:
            return out
    return None


def village_verdicts(session: Session, principal: Principal, month: str, rules: Rules, within: str | None = None,
                     today: dt.date | None = None) -> dict[str, dict[str, Any]]:
    """The month verdict of every counted village in the caller's jurisdiction under ``within``, by village path."""
    first, last = parse_month(month)
    scope = _scope(principal, within)
    if not scope:
        return {}
    villages = _villages(session, scope)
    days = month_days(first, last, today)
    day_set = set(days)
    per_village: dict[uuid.UUID, dict[dt.date, Any]] = defaultdict(dict)
    for row in _day_aggregates(session, scope, first, last, rules):
        if row.supply_date in day_set:
            per_village[row.village_id][row.supply_date] = row
    served = _served(session, scope)
    counted = [vid for vid in villages if str(vid) in served or vid in per_village]
    population = _population(session, scope)
    quality = _quality_status(session, scope, last, rules)
    out = {}
    for vid in counted:
        v = villages[vid]
        wq_status = quality.get(v["lgd_path"], {}).get("status", "not_tested")
        aggs = per_village.get(vid, {})
        judged = [judge_day(aggs.get(day), population.get(vid, 0), wq_status, rules) for day in days]
        out[v["lgd_path"]] = {**v, "population": population.get(vid, 0), "water_quality": wq_status,
                              **judge_month(judged, rules)}
    return out


def functionality(session: Session, principal: Principal, month: str, rules: Rules, level: str,
                  within: str | None = None, today: dt.date | None = None) -> dict[str, Any]:
    """Functionality % per unit of ``level`` (state, district, block, gram_panchayat) under ``within``."""
    if level not in LEVELS:
        raise ValidationFailed(f"level: one of {', '.join(LEVELS)}",
                               details=[{"field": "level", "problem": f"unknown level {level!r}"}])
    letter = letters()[level]
    verdicts = village_verdicts(session, principal, month, rules, within, today)
    groups: dict[str, dict[str, Any]] = {}
    total = _empty_counts()
    for path, v in verdicts.items():
        key = _unit_prefix(path, letter)
        if key is None:
            continue
        g = groups.setdefault(key, {"lgd_path": key, "lgd": path_codes(key), **_empty_counts()})
        for counts in (g, total):
            _add(counts, v)
    if groups:
        a = AdminUnit.__table__
        names = dict(session.execute(select(a.c.lgd_path, a.c.name).where(a.c.lgd_path.in_(list(groups)),
                                                                           a.c.level == level)).all())
        for key, g in groups.items():
            g["name"] = names.get(key)
    units = [_finish(g) for g in sorted(groups.values(), key=lambda g: g["lgd_path"])]
    return {"month": month, "level": level, "within": within, "rules": rules.as_dict(),
            "total": _finish(total), "units": units}


def _empty_counts() -> dict[str, Any]:
    return {"villages": 0, "functional": 0, "not_functional": 0, "villages_with_records": 0,
            "failing": {"quantity": 0, "regularity": 0, "quality": 0, "no_records": 0}}


def _add(counts: dict[str, Any], v: dict[str, Any]) -> None:
    counts["villages"] += 1
    counts["functional" if v["functional"] else "not_functional"] += 1
    if v["days_with_records"]:
        counts["villages_with_records"] += 1
    for reason in v["reasons"]:
        if reason in counts["failing"]:
            counts["failing"][reason] += 1


def _finish(counts: dict[str, Any]) -> dict[str, Any]:
    n = counts["villages"]
    counts["functional_pct"] = round(100 * counts["functional"] / n, 2) if n else None
    return counts


# Set-based building blocks for read models outside this module that judge a window other than a calendar month
# (the Citizen Corner's and the officials' last 30 days): the same queries and rules as the monthly verdicts, so the
# figures agree. Public names; the underscored ones stay for this module's own use.
villages_in_scope = _villages  # (session, scope) -> {village id: {code, name, lgd_path, ...}}
served_villages = _served  # (session, scope) -> lgd paths of villages served by a commissioned scheme
population_by_village = _population  # (session, scope) -> {village id: persons}
day_aggregates = _day_aggregates  # (session, scope, first, last, rules[, village_id]) -> per village and day
quality_status_by_path = _quality_status  # (session, scope, last, rules) -> {village path: potability facts}
