"""Table ``village_baselines``: one row per imported village profile row (JJM dashboard), as given, with its match
to LGD units. Not a registry: a read-only baseline that is replaced row by row on re-import."""

from __future__ import annotations

import datetime as dt
import uuid
from decimal import Decimal
from typing import Any

from sqlalchemy import Date, DateTime, ForeignKey, Integer, Numeric, String, UniqueConstraint, Uuid
from sqlalchemy.orm import Mapped, mapped_column

from jaldpi.core.models import Base, JsonType, utcnow


class VillageBaseline(Base):
    """A village profile row. ``row_key`` (sha256 of source, state, district, block and village names as given and
    the row's dashboard id) is the natural key: re-importing the same file updates rows in place."""

    __tablename__ = "village_baselines"
    __table_args__ = (UniqueConstraint("source", "row_key", name="uq_village_baselines_source_row_key"),)

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    source: Mapped[str] = mapped_column(String(64))
    row_key: Mapped[str] = mapped_column(String(64))
    content_hash: Mapped[str] = mapped_column(String(64))
    external_id: Mapped[str | None] = mapped_column(String(64))  # the dashboard's vil_encode: opaque, not LGD
    block_external_id: Mapped[str | None] = mapped_column(String(64))  # blcode11: opaque, not LGD
    as_on: Mapped[dt.date] = mapped_column(Date)
    file_name: Mapped[str | None] = mapped_column(String(255))
    line: Mapped[int | None] = mapped_column(Integer)

    state_name: Mapped[str] = mapped_column(String(200))
    district_name: Mapped[str] = mapped_column(String(200))
    block_name: Mapped[str] = mapped_column(String(200))
    village_name: Mapped[str] = mapped_column(String(200))

    state_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, ForeignKey("admin_units.id"), index=True)
    district_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, ForeignKey("admin_units.id"), index=True)
    block_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, ForeignKey("admin_units.id"), index=True)
    village_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, ForeignKey("admin_units.id"), index=True)
    lgd_path: Mapped[str | None] = mapped_column(String(255), index=True)  # of the deepest unit matched
    state_match: Mapped[str] = mapped_column(String(8))  # exact | alias | fuzzy | none
    district_match: Mapped[str] = mapped_column(String(8))
    block_match: Mapped[str] = mapped_column(String(8))
    village_match: Mapped[str] = mapped_column(String(8))
    match_scores: Mapped[dict[str, Any]] = mapped_column(JsonType, default=dict)  # level -> fuzzy score
    match_notes: Mapped[dict[str, Any]] = mapped_column(JsonType, default=dict)  # level -> why not matched

    service_level_lpcd: Mapped[Decimal | None] = mapped_column(Numeric(10, 2))
    habitations: Mapped[int | None] = mapped_column(Integer)
    households: Mapped[int | None] = mapped_column(Integer)
    houses_with_taps: Mapped[int | None] = mapped_column(Integer)
    schools: Mapped[int | None] = mapped_column(Integer)
    schools_with_taps: Mapped[int | None] = mapped_column(Integer)
    anganwadis: Mapped[int | None] = mapped_column(Integer)
    anganwadis_with_taps: Mapped[int | None] = mapped_column(Integer)
    har_ghar_jal_status: Mapped[str | None] = mapped_column(String(64))  # as given
    har_ghar_jal: Mapped[str | None] = mapped_column(String(16))  # reported | certified | none
    population: Mapped[dict[str, Any] | None] = mapped_column(JsonType)  # sc, st, general, total
    raw: Mapped[dict[str, Any]] = mapped_column(JsonType)
    imported_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
