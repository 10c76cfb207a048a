"""Community contribution (5% / 10% from >= 80% of households) and the FIFO allocation rule."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from jaldpi.core.registry import Strategy
from jaldpi.finances.allocation import fifo
from jaldpi.finances.registry import contribution_rate
from tests.conftest import test_settings
from tests.helpers import ROOT, build_records, build_world

D = Decimal


def _contribute(node, **fields):
    with node.db.unit_of_work() as session:
        summary = node.catalogue["community_contributions"].import_records(session, ROOT, [{
            "scheme": {"external_id": {"system": "test", "value": "schemes-a1"}}, "village": 500001,
            "capital_cost": "1000000", "households_total": 100, **fields}])
    return summary


def _stored(node):
    with node.db.unit_of_work(write=False) as session:
        (item,) = node.catalogue["community_contributions"].list(session, ROOT, limit=5)["items"]
    return item


def test_contribution_is_met_from_80_percent_of_households_not_79(node):
    build_world(node)
    build_records(node, registries=("schemes",))
    summary = _contribute(node, amount_collected="100000", households_contributed=79)
    assert summary.status == "ok", summary.to_dict()
    item = _stored(node)
    # state 28 is not NE/Himalayan and the village has no category flag: 10% of 10 lakh
    assert item["rate_percent"] == "10.00" and item["rate_basis"] == "standard"
    assert item["target_amount"] == "100000.00" and item["households_share_percent"] == "79.00"
    assert item["status"] == "not_met"
    # the same scheme and village again is an update (natural key), now with 80 households
    summary = _contribute(node, amount_collected="100000", households_contributed=80)
    assert summary.rows[0].action == "updated"
    assert _stored(node)["status"] == "met"
    # enough households but not enough money
    _contribute(node, amount_collected="99999.99", households_contributed=95)
    assert _stored(node)["status"] == "not_met"
    # a rate the state set otherwise
    _contribute(node, amount_collected="50000", households_contributed=95, rate_override_percent="5")
    item = _stored(node)
    assert (item["rate_basis"], item["target_amount"], item["status"]) == ("given", "50000.00", "met")


def test_contribution_refuses_more_contributors_than_households(node):
    build_world(node)
    build_records(node, registries=("schemes",))
    summary = _contribute(node, households_contributed=101)
    assert summary.status == "error"
    assert "more than households_total" in summary.to_dict()["rows"][0]["errors"][0]["message"]


def test_reduced_rate_for_ne_and_himalayan_states_and_flagged_villages(database):
    settings = test_settings(database)
    assert contribution_rate(settings, {"lgd_path": "/S18/D1/V9/", "attributes": {}}) == (
        D("5.0"), "ne_or_himalayan_state")  # Assam
    assert contribution_rate(settings, {"lgd_path": "/S28/D1/V9/", "attributes": {"sc_st_majority": True}}) == (
        D("5.0"), "sc_st_majority")
    assert contribution_rate(settings, {"lgd_path": "/S28/D1/V9/", "attributes": {"hilly": False}}) == (
        D("10.0"), "standard")


def test_fifo_pays_the_oldest_month_first_and_keeps_the_rest_as_credit():
    oct_, nov, dec = dt.date(2026, 10, 1), dt.date(2026, 11, 1), dt.date(2026, 12, 1)
    result = fifo([(nov, D("53")), (oct_, D("50")), (dec, D("50"))], [("R1", D("20")), ("R2", D("100")),
                                                                      ("R3", D("40"))])
    assert result.paid == {oct_: D("50.00"), nov: D("53.00"), dec: D("50.00")}
    assert result.by_collection == {"R1": [(oct_, D("20.00"))], "R2": [(oct_, D("30.00")), (nov, D("53.00")),
                                                                      (dec, D("17.00"))],
                                    "R3": [(dec, D("33.00"))]}
    assert result.advance_by_collection == {"R3": D("7.00")} and result.credit == D("7.00")
    nothing = fifo([(oct_, D("0"))], [])
    assert nothing.paid == {oct_: D("0.00")} and nothing.credit == D("0.00")


def test_plan_writes_normalise_slabs_for_the_demand_query(node):
    from sqlalchemy import select

    from jaldpi.finances.models import TariffSlab

    build_world(node)
    with node.db.unit_of_work() as session:
        summary = node.catalogue["tariff_plans"].import_records(session, ROOT, [{
            "code": "TP-X", "village": 500004, "kind": "metered", "effective_from": "2026-04-01",
            "slabs": [{"up_to_kl": "8", "rate_per_kl": "4"}, {"up_to_kl": None, "rate_per_kl": "10"}]}],
            strategy=Strategy.create)
        assert summary.status == "ok", summary.to_dict()
        slabs = session.execute(select(TariffSlab.from_kl, TariffSlab.to_kl, TariffSlab.rate_per_kl)
                                .order_by(TariffSlab.seq)).all()
    assert [(D(str(a)), b if b is None else D(str(b)), D(str(c))) for a, b, c in slabs] == [
        (D("0"), D("8"), D("4")), (D("8"), None, D("10"))]


def test_sandbox_seeds_a_small_committee_month_and_runs_twice(node):
    from jaldpi.finances.sandbox import seed_demo

    build_world(node)
    with node.db.unit_of_work() as session:
        summary = node.catalogue["households"].import_records(session, ROOT, [
            {"village": village, "members_count": 3, "has_tap_connection": True, "social_category": "sc"}
            for village in (500001, 500001, 500002, 500002, 500004)])
        assert summary.status == "ok"
    counts = seed_demo(node)
    assert counts["tariff_plans"] == 3 and counts["demands"] == 5 and counts["meter_readings"] == 4
    assert counts["expenditures"] == 9 and 0 < counts["collections"] <= 5
    again = seed_demo(node)
    assert again["demands"] == 0 and again["tariff_plans"] == 0 and again["collections"] == 0
