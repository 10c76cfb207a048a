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


@app.command("transition")
def transition(case: str = typer.Argument(..., help="case id or code"),
               name: str = typer.Argument(..., help="transition name, e.g. record_action"),
               payload: str = typer.Option("{}", "--payload", help='JSON, e.g. \'{"actions": ["chlorination"]}\''),
               as_json: bool = typer.Option(False, "--json")) -> None:
    """Take a transition as the node operator (node_admin: the cases:write override, recorded on the event)."""
    import json as _json

    from jaldpi.cli import database
    from jaldpi.core.errors import JaldpiError
    from jaldpi.core.security import Grant, Principal
    from jaldpi.standard.codelists import role_permissions

    try:
        body = _json.loads(payload)
    except ValueError as exc:
        raise typer.BadParameter(f"not JSON: {exc}", param_hint="--payload") from exc
    operator = Principal("cli:operator", "system", (Grant("node_admin", "/"),), role_permissions())
    engine = _engine()
    db = database()
    try:
        with db.unit_of_work() as session:
            moved = engine.transition(session, operator, case, name, body)
            state, code = moved.state, moved.code
    except JaldpiError as exc:
        typer.echo(_json.dumps(exc.to_dict(), indent=1), err=True)
        raise typer.Exit(1) from exc
    typer.echo(_json.dumps({"case": code, "state": state}) if as_json else f"{code} is now {state}")
