"""``jaldpi progress ...``: progress reports from the node's database (run as the node's operator, whole-node scope;
``--within`` narrows them to a unit)."""

from __future__ import annotations

import json

import typer
from rich.console import Console
from rich.table import Table

from jaldpi.admin_units.cli import within_option

app = typer.Typer(help="Scheme physical and financial progress, approved maker-checker through the workflow engine; "
                  "district and state reports.", no_args_is_help=True)
out = Console()


def _operator():
    from jaldpi.core.security import Grant, Principal
    from jaldpi.standard.codelists import role_permissions

    return Principal("cli:operator", "system", (Grant("node_admin", "/"),), role_permissions())


@app.command("report")
def report_command(
    level: str = typer.Option("district", "--level", help="state | district | block"),
    within: str = typer.Option(None, "--within", help="district:745, block:4001, ... or a path such as /S28/"),
    fmt: str = typer.Option("table", "--format", help="table | json | csv"),
) -> None:
    """Physical progress (cost-weighted), finances by funding share and pending approvals per unit."""
    from jaldpi.cli import database
    from jaldpi.progress import reports

    if level not in reports.LEVELS:
        raise typer.BadParameter(f"one of {', '.join(reports.LEVELS)}", param_hint="--level")
    if fmt not in ("table", "json", "csv"):
        raise typer.BadParameter("one of table, json, csv", param_hint="--format")
    db = database()
    with db.unit_of_work(write=False) as session:
        path = within_option(session, within)
        result = reports.progress_report(session, _operator(), level, path)
    if fmt == "json":
        print(json.dumps(result, indent=1, ensure_ascii=False, default=str))
        return
    if fmt == "csv":
        print(reports.report_csv(result), end="")
        return
    table = Table(title=f"Scheme progress per {level}" + (f" within {path}" if path else ""))
    for column in ("unit", "schemes", "components", "complete", "physical %", "sanctioned", "released", "spent",
                   "utilisation %", "pending", "oldest (days)"):
        table.add_column(column, justify="left" if column == "unit" else "right")
    for g in result["items"]:
        table.add_row(f"{g['name'] or ''} {g['lgd_path']}".strip(), str(g["schemes"]), str(g["components"]),
                      str(g["components_complete"]), _s(g["physical_progress_pct"]), _s(g["sanctioned_inr"]),
                      _s(g["released_inr"]["total"]), _s(g["expenditure_inr"]), _s(g["utilisation_pct"]),
                      str(g["pending_approvals"]), _s(g["oldest_pending_days"]))
    out.print(table)


def _s(value) -> str:
    return "-" if value is None else str(value)
