"""The finances domain's registries: tariff plans, meter readings, collections, expenditures, community
contributions and demand runs. Every one is read and written with the ``finances:read`` / ``finances:write``
permissions, over the jurisdiction path of its village."""

from __future__ import annotations

import datetime as dt
import uuid
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from sqlalchemy import and_, or_, select

from jaldpi.core.ids import new_id
from jaldpi.core.registry import Filter, Reference, RegistrySpec
from jaldpi.finances.models import (
    Collection,
    CommunityContribution,
    DemandRun,
    Expenditure,
    MeterReading,
    TariffPlan,
)
from jaldpi.finances.schemas import (
    CollectionIn,
    CommunityContributionIn,
    DemandRunIn,
    ExpenditureIn,
    MeterReadingIn,
    TariffPlanIn,
)

READ, WRITE = "finances:read", "finances:write"
CENT = Decimal("0.01")
# session.info key the demand generator sets while it writes its run record (the only writer of demand_runs)
GENERATOR_KEY = "finances.demand_run_id"


def _village_path(data: dict[str, Any], resolved: dict[str, Any]) -> str:
    return resolved["village"]["lgd_path"]


def _vwsc_problem(data: dict[str, Any]) -> list[tuple[str, str]]:
    vwsc = data["_resolved"].get("vwsc")
    if vwsc is None:
        return []
    problems = []
    if vwsc["entity_type"] != "vwsc":
        problems.append(("vwsc", "must be an entity of type vwsc"))
    elif not data["_path"].startswith(vwsc["lgd_path"]) and not vwsc["lgd_path"].startswith(data["_path"]):
        problems.append(("vwsc", f"committee {vwsc['code']} is not in this village's jurisdiction"))
    return problems


# ---------------------------------------------------------------------------------------------------- tariff plans
def overlapping_plans(session, village_id: uuid.UUID, start: dt.date, end: dt.date | None,
                      exclude: uuid.UUID | None = None) -> list[str]:
    """Codes of live plans of ``village_id`` whose period overlaps ``start``..``end`` (``None``: open-ended)."""
    t = TariffPlan.__table__
    cond = [t.c.village_id == village_id, t.c.deleted_at.is_(None),
            or_(t.c.effective_to.is_(None), t.c.effective_to >= start)]
    if end is not None:
        cond.append(t.c.effective_from <= end)
    if exclude is not None:
        cond.append(t.c.id != exclude)
    return [c for (c,) in session.execute(select(t.c.code).where(and_(*cond)).order_by(t.c.effective_from))]


def _plan_rules(data: dict[str, Any]) -> list[tuple[str, str]]:
    problems = _vwsc_problem(data)
    old = data["_old"]
    clash = overlapping_plans(data["_session"], data["village_id"], data["effective_from"], data.get("effective_to"),
                              exclude=old["id"] if old else None)
    if clash:
        problems.append(("effective_from", f"overlaps tariff plan {', '.join(clash)} of this village: one plan per "
                                           "village and period (end the other plan first)"))
    return problems


def after_plans_written(session, _principal, rows: list[tuple[str, dict[str, Any]]]) -> None:
    """Normalise each plan's slabs and category concessions into the tables demand generation joins, and refuse
    two plans of one village with overlapping periods written in the same payload."""
    from sqlalchemy import delete, insert

    from jaldpi.core.errors import ValidationFailed
    from jaldpi.finances.models import TariffCategoryConcession, TariffSlab

    ids = [r["id"] for _a, r in rows]
    session.execute(delete(TariffSlab.__table__).where(TariffSlab.plan_id.in_(ids)))
    session.execute(delete(TariffCategoryConcession.__table__).where(TariffCategoryConcession.plan_id.in_(ids)))
    slabs, concessions = [], []
    for _action, row in rows:
        lower = Decimal("0")
        for seq, slab in enumerate(row.get("slabs") or []):
            upper = Decimal(str(slab["up_to_kl"])) if slab.get("up_to_kl") is not None else None
            slabs.append({"plan_id": row["id"], "seq": seq, "from_kl": lower, "to_kl": upper,
                          "rate_per_kl": Decimal(str(slab["rate_per_kl"]))})
            lower = upper if upper is not None else lower
        for category, pct in (row.get("category_pays_percent") or {}).items():
            concessions.append({"plan_id": row["id"], "social_category": category, "pays_percent": Decimal(str(pct))})
    if slabs:
        session.execute(insert(TariffSlab.__table__), slabs)
    if concessions:
        session.execute(insert(TariffCategoryConcession.__table__), concessions)
    for _action, row in rows:
        if row.get("deleted_at") is None:
            clash = overlapping_plans(session, row["village_id"], row["effective_from"], row.get("effective_to"),
                                      exclude=row["id"])
            if clash:
                raise ValidationFailed(
                    f"tariff plan {row['code']} overlaps {', '.join(clash)} of the same village",
                    details=[{"field": "effective_from", "problem": "overlapping tariff plans of one village"}])


def tariff_plan_spec() -> RegistrySpec:
    return RegistrySpec(
        name="tariff_plans", title="tariff plan", table=TariffPlan.__table__, schema=TariffPlanIn, code_prefix="TP",
        derive_path=_village_path,
        references=(Reference("village", "village_id", "admin_units", levels=("village",)),
                    Reference("vwsc", "vwsc_id", "entities")),
        filters={"village_id": Filter("village_id", uuid.UUID), "kind": Filter("kind", str, "flat | metered")},
        read_permission=READ, write_permission=WRITE, validate_row=_plan_rules, on_written=after_plans_written)


# ---------------------------------------------------------------------------------------------------- meter readings
def _reading_path(data: dict[str, Any], resolved: dict[str, Any]) -> str:
    return resolved["household"]["lgd_path"]


def _reading_rules(data: dict[str, Any]) -> list[tuple[str, str]]:
    """A cumulative meter only goes up: a reading lower than the one before it needs ``meter_replaced``, and the
    reading after it (if one was entered earlier) must not be lower unless that one is a replacement."""
    t = MeterReading.__table__
    session, old = data["_session"], data["_old"]
    live = [t.c.household_id == data["household_id"], t.c.deleted_at.is_(None)]
    if old is not None:
        live.append(t.c.id != old["id"])
    before = session.execute(select(t.c.read_on, t.c.reading_kl).where(*live, t.c.read_on < data["read_on"])
                             .order_by(t.c.read_on.desc()).limit(1)).first()
    after = session.execute(select(t.c.read_on, t.c.reading_kl, t.c.meter_replaced)
                            .where(*live, t.c.read_on > data["read_on"]).order_by(t.c.read_on).limit(1)).first()
    reading = Decimal(str(data["reading_kl"]))
    problems = []
    if before is not None and reading < Decimal(str(before.reading_kl)) and not data.get("meter_replaced"):
        problems.append(("reading_kl", f"{reading} kl is lower than the previous reading ({before.reading_kl} kl on "
                                       f"{before.read_on}); set meter_replaced if a new meter was fitted"))
    if after is not None and not after.meter_replaced and Decimal(str(after.reading_kl)) < reading:
        problems.append(("reading_kl", f"{reading} kl is higher than the next reading already entered "
                                       f"({after.reading_kl} kl on {after.read_on})"))
    return problems


def meter_reading_spec() -> RegistrySpec:
    return RegistrySpec(
        name="meter_readings", title="meter reading", table=MeterReading.__table__, schema=MeterReadingIn,
        code_prefix="MR", derive_path=_reading_path,
        references=(Reference("household", "household_id", "households"),),
        filters={"household_id": Filter("household_id", uuid.UUID)},
        search_column=None, identity_keys=("household_id", "read_on"),
        read_permission=READ, write_permission=WRITE, validate_row=_reading_rules)


# ---------------------------------------------------------------------------------------------------- collections
def _collection_path(data: dict[str, Any], resolved: dict[str, Any]) -> str:
    household = resolved["household"]
    data["village_id"] = household["village_id"]
    return household["lgd_path"]


def receipt_number(data: dict[str, Any], resolved: dict[str, Any]) -> str:
    """``R-<village LGD code>-<yymm paid>-<8 hex of a random id>``: unique without a counter, so a collector's phone
    can mint it offline; the village and month make it readable on a receipt book."""
    village = resolved["household"]["lgd_path"].rstrip("/").rsplit("/", 1)[-1].lstrip("V")
    paid = data["paid_at"]
    return f"R-{village}-{paid:%y%m}-{new_id().hex[-8:].upper()}"


def _collection_rules(data: dict[str, Any]) -> list[tuple[str, str]]:
    paid = data["paid_at"]
    paid = paid if paid.tzinfo else paid.replace(tzinfo=dt.UTC)
    if paid > dt.datetime.now(dt.UTC) + dt.timedelta(hours=1):
        return [("paid_at", "a payment cannot be in the future")]
    old = data["_old"]
    if old is not None and old["household_id"] != data["household_id"]:
        # the payment stays with its household: cancel the receipt and issue a new one instead
        return [("household", "a receipt cannot move to another household: cancel it and record a new one")]
    if not data.get("cancelled") and data.get("cancel_reason"):
        return [("cancel_reason", "only a cancelled receipt has a cancel_reason")]
    return []


def after_collections_written(session, _principal, rows: list[tuple[str, dict[str, Any]]]) -> None:
    from jaldpi.finances.allocation import reallocate

    reallocate(session, {r["household_id"] for _a, r in rows})


def collection_spec() -> RegistrySpec:
    return RegistrySpec(
        name="collections", title="collection", table=Collection.__table__, schema=CollectionIn, code_prefix="R",
        derive_path=_collection_path,
        references=(Reference("household", "household_id", "households"),),
        filters={"household_id": Filter("household_id", uuid.UUID), "village_id": Filter("village_id", uuid.UUID),
                 "mode": Filter("mode", str, "code list payment_modes"), "cancelled": Filter("cancelled", bool)},
        search_column=None, mint_code=receipt_number,
        read_permission=READ, write_permission=WRITE, validate_row=_collection_rules,
        on_written=after_collections_written)


# ---------------------------------------------------------------------------------------------------- expenditures
def expenditure_spec() -> RegistrySpec:
    return RegistrySpec(
        name="expenditures", title="expenditure", table=Expenditure.__table__, schema=ExpenditureIn,
        code_prefix="EXP", derive_path=_village_path,
        references=(Reference("village", "village_id", "admin_units", levels=("village",)),
                    Reference("vwsc", "vwsc_id", "entities")),
        filters={"village_id": Filter("village_id", uuid.UUID),
                 "category": Filter("category", str, "code list expenditure_categories")},
        search_column="description", read_permission=READ, write_permission=WRITE, validate_row=_vwsc_problem)


# ---------------------------------------------------------------------------------------------------- contributions
def contribution_rate(settings, village: dict[str, Any]) -> tuple[Decimal, str]:
    """JJM community contribution rate of a village (percent) and why: 5% for villages of NE/Himalayan states and for
    hilly, forested or SC/ST-majority villages (flags in the village's ``attributes``), 10% elsewhere (JJM
    Operational Guidelines 2019; rates, states and flags are settings)."""
    state = village["lgd_path"].split("/")[1]
    reduced_states = settings.finances_contribution_reduced_rate_states
    if state.startswith("S") and state[1:].isdigit() and int(state[1:]) in reduced_states:
        return Decimal(str(settings.finances_contribution_reduced_rate_percent)), "ne_or_himalayan_state"
    attributes = village.get("attributes") or {}
    for flag in settings.finances_contribution_reduced_rate_flags:
        if attributes.get(flag) is True:
            return Decimal(str(settings.finances_contribution_reduced_rate_percent)), flag
    return Decimal(str(settings.finances_contribution_standard_rate_percent)), "standard"


def contribution_spec(settings) -> RegistrySpec:
    share_needed = Decimal(str(settings.finances_contribution_household_share_percent))

    def derive(data: dict[str, Any], resolved: dict[str, Any]) -> str:
        village = resolved["village"]
        if data.get("rate_override_percent") is not None:
            data["rate_percent"], data["rate_basis"] = Decimal(str(data["rate_override_percent"])), "given"
        else:
            data["rate_percent"], data["rate_basis"] = contribution_rate(settings, village)
        cost = Decimal(str(data["capital_cost"]))
        data["target_amount"] = (cost * data["rate_percent"] / 100).quantize(CENT, ROUND_HALF_UP)
        share = Decimal(data["households_contributed"]) * 100 / Decimal(data["households_total"])
        data["households_share_percent"] = share.quantize(CENT, ROUND_HALF_UP)
        # the share test uses the exact fraction, not the rounded percentage (79.996% is not 80%)
        met = Decimal(str(data["amount_collected"])) >= data["target_amount"] and share >= share_needed
        data["status"] = "met" if met else "not_met"
        return village["lgd_path"]

    def rules(data: dict[str, Any]) -> list[tuple[str, str]]:
        scheme = data["_resolved"]["scheme"]
        village = data["_resolved"]["village"]
        served = {str(v) for v in scheme.get("village_ids") or []}
        if served and str(village["id"]) not in served:
            return [("village", f"scheme {scheme['code']} does not serve village {village['code']}")]
        return []

    return RegistrySpec(
        name="community_contributions", title="community contribution", table=CommunityContribution.__table__,
        schema=CommunityContributionIn, code_prefix="CC", derive_path=derive,
        references=(Reference("scheme", "scheme_id", "schemes"),
                    Reference("village", "village_id", "admin_units", levels=("village",))),
        filters={"scheme_id": Filter("scheme_id", uuid.UUID), "village_id": Filter("village_id", uuid.UUID),
                 "status": Filter("status", str, "met | not_met")},
        search_column=None, identity_keys=("scheme_id", "village_id"),
        read_permission=READ, write_permission=WRITE, validate_row=rules)


# ---------------------------------------------------------------------------------------------------- demand runs
def demand_run_spec() -> RegistrySpec:
    def derive(data: dict[str, Any], _resolved: dict[str, Any]) -> str:
        return data["scope_path"]

    def rules(data: dict[str, Any]) -> list[tuple[str, str]]:
        if data["_session"].info.get(GENERATOR_KEY) is None or data["_old"] is not None:
            return [("month", "demand runs are written by the demand generator only: POST "
                              "/api/v1/finances/demand-runs or `jaldpi finances demand`")]
        return []

    return RegistrySpec(
        name="demand_runs", title="demand run", table=DemandRun.__table__, schema=DemandRunIn, code_prefix="DR",
        derive_path=derive, search_column=None, read_permission=READ, write_permission=WRITE, validate_row=rules)


def specs(settings, workflows) -> list:
    """The RegistrySpecs this domain adds to the node's catalogue."""
    return [tariff_plan_spec(), meter_reading_spec(), collection_spec(), expenditure_spec(),
            contribution_spec(settings), demand_run_spec()]
