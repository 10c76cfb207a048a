"""Input schemas of the finances registries (the data standard for committee finances)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, model_validator

from jaldpi.core.schemas import RecordIn, Ref
from jaldpi.standard.codelists import literal


class SlabIn(BaseModel):
    """A consumption slab: ``rate_per_kl`` for every kilolitre above the previous slab's bound up to ``up_to_kl``
    (``null``: no upper bound; only the last slab)."""

    model_config = ConfigDict(extra="forbid")
    up_to_kl: Decimal | None = Field(None, gt=0, max_digits=14, decimal_places=3,
                                     description="Upper bound of the slab in kilolitres per month; null = the rest")
    rate_per_kl: Decimal = Field(ge=0, max_digits=14, decimal_places=2, description="Rupees per kilolitre")


class TariffPlanIn(RecordIn):
    village: Ref = Field(description="The village (LGD code) whose households the plan charges")
    vwsc: Ref | None = Field(None, description="The Village Water and Sanitation Committee (entity of type vwsc) "
                             "that set the tariff")
    name: str | None = Field(None, max_length=200)
    kind: literal("tariff_kinds") = Field(description="flat | metered")  # type: ignore[valid-type]
    effective_from: dt.date = Field(description="First day the plan applies; a month is billed by the plan in "
                                    "force on its first day")
    effective_to: dt.date | None = Field(None, description="Last day the plan applies; null = open-ended")
    flat_amount: Decimal | None = Field(None, ge=0, max_digits=14, decimal_places=2,
                                        description="flat: rupees per household per month")
    minimum_charge: Decimal = Field(Decimal("0"), ge=0, max_digits=14, decimal_places=2,
                                    description="metered: rupees charged at least, also when no reading was taken")
    slabs: list[SlabIn] = Field(default_factory=list, description="metered: ascending slabs, the last open-ended")
    exempted_pays_percent: Decimal = Field(Decimal("0"), ge=0, le=100, max_digits=5, decimal_places=2,
                                           description="Percent of the charge an exempted household "
                                           "(households.is_exempted) pays; 0 = free")
    category_pays_percent: dict[literal("social_categories"), Decimal] = Field(  # type: ignore[valid-type]
        default_factory=dict, description="Optional concession by social category: percent of the charge a "
        "household of that category pays, e.g. {\"sc\": 50, \"st\": 50}")
    late_fee_percent: Decimal = Field(Decimal("0"), ge=0, le=100, max_digits=5, decimal_places=2,
                                      description="Percent of the arrears carried into a month added to that "
                                      "month's demand as a late fee; 0 = none")
    attributes: dict[str, Any] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _shape(self) -> "TariffPlanIn":
        if self.effective_to is not None and self.effective_to < self.effective_from:
            raise ValueError("effective_to is before effective_from")
        if self.kind == "flat":
            if self.flat_amount is None:
                raise ValueError("a flat plan gives flat_amount (rupees per household per month)")
            if self.slabs:
                raise ValueError("a flat plan has no slabs")
        else:
            if not self.slabs:
                raise ValueError("a metered plan gives at least one slab")
            if self.flat_amount is not None:
                raise ValueError("a metered plan has no flat_amount (use minimum_charge)")
            bounds = [s.up_to_kl for s in self.slabs]
            if any(b is None for b in bounds[:-1]):
                raise ValueError("only the last slab may be open-ended (up_to_kl null)")
            if bounds[-1] is not None:
                raise ValueError("the last slab is open-ended (up_to_kl null): every kilolitre must be priced")
            closed = [b for b in bounds if b is not None]
            if any(b2 <= b1 for b1, b2 in zip(closed, closed[1:], strict=False)):
                raise ValueError("slabs must be in ascending order of up_to_kl")
        for category, pct in self.category_pays_percent.items():
            if not Decimal(0) <= pct <= Decimal(100):
                raise ValueError(f"category_pays_percent.{category} must be between 0 and 100")
        return self


class MeterReadingIn(RecordIn):
    household: Ref
    read_on: dt.date
    reading_kl: Decimal = Field(ge=0, max_digits=14, decimal_places=3, description="Cumulative meter reading, kl")
    meter_replaced: bool = Field(False, description="A new meter was fitted since the previous reading: its "
                                 "reading starts again from zero (allows a reading lower than the previous)")
    read_by: str | None = Field(None, max_length=120, description="Account id of the reader (not a name)")
    attributes: dict[str, Any] = Field(default_factory=dict)


class CollectionIn(RecordIn):
    """A payment. ``code`` is the receipt number: give the receipt-book number, or leave it out and the node mints
    a unique one (``R-<village LGD>-<yymm>-<8 characters>``) that an offline collector's phone could mint too."""

    household: Ref
    amount: Decimal = Field(gt=0, max_digits=14, decimal_places=2, description="Rupees")
    paid_at: dt.datetime
    mode: literal("payment_modes") = Field(description="cash | upi | bank | cheque")  # type: ignore[valid-type]
    collected_by: str | None = Field(None, max_length=120, description="Account id of the collector (not a name)")
    reference: str | None = Field(None, max_length=120, description="UPI transaction id, cheque or bank reference")
    receipt_document_id: str | None = Field(None, max_length=64, description="A scanned receipt in documents")
    cancelled: bool = Field(False, description="A cancelled receipt counts for nothing (receipts are cancelled with "
                            "a reason, not deleted, so the cash book keeps every number)")
    cancel_reason: str | None = Field(None, max_length=300)
    attributes: dict[str, Any] = Field(default_factory=dict)


class ExpenditureIn(RecordIn):
    village: Ref
    vwsc: Ref | None = None
    category: literal("expenditure_categories")  # type: ignore[valid-type]
    amount: Decimal = Field(gt=0, max_digits=14, decimal_places=2, description="Rupees")
    spent_on: dt.date
    payee: str | None = Field(None, max_length=200, description="An organisation or a role (\"APSPDCL\", \"pump "
                              "operator\"): never a person's name")
    description: str | None = Field(None, max_length=500)
    voucher_document_ids: list[str] = Field(default_factory=list, max_length=20,
                                            description="Vouchers and invoices in documents")
    attributes: dict[str, Any] = Field(default_factory=dict)


class CommunityContributionIn(RecordIn):
    scheme: Ref
    village: Ref
    capital_cost: Decimal = Field(gt=0, max_digits=16, decimal_places=2,
                                  description="In-village capital cost of the scheme, rupees")
    rate_override_percent: Decimal | None = Field(
        None, ge=0, le=100, max_digits=5, decimal_places=2,
        description="The contribution rate when the state set it otherwise; null = 5% or 10% from the village's "
        "category (NE/Himalayan state, hilly, forest, SC/ST majority)")
    amount_collected: Decimal = Field(Decimal("0"), ge=0, max_digits=16, decimal_places=2)
    households_total: int = Field(ge=1, description="Households of the village")
    households_contributed: int = Field(0, ge=0)
    attributes: dict[str, Any] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _counts(self) -> "CommunityContributionIn":
        if self.households_contributed > self.households_total:
            raise ValueError("households_contributed is more than households_total")
        return self


class DemandRunIn(RecordIn):
    """Written by the demand generator only (``POST /api/v1/finances/demand-runs``); published for reading."""

    month: dt.date
    scope_path: str = Field(max_length=255)
    households: int = Field(ge=0)
    villages: int = Field(ge=0)
    villages_without_plan: int = Field(0, ge=0)
    charge_total: Decimal
    concession_total: Decimal
    late_fee_total: Decimal
    arrears_total: Decimal
    amount_total: Decimal
    consumption_kl_total: Decimal
    totals_digest: str = Field(min_length=64, max_length=64)
    attributes: dict[str, Any] = Field(default_factory=dict)
