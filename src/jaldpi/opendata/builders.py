"""The rows of every open dataset, from set-based SQL over the registries (GROUP BY, no per-record Python work).

Each builder takes a :class:`BuildContext` and returns a :class:`Built` (rows with the dataset's columns, plus
metadata for the manifest). Row order is deterministic (level top down, then jurisdiction path), so that
unchanged data give byte-identical files. Internal fields start with ``_`` and are not written.
"""

from __future__ import annotations

import datetime as dt
import functools
import uuid
import zoneinfo
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

from sqlalchemy import Integer, case, cast, func, select, text
from sqlalchemy.orm import Session

from jaldpi.admin_units.models import AdminUnit
from jaldpi.admin_units.paths import levels_by_letter, path_codes
from jaldpi.assets.models import Component, Scheme
from jaldpi.core.models import aware as _aware
from jaldpi.core.security import Grant, Principal
from jaldpi.opendata import disclosure, dp
from jaldpi.opendata.datasets import (
    DATASETS,
    GRIEVANCE_LEVELS,
    LEVELS,
    REPORTED_STATUSES,
    TAP_COMPONENT_TYPES,
)
from jaldpi.people.models import Household
from jaldpi.service_delivery.models import SupplyRecord
from jaldpi.standard.codelists import codelist, role_permissions

LEVEL_ORDER = {level: i for i, level in enumerate(LEVELS)}
JUDGED = ("within_acceptable", "within_permissible", "exceeds", "below_minimum")
EXCEEDING = ("exceeds", "below_minimum")


@dataclass
class Unit:
    id: uuid.UUID
    level: str
    lgd_code: int
    name: str
    path: str
    centroid: tuple[float, float] | None
    parent: str | None = None  # path of the nearest published ancestor

    def lgd_fields(self) -> dict[str, Any]:
        codes = path_codes(self.path)
        return {"level": self.level, "lgd_code": self.lgd_code, "name": self.name,
                "state_lgd": codes.get("state"),
                "district_lgd": codes.get("district") if self.level != "state" else None,
                "block_lgd": codes.get("block") if LEVEL_ORDER[self.level] > LEVEL_ORDER["block"] else None,
                "gram_panchayat_lgd": (codes.get("gram_panchayat")
                                       if LEVEL_ORDER[self.level] > LEVEL_ORDER["gram_panchayat"] else None)}


@dataclass
class Built:
    """A built dataset: its rows and what the manifest says about it."""

    rows: list[dict[str, Any]]
    suppressed_cells: int = 0
    dp: dict[str, Any] | None = None
    metadata: dict[str, Any] = field(default_factory=dict)
    points: list[dict[str, Any]] | None = None  # GeoJSON features (datasets with points)


def ancestors(path: str) -> list[str]:
    """Every prefix of ``path`` on segment boundaries, shortest first, the path itself included."""
    parts = path.strip("/").split("/")
    return ["/" + "/".join(parts[:i]) + "/" for i in range(1, len(parts) + 1)]


def _builder_principal() -> Principal:
    """Reads everything: datasets are aggregates of the whole node (the open data hold no record)."""
    return Principal("opendata-builder", "system", (Grant("node_admin", "/"),), role_permissions())


class BuildContext:
    """What every builder shares: the session, settings, the build date, the LGD tree and the household counts."""

    def __init__(self, session: Session, settings: Any, today: dt.date | None = None):
        self.session = session
        self.settings = settings
        self.tz = zoneinfo.ZoneInfo(getattr(settings, "telemetry_timezone", "Asia/Kolkata"))
        self.today = today or dt.datetime.now(self.tz).date()
        self.principal = _builder_principal()

    @cached_property
    def units(self) -> dict[str, Unit]:
        """Published units (state .. village, not deleted, with an LGD code) by path."""
        a = AdminUnit.__table__
        out: dict[str, Unit] = {}
        for row in self.session.execute(
                select(a.c.id, a.c.level, a.c.lgd_code, a.c.name, a.c.lgd_path, a.c.attributes)
                .where(a.c.deleted_at.is_(None), a.c.level.in_(LEVELS), a.c.lgd_code.is_not(None))):
            centroid = _centroid((row.attributes or {}).get("centroid")) if row.level == "village" else None
            out[row.lgd_path] = Unit(row.id, row.level, row.lgd_code, row.name, row.lgd_path, centroid)
        for unit in out.values():
            unit.parent = next((p for p in reversed(ancestors(unit.path)[:-1]) if p in out), None)
        return out

    @cached_property
    def units_by_id(self) -> dict[uuid.UUID, Unit]:
        return {unit.id: unit for unit in self.units.values()}

    def published_ancestors(self, path: str, levels: tuple[str, ...] = LEVELS) -> list[Unit]:
        return [self.units[p] for p in ancestors(path) if p in self.units and self.units[p].level in levels]

    @cached_property
    def household_groups(self) -> list[Any]:
        """Households (not deleted) per village x social category x tap connection: one scan. (``is_exempted``
        is a tariff exemption: exempted households still count for coverage.)"""
        h = Household.__table__
        tap = cast(h.c.has_tap_connection, Integer)
        return list(self.session.execute(
            select(h.c.village_id, h.c.social_category, tap.label("tap"), func.count().label("n"))
            .where(h.c.deleted_at.is_(None))
            .group_by(h.c.village_id, h.c.social_category, tap)))

    def sorted_rows(self, rows: list[dict[str, Any]], *extra: str) -> list[dict[str, Any]]:
        return sorted(rows, key=lambda r: (LEVEL_ORDER[r["level"]], r["_path"], *[str(r.get(e)) for e in extra]))


def _centroid(value: Any) -> tuple[float, float] | None:
    try:
        lon, lat = float(value[0]), float(value[1])
    except (TypeError, ValueError, IndexError, KeyError):
        return None
    if -180 <= lon <= 180 and -90 <= lat <= 90:
        return lon, lat
    return None


# --- tap_coverage -------------------------------------------------------------------------------------------


def har_ghar_jal_status(households: int, with_tap: int) -> str:
    """JJM: a village is Har Ghar Jal when every household has a tap connection (100% FHTC)."""
    if households > 0 and with_tap >= households:
        return "har_ghar_jal"
    return "in_progress" if with_tap > 0 else "not_started"


def build_tap_coverage(ctx: BuildContext) -> Built:
    spec = DATASETS["tap_coverage"]
    per_village: dict[uuid.UUID, list[int]] = defaultdict(lambda: [0, 0])
    for row in ctx.household_groups:
        counts = per_village[row.village_id]
        counts[0] += row.n
        counts[1] += row.n if row.tap else 0
    totals: dict[str, dict[str, int]] = {}
    for unit in ctx.units.values():
        totals[unit.path] = {"households": 0, "households_with_tap": 0, "villages": 0,
                             "villages_har_ghar_jal": 0, "villages_in_progress": 0, "villages_not_started": 0}
    for unit in ctx.units.values():
        if unit.level != "village":
            continue
        households, with_tap = per_village.get(unit.id, (0, 0))
        status = har_ghar_jal_status(households, with_tap)
        for ancestor in ctx.published_ancestors(unit.path):
            t = totals[ancestor.path]
            t["households"] += households
            t["households_with_tap"] += with_tap
            t["villages"] += 1
            t[f"villages_{status}"] += 1
    rows = []
    for unit in ctx.units.values():
        t = totals[unit.path]
        households, with_tap = t["households"], t["households_with_tap"]
        row = {**unit.lgd_fields(), "_path": unit.path, "_parent": unit.parent, **t,
               "households_without_tap": households - with_tap,
               "coverage_percent": round(100 * with_tap / households, 1) if households else None,
               "har_ghar_jal_status": har_ghar_jal_status(households, with_tap) if unit.level == "village" else None}
        rows.append(row)
    outcome = disclosure.suppress_rows(
        rows, key="_path", parent_key="_parent", count_columns=spec.household_count_columns,
        row_totals=list(spec.row_totals), derived=spec.derived_columns, k=ctx.settings.opendata_min_cell)
    if outcome.problems:  # never publish a table the audit rejects
        raise RuntimeError(f"tap_coverage: disclosure audit failed ({len(outcome.problems)} problems)")
    rows = ctx.sorted_rows(rows)
    points, without_point = _village_points(ctx, rows, spec.column_names)
    return Built(rows=rows, suppressed_cells=outcome.suppressed_cells + outcome.derived_cells, points=points,
                 metadata={"primary_suppressed_cells": outcome.primary_cells,
                           "complementary_suppressed_cells": outcome.suppressed_cells - outcome.primary_cells,
                           "derived_suppressed_cells": outcome.derived_cells,
                           "villages_with_point": len(points), "villages_without_point": without_point})


def _component_centroids(ctx: BuildContext) -> dict[uuid.UUID, tuple[float, float]]:
    """Mean position of each village's components that have one (taps, tanks, ...): the fallback village point."""
    c = Component.__table__
    return {row.village_id: (float(row.lon), float(row.lat)) for row in ctx.session.execute(
        select(c.c.village_id, func.avg(c.c.longitude).label("lon"), func.avg(c.c.latitude).label("lat"))
        .where(c.c.deleted_at.is_(None), c.c.village_id.is_not(None), c.c.longitude.is_not(None),
               c.c.latitude.is_not(None))
        .group_by(c.c.village_id))}


def _village_points(ctx: BuildContext, rows: list[dict[str, Any]], columns: list[str]
                    ) -> tuple[list[dict[str, Any]], int]:
    fallback: dict[uuid.UUID, tuple[float, float]] | None = None
    features, without = [], 0
    for row in rows:
        if row["level"] != "village":
            continue
        unit = ctx.units[row["_path"]]
        point = unit.centroid
        if point is None:
            if fallback is None:
                fallback = _component_centroids(ctx)
            point = fallback.get(unit.id)
        if point is None:
            without += 1
            continue
        features.append({"type": "Feature", "id": unit.lgd_code,
                         "geometry": {"type": "Point", "coordinates": [round(point[0], 6), round(point[1], 6)]},
                         "properties": {name: row.get(name) for name in columns}})
    return features, without


# --- water_quality_tests ------------------------------------------------------------------------------------


def financial_year(day: dt.date) -> int:
    """The year in which the financial year containing ``day`` starts (India: 1 April - 31 March)."""
    return day.year if day.month >= 4 else day.year - 1


def wq_periods(today: dt.date, years: int) -> list[tuple[str, dt.date, dt.date]]:
    """last_365_days (ending today) and the current and previous financial years: (label, first day, last day)."""
    periods = [("last_365_days", today - dt.timedelta(days=364), today)]
    start = financial_year(today)
    for year in range(start, start - years, -1):
        periods.append((f"FY{year}-{(year + 1) % 100:02d}", dt.date(year, 4, 1), dt.date(year + 1, 3, 31)))
    return periods


def _village_prefix(path: str) -> str | None:
    letter = {v: k for k, v in levels_by_letter().items()}["village"]
    for prefix in ancestors(path):
        if prefix.rstrip("/").rsplit("/", 1)[-1].startswith(letter):
            return prefix
    return None


def _parameter_results_sql(dialect: str) -> str:
    """Per sample path, kind and parameter: judged results and exceedances (JSON expanded in the database)."""
    if dialect == "postgresql":
        return ("SELECT s.lgd_path, s.test_kind, r.value->>'parameter' AS parameter, r.value->>'verdict' AS verdict, "
                "count(*) AS n FROM samples s CROSS JOIN LATERAL jsonb_array_elements("
                "CASE WHEN jsonb_typeof(s.evaluation->'results') = 'array' THEN s.evaluation->'results' "
                "ELSE '[]'::jsonb END) AS r(value) "
                "WHERE s.deleted_at IS NULL AND s.collected_at >= :since AND s.collected_at < :until "
                "GROUP BY 1, 2, 3, 4")
    return ("SELECT s.lgd_path, s.test_kind, json_extract(r.value, '$.parameter') AS parameter, "
            "json_extract(r.value, '$.verdict') AS verdict, count(*) AS n "
            "FROM samples s, json_each(CASE WHEN json_type(s.evaluation, '$.results') = 'array' "
            "THEN json_extract(s.evaluation, '$.results') ELSE '[]' END) AS r "
            "WHERE s.deleted_at IS NULL AND s.collected_at >= :since AND s.collected_at < :until "
            "GROUP BY 1, 2, 3, 4")


def _add_tests(ctx: BuildContext, acc: dict[tuple[str, str, str], list[Any]], levels: tuple[str, ...], path: str,
               kind: str, parameter: str, tested: int, failing: int) -> None:
    village = _village_prefix(path) if failing else None
    for unit in ctx.published_ancestors(path, levels):
        entry = acc.setdefault((unit.path, kind, parameter), [0, 0, set()])
        entry[0] += tested
        entry[1] += failing
        if village:
            entry[2].add(village)


def build_water_quality_tests(ctx: BuildContext) -> Built:
    from jaldpi.water_quality.models import Sample

    s = Sample.__table__
    levels = ("state", "district", "block")
    kinds = [item["code"] for item in codelist("test_kinds")["items"]]
    dialect = ctx.session.get_bind().dialect.name
    rows: list[dict[str, Any]] = []
    for label, first, last in wq_periods(ctx.today, ctx.settings.opendata_wq_financial_years):
        since = dt.datetime.combine(first, dt.time(), ctx.tz)
        until = dt.datetime.combine(last + dt.timedelta(days=1), dt.time(), ctx.tz)
        # key: (unit path, kind, parameter) -> [tested, failing, set of failing village paths]
        acc: dict[tuple[str, str, str], list[Any]] = {}
        add = functools.partial(_add_tests, ctx, acc, levels)
        for row in ctx.session.execute(
                select(s.c.lgd_path, s.c.test_kind,
                       func.count().label("tested"),
                       func.sum(case((s.c.verdict == "unsafe", 1), else_=0)).label("failing"))
                .where(s.c.deleted_at.is_(None), s.c.collected_at >= since, s.c.collected_at < until,
                       s.c.verdict.in_(("safe", "unsafe")))
                .group_by(s.c.lgd_path, s.c.test_kind)):
            add(row.lgd_path, row.test_kind, "all", int(row.tested), int(row.failing or 0))
        for row in ctx.session.execute(text(_parameter_results_sql(dialect)), {"since": since, "until": until}):
            if row.verdict in JUDGED and row.parameter:
                add(row.lgd_path, row.test_kind, row.parameter, int(row.n), int(row.n) if row.verdict in EXCEEDING
                    else 0)
        for unit in ctx.units.values():
            if unit.level not in levels:
                continue
            for kind in kinds:  # whole-sample rows always (a zero says "no test"), parameter rows when tested
                acc.setdefault((unit.path, kind, "all"), [0, 0, set()])
        for (path, kind, parameter), (tested, failing, villages) in acc.items():
            unit = ctx.units[path]
            rows.append({**unit.lgd_fields(), "_path": path, "period": label, "period_start": first,
                         "period_end": last, "test_kind": kind, "parameter": parameter, "samples_tested": tested,
                         "samples_failing": failing, "villages_affected": len(villages)})
    periods = wq_periods(ctx.today, ctx.settings.opendata_wq_financial_years)
    order = {label: i for i, (label, _, _) in enumerate(periods)}
    rows.sort(key=lambda r: (order[r["period"]], LEVEL_ORDER[r["level"]], r["_path"], r["test_kind"],
                             r["parameter"] != "all", r["parameter"]))
    return Built(rows=rows, metadata={"periods": list(order), "as_of": ctx.today.isoformat()})


# --- service_levels -----------------------------------------------------------------------------------------


def recent_months(today: dt.date, count: int) -> list[str]:
    """The current month and the ``count - 1`` before it, oldest first, as YYYY-MM."""
    out, year, month = [], today.year, today.month
    for _ in range(count):
        out.append(f"{year:04d}-{month:02d}")
        year, month = (year, month - 1) if month > 1 else (year - 1, 12)
    return out[::-1]


def build_service_levels(ctx: BuildContext) -> Built:
    from jaldpi.service_delivery.service import Rules, parse_month, village_verdicts

    rules = Rules.from_settings(ctx.settings)
    h, r = Household.__table__, SupplyRecord.__table__
    population = {row.village_id: int(row.p) for row in ctx.session.execute(
        select(h.c.village_id, func.sum(h.c.members_count).label("p")).where(h.c.deleted_at.is_(None))
        .group_by(h.c.village_id))}
    rows: list[dict[str, Any]] = []
    for month in recent_months(ctx.today, ctx.settings.opendata_service_months):
        first, last = parse_month(month)
        last = min(last, ctx.today)
        supply = {row.village_id: row for row in ctx.session.execute(
            select(r.c.village_id,
                   func.count(func.distinct(case((r.c.supplied.is_(True), r.c.supply_date)))).label("days"),
                   func.sum(case((r.c.supplied.is_(True), r.c.volume_supplied_kl))).label("kl"))
            .where(r.c.deleted_at.is_(None), r.c.supply_date >= first, r.c.supply_date <= last)
            .group_by(r.c.village_id))}
        verdicts = village_verdicts(ctx.session, ctx.principal, month, rules, today=ctx.today)
        totals: dict[str, dict[str, Any]] = {}
        for path, verdict in verdicts.items():
            unit = ctx.units.get(path)
            if unit is None or unit.level != "village":
                continue
            s = supply.get(unit.id)
            days_with_supply = int(s.days) if s else 0
            people = population.get(unit.id, 0)
            lpcd = (round(float(s.kl) * 1000 / people / days_with_supply, 1)
                    if s is not None and s.kl is not None and people and days_with_supply else None)
            status = ("functional" if verdict["functional"]
                      else "not_functional" if verdict["days_with_records"] else "no_records")
            for ancestor in ctx.published_ancestors(path):
                t = totals.setdefault(ancestor.path, {"days_reported": 0, "days_with_supply": 0, "lpcd": [],
                                                      "villages": 0, "villages_functional": 0,
                                                      "villages_not_functional": 0, "villages_no_records": 0})
                t["days_reported"] += int(verdict["days_with_records"])
                t["days_with_supply"] += days_with_supply
                if lpcd is not None:
                    t["lpcd"].append(lpcd)
                t["villages"] += 1
                t[f"villages_{status}"] += 1
                if ancestor.path == path:
                    t["functional_status"] = status
        for path, t in totals.items():
            unit = ctx.units[path]
            values = t.pop("lpcd")
            rows.append({**unit.lgd_fields(), "_path": path, "month": month, **t,
                         "average_lpcd": round(sum(values) / len(values), 1) if values else None,
                         "functional_status": t.get("functional_status"),
                         "functional_percent": round(100 * t["villages_functional"] / t["villages"], 2)})
    rows.sort(key=lambda row: (row["month"], LEVEL_ORDER[row["level"]], row["_path"]))
    return Built(rows=rows, metadata={"months": recent_months(ctx.today, ctx.settings.opendata_service_months),
                                      "rules": rules.as_dict()})


# --- scheme_inventory ---------------------------------------------------------------------------------------


def build_scheme_inventory(ctx: BuildContext) -> Built:
    s, c = Scheme.__table__, Component.__table__
    levels = ("state", "district", "block")
    acc: dict[tuple[str, str, str, str], list[int]] = {}

    def add(path: str, asset: str, kind: str, stage: str, count: int, functional: int) -> None:
        for unit in ctx.published_ancestors(path, levels):
            entry = acc.setdefault((unit.path, asset, kind, stage), [0, 0])
            entry[0] += count
            entry[1] += functional

    functional_scheme = func.sum(case((s.c.is_functional.is_(True), 1), else_=0))
    for row in ctx.session.execute(
            select(s.c.lgd_path, s.c.scheme_type, s.c.lifecycle_status, func.count().label("n"),
                   functional_scheme.label("f"))
            .where(s.c.deleted_at.is_(None)).group_by(s.c.lgd_path, s.c.scheme_type, s.c.lifecycle_status)):
        add(row.lgd_path, "scheme", row.scheme_type, row.lifecycle_status or "", int(row.n), int(row.f or 0))
    functional_component = func.sum(case((c.c.is_functional.is_(True), 1), else_=0))
    for row in ctx.session.execute(
            select(c.c.lgd_path, c.c.component_type, func.count().label("n"), functional_component.label("f"))
            .where(c.c.deleted_at.is_(None)).group_by(c.c.lgd_path, c.c.component_type)):
        add(row.lgd_path, "component", row.component_type, "", int(row.n), int(row.f or 0))
    rows = []
    for (path, asset, kind, stage), (count, functional) in acc.items():
        unit = ctx.units[path]
        rows.append({**unit.lgd_fields(), "_path": path, "asset": asset, "asset_type": kind,
                     "lifecycle_status": stage or None, "count": count, "functional": functional,
                     "taps": count if asset == "component" and kind in TAP_COMPONENT_TYPES else 0})
    rows.sort(key=lambda r: (LEVEL_ORDER[r["level"]], r["_path"], r["asset"] != "scheme", r["asset_type"],
                             r["lifecycle_status"] or ""))
    return Built(rows=rows)


# --- household_connections_dp -------------------------------------------------------------------------------


def build_household_connections_dp(ctx: BuildContext) -> Built:
    categories = [item["code"] for item in codelist("social_categories")["items"]] + ["unknown"]
    districts = sorted((u for u in ctx.units.values() if u.level == "district"), key=lambda u: u.path)
    district_of_village: dict[uuid.UUID, str] = {}
    for unit in ctx.units.values():
        if unit.level == "village":
            found = ctx.published_ancestors(unit.path, ("district",))
            if found:
                district_of_village[unit.id] = found[0].path
    true_counts: dict[tuple[str, str, bool], int] = defaultdict(int)
    for row in ctx.household_groups:
        district = district_of_village.get(row.village_id)
        if district is None:
            continue
        category = row.social_category if row.social_category in categories else "unknown"
        true_counts[(district, category, bool(row.tap))] += int(row.n)
    # The cells are fixed from public knowledge (LGD districts x code list x yes/no), never from the data.
    cells = [(d.path, category, tap) for d in districts for category in categories for tap in (True, False)]
    settings = ctx.settings
    released = dp.release_counts([true_counts.get(cell, 0) for cell in cells], settings.opendata_dp_epsilon,
                                 seed=settings.opendata_dp_seed, environment=settings.env)
    rows = [{**ctx.units[path].lgd_fields(), "_path": path, "social_category": category, "has_tap_connection": tap,
             "households_noisy": noisy} for (path, category, tap), noisy in zip(cells, released.noisy, strict=True)]
    return Built(rows=rows, dp=released.metadata(), metadata={"cells": len(cells)})


# --- grievances ----------------------------------------------------------------------------------------------


def median(values: list[float]) -> float | None:
    """The median of ``values`` (the mean of the two middle values for an even count), None for none."""
    if not values:
        return None
    ordered = sorted(values)
    middle = len(ordered) // 2
    return ordered[middle] if len(ordered) % 2 else (ordered[middle - 1] + ordered[middle]) / 2


def build_grievances(ctx: BuildContext) -> Built:
    """Complaints per block, district and state, month of receipt (IST) and category.

    Three set-based queries: the grievance registry's columns (place, category, ``submitted_at``, ``closed_at`` and
    the workflow mirror's ``escalation_count``, ``reopen_count``: never the text, the reference or the contact
    table), the grievance workflow cases' SLA (``data.sla_hours``: the routing table's time limit for the category
    and place when the complaint was received) and each case's first ``resolve`` event. "Resolved" and the
    resolution time are about the first resolution (a reopened complaint was resolved once, and the ``reopened``
    column says the citizen did not accept it); "within the time limit" compares that first resolution with
    ``submitted_at + sla_hours``.

    Rows stop at the block: a village's or gram panchayat's monthly complaints are few enough to point at the
    households that complained (and the category says about what), while a block holds dozens of villages. Counts of
    complaints describe the service, not a household, so they are published exactly at block level; only the median
    resolution time is withheld where fewer than ``opendata_min_cell`` complaints were resolved (a median of one or
    two is one citizen's case, not a statistic of the service).

    Months: the current one and the ``opendata_grievance_months - 1`` before it. An ``all`` row per unit and month
    (a zero says "no complaint"), a category row where complaints of that category were received.
    """
    from jaldpi.core.workflow_models import WorkflowCase, WorkflowEvent
    from jaldpi.grievances.models import Grievance
    from jaldpi.grievances.service import SUBJECT_TYPE, WORKFLOW

    g, c, e = Grievance.__table__, WorkflowCase.__table__, WorkflowEvent.__table__
    months = recent_months(ctx.today, ctx.settings.opendata_grievance_months)
    since = dt.datetime.combine(dt.date.fromisoformat(months[0] + "-01"), dt.time(), ctx.tz)
    k = ctx.settings.opendata_min_cell
    cases = c.c.workflow == WORKFLOW, c.c.subject_type == SUBJECT_TYPE, c.c.opened_at >= since
    sla_hours: dict[str, float] = {}
    for row in ctx.session.execute(select(c.c.subject_id, c.c.data).where(*cases)):
        hours = (row.data or {}).get("sla_hours")
        if isinstance(hours, int | float) and hours > 0:
            sla_hours[row.subject_id] = float(hours)
    first_resolved = {row.subject_id: _aware(row.at) for row in ctx.session.execute(
        select(c.c.subject_id, func.min(e.c.at).label("at")).join(e, e.c.case_id == c.c.id)
        .where(*cases, e.c.transition == "resolve").group_by(c.c.subject_id))}
    # key: (unit path, month, category) -> counters and the resolution hours of its resolved complaints
    acc: dict[tuple[str, str, str], dict[str, Any]] = {}

    def cell(path: str, month: str, category: str) -> dict[str, Any]:
        return acc.setdefault((path, month, category), {
            "received": 0, "resolved": 0, "resolved_within_sla": 0, "escalated": 0, "reopened": 0, "open": 0,
            "_hours": []})

    for row in ctx.session.execute(
            select(g.c.id, g.c.lgd_path, g.c.category, g.c.submitted_at, g.c.closed_at, g.c.escalation_count,
                   g.c.reopen_count)
            .where(g.c.deleted_at.is_(None), g.c.submitted_at.is_not(None), g.c.submitted_at >= since)):
        submitted = _aware(row.submitted_at)
        month = submitted.astimezone(ctx.tz).strftime("%Y-%m")
        if month not in months:  # received after the build date (a clock ahead): the next release has it
            continue
        resolved = first_resolved.get(str(row.id))
        hours = (resolved - submitted).total_seconds() / 3600 if resolved is not None else None
        limit = sla_hours.get(str(row.id))
        for unit in ctx.published_ancestors(row.lgd_path, GRIEVANCE_LEVELS):
            for category in ("all", row.category):
                counts = cell(unit.path, month, category)
                counts["received"] += 1
                counts["escalated"] += 1 if row.escalation_count else 0
                counts["reopened"] += 1 if row.reopen_count else 0
                counts["open"] += 1 if row.closed_at is None else 0
                if hours is not None:
                    counts["resolved"] += 1
                    counts["resolved_within_sla"] += 1 if limit is not None and hours <= limit else 0
                    counts["_hours"].append(hours)
    for unit in ctx.units.values():
        if unit.level in GRIEVANCE_LEVELS:
            for month in months:
                cell(unit.path, month, "all")
    rows, withheld = [], 0
    for (path, month, category), counts in acc.items():
        hours = counts.pop("_hours")
        small = 0 < counts["resolved"] < k
        withheld += small
        value = median(hours)
        rows.append({**ctx.units[path].lgd_fields(), "_path": path, "month": month, "category": category, **counts,
                     "median_resolution_hours": None if small or value is None else round(value, 1),
                     "median_resolution_hours_suppressed": small})
    rows.sort(key=lambda r: (r["month"], LEVEL_ORDER[r["level"]], r["_path"], r["category"] != "all",
                             r["category"]))
    return Built(rows=rows, suppressed_cells=withheld,
                 metadata={"months": months, "levels": list(GRIEVANCE_LEVELS), "median_min_resolved": k})


# --- har_ghar_jal_certification -----------------------------------------------------------------------------


def build_har_ghar_jal_certification(ctx: BuildContext) -> Built:
    """Every village's certification status and dates (public programme information: the JJM dashboard publishes
    them per village), and villages reported and certified per unit above, from one query over the certification
    registry. A village without a record is ``not_reported``."""
    from jaldpi.certification.models import HgjCertification

    c = HgjCertification.__table__
    records = {row.village_id: row for row in ctx.session.execute(
        select(c.c.village_id, c.c.status, c.c.reported_on, c.c.resolution_uploaded_on, c.c.certified_on)
        .where(c.c.deleted_at.is_(None)))}
    totals = {path: {"villages": 0, "villages_reported": 0, "villages_certified": 0} for path in ctx.units}
    village_rows: dict[str, dict[str, Any]] = {}
    for unit in ctx.units.values():
        if unit.level != "village":
            continue
        record = records.get(unit.id)
        status = record.status if record is not None else "not_reported"
        village_rows[unit.path] = {
            "certification_status": status,
            "reported_on": record.reported_on if record is not None else None,
            "resolution_on": record.resolution_uploaded_on if record is not None else None,
            "certified_on": record.certified_on if record is not None else None}
        for ancestor in ctx.published_ancestors(unit.path):
            t = totals[ancestor.path]
            t["villages"] += 1
            t["villages_reported"] += 1 if status in REPORTED_STATUSES else 0
            t["villages_certified"] += 1 if status == "certified" else 0
    rows = [{**unit.lgd_fields(), "_path": unit.path, "certification_status": None, "reported_on": None,
             "resolution_on": None, "certified_on": None, **village_rows.get(unit.path, {}), **totals[unit.path]}
            for unit in ctx.units.values()]
    statuses = defaultdict(int)
    for row in village_rows.values():
        statuses[row["certification_status"]] += 1
    return Built(rows=ctx.sorted_rows(rows), metadata={"villages_by_status": dict(sorted(statuses.items()))})


Builder = Callable[[BuildContext], Built]

BUILDERS: dict[str, Builder] = {
    "tap_coverage": build_tap_coverage,
    "water_quality_tests": build_water_quality_tests,
    "service_levels": build_service_levels,
    "scheme_inventory": build_scheme_inventory,
    "household_connections_dp": build_household_connections_dp,
    "grievances": build_grievances,
    "har_ghar_jal_certification": build_har_ghar_jal_certification,
}
