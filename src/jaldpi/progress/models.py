"""Tables of the progress domain: what a component should be (estimates) and the makers' progress updates.

Both are registries (RecordMixin tables written only through ``Registry.import_records``). The current approved
figures are not a second table: the approved update that is current for its work item (physical) or scheme
(financial) carries ``is_current = true`` (decisions/0013), so the one write path, the change log and federation
carry them like any other field.
"""

from __future__ import annotations

import datetime as dt
import uuid
from decimal import Decimal
from typing import Any

from sqlalchemy import Boolean, Date, DateTime, ForeignKey, Index, Numeric, String, Text, Uuid
from sqlalchemy.orm import Mapped, mapped_column

from jaldpi.core.models import Base, JsonType, RecordMixin

# Rupees to the paisa, up to 10^14 (a crore is 10^7): NUMERIC(16, 2) like schemes.sanctioned_cost_inr.
Money = Numeric(16, 2)
# Quantities of a work item (metres of pipe, numbers of taps, kilolitres): three decimals.
Quantity = Numeric(16, 3)


class ComponentEstimate(RecordMixin, Base):
    """One work item of a component as estimated (a line of the DPR's bill of quantities): what it should be."""

    __tablename__ = "component_estimates"

    component_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("components.id"), index=True)
    scheme_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("schemes.id"), index=True)  # derived
    item: Mapped[str] = mapped_column(String(200))
    unit: Mapped[str] = mapped_column(String(16))
    estimated_quantity: Mapped[Decimal] = mapped_column(Quantity)
    estimated_cost_inr: Mapped[Decimal] = mapped_column(Money)
    attributes: Mapped[dict[str, Any]] = mapped_column(JsonType, default=dict)


class ProgressUpdate(RecordMixin, Base):
    """A maker's physical or financial progress figures as of a date, approved maker-checker (``progress_approval``).

    Physical: ``estimate_id`` (the work item; ``component_id`` and ``scheme_id`` derived from it), quantity done
    to date, ``percent_complete`` derived against the estimate, photos (documents). Financial: ``scheme_id``,
    sanctioned amount, releases by funding share, expenditure to date (rupees, exact decimals).
    """

    __tablename__ = "progress_updates"
    __table_args__ = (
        # the reports' and the current-figure lookups' access path
        Index("ix_progress_updates_current", "kind", "is_current", "lgd_path"),
    )

    kind: Mapped[str] = mapped_column(String(16))
    as_of: Mapped[dt.date] = mapped_column(Date, index=True)
    estimate_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, ForeignKey("component_estimates.id"), index=True)
    component_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, ForeignKey("components.id"), index=True)
    scheme_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("schemes.id"), index=True)
    quantity_done: Mapped[Decimal | None] = mapped_column(Quantity)
    percent_complete: Mapped[Decimal | None] = mapped_column(Numeric(7, 2))  # derived
    photo_ids: Mapped[list[str]] = mapped_column(JsonType, default=list)
    sanctioned_inr: Mapped[Decimal | None] = mapped_column(Money)
    released_central_inr: Mapped[Decimal | None] = mapped_column(Money)
    released_state_inr: Mapped[Decimal | None] = mapped_column(Money)
    released_community_inr: Mapped[Decimal | None] = mapped_column(Money)
    expenditure_inr: Mapped[Decimal | None] = mapped_column(Money)
    reason: Mapped[str | None] = mapped_column(Text)
    remarks: Mapped[str | None] = mapped_column(Text)
    attributes: Mapped[dict[str, Any]] = mapped_column(JsonType, default=dict)
    warnings: Mapped[list[dict[str, Any]]] = mapped_column(JsonType, default=list)  # derived
    # set by the progress_approval workflow only (refused from makers)
    status: Mapped[str] = mapped_column(String(16), index=True, default="submitted")
    is_current: Mapped[bool] = mapped_column(Boolean, default=False)
    submitted_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    approved_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    return_reasons: Mapped[list[Any] | None] = mapped_column(JsonType)
