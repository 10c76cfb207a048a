from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

from sqlalchemy import Boolean, Date, ForeignKey, Integer, String, Uuid
from sqlalchemy.orm import Mapped, mapped_column

from jaldpi.core.models import Base, JsonType, RecordMixin


class Entity(RecordMixin, Base):
    __tablename__ = "entities"

    entity_type: Mapped[str] = mapped_column(String(48), index=True)
    name: Mapped[str] = mapped_column(String(200))
    admin_unit_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("admin_units.id"), index=True)
    status: Mapped[str] = mapped_column(String(24), default="active")
    registration_number: Mapped[str | None] = mapped_column(String(100))
    formed_on: Mapped[dt.date | None] = mapped_column(Date)
    contact_email: Mapped[str | None] = mapped_column(String(200))
    contact_phone: Mapped[str | None] = mapped_column(String(20))
    members: Mapped[list[dict[str, Any]]] = mapped_column(JsonType, default=list)
    member_count: Mapped[int] = mapped_column(Integer, default=0)
    women_members: Mapped[int] = mapped_column(Integer, default=0)
    women_rule_met: Mapped[bool | None] = mapped_column(Boolean, index=True)
    lab_level: Mapped[str | None] = mapped_column(String(32))
    accreditation: Mapped[dict[str, Any] | None] = mapped_column(JsonType)
    parameters_tested: Mapped[list[str]] = mapped_column(JsonType, default=list)
    serves_ids: Mapped[list[str]] = mapped_column(JsonType, default=list)
    attributes: Mapped[dict[str, Any]] = mapped_column(JsonType, default=dict)
