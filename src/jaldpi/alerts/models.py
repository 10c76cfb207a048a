"""The ``alerts`` table: one row per occurrence of a condition on a subject (a datastream, or a scheme and village).

At most one alert per ``dedup_key`` (kind + subject) is open at a time: a partial unique index on open rows
enforces it, so concurrent evaluators cannot open twice. A re-evaluation that still sees the condition moves
``last_seen_at`` (and the value); one that no longer sees it closes the alert.
"""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

from sqlalchemy import DateTime, Float, ForeignKey, Index, Integer, String, Uuid, text
from sqlalchemy.orm import Mapped, mapped_column

from jaldpi.core.models import Base, JsonType


class Alert(Base):
    __tablename__ = "alerts"
    __table_args__ = (
        Index("uq_alerts_open_dedup_key", "dedup_key", unique=True,
              sqlite_where=text("status = 'open'"), postgresql_where=text("status = 'open'")),
        Index("ix_alerts_status_kind", "status", "kind"),
    )

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    kind: Mapped[str] = mapped_column(String(32))
    severity: Mapped[str] = mapped_column(String(16))
    status: Mapped[str] = mapped_column(String(8))  # open | closed
    dedup_key: Mapped[str] = mapped_column(String(200), index=True)
    scheme_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, ForeignKey("schemes.id"), index=True)
    component_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, ForeignKey("components.id"))
    datastream_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, ForeignKey("telemetry_datastreams.id"))
    village_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, ForeignKey("admin_units.id"))
    lgd_path: Mapped[str] = mapped_column(String(255), index=True)
    value: Mapped[float | None] = mapped_column(Float)
    threshold: Mapped[float | None] = mapped_column(Float)
    unit: Mapped[str | None] = mapped_column(String(16))
    details: Mapped[dict[str, Any]] = mapped_column(JsonType, default=dict)
    routed_to: Mapped[list[dict[str, str]]] = mapped_column(JsonType, default=list)  # [{"role", "path"}]
    opened_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    last_seen_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    closed_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    acknowledged_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    acknowledged_by: Mapped[str | None] = mapped_column(String(120))
    version: Mapped[int] = mapped_column(Integer, default=1)
