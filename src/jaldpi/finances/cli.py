"""`jaldpi finances ...` commands: generate a month's demand, a village's summary, a household's ledger."""

from __future__ import annotations

import datetime as dt
import json

import typer
from pydantic_core import to_jsonable_python
from rich.console import Console
from rich.table import Table

app = typer.Typer(help="Village water committee finances: tariff plans, monthly demand, collections and receipts, "
                  "arrears, expenditure, cost recovery, community contribution.", no_args_is_help=True)
console = Console()


def _operator():
    from jaldpi.core.security import Grant, Principal
    from jaldpi.standard.codelists import role_permissions

    return Principal("cli:operator", "system", (Grant("node_admin", "/"),), role_permissions())


def _node():
    from jaldpi.cli import database
    from jaldpi.config import get_settings
    from jaldpi.registries import build_catalogue

    settings = get_settings()
    return settings, database(), build_catalogue(settings)


def _print(data, as_json: bool) -> bool:
    if as_json:
        print(json.dumps(to_jsonable_python(data), indent=1, ensure_ascii=False))
    return as_json


@app.command("demand")
def demand(month: str = typer.Option(..., "--month", help="The month billed, YYYY-MM"),
           within: str = typer.Option("/", "--within", help="Jurisdiction path such as /S28/D745/ or district:745"),
           as_json: bool = typer.Option(False, "--json")) -> None:
    """Generate the month's demand for every connected household without one (idempotent)."""
    from jaldpi.admin_units.cli import within_option
    from jaldpi.core.errors import JaldpiError
    from jaldpi.finances.service import generate_demand

    settings, db, catalogue = _node()
    try:
        with db.unit_of_work() as session:
            path = within_option(session, within) or "/"
            result = generate_demand(session, catalogue, _operator(), month, path,
                                     lookback_days=settings.finances_reading_lookback_days,
                                     work_mem_mb=settings.finances_demand_work_mem_mb,
                                     maintenance_work_mem_mb=settings.finances_demand_maintenance_work_mem_mb)
    except JaldpiError as exc:
        Console(stderr=True).print(f"[red]{exc.message}[/]")
        raise typer.Exit(2) from exc
    if _print(result, as_json):
        return
    run = result["run"]
    if run is None:
        console.print(f"{result['month']} under {result['within']}: nothing to do (every connected household with a "
                      f"tariff plan already has its demand); villages without a plan: "
                      f"{result['villages_without_plan']}")
        return
    t = Table(title=f"Demand run {run['code']} for {result['month']} under {result['within']}", show_header=False)
    for label, key in (("households", "households"), ("villages", "villages"), ("charge", "charge_total"),
                       ("concession", "concession_total"), ("late fee", "late_fee_total"),
                       ("arrears carried", "arrears_total"), ("demand (new)", "amount_total"),
                       ("metered kl", "consumption_kl_total"), ("villages without plan", "villages_without_plan")):
        t.add_row(label, str(run[key]))
    t.add_row("seconds", str(result["seconds"]))
    console.print(t)


@app.command("summary")
def summary(village: str = typer.Argument(..., help="Village LGD code or code"),
            month: str = typer.Option(None, "--month", help="YYYY-MM"),
            fy: str = typer.Option(None, "--fy", help="Financial year, e.g. 2026-27"),
            as_json: bool = typer.Option(False, "--json")) -> None:
    """A village's demand, collections, arrears, expenditure, cost recovery and efficiency."""
    from jaldpi.finances.service import period_of, village_summary

    settings, db, catalogue = _node()
    with db.unit_of_work(write=False) as session:
        data = village_summary(session, catalogue, _operator(), village, period_of(month, fy),
                               om_categories=settings.finances_om_categories,
                               due_days=settings.finances_payment_due_days)
    if _print(data, as_json):
        return
    t = Table(title=f"{data['village']['name']} ({data['village']['lgd_code']}), {data['period']['label']}",
              show_header=False)
    for key in ("households_billed", "demanded", "concession", "late_fee", "collected", "paid_against_demand",
                "om_expenditure", "expenditure_total", "cost_recovery_ratio", "collection_efficiency"):
        t.add_row(key.replace("_", " "), str(data[key]))
    for category, amount in sorted(data["expenditure"].items()):
        t.add_row(f"  spent: {category}", str(amount))
    t.add_row("outstanding now", str(data["arrears"]["outstanding"]))
    for bucket, amount in data["arrears"]["buckets"].items():
        t.add_row(f"  {bucket.replace('_', '-')} days past due" if bucket != "not_due" else "  not yet due",
                  str(amount))
    console.print(t)


@app.command("ledger")
def ledger(household: str = typer.Argument(..., help="Household id or code"),
           as_of: str = typer.Option(None, "--as-of", help="YYYY-MM-DD (default today)"),
           as_json: bool = typer.Option(False, "--json")) -> None:
    """A household's demands and payments with FIFO allocation and balance."""
    from jaldpi.finances.service import ledger as household_ledger

    settings, db, catalogue = _node()
    day = dt.date.fromisoformat(as_of) if as_of else None
    with db.unit_of_work(write=False) as session:
        data = household_ledger(session, catalogue, _operator(), household,
                                due_days=settings.finances_payment_due_days, as_of=day)
    if _print(data, as_json):
        return
    t = Table(title=f"Ledger of {data['household']['code']} as of {data['as_of']}")
    for c in ("month", "charge", "concession", "late fee", "amount", "paid", "unpaid", "days past due"):
        t.add_column(c, justify="left" if c == "month" else "right")
    for e in data["demands"]:
        t.add_row(e["month"], str(e["charge"]), str(e["concession"]), str(e["late_fee"]), str(e["amount"]),
                  str(e["paid"]), str(e["unpaid"]), str(e["days_past_due"]))
    console.print(t)
    p = Table(title="Payments")
    for c in ("receipt", "paid at", "mode", "amount", "for", "advance"):
        p.add_column(c)
    for pay in data["payments"]:
        p.add_row(pay["receipt_no"], str(pay["paid_at"]), pay["mode"], str(pay["amount"]),
                  ", ".join(f"{a['month']} {a['amount']}" for a in pay["allocated"]), str(pay["advance"]))
    console.print(p)
    console.print(f"billed {data['billed']}, paid {data['paid']}, outstanding {data['outstanding']}, "
                  f"advance credit {data['advance_credit']}")
