"""``jaldpi workflow ...``: list the registered workflow definitions; escalate overdue cases now."""

from __future__ import annotations

import datetime as dt
import json

import typer
from rich.console import Console
from rich.table import Table

app = typer.Typer(help="Workflow engine: definitions and escalation.", no_args_is_help=True)
console = Console()


def _engine():
    from jaldpi.registries import build_workflows  # the assembling module knows which domains register workflows

    return build_workflows()


@app.command("list")
def list_workflows(as_json: bool = typer.Option(False, "--json", help="print the definitions as JSON")) -> None:
    """List the registered workflow definitions (latest version of each)."""
    engine = _engine()
    definitions = engine.definitions()
    if as_json:
        print(json.dumps([d.public() for d in definitions], indent=2, ensure_ascii=False))
        return
    table = Table(title="Workflows")
    for column in ("name", "version", "states", "transitions", "escalation"):
        table.add_column(column)
    for d in definitions:
        states = ", ".join(s.name + ("*" if s.terminal else f" ({s.sla_hours:g} h)" if s.sla_hours else "")
                           for s in d.states)
        table.add_row(d.name, str(d.version), states, ", ".join(t.name for t in d.transitions),
                      " > ".join(d.escalation) or "-")
    console.print(table)
    if not definitions:
        console.print("no workflows registered")


@app.command("escalate")
def escalate(limit: int = typer.Option(0, help="at most this many cases (0: all overdue)"),
             as_json: bool = typer.Option(False, "--json", help="print the moves as JSON")) -> None:
    """Escalate every overdue open case now (one unit of work) and print what moved."""
    from jaldpi.cli import database

    engine = _engine()
    db = database()
    now = dt.datetime.now(dt.UTC)
    with db.unit_of_work() as session:
        moved = engine.escalate_overdue(session, now, limit=limit or None)
    if as_json:
        print(json.dumps(moved, indent=2, default=str))
        return
    table = Table(title=f"Escalation at {now.isoformat(timespec='seconds')}")
    for column in ("case", "workflow", "state", "overdue since", "from", "to"):
        table.add_column(column)
    for m in moved:
        to = "top of chain: flagged" if m["exhausted"] else f"{m['to_level']} {m['to_path']}"
        table.add_row(m["code"], m["workflow"], m["state"], m["due_at"].isoformat(timespec="minutes"),
                      f"{m['from_level']} {m['from_path']}", to)
    console.print(table)
    console.print(f"{len(moved)} case(s) escalated or flagged")
