"""Tables of the certification domain: one Har Ghar Jal certification record per village, and Village Action Plans.

Both are registries (RecordMixin tables written only through ``Registry.import_records``). The certification record
is the village's public, federated status; the workflow case (``workflow_cases``, workflow ``hgj_certification``)
holds the steps, deadlines and history, and keeps the record in step (docs/decisions/0017).
"""

from __future__ import annotations

import datetime as dt
import uuid
from decimal import Decimal
from typing import Any

from sqlalchemy import Date, ForeignKey, Integer, Numeric, String, Text, Uuid
from sqlalchemy.orm import Mapped, mapped_column

from jaldpi.core.models import Base, JsonType, RecordMixin


class HgjCertification(RecordMixin, Base):
    """Har Ghar Jal certification of one village (JJM_NORMS.md: reported -> resolution and video -> certified).

    Document columns hold ids of ``documents`` records (the files themselves live in the documents store).
    """

    __tablename__ = "hgj_certifications"

    # one certification per village (a concurrent second report fails on this index rather than duplicating)
    village_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("admin_units.id"), index=True, unique=True)
    status: Mapped[str] = mapped_column(String(24), index=True)
    reported_on: Mapped[dt.date | None] = mapped_column(Date)
    completion_certificate_id: Mapped[uuid.UUID | None] = mapped_column(Uuid)
    gram_sabha_date: Mapped[dt.date | None] = mapped_column(Date)
    resolution_document_id: Mapped[uuid.UUID | None] = mapped_column(Uuid)
    video_document_id: Mapped[uuid.UUID | None] = mapped_column(Uuid)
    resolution_uploaded_on: Mapped[dt.date | None] = mapped_column(Date)
    certified_on: Mapped[dt.date | None] = mapped_column(Date)
    certificate_document_id: Mapped[uuid.UUID | None] = mapped_column(Uuid)
    returned_on: Mapped[dt.date | None] = mapped_column(Date)
    return_reasons: Mapped[list[str]] = mapped_column(JsonType, default=list)
    withdrawn_on: Mapped[dt.date | None] = mapped_column(Date)
    # the households registry as it stood when the village was reported (None: no household records)
    households_total: Mapped[int | None] = mapped_column(Integer)
    households_with_tap: Mapped[int | None] = mapped_column(Integer)
    tap_check: Mapped[str | None] = mapped_column(String(16))  # complete | incomplete | no_records
    attributes: Mapped[dict[str, Any]] = mapped_column(JsonType, default=dict)


class VillageActionPlan(RecordMixin, Base):
    """A Village Action Plan (JJM_NORMS.md): baseline, sources, quality issues, O&M, SVS/MVS decision, community
    contribution, cost, schedule, grey water; approved by the Gram Sabha."""

    __tablename__ = "village_action_plans"

    village_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("admin_units.id"), index=True)
    period_from: Mapped[dt.date] = mapped_column(Date)
    period_to: Mapped[dt.date] = mapped_column(Date)
    baseline_households: Mapped[int] = mapped_column(Integer)
    baseline_population: Mapped[int] = mapped_column(Integer)
    baseline_households_with_tap: Mapped[int] = mapped_column(Integer)
    source_ids: Mapped[list[str]] = mapped_column(JsonType, default=list)
    source_yields_lph: Mapped[list[float | None]] = mapped_column(JsonType, default=list)
    quality_issues: Mapped[list[str]] = mapped_column(JsonType, default=list)
    om_arrangement: Mapped[str] = mapped_column(String(16))
    scheme_decision: Mapped[str] = mapped_column(String(16), index=True)
    scheme_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, ForeignKey("schemes.id"), index=True)
    households_willing_to_contribute: Mapped[int | None] = mapped_column(Integer)
    # derived: households willing / baseline households x 100, two decimals
    willing_to_contribute_pct: Mapped[Decimal | None] = mapped_column(Numeric(5, 2))
    estimated_cost_inr: Mapped[Decimal | None] = mapped_column(Numeric(16, 2))
    schedule_start: Mapped[dt.date | None] = mapped_column(Date)
    schedule_end: Mapped[dt.date | None] = mapped_column(Date)
    grey_water_management: Mapped[str | None] = mapped_column(Text)
    approved_by_gram_sabha_on: Mapped[dt.date | None] = mapped_column(Date)
    document_ids: Mapped[list[str]] = mapped_column(JsonType, default=list)
    attributes: Mapped[dict[str, Any]] = mapped_column(JsonType, default=dict)
