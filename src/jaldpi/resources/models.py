from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import Float, ForeignKey, String, Uuid
from sqlalchemy.orm import Mapped, mapped_column

from jaldpi.core.models import Base, JsonType, RecordMixin


class NaturalResource(RecordMixin, Base):
    __tablename__ = "natural_resources"

    resource_type: Mapped[str] = mapped_column(String(40), index=True)
    name: Mapped[str] = mapped_column(String(200))
    admin_unit_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("admin_units.id"), index=True)
    source_type: Mapped[str | None] = mapped_column(String(32), index=True)
    aquifer_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, ForeignKey("natural_resources.id"))
    assessment_unit_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, ForeignKey("natural_resources.id"))
    gw_category: Mapped[str | None] = mapped_column(String(24), index=True)
    assessment_year: Mapped[str | None] = mapped_column(String(9))
    stage_of_extraction_pct: Mapped[float | None] = mapped_column(Float)
    depth_m: Mapped[float | None] = mapped_column(Float)
    yield_lph: Mapped[float | None] = mapped_column(Float)
    area_ha: Mapped[float | None] = mapped_column(Float)
    geometry: Mapped[dict[str, Any] | None] = mapped_column(JsonType)
    longitude: Mapped[float | None] = mapped_column(Float)
    latitude: Mapped[float | None] = mapped_column(Float)
    attributes: Mapped[dict[str, Any]] = mapped_column(JsonType, default=dict)
