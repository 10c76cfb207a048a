"""Supply records: one row per scheme, village and day (what was supplied, when, how much, how chlorinated)."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

from sqlalchemy import Boolean, Date, Float, ForeignKey, Index, Integer, String, Time, UniqueConstraint, Uuid
from sqlalchemy.orm import Mapped, mapped_column

from jaldpi.core.models import Base, JsonType, RecordMixin


class SupplyRecord(RecordMixin, Base):
    """Daily supply of one scheme to one village (entered by the VWSC operator, a partner system, or telemetry).

    ``hours_of_supply``, ``start_offset_minutes``, ``duration_share`` and ``chlorinated`` are derived on write
    (see registry.py), so that service levels are computed set-based in SQL with the node's current tolerances.
    """

    __tablename__ = "supply_records"
    __table_args__ = (
        UniqueConstraint("scheme_id", "village_id", "supply_date"),
        Index("ix_supply_records_village_date", "village_id", "supply_date"),
    )

    scheme_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("schemes.id"), index=True)
    village_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("admin_units.id"))
    supply_date: Mapped[dt.date] = mapped_column(Date, index=True)
    supplied: Mapped[bool] = mapped_column(Boolean)
    start_time: Mapped[dt.time | None] = mapped_column(Time)
    end_time: Mapped[dt.time | None] = mapped_column(Time)
    scheduled_start: Mapped[dt.time | None] = mapped_column(Time)
    scheduled_end: Mapped[dt.time | None] = mapped_column(Time)
    schedule_source: Mapped[str | None] = mapped_column(String(16))  # record | scheme | None
    volume_supplied_kl: Mapped[float | None] = mapped_column(Float)
    tail_end_residual_chlorine_mg_l: Mapped[float | None] = mapped_column(Float)
    reason_no_supply: Mapped[str | None] = mapped_column(String(32))
    source: Mapped[str] = mapped_column(String(16), default="operator")
    notes: Mapped[str | None] = mapped_column(String(500))
    # derived on write
    hours_of_supply: Mapped[float | None] = mapped_column(Float)
    start_offset_minutes: Mapped[int | None] = mapped_column(Integer)  # actual - scheduled start, in -720..719
    duration_share: Mapped[float | None] = mapped_column(Float)  # actual / scheduled duration
    chlorinated: Mapped[bool] = mapped_column(Boolean, default=False)
    attributes: Mapped[dict[str, Any]] = mapped_column(JsonType, default=dict)
