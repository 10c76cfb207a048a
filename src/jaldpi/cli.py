"""The ``jaldpi`` command. Each domain contributes its own sub-commands; this module only assembles them."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import typer
from rich.console import Console

from jaldpi import __version__
from jaldpi.config import get_settings

app = typer.Typer(help="jaldpi: the Jal Jeevan Mission DPI node.", no_args_is_help=True,
                  pretty_exceptions_enable=False)
db_app = typer.Typer(help="Database schema.", no_args_is_help=True)
audit_app = typer.Typer(help="Audit trail.", no_args_is_help=True)
app.add_typer(db_app, name="db")
app.add_typer(audit_app, name="audit")
console = Console(stderr=True)


def database():
    from jaldpi.core.db import Database
    from jaldpi.registries import all_models

    all_models()
    db = Database(get_settings().database_url)
    from jaldpi.standard.codelists import bind_overlay  # national code-list extensions: read on first need

    bind_overlay(db, reload_seconds=get_settings().codelist_reload_seconds)
    return db


@app.command()
def version() -> None:
    """Print the version."""
    print(__version__)


@db_app.command("upgrade")
def db_upgrade(revision: str = "head") -> None:
    """Create or migrate the database to the latest schema."""
    from jaldpi.core.migrate import upgrade

    db = database()
    upgrade(db, revision)
    console.print(f"[green]database at {revision}[/] ({db.dialect})")


@audit_app.command("verify")
def audit_verify() -> None:
    """Recompute the change log's hash chain; exit 1 if any row was altered, inserted or deleted."""
    from jaldpi.core.changelog import verify

    db = database()
    with db.unit_of_work(write=False) as session:
        report = verify(session)
    print(json.dumps({"ok": report.ok, "entries": report.entries, "head_hash": report.head_hash,
                      "problems": report.problems}, indent=2))
    raise typer.Exit(0 if report.ok else 1)


@app.command()
def serve(host: str = "127.0.0.1", port: int = 8000, workers: int = 1) -> None:
    """Serve the API (migrations must have been applied: `jaldpi db upgrade`)."""
    import uvicorn

    uvicorn.run("jaldpi.app:create_app", factory=True, host=host, port=port, workers=workers, log_level="info")


@app.command()
def openapi(out: Path = typer.Option(None, help="file to write; stdout if absent")) -> None:
    """Print the OpenAPI 3.1 document."""
    from jaldpi.app import create_app

    text = json.dumps(create_app().openapi(), indent=1, ensure_ascii=False)
    if out:
        out.write_text(text, encoding="utf-8")
    else:
        sys.stdout.write(text)


def _register_domain_commands() -> None:
    from jaldpi.accounts.cli import app as accounts_cli
    from jaldpi.admin_units.cli import app as lgd_cli
    from jaldpi.core.registry_cli import app as records_cli
    from jaldpi.core.workflow_cli import app as workflow_cli
    from jaldpi.sandbox.cli import app as sandbox_cli
    from jaldpi.sandbox.cli import demo
    from jaldpi.water_quality.cli import app as wq_cli

    app.add_typer(records_cli, name="records")
    app.add_typer(lgd_cli, name="lgd")
    app.add_typer(accounts_cli, name="accounts")
    app.add_typer(sandbox_cli, name="sandbox")
    app.add_typer(wq_cli, name="wq")
    app.add_typer(workflow_cli, name="workflow")
    app.add_typer(__import__("jaldpi.telemetry.cli", fromlist=["app"]).app, name="telemetry")
    app.add_typer(__import__("jaldpi.baseline.cli", fromlist=["app"]).app, name="baseline")
    app.add_typer(__import__("jaldpi.service_delivery.cli", fromlist=["app"]).app, name="service-levels")
    app.add_typer(__import__("jaldpi.alerts.cli", fromlist=["app"]).app, name="alerts")
    app.add_typer(__import__("jaldpi.webhooks.cli", fromlist=["app"]).app, name="webhooks")
    app.add_typer(__import__("jaldpi.federation.cli", fromlist=["app"]).app, name="federation")
    app.add_typer(__import__("jaldpi.conformance.cli", fromlist=["app"]).app, name="conformance")
    app.add_typer(__import__("jaldpi.opendata.cli", fromlist=["app"]).app, name="opendata")
    for package, command in (("documents", "documents"), ("notifications", "notifications"),
                             ("progress", "progress"), ("grievances", "grievances"), ("upkeep", "upkeep"),
                             ("finances", "finances"), ("certification", "hgj")):
        app.add_typer(__import__(f"jaldpi.{package}.cli", fromlist=["app"]).app, name=command)
    app.command()(demo)


_register_domain_commands()


def main() -> None:
    app()
