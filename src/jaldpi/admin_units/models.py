from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

from sqlalchemy import Date, ForeignKey, Integer, String, UniqueConstraint, Uuid
from sqlalchemy.orm import Mapped, mapped_column

from jaldpi.core.models import Base, JsonType, RecordMixin


class AdminUnit(RecordMixin, Base):
    """One unit of the jurisdiction tree. ``(level, lgd_code)`` is unique: LGD codes are unique per level only."""

    __tablename__ = "admin_units"
    __table_args__ = (UniqueConstraint("level", "lgd_code", name="uq_admin_units_level_lgd_code"),)

    level: Mapped[str] = mapped_column(String(32), index=True)
    lgd_code: Mapped[int | None] = mapped_column(Integer, index=True)
    lgd_version: Mapped[int | None] = mapped_column(Integer)
    name: Mapped[str] = mapped_column(String(200))
    name_local: Mapped[str | None] = mapped_column(String(200))
    parent_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, ForeignKey("admin_units.id"), index=True)
    subdistrict_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, ForeignKey("admin_units.id"))
    census2011_code: Mapped[str | None] = mapped_column(String(16))
    census2001_code: Mapped[str | None] = mapped_column(String(16))
    valid_from: Mapped[dt.date | None] = mapped_column(Date)
    valid_to: Mapped[dt.date | None] = mapped_column(Date)
    attributes: Mapped[dict[str, Any]] = mapped_column(JsonType, default=dict)
