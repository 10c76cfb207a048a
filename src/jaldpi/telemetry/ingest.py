"""The one write path for observations (HTTP single, HTTP dataArray, MQTT) and the silent-sensor listing.

Per batch, whatever its size:

1. one query loads the batch's datastreams; a row whose datastream is missing or outside the caller's
   ``telemetry:write`` scope is an error row (the two are indistinguishable: no existence oracle);
2. each row is parsed and flagged in Python (out_of_range against the datastream's or the observed property's
   valid range, clock_skew against the node clock); the first occurrence of a (datastream, time) in the batch is
   staged, later ones are compared with it (same value: duplicate; other value: conflict);
3. the staged rows go into a TEMP table (COPY on PostgreSQL, executemany on SQLite), then ONE
   ``INSERT .. SELECT .. ON CONFLICT (datastream_id, phenomenon_time) DO NOTHING RETURNING`` writes the new ones;
4. one SELECT joins the stage with the stored observations: not returned + same value = duplicate; not returned +
   other value = conflict, kept in ``telemetry_observation_conflicts`` and the stored observation flagged
   ``duplicate_conflict`` (first write wins the observation row, nothing is dropped);
5. one statement upserts the latest value of every touched datastream (only moving forward in time) and one
   statement recomputes every touched (datastream, day) rollup from the observations with GROUP BY.

Services flush, never commit (the caller's unit of work commits).
"""

from __future__ import annotations

import datetime as dt
import math
import uuid
import zoneinfo
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import (
    Column,
    Date,
    DateTime,
    Float,
    Integer,
    MetaData,
    SmallInteger,
    Table,
    Uuid,
    bindparam,
    select,
    text,
    update,
)
from sqlalchemy.orm import Session

from jaldpi.core.bulkio import bulk_insert
from jaldpi.core.ids import parse_uuid
from jaldpi.core.models import JsonType, utcnow
from jaldpi.core.security import Principal, scope_clause
from jaldpi.standard.codelists import codelist
from jaldpi.telemetry.models import (
    CLOCK_SKEW,
    DUPLICATE_CONFLICT,
    OUT_OF_RANGE,
    Datastream,
    LatestValue,
    Observation,
    ObservationConflict,
)

WRITE = "telemetry:write"
READ = "telemetry:read"


@dataclass(frozen=True)
class TelemetryConfig:
    timezone: str = "Asia/Kolkata"
    future_skew_minutes: int = 10
    max_age_days: int = 400
    silent_factor: float = 3.0

    @classmethod
    def from_settings(cls, settings: Any) -> TelemetryConfig:
        return cls(timezone=settings.telemetry_timezone, future_skew_minutes=settings.telemetry_future_skew_minutes,
                   max_age_days=settings.telemetry_max_age_days, silent_factor=settings.telemetry_silent_factor)


@dataclass(frozen=True)
class ObservationIn:
    datastream_id: Any
    phenomenon_time: Any
    result: Any
    result_time: Any = None
    parameters: dict[str, Any] | None = None


@dataclass
class RowResult:
    status: str  # created | duplicate | conflict | error
    observation_id: int | None = None
    datastream_id: uuid.UUID | None = None
    error: str | None = None
    flags: int = 0


@dataclass
class IngestSummary:
    rows: list[RowResult] = field(default_factory=list)

    def count(self, status: str) -> int:
        return sum(1 for r in self.rows if r.status == status)


def observed_properties() -> dict[str, dict[str, Any]]:
    return {item["code"]: item for item in codelist("observed_properties")["items"]}


def parse_time(value: Any) -> dt.datetime:
    """ISO 8601 instant (offset required; ``Z`` accepted) -> aware UTC datetime. SensorThings intervals
    (``a/b``) are not accepted for phenomenonTime here."""
    if isinstance(value, dt.datetime):
        parsed = value
    elif isinstance(value, str) and value:
        parsed = dt.datetime.fromisoformat(value.replace("Z", "+00:00").replace("z", "+00:00"))
    else:
        raise ValueError("expected an ISO 8601 time with offset")
    if parsed.tzinfo is None:
        raise ValueError("time must carry a UTC offset (e.g. 2026-11-27T10:00:00+05:30 or ...Z)")
    return parsed.astimezone(dt.UTC)


def as_utc(value: dt.datetime | None) -> dt.datetime | None:
    """SQLite hands back naive datetimes (stored in UTC); make them aware."""
    if value is None:
        return None
    return value.replace(tzinfo=dt.UTC) if value.tzinfo is None else value.astimezone(dt.UTC)


def _stage_table(name: str) -> Table:
    return Table(
        name, MetaData(),
        Column("row_no", Integer),
        Column("datastream_id", Uuid),
        Column("phenomenon_time", DateTime(timezone=True)),
        Column("result_time", DateTime(timezone=True)),
        Column("result", Float),
        Column("quality", SmallInteger),
        Column("parameters", JsonType),
        Column("local_day", Date),
        prefixes=["TEMPORARY"],
    )


def ingest(session: Session, principal: Principal, rows: Sequence[ObservationIn | tuple | dict], *,
           config: TelemetryConfig | None = None, now: dt.datetime | None = None) -> IngestSummary:
    """Write a batch of observations; return one result per input row, in order."""
    config = config or TelemetryConfig()
    now = (now or utcnow()).astimezone(dt.UTC)
    tz = zoneinfo.ZoneInfo(config.timezone)
    future_limit = now + dt.timedelta(minutes=config.future_skew_minutes)
    past_limit = now - dt.timedelta(days=config.max_age_days)
    props = observed_properties()
    items = [_coerce(r) for r in rows]
    summary = IngestSummary([RowResult("error") for _ in items])

    # 1. datastreams of the batch, within the caller's write scope
    wanted = {parse_uuid(str(i.datastream_id)) for i in items if i.datastream_id is not None} - {None}
    streams: dict[uuid.UUID, Any] = {}
    if wanted:
        scope = principal.scope(WRITE)
        for chunk in _chunks(sorted(wanted), 5000):
            for ds in session.execute(
                    select(Datastream.id, Datastream.observed_property, Datastream.valid_min, Datastream.valid_max)
                    .where(Datastream.id.in_(chunk), scope_clause(Datastream.lgd_path, scope))):
                streams[ds.id] = ds

    # 2. parse, flag, stage the first occurrence of each key
    staged: list[dict[str, Any]] = []
    first_of: dict[tuple[uuid.UUID, dt.datetime], int] = {}
    later: list[tuple[int, int]] = []  # (row, row of the first occurrence in this batch)
    for n, item in enumerate(items):
        out = summary.rows[n]
        ds_id = parse_uuid(str(item.datastream_id)) if item.datastream_id is not None else None
        ds = streams.get(ds_id) if ds_id else None
        if ds is None:
            out.error = f"datastream {item.datastream_id} not found"
            continue
        out.datastream_id = ds_id
        try:
            ptime = parse_time(item.phenomenon_time)
        except (ValueError, TypeError) as exc:
            out.error = f"phenomenonTime: {exc}"
            continue
        try:
            rtime = parse_time(item.result_time) if item.result_time not in (None, "") else None
        except (ValueError, TypeError) as exc:
            out.error = f"resultTime: {exc}"
            continue
        result = item.result
        if isinstance(result, bool):
            result = float(result)
        if not isinstance(result, int | float) or not math.isfinite(result):
            out.error = "result: expected a finite number"
            continue
        if item.parameters is not None and not isinstance(item.parameters, dict):
            out.error = "parameters: expected an object"
            continue
        lo = ds.valid_min if ds.valid_min is not None else props.get(ds.observed_property, {}).get("valid_min")
        hi = ds.valid_max if ds.valid_max is not None else props.get(ds.observed_property, {}).get("valid_max")
        flags = 0
        if (lo is not None and result < lo) or (hi is not None and result > hi):
            flags |= OUT_OF_RANGE
        if ptime > future_limit or ptime < past_limit:
            flags |= CLOCK_SKEW
        out.flags = flags
        key = (ds_id, ptime)
        if key in first_of:
            later.append((n, first_of[key]))
            out.status = "pending"
            continue
        first_of[key] = n
        out.status = "pending"
        staged.append({"row_no": n, "datastream_id": ds_id, "phenomenon_time": ptime, "result_time": rtime,
                       "result": float(result), "quality": flags, "parameters": item.parameters,
                       "local_day": ptime.astimezone(tz).date()})
    if not staged:
        return summary

    # 3. stage (COPY / executemany) and insert the new ones in one statement
    conn = session.connection()
    dialect = conn.dialect.name
    stage = _stage_table(f"telemetry_stage_{uuid.uuid4().hex[:12]}")
    stage.create(conn)
    # the stage is dropped after success; on failure the rollback removes it (DDL is transactional)
    bulk_insert(session, stage, staged)
    obs = Observation.__table__
    cols = ["datastream_id", "phenomenon_time", "result_time", "result", "quality", "parameters", "local_day"]
    if dialect == "postgresql":
        from sqlalchemy.dialects.postgresql import insert as dialect_insert
    else:
        from sqlalchemy.dialects.sqlite import insert as dialect_insert
    source = select(*[stage.c[c] for c in cols], bindparam("received_at", now, type_=DateTime(timezone=True))) \
        .where(stage.c.row_no >= 0).order_by(stage.c.row_no)
    stmt = dialect_insert(obs).from_select([*cols, "received_at"], source) \
        .on_conflict_do_nothing(index_elements=["datastream_id", "phenomenon_time"]).returning(obs.c.id)
    created_ids = {row[0] for row in conn.execute(stmt)}

    # 4. classify against what is stored
    stored = conn.execute(
        select(stage.c.row_no, obs.c.id, obs.c.result, obs.c.quality)
        .join(obs, (obs.c.datastream_id == stage.c.datastream_id)
              & (obs.c.phenomenon_time == stage.c.phenomenon_time))).all()
    by_row = {r.row_no: r for r in stored}
    staged_by_row = {s["row_no"]: s for s in staged}
    conflicts: list[dict[str, Any]] = []
    for n, s in staged_by_row.items():
        r = by_row.get(n)
        out = summary.rows[n]
        if r is None:  # cannot happen inside one transaction; be explicit rather than silent
            out.status, out.error = "error", "not stored"
            continue
        out.observation_id = r.id
        if r.id in created_ids:
            out.status = "created"
        elif r.result == s["result"]:
            out.status = "duplicate"
        else:
            out.status = "conflict"
            conflicts.append(_conflict(r.id, s, now, principal))
    for n, first in later:
        out, s = summary.rows[n], staged_by_row[first]
        item = items[n]
        out.observation_id = summary.rows[first].observation_id
        if out.observation_id is None:
            out.status, out.error = "error", summary.rows[first].error
            continue
        stored_result = by_row[first].result
        if float(item.result) == stored_result:
            out.status = "duplicate"
        else:
            out.status = "conflict"
            conflicts.append(_conflict(out.observation_id, {**s, "result": float(item.result),
                                                            "parameters": item.parameters}, now, principal))
    if conflicts:
        bulk_insert(session, ObservationConflict.__table__, conflicts)
        flagged = sorted({c["observation_id"] for c in conflicts})
        for chunk in _chunks(flagged, 5000):
            conn.execute(update(obs).where(obs.c.id.in_(chunk))
                         .values(quality=obs.c.quality.op("|")(DUPLICATE_CONFLICT)))

    # 5. derived tables, one statement each for the whole batch
    _update_latest(conn, stage.name, now)
    _update_rollups(conn, stage.name, now)
    conn.execute(text(f'DROP TABLE "{stage.name}"'))
    return summary


def _conflict(observation_id: int, staged: dict[str, Any], now: dt.datetime, principal: Principal) -> dict[str, Any]:
    return {"observation_id": observation_id, "datastream_id": staged["datastream_id"],
            "phenomenon_time": staged["phenomenon_time"], "result": staged["result"],
            "result_time": staged["result_time"], "parameters": staged["parameters"], "received_at": now,
            "received_by": principal.subject}


_NOW = bindparam("now", type_=DateTime(timezone=True))


def _update_latest(conn, stage: str, now: dt.datetime) -> None:
    """Latest value per touched datastream: the batch's newest stored observation, applied only if it is not older
    than the current latest (replays and late data never move the latest value back)."""
    sql = text(f"""
        INSERT INTO telemetry_latest (datastream_id, observation_id, phenomenon_time, result, quality, updated_at)
        SELECT o.datastream_id, o.id, o.phenomenon_time, o.result, o.quality, :now
        FROM telemetry_observations o
        JOIN (SELECT datastream_id, MAX(phenomenon_time) AS pt FROM "{stage}" GROUP BY datastream_id) m
          ON o.datastream_id = m.datastream_id AND o.phenomenon_time = m.pt
        WHERE 1 = 1
        ON CONFLICT (datastream_id) DO UPDATE SET
          observation_id = excluded.observation_id, phenomenon_time = excluded.phenomenon_time,
          result = excluded.result, quality = excluded.quality, updated_at = excluded.updated_at
        WHERE excluded.phenomenon_time >= telemetry_latest.phenomenon_time
    """).bindparams(_NOW)
    conn.execute(sql, {"now": now})


def _update_rollups(conn, stage: str, now: dt.datetime) -> None:
    """Recompute every (datastream, day) the batch touched from the stored observations (GROUP BY), so a rollup is
    always exactly its day's observations, whatever order data arrived in."""
    sql = text(f"""
        INSERT INTO telemetry_daily_rollups
          (datastream_id, day, count, min, max, sum, first, last, flagged, updated_at)
        SELECT o.datastream_id, o.local_day, COUNT(*), MIN(o.result), MAX(o.result), SUM(o.result),
          (SELECT f.result FROM telemetry_observations f WHERE f.datastream_id = o.datastream_id
             AND f.local_day = o.local_day ORDER BY f.phenomenon_time ASC LIMIT 1),
          (SELECT l.result FROM telemetry_observations l WHERE l.datastream_id = o.datastream_id
             AND l.local_day = o.local_day ORDER BY l.phenomenon_time DESC LIMIT 1),
          SUM(CASE WHEN o.quality <> 0 THEN 1 ELSE 0 END), :now
        FROM (SELECT DISTINCT datastream_id, local_day FROM "{stage}") s
        JOIN telemetry_observations o ON o.datastream_id = s.datastream_id AND o.local_day = s.local_day
        GROUP BY o.datastream_id, o.local_day
        ON CONFLICT (datastream_id, day) DO UPDATE SET
          count = excluded.count, min = excluded.min, max = excluded.max, sum = excluded.sum,
          first = excluded.first, last = excluded.last, flagged = excluded.flagged, updated_at = excluded.updated_at
    """).bindparams(_NOW)
    conn.execute(sql, {"now": now})


def _coerce(row: ObservationIn | tuple | dict) -> ObservationIn:
    if isinstance(row, ObservationIn):
        return row
    if isinstance(row, dict):
        return ObservationIn(row.get("datastream_id"), row.get("phenomenon_time"), row.get("result"),
                             row.get("result_time"), row.get("parameters"))
    return ObservationIn(*row)


def _chunks(values: list, size: int) -> Iterable[list]:
    for i in range(0, len(values), size):
        yield values[i:i + size]


# ---------------------------------------------------------------------------------------------------- silent sensors

@dataclass
class SilentStream:
    datastream_id: uuid.UUID
    name: str
    lgd_path: str
    expected_interval_s: int
    last_phenomenon_time: dt.datetime | None
    silent_for_s: float | None  # None: never reported


def silent_datastreams(session: Session, principal: Principal, now: dt.datetime | None = None, *,
                       factor: float | None = None, config: TelemetryConfig | None = None,
                       within: str | None = None) -> list[SilentStream]:
    """Datastreams (with an expected interval, in the caller's ``telemetry:read`` scope) whose latest observation
    is older than ``factor`` x the expected interval, or that never reported."""
    config = config or TelemetryConfig()
    factor = config.silent_factor if factor is None else factor
    now = (now or utcnow()).astimezone(dt.UTC)
    query = (select(Datastream.id, Datastream.name, Datastream.lgd_path, Datastream.expected_interval_s,
                    LatestValue.phenomenon_time)
             .outerjoin(LatestValue, LatestValue.datastream_id == Datastream.id)
             .where(Datastream.expected_interval_s.is_not(None),
                    scope_clause(Datastream.lgd_path, principal.scope(READ)))
             .order_by(Datastream.lgd_path, Datastream.id))
    if within:
        query = query.where(Datastream.lgd_path.startswith(within, autoescape=True) if within.startswith("/")
                            else Datastream.lgd_path.contains("/" + within, autoescape=True))
    out = []
    for row in session.execute(query):
        last = as_utc(row.phenomenon_time)
        if last is None:
            out.append(SilentStream(row.id, row.name, row.lgd_path, row.expected_interval_s, None, None))
            continue
        age = (now - last).total_seconds()
        if age > factor * row.expected_interval_s:
            out.append(SilentStream(row.id, row.name, row.lgd_path, row.expected_interval_s, last, age))
    return out


__all__ = ["ObservationIn", "RowResult", "IngestSummary", "TelemetryConfig", "ingest", "silent_datastreams",
           "READ", "WRITE"]
