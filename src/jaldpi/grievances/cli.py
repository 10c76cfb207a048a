"""``jaldpi grievances ...``: the jobs (escalate overdue grievances, auto-close unanswered resolutions), tracking,
and the routing table."""

from __future__ import annotations

import datetime as dt
import json

import typer
from rich.console import Console
from rich.table import Table

app = typer.Typer(help="Grievances from citizens (web, SMS, staff calls, Open311): jobs, tracking, routing.",
                  no_args_is_help=True)
console = Console()


def _engine():
    from jaldpi.registries import build_workflows

    return build_workflows()


@app.command("escalate")
def escalate(as_json: bool = typer.Option(False, "--json", help="print what moved as JSON")) -> None:
    """Run the grievance jobs now (one unit of work): escalate grievances past their SLA one level up, and close
    grievances resolved more than grievance_auto_close_days ago without an answer. Schedule it (e.g. every 15 min)."""
    from jaldpi.cli import database
    from jaldpi.config import get_settings
    from jaldpi.grievances import service

    settings = get_settings()
    engine = _engine()
    now = dt.datetime.now(dt.UTC)
    with database().unit_of_work() as session:
        moved = service.escalate_overdue(session, settings, engine=engine, now=now)
        closed = service.auto_close(session, settings, engine=engine, now=now)
    if as_json:
        print(json.dumps({"escalated": moved, "auto_closed": closed}, indent=2, default=str))
        return
    table = Table(title=f"Grievances escalated at {now.isoformat(timespec='seconds')}")
    for column in ("case", "state", "from", "to"):
        table.add_column(column)
    for m in moved:
        to = "top of chain: flagged" if m["exhausted"] else f"{m['to_level']} {m['to_path']}"
        table.add_row(m["code"], m["state"], f"{m['from_level']} {m['from_path']}", to)
    console.print(table)
    console.print(f"{len(moved)} escalated or flagged; {len(closed)} closed without an answer: {', '.join(closed)}")


@app.command("show")
def show(reference: str = typer.Argument(..., help="the grievance's reference, e.g. GRV-7K3M9Q2XWZ")) -> None:
    """Print the public view of a grievance (what the citizen sees: no personal data)."""
    from jaldpi.cli import database
    from jaldpi.core.errors import NotFound
    from jaldpi.grievances import service

    try:
        with database().unit_of_work(write=False) as session:
            view = service.public_view(session, reference)
    except NotFound as exc:
        typer.echo(exc.message, err=True)
        raise typer.Exit(1) from exc
    print(json.dumps(view, indent=2, default=str, ensure_ascii=False))


@app.command("routing")
def show_routing(file: str = typer.Option(None, "--file", help="check this routing table instead of the node's")
                 ) -> None:
    """Check and print the routing table: role, level and SLA per category, and the escalation chain."""
    from jaldpi.config import get_settings
    from jaldpi.grievances import routing

    try:
        table = routing.load(file) if file else routing.table_for(get_settings())
        problems = routing.chain_problems(table, _engine().definition("grievance").escalation)
    except routing.RoutingError as exc:
        typer.echo(str(exc), err=True)
        raise typer.Exit(1) from exc
    if problems:
        typer.echo("; ".join(problems), err=True)
        raise typer.Exit(1)
    out = Table(title=f"Grievance routing {table.version}")
    for column in ("category", "level", "role", "SLA (h)"):
        out.add_column(column)
    for code, route in table.categories.items():
        out.add_row(code, route.level, table.role_at(route.level), f"{route.sla_hours:g}")
    console.print(out)
    console.print("escalation: " + " > ".join(f"{s.level} ({s.role})" for s in table.chain))
