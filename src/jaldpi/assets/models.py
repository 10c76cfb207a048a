from __future__ import annotations

import datetime as dt
import uuid
from decimal import Decimal
from typing import Any

from sqlalchemy import Boolean, Date, Float, ForeignKey, Integer, Numeric, String, Uuid
from sqlalchemy.orm import Mapped, mapped_column

from jaldpi.core.models import Base, JsonType, RecordMixin


class Scheme(RecordMixin, Base):
    __tablename__ = "schemes"

    name: Mapped[str] = mapped_column(String(200))
    scheme_type: Mapped[str] = mapped_column(String(8), index=True)
    village_ids: Mapped[list[str]] = mapped_column(JsonType, default=list)
    habitation_ids: Mapped[list[str]] = mapped_column(JsonType, default=list)
    implementing_agency_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, ForeignKey("entities.id"))
    sanctioned_cost_inr: Mapped[Decimal | None] = mapped_column(Numeric(16, 2))
    sanctioned_on: Mapped[dt.date | None] = mapped_column(Date)
    design_population: Mapped[int | None] = mapped_column(Integer)
    design_lpcd: Mapped[int] = mapped_column(Integer, default=55)
    lifecycle_status: Mapped[str] = mapped_column(String(24), index=True)
    commissioned_on: Mapped[dt.date | None] = mapped_column(Date)
    handed_over_on: Mapped[dt.date | None] = mapped_column(Date)
    is_functional: Mapped[bool | None] = mapped_column(Boolean)
    attributes: Mapped[dict[str, Any]] = mapped_column(JsonType, default=dict)


class Component(RecordMixin, Base):
    __tablename__ = "components"

    scheme_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("schemes.id"), index=True)
    component_type: Mapped[str] = mapped_column(String(32), index=True)
    name: Mapped[str | None] = mapped_column(String(200))
    village_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, ForeignKey("admin_units.id"), index=True)
    upstream_ids: Mapped[list[str]] = mapped_column(JsonType, default=list)
    water_source_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, ForeignKey("natural_resources.id"))
    household_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, ForeignKey("households.id"), index=True)
    geometry: Mapped[dict[str, Any] | None] = mapped_column(JsonType)
    longitude: Mapped[float | None] = mapped_column(Float)
    latitude: Mapped[float | None] = mapped_column(Float)
    capacity_kl: Mapped[float | None] = mapped_column(Float)
    diameter_mm: Mapped[float | None] = mapped_column(Float)
    length_m: Mapped[float | None] = mapped_column(Float)
    installed_on: Mapped[dt.date | None] = mapped_column(Date)
    is_functional: Mapped[bool | None] = mapped_column(Boolean)
    attributes: Mapped[dict[str, Any]] = mapped_column(JsonType, default=dict)
