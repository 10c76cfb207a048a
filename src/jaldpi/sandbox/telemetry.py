"""Sandbox telemetry: months of realistic sensor data for the sandbox's serving schemes, and the daily supply
records derived from it.

For every commissioned or handed-over scheme of the sandbox (``jaldpi sandbox generate`` first):

* **Things** (through :mod:`jaldpi.telemetry.service`): the pumping station (``pump_run_status``, ``power``), the
  bulk meter (``flow_rate``, ``totalised_volume``), per served village its storage (ESR / GSR / sump:
  ``reservoir_level``) and the tail end of its distribution network (``pressure``, ``residual_chlorine``);
  shared **Sensors** per observed property; ids derived from the seed and the component (re-runs find them).
* **Observations** at ``interval_minutes`` for ``days`` local (IST) days ending before ``end``: diurnal supply
  windows (a morning and an evening session per scheme, drawn from the seed), flow during a window and ~0 outside,
  totalised volume = the running integral of flow, reservoir level filling while pumping and draining while
  distributing, chlorine dosing with decay in standing water and occasional low-chlorine days; incidents:
  breakdowns (pump failure for 1-4 days: no flow), leaks (elevated night flow for days), power cuts (power 0,
  pump off for hours); sensor faults: stuck values, out-of-range spikes, silent periods (one tail-end chlorine
  sensor goes dead before the end, so the silent listing has something) and clock-skewed timestamps (a logger's
  clock reset to 2000-01-01). Everything is written day by day through :func:`jaldpi.telemetry.ingest.ingest` (so
  flags, latest values and rollups are the real ones), with the ingest clock set to the end of the period.
* **Supply records** (``source`` ``telemetry``), one per scheme, village and day, derived from the *stored*
  observations (unflagged ones only), written through the supply records registry: see
  :func:`derive_supply_records`.

Deterministic: every scheme draws from its own ``random.Random`` stream (seed + scheme id), so the same seed,
period and interval give the same observations whatever ``--schemes`` selects.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import math
import random
import time
import uuid
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from jaldpi.assets.models import Component, Scheme
from jaldpi.core.db import Database
from jaldpi.core.registry import Catalogue
from jaldpi.people.models import Household
from jaldpi.sandbox.generate import SOURCE_SYSTEM, SandboxError, generator_principal
from jaldpi.sandbox.ids import EPOCH_MS
from jaldpi.service_delivery.from_telemetry import (  # noqa: F401 (re-exported)
    DerivationError,
    _series,
    _sessions,
    _thing_of,
)
from jaldpi.service_delivery.from_telemetry import derive_supply_records as _derive
from jaldpi.telemetry import service as tservice
from jaldpi.telemetry.ingest import ObservationIn, TelemetryConfig, ingest
from jaldpi.telemetry.models import Datastream, Sensor, Thing

IST = dt.timezone(dt.timedelta(hours=5, minutes=30), "IST")
SERVING = ("commissioned", "handed_over")
STORAGE = ("esr", "gsr", "sump")
SKEW_EPOCH = dt.datetime(2000, 1, 1, tzinfo=dt.UTC)  # where a logger's clock goes after a reset
SENSORS = {  # observed property -> (sensor name, description)
    "flow_rate": ("Electromagnetic bulk flow meter", "Sandbox: full-bore electromagnetic flow meter, 4-20 mA"),
    "totalised_volume": ("Bulk meter totaliser", "Sandbox: totaliser register of the bulk flow meter"),
    "reservoir_level": ("Ultrasonic level transmitter", "Sandbox: ultrasonic level sensor on the storage tank"),
    "pressure": ("Pipeline pressure transducer", "Sandbox: piezo-resistive pressure transducer, 0-10 bar"),
    "residual_chlorine": ("Free chlorine analyser", "Sandbox: amperometric free residual chlorine analyser"),
    "pump_run_status": ("Pump starter contact", "Sandbox: run feedback contact of the pump starter"),
    "power": ("Energy meter", "Sandbox: three-phase energy meter of the pump panel"),
}


def stable_id(*parts: Any) -> uuid.UUID:
    """A UUIDv7-shaped id from a hash of ``parts`` (same seed and component, same id)."""
    bits = int.from_bytes(hashlib.sha256(":".join(map(str, parts)).encode()).digest()[:10], "big")
    rand_a, rand_b = (bits >> 62) & 0xFFF, bits & ((1 << 62) - 1)
    return uuid.UUID(int=(EPOCH_MS << 80) | (0x7 << 76) | (rand_a << 64) | (0b10 << 62) | rand_b)


# ---------------------------------------------------------------------------------------------------- the plant
@dataclass
class VillagePlant:
    village_id: uuid.UUID
    lgd_code: int | None
    population: int
    share: float  # of the scheme's water
    storage_id: uuid.UUID
    storage_kind: str
    capacity_kl: float
    tail_id: uuid.UUID  # distribution pipeline: the tail-end thing
    level_ds: uuid.UUID | None = None
    pressure_ds: uuid.UUID | None = None
    chlorine_ds: uuid.UUID | None = None


@dataclass
class SchemePlant:
    scheme_id: uuid.UUID
    code: str
    name: str
    commissioned_on: dt.date | None
    pump_station_id: uuid.UUID
    meter_id: uuid.UUID
    pump_kw: float
    chlorinated: bool
    villages: list[VillagePlant]
    flow_ds: uuid.UUID | None = None
    total_ds: uuid.UUID | None = None
    pump_ds: uuid.UUID | None = None
    power_ds: uuid.UUID | None = None


def load_plants(session: Session, limit: int | None = None) -> list[SchemePlant]:
    """Serving sandbox schemes with a pumping station, a bulk meter and a storage per village, ordered by code."""
    schemes = session.execute(select(Scheme).where(Scheme.deleted_at.is_(None), Scheme.lifecycle_status.in_(SERVING))
                              .order_by(Scheme.code)).scalars().all()
    schemes = [s for s in schemes if (s.attributes or {}).get("synthetic")]
    if not schemes:
        return []
    by_scheme: dict[uuid.UUID, list[Component]] = defaultdict(list)
    ids = [s.id for s in schemes]
    for i in range(0, len(ids), 500):
        for c in session.execute(select(Component).where(
                Component.scheme_id.in_(ids[i:i + 500]), Component.deleted_at.is_(None),
                Component.component_type.in_(("pumping_station", "meter", "chlorinator", "distribution_pipeline")
                                             + STORAGE)).order_by(Component.id)).scalars():
            by_scheme[c.scheme_id].append(c)
    population: dict[uuid.UUID, int] = defaultdict(int)
    for vid, members in session.execute(select(Household.village_id, Household.members_count)
                                        .where(Household.deleted_at.is_(None))):
        population[vid] += members or 0
    from jaldpi.admin_units.models import AdminUnit
    plants = []
    for s in schemes:
        comps = by_scheme.get(s.id, [])
        first = {t: next((c for c in comps if c.component_type == t), None) for t in ("pumping_station", "meter")}
        if first["pumping_station"] is None or first["meter"] is None:
            continue
        villages = []
        for vid in s.village_ids or []:
            v = uuid.UUID(str(vid))
            storage = next((c for c in comps if c.component_type in STORAGE and c.village_id == v), None)
            tail = next((c for c in comps if c.component_type == "distribution_pipeline" and c.village_id == v), None)
            if storage is None or tail is None:
                continue
            code = session.execute(select(AdminUnit.lgd_code).where(AdminUnit.id == v)).scalar_one_or_none()
            villages.append(VillagePlant(v, code, population.get(v, 0), 0.0, storage.id, storage.component_type,
                                         storage.capacity_kl or 50.0, tail.id))
        if not villages:
            continue
        total = sum(max(v.population, 1) for v in villages)
        for v in villages:
            v.share = max(v.population, 1) / total
        ps = first["pumping_station"]
        plants.append(SchemePlant(s.id, s.code, s.name, s.commissioned_on, ps.id, first["meter"].id,
                                  float((ps.attributes or {}).get("pump_kw") or 15.0),
                                  any(c.component_type == "chlorinator" for c in comps), villages))
        if limit is not None and len(plants) >= limit:
            break
    return plants


# ---------------------------------------------------------------------------------------------------- entities
def _interval_s(minutes: int) -> int:
    return minutes * 60


def ensure_entities(session: Session, principal, plants: list[SchemePlant], seed: int, interval_minutes: int,
                    profiles: dict[uuid.UUID, SchemeProfile]) -> int:
    """Create (or find) the sensors, things and datastreams; fill the plants' datastream ids. Returns created
    datastreams."""
    sensors = {}
    for prop, (name, desc) in SENSORS.items():
        sid = stable_id("sandbox-telemetry-sensor", prop)
        if session.get(Sensor, sid) is None:
            tservice.create_sensor(session, principal, {"@iot.id": str(sid), "name": name, "description": desc,
                                                        "encodingType": "text/plain", "metadata": "synthetic"})
        sensors[prop] = sid
    created = 0

    def thing(component_id: uuid.UUID, name: str, props: dict[str, Any]) -> uuid.UUID:
        tid = stable_id("sandbox-telemetry-thing", seed, component_id)
        if session.get(Thing, tid) is None:
            tservice.create_thing(session, principal, {"@iot.id": str(tid), "name": name,
                                                       "description": "Sandbox telemetry (synthetic)",
                                                       "properties": {**props, "component_id": str(component_id),
                                                                      "synthetic": True}})
        return tid

    def stream(thing_id: uuid.UUID, prop: str, name: str) -> uuid.UUID:
        nonlocal created
        did = stable_id("sandbox-telemetry-datastream", seed, thing_id, prop)
        if session.get(Datastream, did) is None:
            tservice.create_datastream(session, principal, {
                "@iot.id": str(did), "name": name, "Thing": {"@iot.id": str(thing_id)},
                "Sensor": {"@iot.id": str(sensors[prop])}, "ObservedProperty": prop,
                "properties": {"expectedIntervalSeconds": _interval_s(interval_minutes), "synthetic": True}})
            created += 1
        return did

    for p in plants:
        prof = profiles[p.scheme_id]
        schedule = [[_hhmm(a), _hhmm(b)] for a, b in prof.windows]
        ps = thing(p.pump_station_id, f"Pumping station, {p.name}", {"role": "pumping_station"})
        meter = thing(p.meter_id, f"Bulk meter, {p.name}", {"role": "bulk_meter", "supply_schedule": schedule,
                                                            "scheme_id": str(p.scheme_id)})
        p.pump_ds = stream(ps, "pump_run_status", f"Pump run status, {p.name}")
        p.power_ds = stream(ps, "power", f"Pump power, {p.name}")
        p.flow_ds = stream(meter, "flow_rate", f"Bulk flow, {p.name}")
        p.total_ds = stream(meter, "totalised_volume", f"Bulk meter reading, {p.name}")
        for v in p.villages:
            st = thing(v.storage_id, f"{v.storage_kind.upper()} level, village {v.lgd_code}", {"role": "storage"})
            tail = thing(v.tail_id, f"Tail end, village {v.lgd_code}", {"role": "tail_end"})
            v.level_ds = stream(st, "reservoir_level", f"Reservoir level, village {v.lgd_code}")
            v.pressure_ds = stream(tail, "pressure", f"Tail-end pressure, village {v.lgd_code}")
            v.chlorine_ds = stream(tail, "residual_chlorine", f"Tail-end residual chlorine, village {v.lgd_code}")
    session.flush()
    return created


def _hhmm(minutes: float) -> str:
    m = int(round(minutes)) % 1440
    return f"{m // 60:02d}:{m % 60:02d}"


# ---------------------------------------------------------------------------------------------------- simulation
@dataclass
class Event:
    scheme: str
    kind: str  # breakdown | leak | power_cut | low_chlorine | stuck | spike | silent | clock_skew
    start: dt.datetime  # local (IST)
    end: dt.datetime
    datastream_id: uuid.UUID | None = None


@dataclass
class StreamFaults:
    stuck: list[tuple[int, int]] = field(default_factory=list)  # [from, to) global slot numbers
    silent: list[tuple[int, int]] = field(default_factory=list)
    skew: list[tuple[int, int]] = field(default_factory=list)
    spikes: set[int] = field(default_factory=set)


@dataclass
class SchemeProfile:
    windows: list[tuple[int, int]]  # supply sessions, minutes from local midnight [start, end)
    flow_m3h: float
    breakdown_days: set[int]
    leak_days: dict[int, float]  # day -> leak flow m3/h
    power_cuts: dict[int, list[tuple[int, int]]]  # day -> [(from minute, to minute)]
    low_chlorine_days: set[int]
    chlorine_target: float
    total_start: float
    faults: dict[str, StreamFaults]  # stream key -> faults


def _draw_profile(rng: random.Random, plant: SchemePlant, days: int, slots_per_day: int, interval: int,
                  first_scheme: bool) -> SchemeProfile:
    morning = rng.choice((330, 360, 360, 390, 420))
    m_len = rng.choice((90, 120, 120, 150))
    evening = rng.choice((990, 1020, 1050, 1080))
    e_len = rng.choice((60, 90, 90, 120))
    windows = [(morning, morning + m_len), (evening, evening + e_len)]
    population = sum(max(v.population, 1) for v in plant.villages)
    lpcd = rng.choice((rng.uniform(42, 54), rng.uniform(58, 95), rng.uniform(60, 90), rng.uniform(62, 100)))
    flow = population * lpcd / 1000 / ((m_len + e_len) / 60)
    breakdown, leaks, cuts, low = set(), {}, {}, set()
    d = 0
    while d < days:
        if rng.random() < 0.02:  # a pump failure: 1-4 days without pumping
            breakdown.update(range(d, min(days, d + rng.randint(1, 4))))
            d += 5
        d += 1
    d = 0
    while d < days:
        if rng.random() < 0.015:  # a leak: elevated night flow for 3-10 days, until repaired
            rate = flow * rng.uniform(0.12, 0.3)
            for k in range(d, min(days, d + rng.randint(3, 10))):
                leaks[k] = rate
            d += 12
        d += 1
    for d in range(days):
        if rng.random() < 0.12:
            start = rng.randrange(0, 1440 - 60, 15)
            cuts[d] = [(start, min(1440, start + rng.randint(1, 6) * 60))]
        if plant.chlorinated and rng.random() < 0.06:
            low.add(d)
    total = slots_per_day * days
    faults: dict[str, StreamFaults] = {}
    keys = ["flow", "total", "pump", "power"] + [f"{k}:{n}" for n in range(len(plant.villages))
                                                 for k in ("level", "pressure", "chlorine")]
    for key in keys:
        f = StreamFaults()
        if rng.random() < 0.12:
            a = rng.randrange(0, total)
            f.stuck.append((a, min(total, a + rng.randint(6, 30) * 60 // interval)))
        if rng.random() < 0.12:
            a = rng.randrange(0, total)
            f.silent.append((a, min(total, a + rng.randint(3, 48) * 60 // interval)))
        for d in range(days):
            if rng.random() < 0.02:
                f.spikes.add(d * slots_per_day + rng.randrange(slots_per_day))
        faults[key] = f
    if rng.random() < 0.2:  # a logger's clock resets: the meter's streams stamp 2000-01-01 for some hours
        a = rng.randrange(0, total)
        span = (a, min(total, a + rng.randint(2, 8) * 60 // interval))
        faults["flow"].skew.append(span)
        faults["total"].skew.append(span)
    if rng.random() < 0.1 or first_scheme:  # a chlorine analyser dies ~1.5 days before the end and never comes back
        faults["chlorine:0"].silent.append((max(0, total - 36 * 60 // interval), total))
    return SchemeProfile(windows, flow, breakdown, leaks, cuts, low, rng.uniform(0.35, 0.7),
                         rng.uniform(10_000, 400_000), faults)


class SchemeSim:
    """The state of one scheme's plant, stepped day by day."""

    def __init__(self, plant: SchemePlant, profile: SchemeProfile, rng: random.Random, first: dt.date,
                 interval: int, start_day: int) -> None:
        self.p, self.prof, self.rng = plant, profile, rng
        self.first, self.interval = first, interval
        self.slots = 1440 // interval
        self.start_day = start_day  # days before this (not yet commissioned) have no data
        self.total = profile.total_start
        self.levels = [rng.uniform(0.5, 1.5) for _ in plant.villages]
        self.depths = [rng.choice((3.0, 3.5, 4.0, 4.5)) for _ in plant.villages]
        self.chlorine = [0.1 for _ in plant.villages]
        self.last: dict[str, float] = {}

    def _emit(self, out: list, key: str, ds: uuid.UUID, gslot: int, when: dt.datetime, value: float,
              valid_max: float) -> None:
        f = self.prof.faults[key]
        if any(a <= gslot < b for a, b in f.silent):
            return
        if any(a <= gslot < b for a, b in f.stuck):
            value = self.last.setdefault(key + ":stuck:" + str(next(a for a, b in f.stuck if a <= gslot < b)), value)
        if gslot in f.spikes:
            value = -1.0 if self.rng.random() < 0.3 else round(valid_max * self.rng.uniform(1.5, 3), 3)
        utc = when.astimezone(dt.UTC)
        if any(a <= gslot < b for a, b in f.skew):
            a = next(a for a, b in f.skew if a <= gslot < b)
            utc = SKEW_EPOCH + dt.timedelta(minutes=(gslot - a) * self.interval)
        out.append(ObservationIn(ds, utc, value))

    def day(self, d: int, out: list, events: list[Event]) -> None:
        if d < self.start_day:
            return
        p, prof, rng, iv = self.p, self.prof, self.rng, self.interval
        day = self.first + dt.timedelta(days=d)
        midnight = dt.datetime.combine(day, dt.time(0), IST)
        broken = d in prof.breakdown_days
        leak = prof.leak_days.get(d, 0.0)
        cuts = prof.power_cuts.get(d, [])
        low = d in prof.low_chlorine_days
        dose = prof.chlorine_target * (rng.uniform(0.1, 0.3) if low else rng.uniform(0.85, 1.15))
        h = iv / 60
        for s in range(self.slots):
            minute = s * iv
            when = midnight + dt.timedelta(minutes=minute)
            g = d * self.slots + s
            power_on = not any(a <= minute < b for a, b in cuts)
            in_window = any(a <= minute < b for a, b in prof.windows)
            running = in_window and power_on and not broken
            flow = prof.flow_m3h * rng.uniform(0.94, 1.06) if running else 0.0
            flow += leak * rng.uniform(0.85, 1.15) if leak else 0.0
            flow = round(flow, 2)
            self.total += flow * h
            kw = (p.pump_kw * rng.uniform(0.92, 1.04) if running else rng.uniform(0.1, 0.3)) if power_on else 0.0
            self._emit(out, "flow", p.flow_ds, g, when, flow, 5000)
            self._emit(out, "total", p.total_ds, g, when, round(self.total, 2), 1e9)
            self._emit(out, "pump", p.pump_ds, g, when, 1.0 if running else 0.0, 1)
            self._emit(out, "power", p.power_ds, g, when, round(kw, 2), 500)
            # distribution: taps open from 30 minutes into a pumping window to 45 minutes after it
            distributing = any(a + 30 <= minute < b + 45 for a, b in prof.windows)
            for n, v in enumerate(p.villages):
                area = max(v.capacity_kl / self.depths[n], 1.0)
                inflow = (flow - leak) * v.share if running else 0.0
                outflow = 0.0
                if distributing and self.levels[n] > 0.15:
                    outflow = prof.flow_m3h * v.share * 0.95 * rng.uniform(0.9, 1.1)
                outflow += leak * v.share
                self.levels[n] = min(self.depths[n], max(0.1, self.levels[n] + (inflow - outflow) * h / area))
                self._emit(out, f"level:{n}", v.level_ds, g, when, round(self.levels[n], 3), 30)
                if distributing and self.levels[n] > 0.15:
                    pressure = rng.uniform(0.9, 1.5) * (0.7 if leak else 1.0)
                    # fresh water from the dosed ESR, after the decay on its way to the tail end
                    self.chlorine[n] = dose * math.exp(-0.15) * rng.uniform(0.9, 1.1) if p.chlorinated else \
                        rng.uniform(0.0, 0.04)
                else:
                    pressure = rng.uniform(0.0, 0.08)
                    self.chlorine[n] *= math.exp(-0.04 * h)  # decay in standing water
                self._emit(out, f"pressure:{n}", v.pressure_ds, g, when, round(pressure, 3), 20)
                self._emit(out, f"chlorine:{n}", v.chlorine_ds, g, when, round(self.chlorine[n], 3), 5)


def _events(plant: SchemePlant, prof: SchemeProfile, first: dt.date, interval: int, slots: int) -> list[Event]:
    def at(day: int, minute: int = 0) -> dt.datetime:
        return dt.datetime.combine(first + dt.timedelta(days=day), dt.time(0), IST) + dt.timedelta(minutes=minute)

    out = []
    for kind, days in (("breakdown", prof.breakdown_days), ("leak", set(prof.leak_days)),
                       ("low_chlorine", prof.low_chlorine_days)):
        for d in sorted(days):
            out.append(Event(plant.code, kind, at(d), at(d + 1)))
    for d, cuts in sorted(prof.power_cuts.items()):
        for a, b in cuts:
            out.append(Event(plant.code, "power_cut", at(d, a), at(d, b)))
    streams = {"flow": plant.flow_ds, "total": plant.total_ds, "pump": plant.pump_ds, "power": plant.power_ds}
    for n, v in enumerate(plant.villages):
        streams.update({f"level:{n}": v.level_ds, f"pressure:{n}": v.pressure_ds, f"chlorine:{n}": v.chlorine_ds})
    for key, f in prof.faults.items():
        for kind, spans in (("stuck", f.stuck), ("silent", f.silent), ("clock_skew", f.skew)):
            for a, b in spans:
                out.append(Event(plant.code, kind, at(0, a * interval), at(0, b * interval), streams[key]))
        for g in sorted(f.spikes):
            out.append(Event(plant.code, "spike", at(0, g * interval), at(0, (g + 1) * interval), streams[key]))
    return out


# ---------------------------------------------------------------------------------------------------- entry point
@dataclass
class TelemetryResult:
    seed: int
    first_day: dt.date
    end_day: dt.date  # exclusive
    interval_minutes: int
    schemes: int
    datastreams: int
    datastreams_created: int
    observations: int  # sent to ingest
    created: int
    duplicates: int
    conflicts: int
    flagged: int
    supply_records: int
    seconds: float
    events: list[Event] = field(default_factory=list)
    plants: list[SchemePlant] = field(default_factory=list)

    def event_counts(self) -> dict[str, int]:
        out: dict[str, int] = defaultdict(int)
        for e in self.events:
            out[e.kind] += 1
        return dict(sorted(out.items()))


def generate_telemetry(db: Database, catalogue: Catalogue, *, seed: int = 7, days: int = 90,
                       interval_minutes: int = 15, schemes: int | None = None, end: dt.date | None = None,
                       days_per_batch: int = 1, on_day: Callable[[int, int], None] | None = None) -> TelemetryResult:
    """Generate ``days`` local days of telemetry ending before ``end`` (default: today in IST) for the sandbox's
    serving schemes (the first ``schemes`` by code), then derive their supply records. Re-running with the same
    arguments creates nothing new (observations come back as duplicates, supply records unchanged)."""
    if interval_minutes <= 0 or 1440 % interval_minutes:
        raise SandboxError("interval_minutes must divide a day (1, 5, 10, 15, 30, 60, ...)")
    started = time.perf_counter()
    end = end or dt.datetime.now(IST).date()
    first = end - dt.timedelta(days=days)
    now = dt.datetime.combine(end, dt.time(0), IST).astimezone(dt.UTC)  # the ingest clock: end of the period
    config = TelemetryConfig()
    principal = generator_principal()
    slots = 1440 // interval_minutes
    with db.unit_of_work() as session:
        plants = load_plants(session, schemes)
        if not plants:
            raise SandboxError("no serving sandbox scheme in this database: run `jaldpi sandbox generate` first")
        rngs = {p.scheme_id: random.Random(f"jaldpi-sandbox-telemetry:{seed}:{p.scheme_id}") for p in plants}
        profiles = {p.scheme_id: _draw_profile(rngs[p.scheme_id], p, days, slots, interval_minutes,
                                               first_scheme=n == 0)
                    for n, p in enumerate(plants)}
        created_ds = ensure_entities(session, principal, plants, seed, interval_minutes, profiles)
    sims, events = [], []
    for p in plants:
        start_day = max(0, (p.commissioned_on - first).days) if p.commissioned_on else 0
        sims.append(SchemeSim(p, profiles[p.scheme_id], rngs[p.scheme_id], first, interval_minutes, start_day))
        events.extend(_events(p, profiles[p.scheme_id], first, interval_minutes, slots))
    sent = created = dup = conflicts = flagged = 0
    for d0 in range(0, days, days_per_batch):
        rows: list[ObservationIn] = []
        for d in range(d0, min(days, d0 + days_per_batch)):
            for sim in sims:
                sim.day(d, rows, events)
        if rows:
            with db.unit_of_work() as session:
                summary = ingest(session, principal, rows, config=config, now=now)
            sent += len(rows)
            for r in summary.rows:
                if r.status == "created":
                    created += 1
                    flagged += 1 if r.flags else 0
                elif r.status == "duplicate":
                    dup += 1
                elif r.status == "conflict":
                    conflicts += 1
                else:
                    raise SandboxError(f"telemetry row refused: {r.error}")
        if on_day:
            on_day(min(days, d0 + days_per_batch), days)
    with db.unit_of_work() as session:
        records = derive_supply_records(session, catalogue, principal, plants, first, end)
    datastreams = sum(4 + 3 * len(p.villages) for p in plants)
    return TelemetryResult(seed, first, end, interval_minutes, len(plants), datastreams, created_ds, sent, created,
                           dup, conflicts, flagged, records, time.perf_counter() - started, events, plants)


# ---------------------------------------------------------------------------------------------------- supply records
def derive_supply_records(session: Session, catalogue: Catalogue, principal, plants: list[SchemePlant],
                          first: dt.date, end: dt.date) -> int:
    """The sandbox plants' supply records, derived from the stored observations by
    :func:`jaldpi.service_delivery.from_telemetry.derive_supply_records` (see there), written as the sandbox."""
    try:
        return _derive(session, catalogue, principal, plants, first, end, source_system=SOURCE_SYSTEM)
    except DerivationError as exc:
        raise SandboxError(str(exc)) from exc
