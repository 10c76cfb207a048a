"""What the Citizen Corner pages show, read set-based: a few queries per page, never one per village.

Sources: the LGD directory (public), the latest open-data release (tap coverage and Har Ghar Jal status after
disclosure control, service levels per month, village points), and live aggregates through the domain services
read by :data:`PUBLIC_READER`, a principal that may read samples and supply records everywhere but whose results
are only ever shown here as statuses and aggregates: no collector, no household, no personal data leaves this
module (the pages never query households beyond the population sum of the service-level rules).
"""

from __future__ import annotations

import datetime as dt
import functools
import json
import threading
import uuid
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import String, func, literal, or_, select
from sqlalchemy.orm import Session

from jaldpi.admin_units.models import AdminUnit
from jaldpi.admin_units.paths import letters, path_codes
from jaldpi.assets.models import Scheme
from jaldpi.certification.service import public_status
from jaldpi.core.security import Grant, Principal
from jaldpi.grievances.service import open_counts_by_village
from jaldpi.opendata.store import Release
from jaldpi.service_delivery import service as service_delivery
from jaldpi.water_quality.service import Period, village_status, village_statuses

# Reads samples and supply records everywhere; used only for the statuses and aggregates shown on public pages.
PUBLIC_READER = Principal("system:citizen-corner", "system", (Grant("citizen_corner", "/"),),
                          {"citizen_corner": frozenset({"samples:read", "supply_records:read"})})

SERVICE_WINDOW_DAYS = 30  # the village page's service-level chart: the last 30 days, today included
SEARCH_PAGE_SIZE = 20
MAP_MAX_MARKERS = 1500  # above this many villages the map bins them into a grid (page weight under 200 KB)
PARENT_LEVELS = ("state", "district", "block", "gram_panchayat")


@dataclass
class Unit:
    """An LGD unit as the pages need it."""

    level: str
    lgd_code: int
    name: str
    name_local: str | None
    lgd_path: str
    id: uuid.UUID | None = None
    parents: dict[str, Unit] = field(default_factory=dict)  # level -> unit, from the path

    @property
    def codes(self) -> dict[str, int | str]:
        return path_codes(self.lgd_path)


def _unit(row: Any) -> Unit:
    return Unit(row.level, row.lgd_code, row.name, row.name_local, row.lgd_path, getattr(row, "id", None))


def _units_table():
    a = AdminUnit.__table__
    return a, select(a.c.id, a.c.level, a.c.lgd_code, a.c.name, a.c.name_local, a.c.lgd_path).where(
        a.c.deleted_at.is_(None))


def parent_paths(path: str) -> list[str]:
    """The paths of the units above the unit at ``path``: ``/S28/D745/V5/`` -> ``["/S28/", "/S28/D745/"]``."""
    parts = [p for p in path.strip("/").split("/") if p]
    return ["/" + "/".join(parts[:i]) + "/" for i in range(1, len(parts))]


def attach_parents(session: Session, units: list[Unit]) -> None:
    """Fill ``unit.parents`` for every unit in one query over the distinct parent paths."""
    wanted = sorted({p for u in units for p in parent_paths(u.lgd_path)})
    if not wanted:
        return
    a, stmt = _units_table()
    by_path = {row.lgd_path: _unit(row) for row in session.execute(stmt.where(a.c.lgd_path.in_(wanted)))}
    for unit in units:
        for p in parent_paths(unit.lgd_path):
            parent = by_path.get(p)
            if parent is not None:
                unit.parents[parent.level] = parent


def find_unit(session: Session, level: str, lgd_code: int) -> Unit | None:
    a, stmt = _units_table()
    row = session.execute(stmt.where(a.c.level == level, a.c.lgd_code == lgd_code)).first()
    if row is None:
        return None
    unit = _unit(row)
    attach_parents(session, [unit])
    return unit


def search_villages(session: Session, query: str, page: int, *, block: int | None = None
                    ) -> tuple[list[Unit], int]:
    """Villages whose name (or local name) contains ``query`` (case-insensitive) or whose LGD code is ``query``,
    optionally only in LGD block ``block``; one page of ``SEARCH_PAGE_SIZE`` by name, and the total."""
    a, stmt = _units_table()
    conditions = [a.c.level == "village", a.c.deleted_at.is_(None)]
    text = query.strip()
    if text:
        if text.isdigit():
            conditions.append(a.c.lgd_code == int(text))
        else:
            pattern = "%" + text.lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
            conditions.append(or_(func.lower(a.c.name).like(pattern, escape="\\"),
                                  func.lower(a.c.name_local).like(pattern, escape="\\")))
    if block is not None:
        conditions.append(a.c.lgd_path.contains(f"/{letters()['block']}{block}/", autoescape=True))
    total = session.execute(select(func.count()).select_from(a).where(*conditions)).scalar_one()
    rows = session.execute(stmt.where(*conditions).order_by(a.c.name, a.c.lgd_code)
                           .limit(SEARCH_PAGE_SIZE).offset((page - 1) * SEARCH_PAGE_SIZE))
    units = [_unit(row) for row in rows]
    attach_parents(session, units)
    return units, total


def children(session: Session, unit: Unit) -> list[Unit]:
    """The units directly below ``unit`` on the dashboards: districts of a state, blocks of a district."""
    level = {"state": "district", "district": "block"}[unit.level]
    a, stmt = _units_table()
    rows = session.execute(stmt.where(a.c.level == level, a.c.lgd_path.startswith(unit.lgd_path, autoescape=True))
                           .order_by(a.c.name))
    return [_unit(row) for row in rows]


def schemes_serving(session: Session, village: Unit) -> list[dict[str, Any]]:
    """Schemes whose villages include ``village``: candidates are the schemes recorded at the village or at a unit
    above it (a multi-village scheme sits at the lowest unit containing its villages), filtered by their village
    list in Python since the list is JSON."""
    s = Scheme.__table__
    rows = session.execute(
        select(s.c.code, s.c.name, s.c.scheme_type, s.c.lifecycle_status, s.c.village_ids, s.c.commissioned_on)
        .where(s.c.deleted_at.is_(None),
               literal(village.lgd_path, String).like(s.c.lgd_path.concat("%")))
        .order_by(s.c.name))
    wanted = str(village.id)
    return [{"code": r.code, "name": r.name, "scheme_type": r.scheme_type, "lifecycle_status": r.lifecycle_status,
             "commissioned_on": r.commissioned_on}
            for r in rows if wanted in {str(v) for v in (r.village_ids or [])}]


def water_quality(session: Session, village: Unit, period_days: int) -> dict[str, Any]:
    """The village's status over the last ``period_days`` and its latest tests (no collector, no people)."""
    status = village_status(session, PUBLIC_READER, village.lgd_path, Period.last_days(period_days))
    tests = [{"collected_at": t["collected_at"], "test_kind": t["test_kind"], "point_type": t["point_type"],
              "verdict": t["verdict"], "contaminants": t["contaminants"] or []}
             for t in status.get("latest_tests", [])]
    return {"status": status.get("status", "not_tested"), "contaminants": status.get("contaminants", []),
            "latest_tested_at": status.get("latest_tested_at"), "tests": tests}


def service_level(session: Session, village: Unit, settings: Any, today: dt.date | None = None) -> dict[str, Any]:
    """The last ``SERVICE_WINDOW_DAYS`` days of supply to the village, judged by the service-delivery rules.

    Uses the same set-based parts as the monthly verdict (service_delivery.service): one aggregate query per
    village-day, the population sum and the water-quality status; the window is rolling instead of a calendar month.
    """
    today = today or dt.date.today()
    first = today - dt.timedelta(days=SERVICE_WINDOW_DAYS - 1)
    rules = service_delivery.Rules.from_settings(settings)
    scope = [village.lgd_path]
    population = service_delivery.population_by_village(session, scope).get(village.id, 0)
    wq = service_delivery.quality_status_by_path(session, scope, today, rules).get(village.lgd_path, {})
    aggregates = {row.supply_date: row for row in
                  service_delivery.day_aggregates(session, scope, first, today, rules, village.id)}
    days = []
    for i in range(SERVICE_WINDOW_DAYS):
        day = first + dt.timedelta(days=i)
        days.append({"date": day, **service_delivery.judge_day(aggregates.get(day), population,
                                                              wq.get("status", "not_tested"), rules)})
    supplied = [d for d in days if d["supplied"]]
    lpcds = [d["lpcd"] for d in supplied if d["lpcd"] is not None]
    return {"first": first, "last": today, "norm_lpcd": rules.norm_lpcd, "days": days,
            "days_with_records": sum(1 for d in days if d["records"]), "days_supplied": len(supplied),
            "days_regular": sum(1 for d in days if d["regular"]), "days_potable": sum(1 for d in days if d["quality"]),
            "days_functional": sum(1 for d in days if d["functional"]),
            "average_lpcd": round(sum(lpcds) / len(lpcds), 1) if lpcds else None}


def open_grievances(session: Session, village: Unit) -> int:
    """Grievances about ``village`` not yet closed (one set-based count in the grievance service; no text, no
    complainant)."""
    return int(open_counts_by_village(session, [village.id]).get(str(village.id), 0))


def certification_status(session: Session, village: Unit) -> dict[str, Any] | None:
    """The village's Har Ghar Jal certification (status, reported / resolution / certified dates, public documents
    once certified), or None when the village has not been reported Har Ghar Jal yet (one set-based read)."""
    return public_status(session, [village.id]).get(str(village.id))


def quality_counts(session: Session, unit: Unit, period_days: int) -> dict[str, int]:
    """Villages under ``unit`` by water-quality status (safe, unsafe, not_tested) over the last ``period_days``."""
    statuses = village_statuses(session, PUBLIC_READER, Period.last_days(period_days), within=unit.lgd_path)
    counts = {"safe": 0, "unsafe": 0, "not_tested": 0}
    for v in statuses.values():
        counts[v["status"]] = counts.get(v["status"], 0) + 1
    return counts


# ------------------------------------------------------------------------------------------ the open-data release

class ReleaseIndex:
    """Rows of one release looked up by (level, lgd_code), and the village points; built once per release."""

    def __init__(self, release: Release):
        self.release = release
        self.coverage: dict[tuple[str, int], dict[str, Any]] = {}
        self.villages_under: dict[tuple[str, int], list[dict[str, Any]]] = {}
        if "tap_coverage" in release.manifest["datasets"]:
            for row in release.rows("tap_coverage"):
                self.coverage[(row["level"], row["lgd_code"])] = row
                if row["level"] == "village":
                    for level in ("state", "district"):
                        code = row.get(f"{level}_lgd")
                        if code is not None:
                            self.villages_under.setdefault((level, code), []).append(row)
        self.service: dict[tuple[str, int], dict[str, Any]] = {}
        if "service_levels" in release.manifest["datasets"]:
            # keep every unit's latest month that counted villages (a month just begun may have no records yet)
            for row in release.rows("service_levels"):
                key = (row["level"], row["lgd_code"])
                rank = (bool(row.get("villages")), row["month"] or "")
                kept = self.service.get(key)
                if kept is None or rank > (bool(kept.get("villages")), kept["month"] or ""):
                    self.service[key] = row
        self.points: dict[int, tuple[float, float]] = {}
        entry = release.manifest["datasets"].get("tap_coverage", {})
        if "geojson" in entry.get("files", {}):
            collection = json.loads(release.file("tap_coverage", "geojson").read_text(encoding="utf-8"))
            for feature in collection.get("features", []):
                geometry, props = feature.get("geometry") or {}, feature.get("properties") or {}
                if geometry.get("type") == "Point" and props.get("lgd_code") is not None:
                    lon, lat = geometry["coordinates"][:2]
                    self.points[int(props["lgd_code"])] = (float(lon), float(lat))


_INDEX_LOCK = threading.Lock()


@functools.lru_cache(maxsize=4)
def _index(release: Release) -> ReleaseIndex:
    return ReleaseIndex(release)


def release_index(release: Release | None) -> ReleaseIndex | None:
    """The lookup index of ``release`` (cached per release object; releases never change once built)."""
    if release is None:
        return None
    with _INDEX_LOCK:
        return _index(release)


def village_markers(index: ReleaseIndex | None, unit: Unit) -> list[dict[str, Any]]:
    """Villages under ``unit`` with a point: lon, lat, Har Ghar Jal status, name, LGD code."""
    if index is None:
        return []
    markers = []
    for row in index.villages_under.get((unit.level, unit.lgd_code), []):
        point = index.points.get(row["lgd_code"])
        if point is not None:
            markers.append({"lon": point[0], "lat": point[1], "status": row.get("har_ghar_jal_status") or "unknown",
                            "name": row["name"], "lgd_code": row["lgd_code"]})
    return markers
