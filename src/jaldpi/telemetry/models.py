"""Telemetry tables on the OGC SensorThings API v1.1 model (docs/service_delivery.md, "Telemetry").

Things are scheme components (``component_id``) and copy the component's ``lgd_path``, so jurisdiction is one
prefix filter as everywhere else; datastreams copy their thing's path too. ObservedProperties are the
``observed_properties`` code list (no table). Observations are append-only facts, unique on
(datastream, phenomenon time) so a replayed message never duplicates; the latest value and the daily rollups are
derived tables maintained set-based by :mod:`jaldpi.telemetry.ingest` (never by triggers).
"""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

from sqlalchemy import (
    Date,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    SmallInteger,
    String,
    Text,
    UniqueConstraint,
    Uuid,
)
from sqlalchemy.orm import Mapped, mapped_column

from jaldpi.core.models import Base, BigIntPK, JsonType, utcnow

# result_quality bits (an observation may carry several)
OUT_OF_RANGE = 1
CLOCK_SKEW = 2
DUPLICATE_CONFLICT = 4
FLAG_CODES = {OUT_OF_RANGE: "out_of_range", CLOCK_SKEW: "clock_skew", DUPLICATE_CONFLICT: "duplicate_conflict"}


def flag_codes(bits: int | None) -> list[str]:
    return [code for bit, code in FLAG_CODES.items() if (bits or 0) & bit]


class Thing(Base):
    __tablename__ = "telemetry_things"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text, default="")
    properties: Mapped[dict[str, Any]] = mapped_column(JsonType, default=dict)
    component_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("components.id"), index=True)
    lgd_path: Mapped[str] = mapped_column(String(255), index=True)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    created_by: Mapped[str | None] = mapped_column(String(120))


class Location(Base):
    __tablename__ = "telemetry_locations"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    thing_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("telemetry_things.id"), index=True)
    name: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text, default="")
    encoding_type: Mapped[str] = mapped_column(String(64), default="application/geo+json")
    location: Mapped[dict[str, Any]] = mapped_column(JsonType)  # a GeoJSON geometry
    lgd_path: Mapped[str] = mapped_column(String(255), index=True)


class Sensor(Base):
    """A sensor model or procedure; shared metadata, not bound to a place (any telemetry:read may see it)."""

    __tablename__ = "telemetry_sensors"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text, default="")
    encoding_type: Mapped[str] = mapped_column(String(64), default="text/plain")
    sensor_metadata: Mapped[str] = mapped_column("metadata", Text, default="")
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class Datastream(Base):
    __tablename__ = "telemetry_datastreams"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    thing_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("telemetry_things.id"), index=True)
    sensor_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("telemetry_sensors.id"), index=True)
    observed_property: Mapped[str] = mapped_column(String(32), index=True)  # code of observed_properties
    name: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text, default="")
    unit_name: Mapped[str] = mapped_column(String(64))
    unit_symbol: Mapped[str] = mapped_column(String(32))
    unit_definition: Mapped[str | None] = mapped_column(String(255))
    expected_interval_s: Mapped[int | None] = mapped_column(Integer)
    valid_min: Mapped[float | None] = mapped_column(Float)
    valid_max: Mapped[float | None] = mapped_column(Float)
    properties: Mapped[dict[str, Any]] = mapped_column(JsonType, default=dict)
    lgd_path: Mapped[str] = mapped_column(String(255), index=True)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class Observation(Base):
    __tablename__ = "telemetry_observations"
    __table_args__ = (
        UniqueConstraint("datastream_id", "phenomenon_time", name="uq_telemetry_observations_stream_time"),
        Index("ix_telemetry_observations_stream_day", "datastream_id", "local_day"),
    )

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    datastream_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("telemetry_datastreams.id"))
    phenomenon_time: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    result_time: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    result: Mapped[float] = mapped_column(Float)
    quality: Mapped[int] = mapped_column(SmallInteger, default=0)  # bits: see FLAG_CODES
    parameters: Mapped[dict[str, Any] | None] = mapped_column(JsonType)
    local_day: Mapped[dt.date] = mapped_column(Date)  # calendar day of phenomenon_time in telemetry_timezone
    received_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class ObservationConflict(Base):
    """A later observation for an existing (datastream, phenomenon time) with a different result: kept here, and
    the stored observation is flagged duplicate_conflict (first write wins the observation row)."""

    __tablename__ = "telemetry_observation_conflicts"

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    observation_id: Mapped[int] = mapped_column(BigIntPK, ForeignKey("telemetry_observations.id"), index=True)
    datastream_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    phenomenon_time: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    result: Mapped[float] = mapped_column(Float)
    result_time: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    parameters: Mapped[dict[str, Any] | None] = mapped_column(JsonType)
    received_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    received_by: Mapped[str | None] = mapped_column(String(120))


class LatestValue(Base):
    __tablename__ = "telemetry_latest"

    datastream_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("telemetry_datastreams.id"), primary_key=True)
    observation_id: Mapped[int] = mapped_column(BigIntPK)
    phenomenon_time: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    result: Mapped[float] = mapped_column(Float)
    quality: Mapped[int] = mapped_column(SmallInteger, default=0)
    updated_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))


class DailyRollup(Base):
    __tablename__ = "telemetry_daily_rollups"

    datastream_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("telemetry_datastreams.id"), primary_key=True)
    day: Mapped[dt.date] = mapped_column(Date, primary_key=True)
    count: Mapped[int] = mapped_column(Integer)
    min: Mapped[float | None] = mapped_column(Float)
    max: Mapped[float | None] = mapped_column(Float)
    sum: Mapped[float | None] = mapped_column(Float)
    first: Mapped[float | None] = mapped_column(Float)
    last: Mapped[float | None] = mapped_column(Float)
    flagged: Mapped[int] = mapped_column(Integer, default=0)
    updated_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
