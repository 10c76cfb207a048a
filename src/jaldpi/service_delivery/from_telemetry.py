"""Daily supply records derived from telemetry (``jaldpi service-levels derive``).

For every serving (commissioned or handed-over) scheme, found by component types and observed properties:

* the **bulk meter**: the scheme's first ``meter`` component (by id) with a thing that has a ``flow_rate``
  datastream; a ``totalised_volume`` datastream of the same thing is used when present;
* the **pumping station**: a ``power`` datastream of a thing of a ``pumping_station`` component (optional: it tells
  a power cut from a pump failure);
* per served village, the **tail end**: a thing of the village's ``distribution_pipeline`` component with
  ``residual_chlorine`` and/or ``pressure`` datastreams (optional: without it the record has no chlorine);
* ``chlorinated`` when the scheme has a ``chlorinator`` component or ``attributes.chlorinated``.

A scheme without such a bulk meter gets no record. The water is split among the scheme's villages by population
(households' ``members_count``). :func:`derive_supply_records` is the derivation the sandbox uses for its
generated telemetry (:mod:`jaldpi.sandbox.telemetry`); records are written through the supply records registry
(``source`` ``telemetry``; one record per scheme, village and day, so a re-run updates).
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from jaldpi.assets.models import Component, Scheme
from jaldpi.core.registry import Catalogue, Strategy
from jaldpi.people.models import Household
from jaldpi.telemetry.models import Datastream, Observation, Thing

IST = dt.timezone(dt.timedelta(hours=5, minutes=30), "IST")
SERVING = ("commissioned", "handed_over")
SOURCE_SYSTEM = "telemetry-derivation"


class DerivationError(Exception):
    """The supply records registry refused derived records."""


@dataclass
class TelemetryVillage:
    village_id: uuid.UUID
    population: int
    share: float = 0.0  # of the scheme's water
    tail_id: uuid.UUID | None = None  # the tail-end thing
    pressure_ds: uuid.UUID | None = None
    chlorine_ds: uuid.UUID | None = None


@dataclass
class TelemetryScheme:
    scheme_id: uuid.UUID
    code: str
    chlorinated: bool
    flow_ds: uuid.UUID | None
    total_ds: uuid.UUID | None = None
    power_ds: uuid.UUID | None = None
    villages: list[TelemetryVillage] = field(default_factory=list)


def _streams_by_component(session: Session, component_ids: list[uuid.UUID]) -> dict[uuid.UUID, list[tuple]]:
    """component -> [(thing id, {observed property: datastream id (first by id)})], things in id order."""
    out: dict[uuid.UUID, dict[uuid.UUID, dict[str, uuid.UUID]]] = defaultdict(dict)
    for i in range(0, len(component_ids), 500):
        q = (select(Thing.component_id, Thing.id, Datastream.observed_property, Datastream.id)
             .join(Datastream, Datastream.thing_id == Thing.id, isouter=True)
             .where(Thing.component_id.in_(component_ids[i:i + 500])).order_by(Thing.id, Datastream.id))
        for cid, tid, prop, did in session.execute(q):
            props = out[cid].setdefault(tid, {})
            if prop is not None:
                props.setdefault(prop, did)
    return {cid: list(things.items()) for cid, things in out.items()}


def find_schemes(session: Session) -> list[TelemetryScheme]:
    """Serving schemes with a metered bulk flow, ordered by code (see the module docstring)."""
    schemes = session.execute(select(Scheme).where(Scheme.deleted_at.is_(None), Scheme.lifecycle_status.in_(SERVING))
                              .order_by(Scheme.code)).scalars().all()
    if not schemes:
        return []
    comps: dict[uuid.UUID, list[Component]] = defaultdict(list)
    ids = [s.id for s in schemes]
    for i in range(0, len(ids), 500):
        for c in session.execute(select(Component).where(
                Component.scheme_id.in_(ids[i:i + 500]), Component.deleted_at.is_(None),
                Component.component_type.in_(("pumping_station", "meter", "chlorinator", "distribution_pipeline")))
                .order_by(Component.id)).scalars():
            comps[c.scheme_id].append(c)
    streams = _streams_by_component(session, [c.id for cs in comps.values() for c in cs
                                              if c.component_type != "chlorinator"])
    population: dict[uuid.UUID, int] = defaultdict(int)
    for vid, members in session.execute(select(Household.village_id, Household.members_count)
                                        .where(Household.deleted_at.is_(None))):
        population[vid] += members or 0

    def first(cs: list[Component], ctype: str, props: tuple[str, ...]) -> tuple[uuid.UUID, dict] | None:
        for c in cs:
            if c.component_type != ctype:
                continue
            for tid, ds in streams.get(c.id, []):
                if any(p in ds for p in props):
                    return tid, ds
        return None

    out = []
    for s in schemes:
        cs = comps.get(s.id, [])
        meter = first(cs, "meter", ("flow_rate",))
        if meter is None:
            continue
        pump = first(cs, "pumping_station", ("power",))
        villages = []
        for raw in s.village_ids or []:
            v = uuid.UUID(str(raw))
            tail = first([c for c in cs if c.village_id == v], "distribution_pipeline",
                         ("residual_chlorine", "pressure"))
            villages.append(TelemetryVillage(v, population.get(v, 0), 0.0, tail[0] if tail else None,
                                             tail[1].get("pressure") if tail else None,
                                             tail[1].get("residual_chlorine") if tail else None))
        if not villages:
            continue
        total = sum(max(v.population, 1) for v in villages)
        for v in villages:
            v.share = max(v.population, 1) / total
        chlorinated = any(c.component_type == "chlorinator" for c in cs) or \
            bool((s.attributes or {}).get("chlorinated"))
        out.append(TelemetryScheme(s.id, s.code, chlorinated, meter[1]["flow_rate"],
                                   meter[1].get("totalised_volume"), pump[1]["power"] if pump else None, villages))
    return out


def derive(session: Session, catalogue: Catalogue, principal, first: dt.date, end: dt.date) -> dict[str, Any]:
    """Derive and write the supply records of local days ``first`` .. ``end`` (exclusive) for every scheme found
    by :func:`find_schemes`. Returns a summary."""
    if end <= first:
        raise ValueError("the period is empty: --to must not be before --from")
    schemes = find_schemes(session)
    written = derive_supply_records(session, catalogue, principal, schemes, first, end, source_system=SOURCE_SYSTEM)
    return {"from": first.isoformat(), "to": (end - dt.timedelta(days=1)).isoformat(), "schemes": len(schemes),
            "scheme_codes": [s.code for s in schemes], "supply_records": written}


# ---------------------------------------------------------------------------------------------------- derivation
def _series(session: Session, ds: uuid.UUID | None, first: dt.date, end: dt.date) -> dict[dt.date, list]:
    """Unflagged observations of a datastream per local day: [(local datetime, value)] in time order."""
    out: dict[dt.date, list] = defaultdict(list)
    if ds is None:
        return out
    o = Observation.__table__
    for local_day, ptime, value in session.execute(
            select(o.c.local_day, o.c.phenomenon_time, o.c.result)
            .where(o.c.datastream_id == ds, o.c.quality == 0, o.c.local_day >= first, o.c.local_day < end)
            .order_by(o.c.phenomenon_time)):
        ptime = ptime.replace(tzinfo=dt.UTC) if ptime.tzinfo is None else ptime
        out[local_day].append((ptime.astimezone(IST), value))
    return out


def _sessions(day_flow: list, threshold: float, step: dt.timedelta) -> list[tuple[dt.datetime, dt.datetime]]:
    """Runs of readings above ``threshold`` (a gap of one missing reading does not break a run)."""
    runs: list[list[dt.datetime]] = []
    for when, value in day_flow:
        if value <= threshold:
            continue
        if runs and when - runs[-1][1] <= 2 * step:
            runs[-1][1] = when
        else:
            runs.append([when, when])
    return [(a, b + step) for a, b in runs]


def _thing_of(session: Session, ds: uuid.UUID | None) -> uuid.UUID | None:
    return session.execute(select(Datastream.thing_id).where(Datastream.id == ds)).scalar_one_or_none() \
        if ds else None


def derive_supply_records(session: Session, catalogue: Catalogue, principal, plants: list, first: dt.date,
                          end: dt.date, *, source_system: str | None = SOURCE_SYSTEM) -> int:
    """One supply record (``source`` telemetry) per scheme, village and day that has flow readings, from the
    stored unflagged observations. ``plants``: objects with ``scheme_id``, ``chlorinated``, ``flow_ds``,
    ``total_ds``, ``power_ds`` and ``villages`` (``village_id``, ``share``, ``chlorine_ds``, ``pressure_ds``):
    :class:`TelemetryScheme` or the sandbox's plants.

    * supply sessions: runs of bulk flow above half the scheme's typical pumping flow (the 90th percentile of the
      period), so that a leak's night flow is not a supply; ``supplied`` when there is one;
    * ``start_time``/``end_time``: the main (first) session, with the matching scheduled window of the bulk
      meter thing's ``supply_schedule`` as ``scheduled_start``/``scheduled_end``; every session and the day's
      total hours go in ``attributes`` (a record holds one start and end);
    * ``volume_supplied_kl``: the day's rise of the totaliser (m3 = kL; flow integrated when the totaliser is
      silent), split among an MVS's villages by population;
    * ``tail_end_residual_chlorine_mg_l``: the daily mean of the village's tail-end chlorine readings taken while
      water was being supplied (pressure above 0.3 bar), else the day's mean; ``chlorinated`` as the plant says;
    * no supply: ``reason_no_supply`` ``power_cut`` when the pump panel read 0 kW during a scheduled window,
      else ``pump_failure``.

    A day without any flow reading (meter silent) gets no record: nothing is known.
    """
    items: list[dict[str, Any]] = []
    for p in plants:
        meter = session.get(Thing, _thing_of(session, p.flow_ds))
        schedule = [(dt.time.fromisoformat(a), dt.time.fromisoformat(b))
                    for a, b in ((meter.properties or {}).get("supply_schedule") or [])] if meter else []
        flow = _series(session, p.flow_ds, first, end)
        total = _series(session, p.total_ds, first, end)
        power = _series(session, p.power_ds, first, end)
        pumping = sorted(v for day in flow.values() for _, v in day if v > 0)
        typical = pumping[int(len(pumping) * 0.9)] if pumping else 0.0
        threshold = max(0.5, typical * 0.5)
        village_series = [(_series(session, v.chlorine_ds, first, end), _series(session, v.pressure_ds, first, end))
                          for v in p.villages]
        for day in sorted(flow):
            readings = flow[day]
            step = min((b[0] - a[0] for a, b in zip(readings, readings[1:], strict=False)),
                       default=dt.timedelta(minutes=15))
            sessions = _sessions(readings, threshold, step)
            tot = total.get(day, [])
            before = total.get(day - dt.timedelta(days=1))
            if tot and before:  # from the previous day's last reading to this day's last
                volume = max(0.0, tot[-1][1] - before[-1][1])
            elif len(tot) >= 2:
                volume = max(0.0, tot[-1][1] - tot[0][1])
            else:
                volume = sum(v for _, v in readings) * step.total_seconds() / 3600
            base: dict[str, Any] = {"scheme": str(p.scheme_id), "supply_date": day.isoformat(),
                                    "source": "telemetry", "chlorinated": p.chlorinated}
            if schedule:
                base["scheduled_start"], base["scheduled_end"] = (t.isoformat("minutes") for t in schedule[0])
            if not sessions and not any(any(a <= when.time() < b for a, b in schedule) for when, _ in readings):
                continue  # the meter said nothing during the schedule (silent, clock skewed): unknown
            if not sessions:
                cut = any(v == 0 for when, v in power.get(day, [])
                          if any(a <= when.time() < b for a, b in schedule))
                for v in p.villages:
                    items.append({**base, "village": str(v.village_id), "supplied": False,
                                  "reason_no_supply": "power_cut" if cut else "pump_failure",
                                  "notes": "derived from telemetry: no flow above "
                                           f"{threshold:.1f} m3/h at the bulk meter"})
                continue
            a, b = sessions[0]
            hours = sum((y - x).total_seconds() for x, y in sessions) / 3600
            for n, v in enumerate(p.villages):
                chl_day, pr_day = village_series[n][0].get(day, []), village_series[n][1].get(day, [])
                pressurised = {when for when, value in pr_day if value > 0.3}
                during = [value for when, value in chl_day if when in pressurised]
                chl = during or [value for _, value in chl_day]
                item = {**base, "village": str(v.village_id), "supplied": True,
                        "start_time": a.time().isoformat("minutes"), "end_time": b.time().isoformat("minutes"),
                        "volume_supplied_kl": round(volume * v.share, 2),
                        "attributes": {"sessions": [[x.time().isoformat("minutes"), y.time().isoformat("minutes")]
                                                    for x, y in sessions],
                                       "hours_all_sessions": round(hours, 2), "volume_share": round(v.share, 4),
                                       "flow_threshold_m3h": round(threshold, 2)}}
                if chl:
                    item["tail_end_residual_chlorine_mg_l"] = round(sum(chl) / len(chl), 3)
                items.append(item)
    registry = catalogue["supply_records"]
    written = 0
    for i in range(0, len(items), 2000):
        batch = items[i:i + 2000]
        summary = registry.import_records(session, principal, batch, strategy=Strategy.create_and_update,
                                          atomic=True, source_system=source_system)
        if summary.status != "ok":
            bad = [r for r in summary.rows if r.errors][:3]
            raise DerivationError("supply records refused: " + "; ".join(str(r.errors) for r in bad))
        written += len(batch)
    return written
