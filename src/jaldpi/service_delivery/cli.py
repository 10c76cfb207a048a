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
