"""Alert conditions and their evaluation (docs/service_delivery.md, "Alerts").

:func:`evaluate_alerts` runs every condition as a set-based query over ``telemetry_latest``, recent observations
(one GROUP BY per condition) and recent supply records, then reconciles the result with the open alerts in a
constant number of statements: new findings are inserted (bulk), findings whose alert is open move its
``last_seen_at`` and value, and subjects evaluated as fine close their open alert. A subject that could not be
judged (flagged latest value, stream not reporting, no recent record) keeps its alert as it is. Every change queues a
change-log record in the caller's unit of work. No per-row triggers: it is a periodic job (``jaldpi alerts
evaluate``).
"""

from __future__ import annotations

import datetime as dt
import uuid
import zoneinfo
from dataclasses import dataclass, field, replace
from typing import Any

from sqlalchemy import case, func, select, update
from sqlalchemy.orm import Session

from jaldpi.alerts.models import Alert
from jaldpi.assets.models import Component, Scheme
from jaldpi.core.bulkio import bulk_insert
from jaldpi.core.changelog import PendingChange, record
from jaldpi.core.errors import Conflict, NotFound, Unauthenticated
from jaldpi.core.ids import new_id
from jaldpi.core.models import utcnow
from jaldpi.core.security import Grant, Principal, scope_clause
from jaldpi.service_delivery.models import SupplyRecord
from jaldpi.telemetry.ingest import TelemetryConfig, as_utc, silent_datastreams
from jaldpi.telemetry.models import CLOCK_SKEW, OUT_OF_RANGE, Datastream, LatestValue, Observation, Thing

READ = "alerts:read"
ACTOR = "system:alerts"
KINDS = ("no_supply", "low_pressure", "low_chlorine", "night_flow", "reservoir_overflow", "silent_sensor")
SEVERITY = {"no_supply": "high", "low_chlorine": "high", "low_pressure": "medium", "night_flow": "medium",
            "reservoir_overflow": "medium", "silent_sensor": "low"}
BAD = OUT_OF_RANGE | CLOCK_SKEW  # observations with these flags are never evidence

# keys a scheme may override in attributes.alert_thresholds (null disables that condition for the scheme)
SCHEME_KEYS = ("no_supply_hours", "min_pressure_bar", "min_chlorine_mg_l", "night_flow_m3_h",
               "reservoir_max_level_m")


@dataclass(frozen=True)
class Thresholds:
    no_supply_hours: float | None = 24
    min_pressure_bar: float | None = 0.7
    min_chlorine_mg_l: float | None = 0.2
    night_flow_m3_h: float | None = 1.0
    reservoir_max_level_m: float | None = 4.5
    min_flow_m3_h: float = 0.1
    night_start: str = "01:00"
    night_end: str = "04:00"
    lookback_days: int = 7
    silent_factor: float = 3.0
    timezone: str = "Asia/Kolkata"

    @classmethod
    def from_settings(cls, s: Any) -> Thresholds:
        return cls(no_supply_hours=s.alert_no_supply_hours, min_pressure_bar=s.alert_min_pressure_bar,
                   min_chlorine_mg_l=s.alert_min_chlorine_mg_l, night_flow_m3_h=s.alert_night_flow_m3_h,
                   reservoir_max_level_m=s.alert_reservoir_max_level_m, min_flow_m3_h=s.alert_min_flow_m3_h,
                   night_start=s.alert_night_start, night_end=s.alert_night_end, lookback_days=s.alert_lookback_days,
                   silent_factor=s.telemetry_silent_factor, timezone=s.telemetry_timezone)

    def for_scheme(self, attributes: dict[str, Any] | None) -> Thresholds:
        """The node defaults with the scheme's ``attributes.alert_thresholds`` applied (numbers, or null to
        disable; anything else is ignored)."""
        given = (attributes or {}).get("alert_thresholds")
        if not isinstance(given, dict):
            return self
        changes = {}
        for key in SCHEME_KEYS:
            if key in given:
                value = given[key]
                if value is None or (isinstance(value, int | float) and not isinstance(value, bool) and value >= 0):
                    changes[key] = None if value is None else float(value)
        return replace(self, **changes) if changes else self


@dataclass
class Finding:
    key: str
    kind: str
    lgd_path: str
    value: float | None
    threshold: float | None
    unit: str | None
    scheme_id: uuid.UUID | None = None
    component_id: uuid.UUID | None = None
    datastream_id: uuid.UUID | None = None
    village_id: uuid.UUID | None = None
    details: dict[str, Any] = field(default_factory=dict)


@dataclass
class _Result:
    findings: dict[str, Finding] = field(default_factory=dict)
    cleared: set[str] = field(default_factory=set)

    def judge(self, finding: Finding, violated: bool) -> None:
        if violated:
            self.findings[finding.key] = finding
        else:
            self.cleared.add(finding.key)


def routing(path: str) -> list[dict[str, str]]:
    """The responsible operator (vwsc_operator at the gram panchayat) and engineer (block_official at the block)
    of a path; a level missing from the path is not routed."""
    out, prefix = [], "/"
    for seg in path.strip("/").split("/"):
        prefix += seg + "/"
        if seg.startswith("B"):
            out.append({"role": "block_official", "path": prefix})
        elif seg.startswith("G"):
            out.append({"role": "vwsc_operator", "path": prefix})
    return sorted(out, key=lambda r: -len(r["path"]))


# ------------------------------------------------------------------------------------------------------- conditions

def _streams(session: Session) -> dict[uuid.UUID, Any]:
    """Every datastream with its component, village and scheme (one query)."""
    q = (select(Datastream.id, Datastream.observed_property, Datastream.lgd_path, Datastream.unit_symbol,
                Datastream.name, Component.id.label("component_id"), Component.village_id, Scheme.id.label("scheme_id"),
                Scheme.attributes)
         .join(Thing, Thing.id == Datastream.thing_id)
         .join(Component, Component.id == Thing.component_id)
         .join(Scheme, Scheme.id == Component.scheme_id)
         .where(Component.deleted_at.is_(None), Scheme.deleted_at.is_(None)))
    return {row.id: row for row in session.execute(q)}


def _stream_finding(kind: str, ds: Any, value: float | None, threshold: float | None, unit: str | None,
                    **details: Any) -> Finding:
    return Finding(f"{kind}:datastream:{ds.id}", kind, ds.lgd_path, value, threshold, unit, ds.scheme_id,
                   ds.component_id, ds.id, ds.village_id, {"datastream": ds.name, **details})


LATEST_RULES = {  # observed property -> (kind, threshold field, violated when value is ... the threshold)
    "pressure": ("low_pressure", "min_pressure_bar", "below"),
    "residual_chlorine": ("low_chlorine", "min_chlorine_mg_l", "below"),
    "reservoir_level": ("reservoir_overflow", "reservoir_max_level_m", "above"),
}


def _latest_conditions(session: Session, streams: dict, th: Thresholds, out: _Result) -> None:
    q = (select(LatestValue.datastream_id, LatestValue.result, LatestValue.quality, LatestValue.phenomenon_time)
         .join(Datastream, Datastream.id == LatestValue.datastream_id)
         .where(Datastream.observed_property.in_(list(LATEST_RULES))))
    for row in session.execute(q):
        ds = streams.get(row.datastream_id)
        if ds is None:
            continue
        kind, name, direction = LATEST_RULES[ds.observed_property]
        limit = getattr(th.for_scheme(ds.attributes), name)
        finding = _stream_finding(kind, ds, row.result, limit, ds.unit_symbol,
                                  observed_at=as_utc(row.phenomenon_time).isoformat())
        if limit is None:
            out.cleared.add(finding.key)
        elif row.quality & BAD:
            continue  # a flagged value is no evidence either way: the alert stays as it is
        else:
            out.judge(finding, row.result < limit if direction == "below" else row.result > limit)


def _flow_no_supply(session: Session, streams: dict, th: Thresholds, now: dt.datetime, out: _Result) -> None:
    since = now - dt.timedelta(days=th.lookback_days)
    obs = Observation
    q = (select(obs.datastream_id, func.max(obs.phenomenon_time).label("last_obs"),
                func.max(case((obs.result > th.min_flow_m3_h, obs.phenomenon_time))).label("last_flow"))
         .join(Datastream, Datastream.id == obs.datastream_id)
         .where(Datastream.observed_property == "flow_rate", obs.phenomenon_time >= since,
                obs.phenomenon_time <= now, obs.quality.op("&")(BAD) == 0)
         .group_by(obs.datastream_id))
    for row in session.execute(q):
        ds = streams.get(row.datastream_id)
        if ds is None:
            continue
        hours = th.for_scheme(ds.attributes).no_supply_hours
        last_obs, last_flow = as_utc(row.last_obs), as_utc(row.last_flow)
        start = last_flow or since
        value = round((now - start).total_seconds() / 3600, 2)
        finding = _stream_finding("no_supply", ds, value, hours, "h", source="telemetry",
                                  last_flow_at=last_flow.isoformat() if last_flow else None)
        if hours is None:
            out.cleared.add(finding.key)
        elif last_obs < now - dt.timedelta(hours=hours):
            continue  # the meter itself is not reporting: silent_sensor, not evidence of no supply
        else:
            out.judge(finding, value > hours)


def last_night(now: dt.datetime, th: Thresholds) -> tuple[dt.datetime, dt.datetime]:
    """The last complete night window (local time in ``th.timezone``), as UTC instants."""
    tz = zoneinfo.ZoneInfo(th.timezone)
    start_t, end_t = dt.time.fromisoformat(th.night_start), dt.time.fromisoformat(th.night_end)
    local = now.astimezone(tz)
    for back in range(0, 3):
        day = local.date() - dt.timedelta(days=back)
        start = dt.datetime.combine(day, start_t, tz)
        end = dt.datetime.combine(day + dt.timedelta(days=1 if end_t <= start_t else 0), end_t, tz)
        if end <= local:
            return start.astimezone(dt.UTC), end.astimezone(dt.UTC)
    raise AssertionError("unreachable")


def _night_flow(session: Session, streams: dict, th: Thresholds, now: dt.datetime, out: _Result) -> None:
    start, end = last_night(now, th)
    obs = Observation
    q = (select(obs.datastream_id, func.min(obs.result).label("mnf"), func.count().label("n"))
         .join(Datastream, Datastream.id == obs.datastream_id)
         .where(Datastream.observed_property == "flow_rate", obs.phenomenon_time >= start,
                obs.phenomenon_time < end, obs.quality.op("&")(BAD) == 0)
         .group_by(obs.datastream_id))
    for row in session.execute(q):
        ds = streams.get(row.datastream_id)
        if ds is None:
            continue
        limit = th.for_scheme(ds.attributes).night_flow_m3_h
        finding = _stream_finding("night_flow", ds, row.mnf, limit, ds.unit_symbol, night_from=start.isoformat(),
                                  night_to=end.isoformat(), readings=row.n)
        if limit is None:
            out.cleared.add(finding.key)
        else:
            out.judge(finding, row.mnf > limit)


def _silent(session: Session, streams: dict, th: Thresholds, now: dt.datetime, out: _Result) -> None:
    admin = Principal(ACTOR, "system", (Grant("node_admin", "/"),), {"node_admin": frozenset({"telemetry:read"})})
    silent = {s.datastream_id: s for s in silent_datastreams(
        session, admin, now, config=TelemetryConfig(timezone=th.timezone, silent_factor=th.silent_factor))}
    for ds_id in session.execute(select(Datastream.id).where(Datastream.expected_interval_s.is_not(None))).scalars():
        ds = streams.get(ds_id)
        if ds is None:
            continue
        s = silent.get(ds_id)
        if s is None:
            out.cleared.add(f"silent_sensor:datastream:{ds_id}")
            continue
        value = round(s.silent_for_s / 3600, 2) if s.silent_for_s is not None else None
        out.judge(_stream_finding("silent_sensor", ds, value, round(th.silent_factor * s.expected_interval_s / 3600, 4),
                                  "h", last_observed_at=s.last_phenomenon_time.isoformat()
                                  if s.last_phenomenon_time else None), True)


def _supply_end(r: Any, tz: zoneinfo.ZoneInfo) -> dt.datetime:
    """When a supplied record's supply ended (local times); unknown times count as the end of its day."""
    day = r.supply_date
    if r.start_time is not None and r.end_time is not None:
        end = dt.datetime.combine(day, r.end_time, tz)
        return end + dt.timedelta(days=1) if r.end_time <= r.start_time else end
    if r.start_time is not None and r.hours_of_supply:
        return dt.datetime.combine(day, r.start_time, tz) + dt.timedelta(hours=r.hours_of_supply)
    return dt.datetime.combine(day + dt.timedelta(days=1), dt.time(0), tz)


def _record_conditions(session: Session, th: Thresholds, now: dt.datetime, out: _Result) -> None:
    tz = zoneinfo.ZoneInfo(th.timezone)
    first_day = now.astimezone(tz).date() - dt.timedelta(days=th.lookback_days)
    window_start = dt.datetime.combine(first_day, dt.time(0), tz)
    q = (select(SupplyRecord.scheme_id, SupplyRecord.village_id, SupplyRecord.lgd_path, SupplyRecord.supply_date,
                SupplyRecord.supplied, SupplyRecord.start_time, SupplyRecord.end_time, SupplyRecord.hours_of_supply,
                SupplyRecord.chlorinated, SupplyRecord.tail_end_residual_chlorine_mg_l.label("chlorine"),
                Scheme.attributes)
         .join(Scheme, Scheme.id == SupplyRecord.scheme_id)
         .where(SupplyRecord.deleted_at.is_(None), Scheme.deleted_at.is_(None),
                SupplyRecord.supply_date >= first_day)
         .order_by(SupplyRecord.scheme_id, SupplyRecord.village_id, SupplyRecord.supply_date))
    pairs: dict[tuple, list] = {}
    for r in session.execute(q):
        pairs.setdefault((r.scheme_id, r.village_id), []).append(r)
    for (scheme_id, village_id), rows in pairs.items():
        last = rows[-1]
        sth = th.for_scheme(last.attributes)
        subject = f"supply:{scheme_id}:{village_id}"
        ends = [_supply_end(r, tz) for r in rows if r.supplied]
        last_end = max(ends) if ends else None
        value = round((now - (last_end or window_start)).total_seconds() / 3600, 2)
        finding = Finding(f"no_supply:{subject}", "no_supply", last.lgd_path, value, sth.no_supply_hours, "h",
                          scheme_id, None, None, village_id,
                          {"source": "supply_records", "last_supply_end": last_end.isoformat() if last_end else None,
                           "last_record_date": last.supply_date.isoformat()})
        if sth.no_supply_hours is None:
            out.cleared.add(finding.key)
        else:
            out.judge(finding, value > sth.no_supply_hours)
        readings = [r for r in rows if r.chlorinated and r.chlorine is not None]
        if readings:
            r = readings[-1]
            finding = Finding(f"low_chlorine:{subject}", "low_chlorine", r.lgd_path, r.chlorine, sth.min_chlorine_mg_l,
                              "mg/L", scheme_id, None, None, village_id,
                              {"source": "supply_records", "supply_date": r.supply_date.isoformat()})
            if sth.min_chlorine_mg_l is None:
                out.cleared.add(finding.key)
            else:
                out.judge(finding, r.chlorine < sth.min_chlorine_mg_l)


# ------------------------------------------------------------------------------------------------------- evaluation

def _snapshot(a: dict[str, Any]) -> dict[str, Any]:
    return {k: a[k] for k in ("id", "kind", "severity", "status", "dedup_key", "scheme_id", "component_id",
                              "datastream_id", "village_id", "lgd_path", "value", "threshold", "unit", "routed_to",
                              "opened_at", "last_seen_at", "closed_at", "acknowledged_at", "acknowledged_by",
                              "version")}


def _change(session: Session, row: dict[str, Any], operation: str, now: dt.datetime, changes: dict | None,
            actor: str = ACTOR) -> None:
    record(session, PendingChange("alerts", row["id"], operation, row["version"], actor, None, now, row["lgd_path"],
                                  _snapshot(row), changes))


def evaluate_alerts(session: Session, now: dt.datetime | None = None, *,
                    thresholds: Thresholds | None = None) -> dict[str, int]:
    """Run every condition over the whole node and open, refresh or close alerts. Flushes; the caller commits."""
    th = thresholds or Thresholds()
    now = (now or utcnow()).astimezone(dt.UTC)
    out = _Result()
    streams = _streams(session)
    _latest_conditions(session, streams, th, out)
    _flow_no_supply(session, streams, th, now, out)
    _night_flow(session, streams, th, now, out)
    _silent(session, streams, th, now, out)
    _record_conditions(session, th, now, out)

    cols = [c.key for c in Alert.__table__.columns]
    open_rows = {r.dedup_key: dict(r._mapping) for r in session.execute(
        select(*Alert.__table__.columns).where(Alert.status == "open"))}
    new_rows, refresh, close = [], [], []
    for key, f in out.findings.items():
        row = open_rows.get(key)
        if row is None:
            new_rows.append({"id": new_id(), "kind": f.kind, "severity": SEVERITY[f.kind], "status": "open",
                             "dedup_key": key, "scheme_id": f.scheme_id, "component_id": f.component_id,
                             "datastream_id": f.datastream_id, "village_id": f.village_id, "lgd_path": f.lgd_path,
                             "value": f.value, "threshold": f.threshold, "unit": f.unit, "details": f.details,
                             "routed_to": routing(f.lgd_path), "opened_at": now, "last_seen_at": now,
                             "closed_at": None, "acknowledged_at": None, "acknowledged_by": None, "version": 1})
        else:
            changes = {"last_seen_at": now}
            if row["value"] != f.value:
                changes["value"] = f.value
            if row["threshold"] != f.threshold:
                changes["threshold"] = f.threshold
            row.update(changes, details=f.details, version=row["version"] + 1)
            refresh.append(row)
            _change(session, row, "update", now, changes)
    for key in out.cleared - set(out.findings):
        row = open_rows.get(key)
        if row is not None:
            row.update(status="closed", closed_at=now, last_seen_at=row["last_seen_at"], version=row["version"] + 1)
            close.append(row)
            _change(session, row, "update", now, {"status": "closed", "closed_at": now})
    if new_rows:
        bulk_insert(session, Alert.__table__, [{c: r[c] for c in cols} for r in new_rows])
        for row in new_rows:
            _change(session, row, "create", now, None)
    changed = refresh + close
    if changed:
        session.execute(update(Alert), [{k: r[k] for k in ("id", "status", "closed_at", "last_seen_at", "value",
                                                             "threshold", "details", "version")} for r in changed])
    session.flush()
    return {"opened": len(new_rows), "refreshed": len(refresh), "closed": len(close),
            "open": len(open_rows) + len(new_rows) - len(close)}


# ------------------------------------------------------------------------------------------------------- reading

def to_dict(a: Alert) -> dict[str, Any]:
    def iso(v: dt.datetime | None) -> str | None:
        return as_utc(v).isoformat() if v is not None else None

    return {"id": str(a.id), "kind": a.kind, "severity": a.severity, "status": a.status, "dedup_key": a.dedup_key,
            "scheme_id": str(a.scheme_id) if a.scheme_id else None,
            "component_id": str(a.component_id) if a.component_id else None,
            "datastream_id": str(a.datastream_id) if a.datastream_id else None,
            "village_id": str(a.village_id) if a.village_id else None, "lgd_path": a.lgd_path,
            "value": a.value, "threshold": a.threshold, "unit": a.unit, "details": a.details,
            "routed_to": a.routed_to, "opened_at": iso(a.opened_at), "last_seen_at": iso(a.last_seen_at),
            "closed_at": iso(a.closed_at), "acknowledged_at": iso(a.acknowledged_at),
            "acknowledged_by": a.acknowledged_by, "version": a.version}


def get_alert(session: Session, principal: Principal, alert_id: uuid.UUID | None) -> Alert:
    if principal.is_anonymous:
        raise Unauthenticated("sign in to read alerts")
    found = None if alert_id is None else session.execute(select(Alert).where(
        Alert.id == alert_id, scope_clause(Alert.lgd_path, principal.scope(READ)))).scalar_one_or_none()
    if found is None:
        raise NotFound(f"alert {alert_id} not found")
    return found


def acknowledge(session: Session, principal: Principal, alert_id: uuid.UUID | None, note: str | None = None,
                now: dt.datetime | None = None) -> Alert:
    """Record who acknowledged an open alert (anyone who may read it). Acknowledging twice keeps the first."""
    alert = get_alert(session, principal, alert_id)
    if alert.status != "open":
        raise Conflict("the alert is closed", code="alert_closed")
    if alert.acknowledged_at is None:
        now = (now or utcnow()).astimezone(dt.UTC)
        alert.acknowledged_at, alert.acknowledged_by = now, principal.subject
        alert.details = {**(alert.details or {}), **({"acknowledge_note": note} if note else {})}
        alert.version += 1
        session.flush()
        row = {c.key: getattr(alert, c.key) for c in Alert.__table__.columns}
        _change(session, row, "update", now, {"acknowledged_at": now, "acknowledged_by": principal.subject},
                actor=principal.subject)
    return alert


__all__ = ["Alert", "Finding", "KINDS", "READ", "Thresholds", "acknowledge", "evaluate_alerts", "get_alert",
           "last_night", "routing", "to_dict"]
