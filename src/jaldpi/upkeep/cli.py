"""`jaldpi upkeep ...` commands: the PM planning and alert-ticket jobs (run them daily / every few minutes from cron
or a systemd timer), the overdue PM list and the MTTR / downtime report. Each prints JSON."""

from __future__ import annotations

import datetime as dt
import json
import zoneinfo

import typer

from jaldpi.admin_units.cli import within_option

app = typer.Typer(help="Asset upkeep: preventive maintenance schedules, breakdown tickets, repairs, condition, "
                  "downtime and mean time to repair.", no_args_is_help=True)


def _context():
    from jaldpi.cli import database
    from jaldpi.config import get_settings
    from jaldpi.registries import build_catalogue, build_workflows

    settings = get_settings()
    engine = build_workflows()
    return settings, database(), build_catalogue(settings, engine), engine


def _today(settings) -> dt.date:
    return dt.datetime.now(zoneinfo.ZoneInfo(settings.telemetry_timezone)).date()


def _date(value: str | None, name: str) -> dt.date | None:
    if value is None:
        return None
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise typer.BadParameter("expected YYYY-MM-DD", param_hint=name) from None


@app.command("plan")
def plan(through: str = typer.Option(None, "--through", help="create PM tasks due up to this day (YYYY-MM-DD; "
                                     "default today)"),
         within: str = typer.Option(None, "--within", help="only under this unit: district:745, block:4001, ...")
         ) -> None:
    """Create the preventive-maintenance tasks falling due (idempotent: one open task per component and task)."""
    from jaldpi.upkeep.service import plan_tasks, schedules_from_settings, system_principal

    settings, db, catalogue, _engine = _context()
    try:
        with db.unit_of_work() as session:
            result = plan_tasks(session, system_principal(), _date(through, "--through") or _today(settings),
                                schedules=schedules_from_settings(settings), within=within_option(session, within),
                                catalogue=catalogue)
    finally:
        db.dispose()
    typer.echo(json.dumps(result))


@app.command("tickets-from-alerts")
def tickets_from_alerts() -> None:
    """Open a breakdown ticket for every open alert of the configured kinds (JALDPI_UPKEEP_TICKET_ALERT_KINDS) that
    has none yet (idempotent per alert)."""
    from jaldpi.upkeep.service import tickets_from_alerts as run

    settings, db, catalogue, _engine = _context()
    try:
        with db.unit_of_work() as session:
            result = run(session, kinds=settings.upkeep_ticket_alert_kinds, catalogue=catalogue)
    finally:
        db.dispose()
    typer.echo(json.dumps(result, default=str))


@app.command("overdue")
def overdue(level: str = typer.Option("block", "--level", help="block | district | state"),
            within: str = typer.Option(None, "--within"),
            as_of: str = typer.Option(None, "--as-of", help="YYYY-MM-DD; default today")) -> None:
    """Overdue PM tasks per block or district (as the node sees them: all jurisdictions)."""
    from jaldpi.upkeep.service import overdue_pm, system_principal

    settings, db, _catalogue, _engine = _context()
    try:
        with db.unit_of_work(write=False) as session:
            result = overdue_pm(session, system_principal(), as_of=_date(as_of, "--as-of") or _today(settings),
                                level=level, within=within_option(session, within))
    finally:
        db.dispose()
    typer.echo(json.dumps(result))


@app.command("report")
def report(level: str = typer.Option("block", "--level", help="scheme | block | district"),
           within: str = typer.Option(None, "--within"),
           first: str = typer.Option(None, "--from", help="first day YYYY-MM-DD (default: upkeep_report_days ago)"),
           last: str = typer.Option(None, "--to", help="last day YYYY-MM-DD, inclusive (default today)")) -> None:
    """Downtime, MTTR, availability and PM compliance per scheme, block or district."""
    from jaldpi.upkeep.reports import Period, mttr_report
    from jaldpi.upkeep.service import system_principal

    settings, db, _catalogue, _engine = _context()
    end = _date(last, "--to") or _today(settings)
    start = _date(first, "--from") or end - dt.timedelta(days=settings.upkeep_report_days - 1)
    try:
        with db.unit_of_work(write=False) as session:
            result = mttr_report(session, system_principal(), level=level,
                                 period=Period.of_dates(start, end, settings.telemetry_timezone),
                                 within=within_option(session, within), grace_days=settings.upkeep_pm_grace_days)
    finally:
        db.dispose()
    typer.echo(json.dumps(result))
