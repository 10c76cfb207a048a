"""Generate a realistic synthetic state on the real LGD upper hierarchy.

Under each chosen real block: gram panchayats and villages (synthetic 7-digit LGD codes from 9,000,000, marked
``{"synthetic": true}``), habitations, households with personal data, VWSCs, SHGs, water sources, a groundwater
assessment unit per block, and piped-water schemes (SVS and MVS) with their component graph:

    source -> [treatment plant, surface sources] -> pumping station (+ bulk meter, chlorinator, flow sensor)
           -> [rising main, MVS] -> ESR / GSR / sump per village (+ level sensor) -> distribution pipeline
           -> household tap connections (FHTC), school and anganwadi connections

Per district: a district water-quality lab (NABL accreditation, some expired) and an implementing agency.

Everything is written through ``Registry.import_records`` (versions, change log) in batches, parents before
children, streamed block by block: memory stays bounded whatever the scale. The same seed gives the same records,
ids included (:class:`~jaldpi.sandbox.ids.SeededIds`).
"""

from __future__ import annotations

import datetime as dt
import difflib
import math
import random
import re
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from jaldpi.admin_units.models import AdminUnit
from jaldpi.core.db import Database
from jaldpi.core.registry import Catalogue, Strategy
from jaldpi.core.security import Grant, Principal
from jaldpi.sandbox.ids import SeededIds, habitation_code
from jaldpi.sandbox.lgd import find_lgd_dir, load_upper_hierarchy, upper_units
from jaldpi.sandbox.names import INDIA_BOX, STATE_BOXES, NameBook, Region, region_for
from jaldpi.standard.codelists import role_permissions

SYNTHETIC_CODE_START = 9_000_000  # synthetic GP and village LGD codes: 7 digits, above every real code
SOURCE_SYSTEM = "jaldpi-sandbox"
ORDER = ("admin_units", "entities", "natural_resources", "households", "schemes", "components", "sampling_points",
         "samples")
BASIC_PARAMETERS = ["ph", "tds", "turbidity", "chloride", "total_alkalinity", "total_hardness", "sulphate", "iron",
                    "arsenic", "fluoride", "nitrate", "total_coliform", "e_coli"]
LIFECYCLE_WEIGHTS = {"planned": 0.05, "sanctioned": 0.10, "under_construction": 0.15, "commissioned": 0.30,
                     "handed_over": 0.40}
TAP_SHARE = {"handed_over": 0.93, "commissioned": 0.88, "under_construction": 0.35}
GW_CATEGORIES = {"safe": (0.62, 20, 69), "semi_critical": (0.16, 70, 89), "critical": (0.06, 90, 100),
                 "over_exploited": (0.13, 101, 165), "saline": (0.03, 15, 60)}
HOUSEHOLD_SIZES = {1: 3, 2: 8, 3: 15, 4: 24, 5: 20, 6: 13, 7: 8, 8: 5, 9: 2, 10: 1, 11: 0.5, 12: 0.5}
LAST_DATE = dt.date(2026, 9, 30)  # fixed, so that a seed gives the same dates whenever it runs


@dataclass(frozen=True)
class Scale:
    name: str
    blocks: str  # one | district | all
    gps_per_block: tuple[int, int]
    villages_per_gp: tuple[int, int]
    households_per_village: tuple[int, int]
    habitations_per_village: tuple[int, int] = (1, 3)
    mvs_share: float = 0.15


SCALES: dict[str, Scale] = {
    "block": Scale("block", "one", (10, 20), (2, 4), (45, 110)),
    "district": Scale("district", "district", (8, 14), (2, 3), (35, 80)),
    "state": Scale("state", "all", (1, 2), (1, 2), (12, 30)),
    "large-state": Scale("large-state", "all", (4, 6), (2, 3), (30, 60)),
}


class SandboxError(RuntimeError):
    pass


@dataclass
class GenerateResult:
    seed: int
    scale: str
    state_code: int
    counts: dict[str, int]
    seconds: float
    skipped: bool
    lgd_source: str
    sample: dict[str, int]  # district, block, gram_panchayat, village LGD codes for demo accounts and URLs
    upper: dict[str, int] = field(default_factory=dict)  # LGD upper units read / created
    totals: dict[str, int] = field(default_factory=dict)  # records per registry in the database afterwards

    def marker(self) -> dict[str, Any]:
        return {"seed": self.seed, "scale": self.scale, "counts": self.counts, "sample": self.sample}


def generator_principal() -> Principal:
    # also a field tester: the sandbox's field-kit readings are its own (registered-tester rule, water quality)
    return Principal("jaldpi-sandbox", "system", (Grant("node_admin", "/"), Grant("field_tester", "/")),
                     role_permissions(),
                     source_system=SOURCE_SYSTEM)


# ---------------------------------------------------------------------------------------------------- writing
class Writer:
    """Buffers records per registry; a flush writes them in parent-first order, one unit of work per flush."""

    def __init__(self, db: Database, catalogue: Catalogue, principal: Principal, batch_size: int,
                 skip_existing: bool) -> None:
        self.db, self.catalogue, self.principal = db, catalogue, principal
        self.batch_size = batch_size
        self.skip_existing = skip_existing
        self.buffers: dict[str, list[dict[str, Any]]] = {n: [] for n in ORDER}
        self.counts: dict[str, int] = {n: 0 for n in ORDER}

    def add(self, registry: str, item: dict[str, Any]) -> None:
        self.buffers[registry].append(item)

    def pending(self) -> int:
        return max(len(b) for b in self.buffers.values())

    def flush(self) -> None:
        if not any(self.buffers.values()):
            return
        with self.db.unit_of_work() as session:
            for name in ORDER:
                items = self.buffers[name]
                registry = self.catalogue[name]
                for i in range(0, len(items), self.batch_size):
                    batch = items[i:i + self.batch_size]
                    if self.skip_existing:
                        batch = self._without_existing(session, registry.table, batch)
                        if not batch:
                            continue
                    summary = registry.import_records(session, self.principal, batch, strategy=Strategy.create,
                                                      atomic=True, source_system=SOURCE_SYSTEM)
                    if summary.status != "ok":
                        bad = [r for r in summary.rows if r.errors][:3]
                        raise SandboxError(f"{name}: sandbox batch refused: " + "; ".join(
                            f"{batch[r.index].get('code') or batch[r.index].get('id')}: {r.errors}" for r in bad))
                    self.counts[name] += summary.stats()["created"]
        self.buffers = {n: [] for n in ORDER}

    @staticmethod
    def _without_existing(session: Session, table, batch: list[dict[str, Any]]) -> list[dict[str, Any]]:
        ids = [uuid.UUID(it["id"]) for it in batch]
        found = set(session.execute(select(table.c.id).where(table.c.id.in_(ids))).scalars())
        return [it for it in batch if uuid.UUID(it["id"]) not in found]


# ---------------------------------------------------------------------------------------------------- helpers
def _norm(name: str) -> str:
    return re.sub(r"[^a-z]", "", name.lower())


def _title(name: str) -> str:
    return name.title() if name.isupper() else name


def _point(lon: float, lat: float) -> dict[str, Any]:
    return {"type": "Point", "coordinates": [round(lon, 6), round(lat, 6)]}


def _metres(a: tuple[float, float], b: tuple[float, float]) -> float:
    lat = math.radians((a[1] + b[1]) / 2)
    return math.hypot((a[0] - b[0]) * 111_320 * math.cos(lat), (a[1] - b[1]) * 110_540)


@dataclass(eq=False)
class Village:
    id: str
    code: int
    name: str
    lon: float
    lat: float
    gp_code: int
    habitations: list[tuple[str, float]] = field(default_factory=list)  # (id, weight)
    status: str = "planned"
    scheme: dict[str, Any] | None = None  # lifecycle status and dates of the scheme serving the village
    households: list[dict[str, Any]] = field(default_factory=list)  # light: id, members, tap, connected_on


class Generator:
    def __init__(self, *, seed: int, scale: Scale, state_code: int, units: dict[tuple[str, int], dict[str, Any]],
                 writer: Writer) -> None:
        self.seed, self.scale, self.state_code = seed, scale, state_code
        self.units = units
        self.writer = writer
        self.rng = random.Random(f"jaldpi-sandbox:{seed}")
        self.ids = SeededIds(seed)
        self.region: Region = region_for(state_code)
        self.names = NameBook(self.region, self.rng)
        self.next_gp = SYNTHETIC_CODE_START
        self.next_village = SYNTHETIC_CODE_START
        self.next_imis = 1
        self.districts_done: dict[int, dict[str, Any]] = {}
        self.box = STATE_BOXES.get(state_code, INDIA_BOX)
        self.district_centres: dict[int, tuple[float, float]] = {}
        self.sample: dict[str, int] = {}
        # sub-districts by district, to give villages their revenue sub-district where the names match
        self.subdistricts: dict[int, dict[str, dict[str, Any]]] = {}
        by_id = {u["id"]: u for u in units.values()}
        for (level, _code), u in units.items():
            if level == "subdistrict":
                parent = by_id.get(u["parent_id"])
                if parent is not None:
                    self.subdistricts.setdefault(parent["lgd_code"], {})[_norm(u["name"])] = u
        self.by_id = by_id
        # water quality draws from streams of their own, so adding them changed no other sandbox record
        self.wq_rng = random.Random(f"jaldpi-sandbox-wq:{seed}")
        self.wq_ids = SeededIds(f"{seed}:wq")  # type: ignore[arg-type]

    # ------------------------------------------------------------------ small draws
    def new_id(self) -> str:
        return str(self.ids())

    def chance(self, p: float) -> bool:
        return self.rng.random() < p

    def weighted(self, weights: dict[Any, float]) -> Any:
        return self.rng.choices(list(weights), weights=list(weights.values()))[0]

    def date_between(self, a: dt.date, b: dt.date) -> dt.date:
        if b <= a:
            return a
        return a + dt.timedelta(days=self.rng.randint(0, (b - a).days))

    def near(self, lon: float, lat: float, spread: float) -> tuple[float, float]:
        x0, y0, x1, y1 = self.box
        return (min(max(lon + self.rng.uniform(-spread, spread), x0), x1),
                min(max(lat + self.rng.uniform(-spread, spread), y0), y1))

    def social(self) -> str:
        return self.rng.choices(("sc", "st", "obc", "general", "other"), weights=self.region.social_weights)[0]

    def phone(self) -> str:
        return f"{self.rng.choices('9876', weights=(40, 25, 25, 10))[0]}{self.rng.randrange(10 ** 9):09d}"

    def members(self, count: int, women: int, *, pri_share: float) -> list[dict[str, Any]]:
        genders = ["female"] * women + ["male"] * (count - women)
        self.rng.shuffle(genders)
        roles = ["chairperson", "vice_chairperson", "secretary", "treasurer"] + ["member"] * count
        pri = max(1, int(count * pri_share))
        return [{"name": self.names.person(g), "role": roles[i], "gender": g, "social_category": self.social(),
                 "is_pri_member": i < pri} for i, g in enumerate(genders)]

    # ------------------------------------------------------------------ district level
    def district(self, district_code: int) -> dict[str, Any]:
        if district_code in self.districts_done:
            return self.districts_done[district_code]
        unit = self.units[("district", district_code)]
        x0, y0, x1, y1 = self.box
        centre = (self.rng.uniform(x0 + 0.2 * (x1 - x0), x1 - 0.2 * (x1 - x0)),
                  self.rng.uniform(y0 + 0.2 * (y1 - y0), y1 - 0.2 * (y1 - y0)))
        name = _title(unit["name"])
        slug = _norm(name)[:20] or str(district_code)
        lab_id, agency_id = self.new_id(), self.new_id()
        expired = self.chance(0.3)
        valid_from = (self.date_between(dt.date(2022, 1, 1), dt.date(2023, 10, 31)) if expired
                      else self.date_between(dt.date(2025, 1, 1), dt.date(2026, 9, 30)))
        self.writer.add("entities", {
            "id": lab_id, "entity_type": "water_quality_lab", "name": f"District Water Testing Laboratory, {name}",
            "admin_unit": str(unit["id"]), "lab_level": "district", "formed_on": "2012-04-01",
            "accreditation": {"body": "NABL", "certificate_number": f"TC-{self.rng.randint(5000, 15999)}",
                              "valid_from": valid_from.isoformat(),
                              "valid_until": (valid_from + dt.timedelta(days=730)).isoformat()},
            "parameters_tested": BASIC_PARAMETERS, "serves": [str(unit["id"])],
            "contact_email": f"dwtl.{slug}@sandbox.example", "contact_phone": f"08{self.rng.randint(100, 999)}-"
            f"{self.rng.randint(200000, 299999)}", "attributes": {"synthetic": True}})
        self.writer.add("entities", {
            "id": agency_id, "entity_type": "implementing_agency", "name": f"{self.region.agency}, {name}",
            "admin_unit": str(unit["id"]), "serves": [str(unit["id"])], "formed_on": "2019-08-15",
            "contact_email": f"ee.rws.{slug}@sandbox.example", "attributes": {"synthetic": True}})
        info = {"unit": unit, "centre": centre, "agency": agency_id, "lab": lab_id}
        self.districts_done[district_code] = info
        return info

    # ------------------------------------------------------------------ water quality
    def _water_quality(self, group: list["Village"], sources: list[tuple[str, str, tuple[float, float]]],
                       d: dict[str, Any]) -> None:
        """A sampling point per source with lab tests (chemical in the pre-monsoon round, bacteriological in both),
        and field-kit screening at a tap in some villages: enough for status, reports, cases and schedules."""
        rng = self.wq_rng
        first = group[0]
        for rid, kind, pos in sources:
            point = str(self.wq_ids())
            self.writer.add("sampling_points", {
                "id": point, "point_type": "source", "admin_unit": first.id, "water_source": rid,
                "name": f"Source sampling point ({kind.replace('_', ' ')}), {first.name}", "geometry": _point(*pos),
                "attributes": {"synthetic": True}})
            for season, (a, b) in WQ_SEASON_DATES.items():
                if rng.random() < 0.15:
                    continue  # not every source is tested every season: the schedule shows what is overdue
                collected = a + dt.timedelta(days=rng.randint(0, (b - a).days))
                results = [{"parameter": "e_coli", "value": "present" if rng.random() < 0.04 else "absent"}]
                if season == "pre_monsoon":
                    for parameter, spec in WQ_SAFE_RANGES.items():
                        value = _wq_value(rng, spec)
                        bad = WQ_CONTAMINATION.get(parameter)
                        if bad and rng.random() < bad[0]:
                            value = _wq_value(rng, bad[1])
                        results.append({"parameter": parameter, "value": value,
                                        "unit": None if parameter in ("ph",) else
                                        ("NTU" if parameter == "turbidity" else "mg/L")})
                    results.append({"parameter": "arsenic", "value": "BDL" if rng.random() < 0.6 else
                                    f"{rng.uniform(1, 8):.1f}", "unit": "ppb"})
                when = dt.datetime.combine(collected, dt.time(9, 30), dt.UTC)
                self.writer.add("samples", {
                    "id": str(self.wq_ids()), "sampling_point": point, "test_kind": "lab", "purpose": "routine",
                    "lab": d["lab"], "collected_at": when.isoformat(),
                    "tested_at": (when + dt.timedelta(days=1)).isoformat(), "results": results,
                    "attributes": {"synthetic": True}})
        for village in group:
            if rng.random() > 0.3:
                continue
            tap = str(self.wq_ids())
            self.writer.add("sampling_points", {
                "id": tap, "point_type": "household_tap", "admin_unit": village.id, "is_chlorinated": True,
                "name": f"Tap near the panchayat office, {village.name}", "attributes": {"synthetic": True}})
            collected = dt.date(2026, 9, 1) + dt.timedelta(days=rng.randint(0, 60))
            readings = [{"parameter": "h2s_vial", "value": "present" if rng.random() < 0.08 else "absent"},
                        {"parameter": "free_residual_chlorine", "value": rng.choice(("0.2-0.5", "0.5-1.0", "0-0.1"))},
                        {"parameter": "fluoride", "value": rng.choice(("0.5", "1.0", "0.5-1.0", "1.5-2.0")),
                         "unit": "mg/L"}]
            self.writer.add("samples", {
                "id": str(self.wq_ids()), "sampling_point": tap, "test_kind": "field_kit", "purpose": "routine",
                "collected_at": dt.datetime.combine(collected, dt.time(8, 0), dt.UTC).isoformat(),
                "results": readings, "attributes": {"synthetic": True}})

    # ------------------------------------------------------------------ block level
    def block(self, block_code: int) -> None:
        rng, scale = self.rng, self.scale
        bunit = self.units[("block", block_code)]
        district_code = self.by_id[bunit["parent_id"]]["lgd_code"]
        d = self.district(district_code)
        bx, by = self.near(*d["centre"], 0.3)
        subdistrict = self._subdistrict_for(district_code, bunit["name"])
        category = self.weighted({k: v[0] for k, v in GW_CATEGORIES.items()})
        _, lo, hi = GW_CATEGORIES[category]
        gwau_id = self.new_id()
        self.writer.add("natural_resources", {
            "id": gwau_id, "resource_type": "groundwater_assessment_unit",
            "name": f"{_title(bunit['name'])} (groundwater assessment unit)", "admin_unit": str(bunit["id"]),
            "gw_category": category, "assessment_year": "2024",
            "stage_of_extraction_pct": round(rng.uniform(lo, hi), 2), "attributes": {"synthetic": True}})

        villages: list[Village] = []
        taken: set[str] = set()
        for _ in range(rng.randint(*scale.gps_per_block)):
            gp_code, gp_id = self.next_gp, self.new_id()
            self.next_gp += 1
            gx, gy = self.near(bx, by, 0.08)
            gp_name = self.names.place(taken)
            self.writer.add("admin_units", {
                "id": gp_id, "level": "gram_panchayat", "lgd_code": gp_code, "name": gp_name,
                "parent": str(bunit["id"]),
                "attributes": {"synthetic": True, "sandbox_seed": self.seed, "sandbox_scale": scale.name,
                               "local_body_type": "Gram Panchayat"}})
            for v in range(rng.randint(*scale.villages_per_gp)):
                vname = gp_name if v == 0 else self.names.place(taken)
                vx, vy = self.near(gx, gy, 0.03)
                village = Village(self.new_id(), self.next_village, vname, vx, vy, gp_code)
                self.next_village += 1
                item: dict[str, Any] = {
                    "id": village.id, "level": "village", "lgd_code": village.code, "name": vname, "parent": gp_id,
                    "attributes": {"synthetic": True, "sandbox_seed": self.seed,
                                   "centroid": [round(vx, 6), round(vy, 6)]}}
                if subdistrict is not None:
                    item["subdistrict"] = str(subdistrict["id"])
                self.writer.add("admin_units", item)
                hamlets: set[str] = {vname}
                for h in range(rng.randint(*scale.habitations_per_village)):
                    hid = uuid.UUID(self.new_id())
                    self.writer.add("admin_units", {
                        "id": str(hid), "code": habitation_code(village.code, hid), "level": "habitation",
                        "name": vname if h == 0 else self.names.hamlet(vname, hamlets), "parent": village.id,
                        "attributes": {"synthetic": True}})
                    village.habitations.append((str(hid), 0.7 if h == 0 else 0.3))
                villages.append(village)
                if not self.sample:
                    self.sample = {"district": district_code, "block": block_code, "gram_panchayat": gp_code,
                                   "village": village.code}
            if self.chance(0.5):
                women = rng.randint(10, 15)
                self.writer.add("entities", {
                    "id": self.new_id(), "entity_type": "self_help_group",
                    "name": self.region.shg_pattern.format(n=gp_name), "admin_unit": gp_id,
                    "formed_on": self.date_between(dt.date(2012, 1, 1), dt.date(2022, 12, 31)).isoformat(),
                    "members": self.members(women, women, pri_share=0.0),
                    "attributes": {"synthetic": True, "activity": rng.choice(
                        ["tariff collection", "scheme O&M", "water-quality testing with field test kits",
                         "savings and credit"])}})

        # schemes: most villages their own (SVS), some grouped into multi-village schemes
        groups: list[list[Village]] = []
        i = 0
        while i < len(villages):
            left = len(villages) - i
            k = rng.randint(2, min(5, left)) if left >= 2 and self.chance(scale.mvs_share) else 1
            groups.append(villages[i:i + k])
            i += k
        for group in groups:
            status = self.weighted(LIFECYCLE_WEIGHTS)
            dates = self._scheme_dates(status)
            for v in group:
                v.status, v.scheme = status, dates

        for v in villages:
            self._village_people(v)
        for group in groups:
            self._scheme(group, d, gwau_id)

    def _subdistrict_for(self, district_code: int, block_name: str) -> dict[str, Any] | None:
        subs = self.subdistricts.get(district_code, {})
        key = _norm(block_name)
        if key in subs:
            return subs[key]
        close = difflib.get_close_matches(key, list(subs), n=1, cutoff=0.8)
        return subs[close[0]] if close else None

    def _scheme_dates(self, status: str) -> dict[str, Any]:
        out: dict[str, Any] = {"status": status}
        if status == "planned":
            return out
        sanctioned = self.date_between(dt.date(2019, 10, 1), dt.date(2024, 3, 31) if status != "sanctioned"
                                       else dt.date(2025, 12, 31))
        out["sanctioned_on"] = sanctioned
        if status in ("commissioned", "handed_over"):
            commissioned = min(sanctioned + dt.timedelta(days=self.rng.randint(240, 900)), LAST_DATE)
            out["commissioned_on"] = commissioned
            if status == "handed_over":
                out["handed_over_on"] = min(commissioned + dt.timedelta(days=self.rng.randint(30, 365)), LAST_DATE)
        return out

    # ------------------------------------------------------------------ village level
    def _village_people(self, v: Village) -> None:
        rng = self.rng
        dates = v.scheme or {}
        # VWSC: 10-15 members, usually at least half women; some below the rule (reported by the registry)
        count = rng.randint(10, 15)
        women = (rng.randint(math.ceil(count / 2), count - 2) if self.chance(0.85)
                 else max(2, math.ceil(count / 2) - rng.randint(1, 3)))
        self.writer.add("entities", {
            "id": self.new_id(), "entity_type": "vwsc", "name": f"VWSC {v.name}", "admin_unit": v.id,
            "formed_on": self.date_between(dt.date(2019, 9, 1), dt.date(2022, 3, 31)).isoformat(),
            "members": self.members(count, women, pri_share=0.25), "attributes": {"synthetic": True}})
        # hand pumps and wells outside the piped scheme
        for n in range(rng.choice((0, 0, 1, 1, 2))):
            kind = rng.choice(("hand_pump", "hand_pump", "open_well"))
            lon, lat = self.near(v.lon, v.lat, 0.006)
            self.writer.add("natural_resources", {
                "id": self.new_id(), "resource_type": "water_source", "source_type": kind,
                "name": f"{'Hand pump' if kind == 'hand_pump' else 'Open well'} {n + 1}, {v.name}",
                "admin_unit": v.id, "depth_m": round(rng.uniform(20, 60) if kind == "hand_pump"
                                                      else rng.uniform(6, 18), 1),
                "geometry": _point(lon, lat), "attributes": {"synthetic": True}})
        tap_share = TAP_SHARE.get(v.status, 0.0)
        start = dates.get("sanctioned_on", dt.date(2020, 1, 1)) + dt.timedelta(days=150)
        end = dates.get("commissioned_on", LAST_DATE)
        hab_ids = [h[0] for h in v.habitations]
        hab_w = [h[1] for h in v.habitations]
        for _ in range(rng.randint(*self.scale.households_per_village)):
            hid = self.new_id()
            size = rng.choices(list(HOUSEHOLD_SIZES), weights=list(HOUSEHOLD_SIZES.values()))[0]
            tap = self.chance(tap_share)
            item: dict[str, Any] = {
                "id": hid, "village": v.id, "habitation": rng.choices(hab_ids, weights=hab_w)[0],
                "members_count": size, "social_category": self.social(), "has_tap_connection": tap,
                "is_exempted": self.chance(0.04),
                "head_name": self.names.person("female" if self.chance(0.15) else "male"),
            }
            if tap:
                item["connected_on"] = self.date_between(start, max(start, end)).isoformat()
            if self.chance(0.9):
                item["phone"] = self.phone()
            if self.chance(0.7):
                item["ration_card"] = f"RC{self.state_code:02d}{rng.randrange(10 ** 10):010d}"
            self.writer.add("households", item)
            v.households.append({"id": hid, "members": size, "tap": tap, "connected_on": item.get("connected_on")})

    # ------------------------------------------------------------------ schemes and components
    def _scheme(self, group: list[Village], d: dict[str, Any], gwau_id: str) -> None:
        rng = self.rng
        dates = group[0].scheme
        status = dates["status"]
        mvs = len(group) > 1
        population = sum(h["members"] for v in group for h in v.households)
        design_pop = max(1, int(population * rng.uniform(1.25, 1.45)))
        per_capita = rng.uniform(4000, 9000) if mvs else rng.uniform(2500, 5500)
        cost = Decimal(int(design_pop * per_capita / 100) * 100).quantize(Decimal("0.01"))
        scheme_id = self.new_id()
        first = group[0]
        name = (f"MVS {first.name} - {group[-1].name} ({len(group)} villages)" if mvs
                else f"PWS {first.name}")
        item: dict[str, Any] = {
            "id": scheme_id, "name": name, "scheme_type": "mvs" if mvs else "svs",
            "villages": [v.id for v in group], "habitations": [h[0] for v in group for h in v.habitations],
            "implementing_agency": d["agency"], "design_population": design_pop,
            "design_lpcd": rng.choice((55, 55, 55, 70, 100)) if self.region.name != "telugu" else
            rng.choice((55, 100, 100)), "lifecycle_status": status,
            "external_ids": {"imis": str(1_000_000 + self.next_imis)},
            "attributes": {"synthetic": True}}
        self.next_imis += 1
        if status == "planned":
            item["attributes"]["estimated_cost_inr"] = str(cost)
        else:
            item["sanctioned_cost_inr"] = str(cost)
            item["sanctioned_on"] = dates["sanctioned_on"].isoformat()
        functional = None
        if status in ("commissioned", "handed_over"):
            item["commissioned_on"] = dates["commissioned_on"].isoformat()
            functional = self.chance(0.88)
            item["is_functional"] = functional
            if status == "handed_over":
                item["handed_over_on"] = dates["handed_over_on"].isoformat()
        self.writer.add("schemes", item)

        # the scheme's water sources (natural resources)
        surface = mvs and self.chance(0.65)
        sources: list[tuple[str, str, tuple[float, float]]] = []  # (resource id, type, position)
        if surface:
            kind = rng.choice(("river", "reservoir", "canal", "lake_pond"))
            pos = self.near(first.lon, first.lat, 0.05)
            rid = self.new_id()
            res = {"id": rid, "resource_type": "water_source", "source_type": kind,
                   "name": f"{kind.replace('_', ' / ').title()} intake for {name}", "admin_unit": first.id,
                   "geometry": _point(*pos), "attributes": {"synthetic": True}}
            if kind in ("reservoir", "lake_pond"):
                res["area_ha"] = round(rng.uniform(5, 400), 1)
            self.writer.add("natural_resources", res)
            sources.append((rid, kind, pos))
        else:
            for n in range(rng.randint(2, 3) if mvs else rng.randint(1, 2)):
                kind = self.weighted({"borewell": 0.8, "open_well": 0.12, "infiltration_gallery": 0.05,
                                      "spring": 0.03})
                pos = self.near(first.lon, first.lat, 0.01)
                rid = self.new_id()
                res = {"id": rid, "resource_type": "water_source", "source_type": kind,
                       "name": f"{kind.replace('_', ' ').capitalize()} {n + 1}, {first.name}", "admin_unit": first.id,
                       "assessment_unit": gwau_id, "geometry": _point(*pos), "attributes": {"synthetic": True}}
                if kind == "borewell":
                    res["depth_m"] = round(rng.uniform(60, 250), 1)
                    res["yield_lph"] = float(rng.randrange(2000, 12000, 500))
                elif kind == "open_well":
                    res["depth_m"] = round(rng.uniform(8, 20), 1)
                self.writer.add("natural_resources", res)
                sources.append((rid, kind, pos))
        if status not in ("under_construction", "commissioned", "handed_over"):
            return

        built = status != "under_construction"
        if built:
            self._water_quality(group, sources, d)

        def comp(ctype: str, village: Village, upstream: list[str], geometry: dict[str, Any], **extra: Any) -> str:
            cid = self.new_id()
            c = {"id": cid, "scheme": scheme_id, "component_type": ctype, "village": village.id,
                 "upstream": upstream, "geometry": geometry}
            if built:
                c["is_functional"] = extra.pop("functional", True)
            else:
                extra.pop("functional", None)
            c.update({k: val for k, val in extra.items() if val is not None})
            self.writer.add("components", c)
            return cid

        installed = (dates.get("commissioned_on") or LAST_DATE).isoformat() if built else None
        source_ids = [comp("source", first, [], _point(*pos), water_source=rid,
                           name=f"{kind.replace('_', ' ').capitalize()} source {n + 1}", installed_on=installed,
                           attributes={"pump_kw": round(rng.uniform(3.7, 15), 1)} if kind == "borewell" else {})
                      for n, (rid, kind, pos) in enumerate(sources)]
        head = source_ids
        pos0 = sources[0][2]
        if surface:
            head = [comp("treatment_plant", first, source_ids, _point(*self.near(*pos0, 0.01)),
                         name=f"WTP {first.name}", installed_on=installed,
                         capacity_kl=float(round(design_pop * 0.135 / 10) * 10 or 10),
                         attributes={"process": rng.choice(["rapid sand filter", "slow sand filter"]),
                                     "capacity_mld": round(design_pop * 135 / 1e6, 2)})]
        ps_pos = self.near(*pos0, 0.005)
        pumping = comp("pumping_station", first, head, _point(*ps_pos), name=f"Pumping station {first.name}",
                       installed_on=installed, functional=functional is not False,
                       attributes={"pumps": rng.choice((1, 2, 2, 3)), "pump_kw": round(rng.uniform(5, 75), 1)})
        comp("meter", first, [pumping], _point(*ps_pos), name="Bulk flow meter", installed_on=installed,
             attributes={"meter_type": "bulk", "measures": "flow"})
        if self.chance(0.6):
            comp("chlorinator", first, [pumping], _point(*ps_pos), name="Chlorine dosing unit",
                 installed_on=installed, attributes={"method": rng.choice(["sodium hypochlorite", "bleaching powder",
                                                                            "gas"])})
        if self.chance(0.4):
            comp("sensor", first, [pumping], _point(*ps_pos), name="Flow sensor", installed_on=installed,
                 attributes={"sensor_type": "flow", "reporting_interval_min": 15})
        feed = pumping
        if mvs:
            line = [ps_pos] + [(v.lon, v.lat) for v in group]
            feed = comp("rising_main", first, [pumping],
                        {"type": "LineString", "coordinates": [[round(x, 6), round(y, 6)] for x, y in line]},
                        name=f"Rising main {name}", installed_on=installed,
                        diameter_mm=float(rng.choice((150, 200, 250, 300))),
                        length_m=round(sum(_metres(line[i], line[i + 1]) for i in range(len(line) - 1)), 1),
                        attributes={"material": rng.choice(["DI", "MS", "HDPE"])})
        for v in group:
            pop = sum(h["members"] for h in v.households)
            kind = self.weighted({"esr": 0.7, "gsr": 0.2, "sump": 0.1})
            st_pos = self.near(v.lon, v.lat, 0.003)
            storage = comp(kind, v, [feed], _point(*st_pos), name=f"{kind.upper()} {v.name}", installed_on=installed,
                           capacity_kl=float(max(10, round(pop * 70 / 1000 / 10) * 10)),
                           attributes={"staging_height_m": rng.choice((12, 15, 18, 20))} if kind == "esr" else {})
            if self.chance(0.5):
                comp("sensor", v, [storage], _point(*st_pos), name=f"Level sensor {v.name}", installed_on=installed,
                     attributes={"sensor_type": "level", "reporting_interval_min": 15})
            pts = [st_pos] + [self.near(v.lon, v.lat, 0.006) for _ in range(rng.randint(3, 6))]
            pipe = comp("distribution_pipeline", v, [storage],
                        {"type": "LineString", "coordinates": [[round(x, 6), round(y, 6)] for x, y in pts]},
                        name=f"Distribution network {v.name}", installed_on=installed,
                        diameter_mm=float(rng.choice((63, 75, 90, 110))),
                        length_m=round(sum(_metres(pts[i], pts[i + 1]) for i in range(len(pts) - 1)) * 2.5, 1),
                        attributes={"material": rng.choice(["HDPE", "PVC", "HDPE", "DI"])})
            if self.chance(0.3):
                comp("sensor", v, [pipe], _point(*self.near(v.lon, v.lat, 0.004)), name=f"Residual chlorine sensor "
                     f"{v.name}", installed_on=installed, attributes={"sensor_type": "residual_chlorine",
                                                                       "reporting_interval_min": 15})
            for h in v.households:
                if h["tap"]:
                    comp("fhtc", v, [pipe], _point(*self.near(v.lon, v.lat, 0.004)), household=h["id"],
                         installed_on=h["connected_on"], functional=self.chance(0.95))
            for n in range(rng.randint(1, 2)):
                comp("school_connection", v, [pipe], _point(*self.near(v.lon, v.lat, 0.004)),
                     name=f"{'Primary' if n == 0 else 'Upper primary'} school, {v.name}", installed_on=installed)
            for n in range(rng.randint(1, 2)):
                comp("anganwadi_connection", v, [pipe], _point(*self.near(v.lon, v.lat, 0.004)),
                     name=f"Anganwadi centre {n + 1}, {v.name}", installed_on=installed)


# ---------------------------------------------------------------------------------------------------- entry point
# Water-quality draws: most sources meet IS 10500; fluoride (the Telangana-Andhra belt), nitrate, iron and
# bacteriological contamination appear at rates of the order the national dashboard shows (illustrative, synthetic).
WQ_SAFE_RANGES = {"ph": (6.8, 8.2, 1), "tds": (150, 450, 0), "turbidity": (0.2, 0.9, 1), "chloride": (20, 200, 0),
                  "total_alkalinity": (80, 190, 0), "total_hardness": (90, 190, 0), "sulphate": (10, 150, 0),
                  "iron": (0.05, 0.25, 2), "fluoride": (0.2, 0.9, 2), "nitrate": (2, 35, 1)}
WQ_CONTAMINATION = {"fluoride": (0.10, (1.6, 3.2, 2)), "nitrate": (0.05, (50, 90, 1)), "iron": (0.04, (0.5, 1.2, 2))}
WQ_SEASON_DATES = {"pre_monsoon": (dt.date(2026, 3, 1), dt.date(2026, 5, 31)),
                   "post_monsoon": (dt.date(2025, 10, 1), dt.date(2025, 12, 15))}


def _wq_value(rng: random.Random, spec: tuple[float, float, int]) -> str:
    low, high, digits = spec
    return f"{rng.uniform(low, high):.{digits}f}"


def sandbox_marker(session: Session, state_code: int) -> dict[str, Any] | None:
    attrs = session.execute(select(AdminUnit.attributes).where(AdminUnit.level == "state",
                                                                AdminUnit.lgd_code == state_code)).scalar_one_or_none()
    return (attrs or {}).get("sandbox")


def synthetic_origin(session: Session) -> dict[str, Any] | None:
    """Seed and scale of synthetic units already in the database (from the first synthetic GP), if any."""
    attrs = session.execute(select(AdminUnit.attributes).where(
        AdminUnit.level == "gram_panchayat", AdminUnit.lgd_code == SYNTHETIC_CODE_START)).scalar_one_or_none()
    return attrs if attrs and attrs.get("synthetic") else None


def choose_blocks(units: dict[tuple[str, int], dict[str, Any]], scale: Scale, rng: random.Random, *,
                  district_code: int | None = None, block_code: int | None = None) -> list[int]:
    by_id = {u["id"]: u for u in units.values()}
    blocks: dict[int, list[int]] = {}
    for (level, code), u in sorted(units.items()):
        if level == "block":
            blocks.setdefault(by_id[u["parent_id"]]["lgd_code"], []).append(code)
    if not blocks:
        raise SandboxError("the state has no blocks in the registry (load the LGD block list)")
    if block_code is not None:
        if ("block", block_code) not in units:
            raise SandboxError(f"block {block_code} is not in this state")
        return [block_code]
    if district_code is not None:
        if district_code not in blocks:
            raise SandboxError(f"district {district_code} has no blocks in this state")
        chosen_district = district_code
    else:
        # rural districts: the ones with several blocks (a capital city district has few or none)
        candidates = sorted(d for d, bs in blocks.items() if len(bs) >= 4) or sorted(blocks)
        chosen_district = rng.choice(candidates)
    if scale.blocks == "all" and district_code is None:
        return [b for d in sorted(blocks) for b in blocks[d]]
    if scale.blocks == "one":
        return [rng.choice(blocks[chosen_district])]
    return blocks[chosen_district]


def generate(db: Database, catalogue: Catalogue, *, seed: int = 7, scale: str | Scale = "block",
             state_code: int = 36, lgd_dir: Path | None = None, batch_size: int = 5000,
             district_code: int | None = None, block_code: int | None = None,
             on_progress: Callable[[int, int], None] | None = None,
             on_start: Callable[[int], None] | None = None) -> GenerateResult:
    """Load the state's LGD upper hierarchy if needed, then generate the sandbox (or skip: already there)."""
    started = time.perf_counter()
    sc = scale if isinstance(scale, Scale) else SCALES[scale]
    principal = generator_principal()
    source = find_lgd_dir(lgd_dir)
    with db.unit_of_work() as session:
        upper = load_upper_hierarchy(session, catalogue["admin_units"], principal, source.directory, state_code)
    with db.unit_of_work(write=False) as session:
        marker = sandbox_marker(session, state_code)
        origin = synthetic_origin(session)
        units = upper_units(session, state_code)
    if marker and marker.get("seed") == seed and marker.get("scale") == sc.name:
        return GenerateResult(seed, sc.name, state_code, marker.get("counts", {}), time.perf_counter() - started,
                              True, source.label, marker.get("sample", {}), upper)
    resume = False
    if origin is not None or marker is not None:
        old = marker or {"seed": origin.get("sandbox_seed"), "scale": origin.get("sandbox_scale")}
        if old.get("seed") != seed or old.get("scale") != sc.name:
            raise SandboxError(f"this database already holds a sandbox generated with seed {old.get('seed')} at "
                               f"scale {old.get('scale')}; synthetic LGD codes would collide. Use a fresh database "
                               "(e.g. JALDPI_DATABASE_URL=sqlite:///./var/other.db) or the same seed and scale.")
        resume = True  # an interrupted run of the same seed and scale: continue, skipping what was written

    writer = Writer(db, catalogue, principal, batch_size, skip_existing=resume)
    gen = Generator(seed=seed, scale=sc, state_code=state_code, units=units, writer=writer)
    blocks = choose_blocks(units, sc, gen.rng, district_code=district_code, block_code=block_code)
    if on_start:
        on_start(len(blocks))
    for n, block in enumerate(blocks, 1):
        gen.block(block)
        if writer.pending() >= batch_size:
            writer.flush()
        if on_progress:
            on_progress(n, sum(writer.counts.values()) + sum(len(b) for b in writer.buffers.values()))
    writer.flush()

    result = GenerateResult(seed, sc.name, state_code, dict(writer.counts), 0.0, False, source.label, gen.sample,
                            upper)
    with db.unit_of_work() as session:
        result.totals = _totals(session)
        state = units[("state", state_code)]
        attrs = session.execute(select(AdminUnit.attributes).where(AdminUnit.id == state["id"])).scalar_one()
        summary = catalogue["admin_units"].import_records(
            session, principal, [{"id": str(state["id"]), "attributes": {**(attrs or {}), "sandbox": {
                **result.marker(), "state_code": state_code}}}], strategy=Strategy.update, source_system=SOURCE_SYSTEM)
        if summary.status != "ok":
            raise SandboxError(f"could not record the sandbox marker: {summary.to_dict()}")
    result.seconds = time.perf_counter() - started
    return result


def _totals(session: Session) -> dict[str, int]:
    """Records per registry now in the database (synthetic and real)."""
    from jaldpi.assets.models import Component, Scheme
    from jaldpi.entities.models import Entity
    from jaldpi.people.models import Household
    from jaldpi.resources.models import NaturalResource
    from jaldpi.water_quality.models import Sample, SamplingPoint

    out = {}
    for name, model in (("admin_units", AdminUnit), ("entities", Entity), ("natural_resources", NaturalResource),
                        ("households", Household), ("schemes", Scheme), ("components", Component),
                        ("sampling_points", SamplingPoint), ("samples", Sample)):
        out[name] = session.execute(select(func.count()).select_from(model).where(
            model.deleted_at.is_(None))).scalar_one()
    return out
