"""A committee runs a month: plan, demand (flat, metered, exempted, category concession), collections with
receipts (FIFO, advance), expenses, cost recovery and efficiency against hand-computed values; the next month
carries arrears and applies advance credit; re-running a month does nothing."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from sqlalchemy import select

from jaldpi.finances.models import Demand
from jaldpi.people.models import Household
from tests.finances.fin_world import V1, V2, build_committee
from tests.helpers import error_of, login_as

D = Decimal
V1_PATH = "/S28/D745/B4001/G200001/V500001/"


def _demands(node, month: str) -> dict[str, dict]:
    d, h = Demand.__table__, Household.__table__
    with node.db.engine.connect() as conn:
        rows = conn.execute(select(h.c.code, d).join(h, h.c.id == d.c.household_id)
                            .where(d.c.month == dt.date.fromisoformat(month + "-01"))).mappings()
        return {r["code"]: {k: (D(str(v)).quantize(D("0.01")) if k in ("charge", "concession", "late_fee", "arrears",
                                                                        "amount", "paid") else v)
                            for k, v in r.items()} for r in rows}


def _pay(client, headers, household: str, amount: str, paid_at: str, mode: str = "cash") -> dict:
    r = client.post("/api/v1/collections", headers=headers,
                    json={"household": household, "amount": amount, "paid_at": paid_at, "mode": mode})
    assert r.status_code == 201, r.text
    return r.json()


def test_a_committee_runs_a_month_and_sees_its_cost_recovery(client, node):
    build_committee(node)
    operator = login_as(client, node, "vwsc-alpha", "vwsc_operator", "/S28/D745/B4001/G200001/")
    official = login_as(client, node, "block-alpha", "block_official", "/S28/D745/B4001/")

    # --- demand for October, from the block office
    r = client.post("/api/v1/finances/demand-runs", headers=official, json={"month": "2025-10", "within": "block:4001"})
    assert r.status_code == 201, r.text
    run = r.json()
    assert run["created"] == 7 and run["villages_without_plan"] == 0  # HH-NOTAP has no tap: no demand
    assert run["run"]["households"] == 7 and run["run"]["villages"] == 2
    # V1: 100 + 100 + 100 charged; exempted pays 0%, SC pays 50%: 100 + 0 + 50 = 150
    # V2: 25 kl -> 10*5 + 10*8 + 5*12 = 190; 4 kl -> 20 < minimum 50; no reading -> 50; 3 + 11 kl -> 50 + 4*8 = 82
    assert D(run["run"]["amount_total"]) == D("150") + D("190") + D("50") + D("50") + D("82")
    assert D(run["run"]["concession_total"]) == D("150")
    oct_ = _demands(node, "2025-10")
    assert {c: r["amount"] for c, r in oct_.items()} == {
        "HH-GEN": D("100.00"), "HH-EXEMPT": D("0.00"), "HH-SC": D("50.00"),
        "HH-M1": D("190.00"), "HH-M2": D("50.00"), "HH-M3": D("50.00"), "HH-M4": D("82.00")}
    assert D(str(oct_["HH-M1"]["consumption_kl"])) == D("25") and oct_["HH-M3"]["consumption_kl"] is None
    assert D(str(oct_["HH-M4"]["consumption_kl"])) == D("14")

    # the same month again adds nothing and writes no second run record
    again = client.post("/api/v1/finances/demand-runs", headers=official, json={"month": "2025-10"}).json()
    assert again["created"] == 0 and again["run"] is None
    runs = client.get("/api/v1/demand_runs", headers=official).json()["items"]
    assert len(runs) == 1 and runs[0]["scope_path"] == "/S28/D745/B4001/"
    verified = client.get(f"/api/v1/finances/demand-runs/{runs[0]['code']}/verify", headers=official).json()
    assert verified["ok"] is True and verified["villages"] == 2

    # --- collections with receipts (the committee's operator)
    gen = _pay(client, operator, "HH-GEN", "150", "2025-10-20T10:00:00+05:30", "upi")  # 100 for October + 50 ahead
    _pay(client, operator, "HH-SC", "20", "2025-10-21T10:00:00+05:30")  # partial
    _pay(client, operator, "HH-M1", "190", "2025-10-25T10:00:00+05:30")
    assert gen["code"].startswith("R-500001-2510-")
    receipt = client.get(f"/api/v1/finances/receipts/{gen['code']}", headers=operator).json()
    assert receipt["receipt"]["allocated"] == [{"month": "2025-10", "amount": "100.00"}]
    assert receipt["receipt"]["advance"] == "50.00" and receipt["receipt"]["household"] == "HH-GEN"
    check = client.post("/api/v1/verify", json={"jws": receipt["jws"]}).json()
    assert check["valid"] is True and check["document"]["receipt"]["amount"] == "150.00"

    # --- expenses of village 1: electricity and the operator count as O&M, "other" does not
    for category, amount in (("electricity", "60"), ("operator_salary", "40"), ("other", "30")):
        r = client.post("/api/v1/expenditures", headers=operator, json={
            "village": V1, "category": category, "amount": amount, "spent_on": "2025-10-28", "payee": "APSPDCL"})
        assert r.status_code == 201, r.text

    summary = client.get(f"/api/v1/finances/villages/{V1}/summary?month=2025-10&as_of=2025-11-05",
                         headers=operator).json()
    assert D(summary["demanded"]) == D("150") and D(summary["collected"]) == D("170")
    assert D(summary["paid_against_demand"]) == D("120")  # 100 (GEN) + 20 (SC); GEN's 50 is advance
    assert D(summary["om_expenditure"]) == D("100") and D(summary["expenditure_total"]) == D("130")
    assert summary["cost_recovery_ratio"] == 1.7  # 170 / 100
    assert summary["collection_efficiency"] == 0.8  # 120 / 150
    assert D(summary["arrears"]["outstanding"]) == D("30") and D(summary["arrears"]["advance_credit"]) == D("50")
    assert D(summary["arrears"]["buckets"]["not_due"]) == D("30")  # due 15 November

    report = client.get("/api/v1/finances/reports/cost-recovery?month=2025-10&level=block&within=district:745",
                        headers=official).json()
    (block,) = report["items"]
    assert block["lgd_code"] == 4001 and block["villages"] == 2
    assert D(block["demanded"]) == D("522") and D(block["collected"]) == D("360")
    assert block["cost_recovery_ratio"] == 3.6  # 360 / 100 (village 2 reported no expenses)

    # --- November: arrears carried with the late fee, advance credit used
    r = client.post("/api/v1/finances/demand-runs", headers=official,
                    json={"month": "2025-11", "within": "village:500001"})
    assert r.status_code == 201 and r.json()["created"] == 3
    nov = _demands(node, "2025-11")
    assert nov["HH-SC"]["arrears"] == D("30.00") and nov["HH-SC"]["late_fee"] == D("3.00")  # 10% of 30
    assert nov["HH-SC"]["amount"] == D("53.00")
    assert nov["HH-GEN"]["arrears"] == D("0.00") and nov["HH-GEN"]["paid"] == D("50.00")  # advance applied
    ledger = client.get("/api/v1/finances/households/HH-SC/ledger?as_of=2026-01-20", headers=operator).json()
    assert [(e["month"], e["amount"], e["paid"]) for e in ledger["demands"]] == [
        ("2025-10", "50.00", "20.00"), ("2025-11", "53.00", "0.00")]
    assert ledger["outstanding"] == "83.00" and ledger["demands"][0]["days_past_due"] == 66  # due 15 Nov

    # a payment pays the oldest month first (FIFO)
    _pay(client, operator, "HH-SC", "40", "2025-12-02T09:00:00+05:30")
    ledger = client.get("/api/v1/finances/households/HH-SC/ledger", headers=operator).json()
    assert [e["paid"] for e in ledger["demands"]] == ["50.00", "10.00"]
    arrears = client.get(f"/api/v1/finances/villages/{V1}/arrears?as_of=2025-12-20", headers=operator).json()
    # HH-SC owes 43 of November, HH-GEN 50 (November's 100 less its 50 advance); both due 15 December
    assert arrears["households_in_arrears"] == 2 and D(arrears["outstanding"]) == D("93")
    assert D(arrears["buckets"]["0_30"]) == D("93") and arrears["households"][0]["outstanding"] == "50.00"


def test_a_cancelled_receipt_frees_the_month_again(client, node):
    build_committee(node)
    operator = login_as(client, node, "vwsc-alpha", "vwsc_operator", "/S28/D745/B4001/G200001/")
    login_as(client, node, "block-alpha", "block_official", "/S28/D745/B4001/")
    r = client.post("/api/v1/finances/demand-runs", headers=operator, json={"month": "2025-10"})
    assert r.status_code == 201 and r.json()["created"] == 7  # the operator's own scope: both villages of the GP
    paid = _pay(client, operator, "HH-GEN", "100", "2025-10-20T10:00:00+05:30")
    assert _demands(node, "2025-10")["HH-GEN"]["paid"] == D("100.00")
    r = client.patch(f"/api/v1/collections/{paid['code']}", headers=operator,
                     json={"cancelled": True, "cancel_reason": "cheque bounced"})
    assert r.status_code == 200, r.text
    assert _demands(node, "2025-10")["HH-GEN"]["paid"] == D("0.00")


def test_rules_refuse_bad_plans_readings_and_demand_runs_from_outside(client, node):
    build_committee(node)
    official = login_as(client, node, "block-alpha", "block_official", "/S28/D745/B4001/")
    beta = login_as(client, node, "beta-officer", "district_official", "/S28/D746/")

    overlapping = {"village": V1, "kind": "flat", "effective_from": "2025-11-01", "flat_amount": "120"}
    err = error_of(client.post("/api/v1/tariff_plans", headers=official, json=overlapping))
    assert "overlaps tariff plan TP-FLAT-V1" in str(err)
    # ending the old plan first makes room for the new one
    r = client.patch("/api/v1/tariff_plans/TP-FLAT-V1", headers=official, json={"effective_to": "2025-10-31"})
    assert r.status_code == 200, r.text
    assert client.post("/api/v1/tariff_plans", headers=official, json=overlapping).status_code == 201

    bad_slabs = {"village": V2, "kind": "metered", "effective_from": "2030-01-01",
                 "slabs": [{"up_to_kl": "20", "rate_per_kl": "5"}, {"up_to_kl": "10", "rate_per_kl": "8"},
                           {"up_to_kl": None, "rate_per_kl": "9"}]}
    err = error_of(client.post("/api/v1/tariff_plans", headers=official, json=bad_slabs))
    assert "ascending" in str(err)

    lower = {"household": "HH-M1", "read_on": "2025-11-30", "reading_kl": "90"}
    err = error_of(client.post("/api/v1/meter_readings", headers=official, json=lower))
    assert "lower than the previous reading" in str(err)
    assert client.post("/api/v1/meter_readings", headers=official,
                       json={**lower, "meter_replaced": True}).status_code == 201

    # nobody writes a demand run record by hand
    fake = {"month": "2025-10-01", "scope_path": V1_PATH, "households": 1, "villages": 1, "charge_total": "1",
            "concession_total": "0", "late_fee_total": "0", "arrears_total": "0", "amount_total": "1",
            "consumption_kl_total": "0", "totals_digest": "0" * 64}
    err = error_of(client.post("/api/v1/demand_runs", headers=official, json=fake))
    assert "demand generator only" in str(err)

    # another district's officer can neither bill nor read this block
    r = client.post("/api/v1/finances/demand-runs", headers=beta, json={"month": "2025-10", "within": "block:4001"})
    assert r.status_code == 403, r.text
    r = client.get(f"/api/v1/finances/villages/{V1}/summary?month=2025-10", headers=beta)
    assert r.status_code == 403 and error_of(r)["code"] == "out_of_jurisdiction"
    err = error_of(client.get(f"/api/v1/finances/villages/{V1}/summary?month=2025-10&fy=2025-27", headers=official))
    assert err["code"] == "validation_failed"
