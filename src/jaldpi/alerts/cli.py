"""``jaldpi alerts evaluate``: the periodic alert job (run it from cron or a systemd timer, e.g. every 5 minutes)."""

from __future__ import annotations

import json

import typer

app = typer.Typer(help="Alerts: evaluate every condition over the node (a periodic job).", no_args_is_help=True)


@app.command("evaluate")
def evaluate(now: str = typer.Option(None, "--now", help="evaluate as of this ISO 8601 time (default: now)")) -> None:
    """Open, refresh and close alerts; prints the counts as JSON."""
    from jaldpi.alerts.service import Thresholds, evaluate_alerts
    from jaldpi.cli import database
    from jaldpi.config import get_settings
    from jaldpi.telemetry.ingest import parse_time

    when = parse_time(now) if now else None
    db = database()
    try:
        with db.unit_of_work() as session:
            result = evaluate_alerts(session, when, thresholds=Thresholds.from_settings(get_settings()))
    finally:
        db.dispose()
    typer.echo(json.dumps(result))
