"""``jaldpi service-levels``: service levels and functionality computed on the node's database (operator scope)."""

from __future__ import annotations

import json

import typer

app = typer.Typer(help="Service levels: lpcd, regularity, quality and functionality of villages.",
                  no_args_is_help=True)


@app.command("compute")
def compute(
    month: str = typer.Option(..., "--month", help="YYYY-MM"),
    within: str = typer.Option(None, "--within", help="district:745, block:4001, ... or a path; default: all"),
    level: str = typer.Option("block", "--level", help="state | district | block | gram_panchayat"),
    villages: bool = typer.Option(False, "--villages", help="also print every village's month verdict"),
) -> None:
    """Functionality % per unit for a month, as JSON (the same figures as GET /api/v1/service-levels)."""
    from jaldpi.cli import database
    from jaldpi.config import get_settings
    from jaldpi.core.errors import NotFound, ValidationFailed
    from jaldpi.core.security import Grant, Principal
    from jaldpi.service_delivery import service
    from jaldpi.service_delivery.router import resolve_within
    from jaldpi.standard.codelists import role_permissions

    operator = Principal("cli:operator", "system", (Grant("node_admin", "/"),), role_permissions())
    rules = service.Rules.from_settings(get_settings())
    db = database()
    try:
        with db.unit_of_work(write=False) as session:
            path = resolve_within(session, operator, within)
            result = service.functionality(session, operator, month, rules, level, path)
            if villages:
                result["villages"] = sorted(service.village_verdicts(session, operator, month, rules, path).values(),
                                            key=lambda v: v["lgd_path"])
    except (NotFound, ValidationFailed) as exc:
        raise typer.BadParameter(str(getattr(exc, "message", exc))) from exc
    finally:
        db.dispose()
    typer.echo(json.dumps(result, ensure_ascii=False, indent=1, default=str))


@app.command("derive")
def derive(
    date_from: str = typer.Option(..., "--from", help="first day, YYYY-MM-DD (local)"),
    date_to: str = typer.Option(..., "--to", help="last day, YYYY-MM-DD (inclusive)"),
    as_json: bool = typer.Option(False, "--json", help="print the summary as JSON"),
) -> None:
    """Derive the daily supply records (source telemetry) of every serving scheme with a metered bulk flow from
    its stored observations, for the days --from .. --to; a re-run updates the same records."""
    import datetime as dt

    from jaldpi.cli import database
    from jaldpi.config import get_settings
    from jaldpi.core.security import Grant, Principal
    from jaldpi.registries import build_catalogue
    from jaldpi.service_delivery.from_telemetry import DerivationError
    from jaldpi.service_delivery.from_telemetry import derive as run
    from jaldpi.standard.codelists import role_permissions

    try:
        first, last = dt.date.fromisoformat(date_from), dt.date.fromisoformat(date_to)
    except ValueError as exc:
        raise typer.BadParameter(f"dates are YYYY-MM-DD: {exc}") from exc
    if last < first:
        raise typer.BadParameter("--to is before --from")
    operator = Principal("cli:operator", "system", (Grant("node_admin", "/"),), role_permissions())
    db = database()
    try:
        with db.unit_of_work() as session:
            result = run(session, build_catalogue(get_settings()), operator, first, last + dt.timedelta(days=1))
    except DerivationError as exc:
        raise typer.BadParameter(str(exc)) from exc
    finally:
        db.dispose()
    if as_json:
        typer.echo(json.dumps(result, ensure_ascii=False, indent=1))
    else:
        typer.echo(f"{result['supply_records']} supply records derived for {result['schemes']} schemes, "
                   f"{result['from']} .. {result['to']}")
