from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

from sqlalchemy import Boolean, DateTime, Float, ForeignKey, String, Uuid
from sqlalchemy.orm import Mapped, mapped_column

from jaldpi.core.models import Base, JsonType, RecordMixin


class SamplingPoint(RecordMixin, Base):
    """Where water is sampled: a source, a plant outlet, a reservoir, a tap, a school or anganwadi."""

    __tablename__ = "sampling_points"

    name: Mapped[str | None] = mapped_column(String(200))
    point_type: Mapped[str] = mapped_column(String(32), index=True)
    admin_unit_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("admin_units.id"), index=True)
    water_source_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, ForeignKey("natural_resources.id"))
    component_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, ForeignKey("components.id"))
    geometry: Mapped[dict[str, Any] | None] = mapped_column(JsonType)
    longitude: Mapped[float | None] = mapped_column(Float)
    latitude: Mapped[float | None] = mapped_column(Float)
    is_chlorinated: Mapped[bool] = mapped_column(Boolean, default=False)
    alternate_source_available: Mapped[bool] = mapped_column(Boolean, default=False)
    attributes: Mapped[dict[str, Any]] = mapped_column(JsonType, default=dict)


class Sample(RecordMixin, Base):
    """A sample and its results, evaluated against the rule set on every write (the verdict columns are derived)."""

    __tablename__ = "samples"

    sampling_point_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("sampling_points.id"), index=True)
    test_kind: Mapped[str] = mapped_column(String(16), index=True)
    purpose: Mapped[str] = mapped_column(String(16), default="routine")
    related_sample_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, ForeignKey("samples.id"), index=True)
    lab_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, ForeignKey("entities.id"), index=True)
    collected_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), index=True)
    collected_by: Mapped[str | None] = mapped_column(String(120))
    tested_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    geometry: Mapped[dict[str, Any] | None] = mapped_column(JsonType)
    toxic_substances_suspected: Mapped[bool] = mapped_column(Boolean, default=False)
    viral_protection_required: Mapped[bool] = mapped_column(Boolean, default=False)
    results: Mapped[list[dict[str, Any]]] = mapped_column(JsonType, default=list)
    # derived on every write by the rule set
    season: Mapped[str] = mapped_column(String(16), index=True)
    verdict: Mapped[str] = mapped_column(String(16), index=True)
    contaminants: Mapped[list[str]] = mapped_column(JsonType, default=list)
    bacteriological_positive: Mapped[bool] = mapped_column(Boolean, default=False)
    requires_repeat_sample: Mapped[bool] = mapped_column(Boolean, default=False)
    source_rejected: Mapped[bool] = mapped_column(Boolean, default=False)
    chemical_tested: Mapped[bool] = mapped_column(Boolean, default=False)
    bacteriological_tested: Mapped[bool] = mapped_column(Boolean, default=False)
    ruleset_version: Mapped[str | None] = mapped_column(String(80))
    evaluation: Mapped[dict[str, Any] | None] = mapped_column(JsonType)
    attributes: Mapped[dict[str, Any]] = mapped_column(JsonType, default=dict)
