"""Tables of the finances domain.

Registries (records users create, written only through ``Registry.import_records``): tariff plans, meter readings,
collections, expenditures, community contributions and demand runs.

Derived tables (written by this package's services, never by users): the slabs and category concessions of each
tariff plan (normalised from the plan's JSON so that demand generation can join them), monthly demands (one row per
connected household and month, written set-based), per-village totals of each demand run, and households' advance
credit. Money is ``Numeric(14, 2)`` rupees (``Decimal`` in Python), volumes ``Numeric(14, 3)`` kilolitres.
"""

from __future__ import annotations

import datetime as dt
import uuid
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    Boolean,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    Numeric,
    String,
    UniqueConstraint,
    Uuid,
)
from sqlalchemy.orm import Mapped, mapped_column

from jaldpi.core.models import Base, JsonType, RecordMixin, utcnow

Money = Numeric(14, 2)
BigMoney = Numeric(16, 2)
Volume = Numeric(14, 3)
Percent = Numeric(5, 2)


class TariffPlan(RecordMixin, Base):
    """A village's water tariff for a period: flat per household per month, or metered by consumption slabs."""

    __tablename__ = "tariff_plans"

    village_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("admin_units.id"), index=True)
    vwsc_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, ForeignKey("entities.id"))
    name: Mapped[str | None] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(16))
    effective_from: Mapped[dt.date] = mapped_column(Date)
    effective_to: Mapped[dt.date | None] = mapped_column(Date)
    flat_amount: Mapped[Decimal | None] = mapped_column(Money)
    minimum_charge: Mapped[Decimal] = mapped_column(Money, default=Decimal("0"))
    slabs: Mapped[list[dict[str, Any]]] = mapped_column(JsonType, default=list)
    exempted_pays_percent: Mapped[Decimal] = mapped_column(Percent, default=Decimal("0"))
    category_pays_percent: Mapped[dict[str, Any]] = mapped_column(JsonType, default=dict)
    late_fee_percent: Mapped[Decimal] = mapped_column(Percent, default=Decimal("0"))
    attributes: Mapped[dict[str, Any]] = mapped_column(JsonType, default=dict)


class TariffSlab(Base):
    """One slab of a metered plan (derived from ``tariff_plans.slabs`` on every write of the plan)."""

    __tablename__ = "tariff_slabs"

    plan_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("tariff_plans.id"), primary_key=True)
    seq: Mapped[int] = mapped_column(Integer, primary_key=True)
    from_kl: Mapped[Decimal] = mapped_column(Volume)
    to_kl: Mapped[Decimal | None] = mapped_column(Volume)  # None: no upper bound
    rate_per_kl: Mapped[Decimal] = mapped_column(Money)


class TariffCategoryConcession(Base):
    """Share of the charge a household of one social category pays under a plan (derived from the plan)."""

    __tablename__ = "tariff_category_concessions"

    plan_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("tariff_plans.id"), primary_key=True)
    social_category: Mapped[str] = mapped_column(String(16), primary_key=True)
    pays_percent: Mapped[Decimal] = mapped_column(Percent)


class MeterReading(RecordMixin, Base):
    """A household meter's cumulative reading on a day (kilolitres). Consumption is derived from the previous
    reading when demand is generated (a replaced meter starts again from zero)."""

    __tablename__ = "meter_readings"
    __table_args__ = (UniqueConstraint("household_id", "read_on", name="uq_meter_readings_household_id"),)

    household_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("households.id"))
    read_on: Mapped[dt.date] = mapped_column(Date, index=True)
    reading_kl: Mapped[Decimal] = mapped_column(Volume)
    meter_replaced: Mapped[bool] = mapped_column(Boolean, default=False)
    read_by: Mapped[str | None] = mapped_column(String(120))
    attributes: Mapped[dict[str, Any]] = mapped_column(JsonType, default=dict)


class Collection(RecordMixin, Base):
    """Money a household paid; the record's ``code`` is the receipt number. Allocated to the oldest unpaid demands
    first (FIFO); what is left over is the household's advance credit."""

    __tablename__ = "collections"

    household_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("households.id"), index=True)
    village_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("admin_units.id"), index=True)  # derived
    amount: Mapped[Decimal] = mapped_column(Money)
    paid_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), index=True)
    mode: Mapped[str] = mapped_column(String(16))
    collected_by: Mapped[str | None] = mapped_column(String(120))
    reference: Mapped[str | None] = mapped_column(String(120))
    receipt_document_id: Mapped[str | None] = mapped_column(String(64))
    cancelled: Mapped[bool] = mapped_column(Boolean, default=False)
    cancel_reason: Mapped[str | None] = mapped_column(String(300))
    attributes: Mapped[dict[str, Any]] = mapped_column(JsonType, default=dict)


class Expenditure(RecordMixin, Base):
    """Money a committee spent on its scheme: electricity, the operator, chemicals, repairs, spares, testing."""

    __tablename__ = "expenditures"

    village_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("admin_units.id"), index=True)
    vwsc_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, ForeignKey("entities.id"))
    category: Mapped[str] = mapped_column(String(32), index=True)
    amount: Mapped[Decimal] = mapped_column(Money)
    spent_on: Mapped[dt.date] = mapped_column(Date, index=True)
    payee: Mapped[str | None] = mapped_column(String(200))
    description: Mapped[str | None] = mapped_column(String(500))
    voucher_document_ids: Mapped[list[str]] = mapped_column(JsonType, default=list)
    attributes: Mapped[dict[str, Any]] = mapped_column(JsonType, default=dict)


class CommunityContribution(RecordMixin, Base):
    """A village's community contribution to the capital cost of a scheme (JJM: 5% or 10% of the in-village
    capital cost, from at least 80% of households). Rate, target, share and status are derived on every write."""

    __tablename__ = "community_contributions"
    __table_args__ = (UniqueConstraint("scheme_id", "village_id", name="uq_community_contributions_scheme_id"),)

    scheme_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("schemes.id"))
    village_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("admin_units.id"), index=True)
    capital_cost: Mapped[Decimal] = mapped_column(BigMoney)
    rate_override_percent: Mapped[Decimal | None] = mapped_column(Percent)
    amount_collected: Mapped[Decimal] = mapped_column(BigMoney, default=Decimal("0"))
    households_total: Mapped[int] = mapped_column(Integer)
    households_contributed: Mapped[int] = mapped_column(Integer, default=0)
    # derived
    rate_percent: Mapped[Decimal] = mapped_column(Percent)
    rate_basis: Mapped[str] = mapped_column(String(24))
    target_amount: Mapped[Decimal] = mapped_column(BigMoney)
    households_share_percent: Mapped[Decimal] = mapped_column(Numeric(6, 2))
    status: Mapped[str] = mapped_column(String(16), index=True)
    attributes: Mapped[dict[str, Any]] = mapped_column(JsonType, default=dict)


class DemandRun(RecordMixin, Base):
    """The audit record of one monthly demand generation: scope, month, counts, totals and a digest of the
    per-village totals (``demand_village_totals``). Written only by the demand generator; one change-log entry per
    run instead of one per household (see docs/decisions/0016-demand-runs-as-audit-records.md)."""

    __tablename__ = "demand_runs"

    month: Mapped[dt.date] = mapped_column(Date, index=True)
    scope_path: Mapped[str] = mapped_column(String(255))
    households: Mapped[int] = mapped_column(Integer)
    villages: Mapped[int] = mapped_column(Integer)
    villages_without_plan: Mapped[int] = mapped_column(Integer, default=0)
    charge_total: Mapped[Decimal] = mapped_column(BigMoney)
    concession_total: Mapped[Decimal] = mapped_column(BigMoney)
    late_fee_total: Mapped[Decimal] = mapped_column(BigMoney)
    arrears_total: Mapped[Decimal] = mapped_column(BigMoney)
    amount_total: Mapped[Decimal] = mapped_column(BigMoney)
    consumption_kl_total: Mapped[Decimal] = mapped_column(Numeric(18, 3))
    totals_digest: Mapped[str] = mapped_column(String(64))
    attributes: Mapped[dict[str, Any]] = mapped_column(JsonType, default=dict)


class Demand(Base):
    """What one household owes for one month (derived, written set-based by a demand run).

    ``amount`` = ``charge`` - ``concession`` + ``late_fee`` is the month's new money; ``arrears`` is what was unpaid
    before the month (a snapshot for the bill); ``paid`` is how much of ``amount`` collections have covered (FIFO).
    No foreign keys: PostgreSQL checks them with a trigger per row, and the rows come from one statement that
    selects existing households and plans.

    On PostgreSQL the table is partitioned by month (``RANGE (month)``, one partition per month, named
    ``demands_yYYYYmMM``): a run for a month without a partition builds it as a standalone table, fills it with no
    index to maintain, indexes it and attaches it (see :func:`jaldpi.finances.service.generate_demand` and
    docs/decisions/0016-demand-runs-as-audit-records.md). SQLite keeps one plain table.
    """

    __tablename__ = "demands"
    __table_args__ = (Index("ix_demands_month_lgd_path", "month", "lgd_path"),
                      {"postgresql_partition_by": "RANGE (month)"})

    household_id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    month: Mapped[dt.date] = mapped_column(Date, primary_key=True)
    village_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    lgd_path: Mapped[str] = mapped_column(String(255))
    run_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    tariff_plan_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    kind: Mapped[str] = mapped_column(String(16))
    consumption_kl: Mapped[Decimal | None] = mapped_column(Volume)
    charge: Mapped[Decimal] = mapped_column(Money)
    concession: Mapped[Decimal] = mapped_column(Money)
    late_fee: Mapped[Decimal] = mapped_column(Money)
    arrears: Mapped[Decimal] = mapped_column(Money)
    amount: Mapped[Decimal] = mapped_column(Money)
    paid: Mapped[Decimal] = mapped_column(Money)


class DemandVillageTotal(Base):
    """Per-village totals of one demand run; their digest is in the run's (hash-chained) change record."""

    __tablename__ = "demand_village_totals"

    run_id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)  # no FK: written before the run record
    village_id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    lgd_path: Mapped[str] = mapped_column(String(255), index=True)
    month: Mapped[dt.date] = mapped_column(Date)
    households: Mapped[int] = mapped_column(Integer)
    charge: Mapped[Decimal] = mapped_column(BigMoney)
    concession: Mapped[Decimal] = mapped_column(BigMoney)
    late_fee: Mapped[Decimal] = mapped_column(BigMoney)
    arrears: Mapped[Decimal] = mapped_column(BigMoney)
    amount: Mapped[Decimal] = mapped_column(BigMoney)
    consumption_kl: Mapped[Decimal] = mapped_column(Numeric(18, 3))


class HouseholdCredit(Base):
    """A household's advance credit: collections not yet allocated to any demand (only rows with credit > 0)."""

    __tablename__ = "household_credits"

    household_id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    lgd_path: Mapped[str] = mapped_column(String(255), index=True)
    amount: Mapped[Decimal] = mapped_column(Money)
    updated_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
