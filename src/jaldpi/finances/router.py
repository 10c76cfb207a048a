"""HTTP routes of the finances domain: demand runs, village summaries, cost recovery, arrears, household ledgers
and signed receipts. The registries (tariff plans, meter readings, collections, expenditures, community
contributions, demand runs) get the generic registry routes."""

from __future__ import annotations

import datetime as dt

from fastapi import APIRouter, Body, Depends, Query, Request
from fastapi.responses import Response
from pydantic import BaseModel, Field
from pydantic_core import to_jsonable_python

from jaldpi.admin_units.service import require_unit_path
from jaldpi.core.api import current_principal, json_response, node_of
from jaldpi.core.errors import Unauthenticated
from jaldpi.core.security import Principal
from jaldpi.finances import service

router = APIRouter(tags=["finances"])
P = "/api/v1/finances"
RECEIPT_TYPE = "jaldpi/water-charge-receipt/v1"
MONTH = r"^\d{4}-\d{2}$"
FY = r"^\d{4}-\d{2}$"


def _signed_in(principal: Principal) -> None:
    if principal.is_anonymous:
        raise Unauthenticated("sign in to read committee finances")


_within = require_unit_path  # `within` query parameter -> path (404 if no such unit)


class DemandRunRequest(BaseModel):
    month: str = Field(pattern=MONTH, description="The month billed, YYYY-MM")
    within: str = Field("/", description="Jurisdiction path or level:code (district:745); default: everywhere "
                        "you may write finances")


@router.post(f"{P}/demand-runs", summary="Generate a month's demand for every connected household (set-based, "
             "idempotent)")
def demand_run(request: Request, body: DemandRunRequest = Body(...),
               principal: Principal = Depends(current_principal)) -> Response:
    _signed_in(principal)
    node = node_of(request)
    with node.db.unit_of_work() as session:
        within = _within(session, body.within) or "/"
        if within == "/" and principal.scope(service.WRITE) != ["/"]:
            scopes = principal.scope(service.WRITE)
            within = scopes[0] if len(scopes) == 1 else within
        result = service.generate_demand(session, node.catalogue, principal, body.month, within,
                                         lookback_days=node.settings.finances_reading_lookback_days,
                                         work_mem_mb=node.settings.finances_demand_work_mem_mb,
                                         maintenance_work_mem_mb=node.settings.finances_demand_maintenance_work_mem_mb)
    return json_response(result, 201 if result["created"] else 200)


@router.get(f"{P}/demand-runs/{{key}}/verify", summary="Recompute a demand run's totals and check its digest")
def verify_demand_run(request: Request, key: str, principal: Principal = Depends(current_principal)) -> Response:
    _signed_in(principal)
    node = node_of(request)
    with node.db.unit_of_work(write=False) as session:
        return json_response(service.verify_run(session, principal, node.catalogue, key))


@router.get(f"{P}/villages/{{village}}/summary", summary="A village's demand, collections, arrears, expenditure, "
            "cost recovery and collection efficiency for a month or financial year")
def village_summary(request: Request, village: str, month: str | None = Query(None, pattern=MONTH),
                    fy: str | None = Query(None, pattern=FY, description="Financial year, e.g. 2026-27"),
                    as_of: dt.date | None = None, principal: Principal = Depends(current_principal)) -> Response:
    _signed_in(principal)
    node = node_of(request)
    period = service.period_of(month, fy)
    with node.db.unit_of_work(write=False) as session:
        return json_response(service.village_summary(
            session, node.catalogue, principal, village, period, om_categories=node.settings.finances_om_categories,
            due_days=node.settings.finances_payment_due_days, as_of=as_of))


@router.get(f"{P}/villages/{{village}}/arrears", summary="Households in arrears in a village, aged from due dates")
def village_arrears(request: Request, village: str, as_of: dt.date | None = None,
                    principal: Principal = Depends(current_principal)) -> Response:
    _signed_in(principal)
    node = node_of(request)
    with node.db.unit_of_work(write=False) as session:
        unit = service.village_in_scope(session, node.catalogue, principal, village)
        return json_response({"village": {"lgd_code": unit["lgd_code"], "name": unit["name"]},
                              **service.outstanding(session, principal, unit["lgd_path"], as_of or dt.date.today(),
                                                    node.settings.finances_payment_due_days, per_household=True)})


@router.get(f"{P}/reports/cost-recovery", summary="O&M cost recovery and collection efficiency per village, block "
            "or district")
def cost_recovery(request: Request, month: str | None = Query(None, pattern=MONTH),
                  fy: str | None = Query(None, pattern=FY), within: str | None = None,
                  level: str = Query("village", pattern="^(state|district|block|gram_panchayat|village)$"),
                  principal: Principal = Depends(current_principal)) -> Response:
    _signed_in(principal)
    node = node_of(request)
    period = service.period_of(month, fy)
    with node.db.unit_of_work(write=False) as session:
        items = service.cost_recovery(session, principal, period, _within(session, within), level,
                                      node.settings.finances_om_categories)
    return json_response({"period": period.label, "level": level, "om_categories": node.settings.finances_om_categories,
                          "formula": {"cost_recovery_ratio": "collected / om_expenditure",
                                      "collection_efficiency": "paid_against_demand / demanded",
                                      "collected_to_demanded": "collected / demanded"},
                          "items": items})


@router.get(f"{P}/households/{{key}}/ledger", summary="A household's demands, payments, FIFO allocation and balance")
def household_ledger(request: Request, key: str, as_of: dt.date | None = None,
                     principal: Principal = Depends(current_principal)) -> Response:
    _signed_in(principal)
    node = node_of(request)
    with node.db.unit_of_work(write=False) as session:
        return json_response(service.ledger(session, node.catalogue, principal, key,
                                            due_days=node.settings.finances_payment_due_days, as_of=as_of))


@router.get(f"{P}/receipts/{{receipt_no}}", summary="A payment receipt, signed by the node (compact JWS, EdDSA)")
def receipt(request: Request, receipt_no: str, principal: Principal = Depends(current_principal)) -> Response:
    _signed_in(principal)
    node = node_of(request)
    with node.db.unit_of_work(write=False) as session:
        # JSON-ready (amounts as exact decimal strings) so that the signed claims are what the response shows
        content = to_jsonable_python(service.receipt(session, node.catalogue, principal, receipt_no))
    key = node.extras["signing_keys"][0]
    token = key.sign({"sub": f"collections/{content['collection_id']}", "receipt": content},
                     issuer=node.settings.node_id, document_type=RECEIPT_TYPE)
    return json_response({"type": RECEIPT_TYPE, "receipt": content, "jws": token,
                          "verify": {"endpoint": "/api/v1/verify", "keys": "/.well-known/jwks.json"}})
