"""``jaldpi wq verify | status | overdue | ruleset``: verify signed reports offline, village status and overdue
sources from the node's database, and the effective rule set. Registered on ``jaldpi.water_quality.cli.app``.

The database commands run as the node's operator (whole-node scope); ``--within`` narrows them to a unit.
"""

from __future__ import annotations

import datetime as dt
import json
import sys
from pathlib import Path
from typing import Any

import typer
from rich.console import Console
from rich.table import Table

from jaldpi.admin_units.cli import within_option

out = Console()
err = Console(stderr=True)


def _operator():
    from jaldpi.core.security import Grant, Principal
    from jaldpi.standard.codelists import role_permissions

    return Principal("cli:operator", "system", (Grant("node_admin", "/"),), role_permissions())


def _read_text(source: str) -> str:
    if source == "-":
        return sys.stdin.read()
    if source.startswith(("http://", "https://")):
        import urllib.request

        with urllib.request.urlopen(source, timeout=30) as response:  # noqa: S310 (an operator-given URL)
            return response.read().decode("utf-8")
    return Path(source).read_text(encoding="utf-8")


def _date(value: str | None, name: str) -> dt.date | None:
    if value is None:
        return None
    try:
        return dt.date.fromisoformat(value)
    except ValueError as exc:
        raise typer.BadParameter("an ISO date such as 2030-08-15", param_hint=name) from exc


def _dump(data: Any) -> None:
    print(json.dumps(data, indent=1, ensure_ascii=False, default=str))


def verify_command(
    source: str = typer.Argument(..., metavar="FILE_OR_-", help="a file holding the compact JWS (or the JSON "
                                 "answer of the signed-report endpoint), or - for stdin"),
    jwks: str = typer.Option(None, "--jwks", help="JWKS file or URL (e.g. https://node/.well-known/jwks.json); "
                             "default: this node's own keys (JALDPI_SIGNING_KEY)"),
    as_json: bool = typer.Option(False, "--json", help="print the result as JSON"),
) -> None:
    """Verify a signed document offline; exit 1 when it is not valid."""
    from jaldpi.core.errors import JaldpiError
    from jaldpi.core.signing import SigningKey, verify
    from jaldpi.core.signing import jwks as key_set_of

    text = _read_text(source).strip()
    if text.startswith("{"):  # the signed-report answer as saved from the API
        try:
            text = json.loads(text)["jws"]
        except (ValueError, KeyError, TypeError) as exc:
            err.print("[red]JSON input without a 'jws' field[/]")
            raise typer.Exit(1) from exc
    if jwks:
        try:
            key_set = json.loads(_read_text(jwks))
        except (OSError, ValueError) as exc:
            err.print(f"[red]cannot read the key set {jwks}: {exc}[/]")
            raise typer.Exit(2) from exc
    else:
        from jaldpi.config import get_settings

        settings = get_settings()
        key_set = key_set_of([SigningKey.from_setting(settings.signing_key, settings.secret_key)])
    try:
        result = verify(text, key_set)
    except JaldpiError as exc:
        result_json = {"valid": False, "kid": None, "problem": str(exc), "document": None}
    else:
        result_json = {"valid": result.valid, "kid": result.kid, "problem": result.problem,
                       "document": result.claims}
    if as_json:
        _dump(result_json)
    elif result_json["valid"]:
        doc = result_json["document"]
        report = doc.get("report") or {}
        out.print(f"[green]valid[/]: signed by key {result_json['kid']} of node {doc.get('iss')}, "
                  f"issued {dt.datetime.fromtimestamp(doc['iat'], dt.UTC).isoformat() if 'iat' in doc else '?'}")
        out.print(f"document {doc.get('typ')} {doc.get('sub')}")
        if report:
            contaminants = ", ".join(report.get("contaminants") or []) or "none"
            out.print(f"verdict {report.get('verdict')}; contaminants {contaminants}; "
                      f"rule set {report.get('ruleset_version')}")
    else:
        out.print(f"[red]NOT VALID[/]: {result_json['problem']}")
    raise typer.Exit(0 if result_json["valid"] else 1)


def status_command(
    within: str = typer.Option(None, "--within", help="district:745, block:4001, ... or a path; default: all"),
    since: str = typer.Option(None, "--since", help="ISO date; default: wq_status_period_days before --until"),
    until: str = typer.Option(None, "--until", help="ISO date; default: now"),
    as_json: bool = typer.Option(False, "--json", help="print every village as JSON"),
) -> None:
    """Water-quality status of the villages (safe / unsafe with contaminants / not tested) from lab results."""
    from jaldpi.cli import database
    from jaldpi.config import get_settings
    from jaldpi.water_quality import service

    settings = get_settings()
    end_day, start_day = _date(until, "--until"), _date(since, "--since")
    end = dt.datetime.combine(end_day, dt.time.max, dt.UTC) if end_day else dt.datetime.now(dt.UTC)
    start = (dt.datetime.combine(start_day, dt.time.min, dt.UTC) if start_day
             else end - dt.timedelta(days=settings.wq_status_period_days))
    db = database()
    with db.unit_of_work(write=False) as session:
        path = within_option(session, within)
        items = sorted(service.village_statuses(session, _operator(), service.Period(start, end), path).values(),
                       key=lambda v: v["lgd_path"])
    counts = {k: sum(1 for v in items if v["status"] == k) for k in ("safe", "unsafe", "not_tested")}
    if as_json:
        _dump({"within": path, "period": {"since": start.isoformat(), "until": end.isoformat()}, "counts": counts,
               "items": items})
        return
    out.print(f"{len(items)} villages under {path or '/'}: safe {counts['safe']}, unsafe {counts['unsafe']}, "
              f"not tested {counts['not_tested']} ({start.date()} to {end.date()})")
    unsafe = [v for v in items if v["status"] == "unsafe"]
    if unsafe:
        table = Table(title="Unsafe villages")
        for column in ("LGD", "village", "contaminants", "lab samples", "latest test"):
            table.add_column(column)
        for v in unsafe:
            table.add_row(str(v["lgd_code"]), v["name"], ", ".join(v["contaminants"]), str(v["lab_samples"]),
                          v["latest_tested_at"] or "")
        out.print(table)


def overdue_command(
    within: str = typer.Option(None, "--within", help="district:745, block:4001, ... or a path; default: all"),
    as_of: str = typer.Option(None, "--as-of", help="ISO date; default: today"),
    as_json: bool = typer.Option(False, "--json", help="print the overdue sources as JSON"),
) -> None:
    """Sources overdue for testing: chemical (yearly) or bacteriological (last season untested)."""
    from jaldpi.cli import database
    from jaldpi.config import get_settings
    from jaldpi.water_quality import service

    settings = get_settings()
    day = _date(as_of, "--as-of") or dt.date.today()
    db = database()
    with db.unit_of_work(write=False) as session:
        path = within_option(session, within)
        items = service.surveillance(session, _operator(), day, within=path,
                                     chemical_interval_days=settings.wq_chemical_interval_days,
                                     pre_months=tuple(settings.wq_pre_monsoon_months))
    overdue = [i for i in items if i["chemical"]["overdue"] or i["bacteriological"]["overdue"]]
    if as_json:
        _dump({"as_of": day.isoformat(), "within": path, "sources": len(items),
               "chemical_overdue": sum(i["chemical"]["overdue"] for i in items),
               "bacteriological_overdue": sum(i["bacteriological"]["overdue"] for i in items), "items": overdue})
        return
    out.print(f"{len(overdue)} of {len(items)} sources under {path or '/'} overdue as of {day}")
    if overdue:
        table = Table(title="Overdue sources")
        for column in ("point", "name", "place", "chemical last tested", "chemical", "bacteriological"):
            table.add_column(column)
        for i in overdue:
            table.add_row(i["code"], i["name"] or "", i["lgd_path"], i["chemical"]["last_tested"] or "never",
                          "OVERDUE" if i["chemical"]["overdue"] else "ok",
                          f"OVERDUE ({i['bacteriological']['previous_season']} untested)"
                          if i["bacteriological"]["overdue"] else "ok")
        out.print(table)


def ruleset_command(as_json: bool = typer.Option(False, "--json", help="print the rule set as JSON")) -> None:
    """The effective rule set (shipped file plus this node's overrides): version and limits."""
    from jaldpi.config import get_settings
    from jaldpi.water_quality.rules import ruleset_from_settings
    from jaldpi.water_quality.service import ruleset_description

    settings = get_settings()
    described = ruleset_description(ruleset_from_settings(settings), settings.wq_ftk_parameters)
    if as_json:
        _dump(described)
        return
    out.print(f"rule set {described['version']} ({described['id']}, {described['parameter_count']} parameters), "
              f"hash {described['content_hash'][:16]}")
    if described["overrides"]:
        out.print(f"overrides: {json.dumps(described['overrides'])}")
    table = Table(title="Limits")
    for column in ("code", "unit", "acceptable", "permissible", "kind"):
        table.add_column(column)
    for p in described["parameters"]:
        acceptable = " - ".join(x for x in (p["acceptable_min"], p["acceptable_max"]) if x is not None) or (
            p.get("qualitative") or "")
        table.add_row(p["code"], p["unit"] or "", str(acceptable),
                      "no relaxation" if p["no_relaxation"] else (p["permissible_max"] or ""), p["kind"])
    out.print(table)


def report_command(
    kind: str = typer.Argument(..., metavar="wq1|wq6|hotspots|ftk-coverage"),
    within: str = typer.Option(None, "--within", help="district:745, block:4001, ... or a path; default: all"),
    level: str = typer.Option("district", "--level", help="grouping level (wq1, wq6, hotspots)"),
    year: int = typer.Option(None, "--year", help="wq1: calendar year; default: this year"),
    month: str = typer.Option(None, "--month", help="ftk-coverage: YYYY-MM; default: this month"),
    since: str = typer.Option(None, "--since", help="wq6, hotspots: ISO date; default: the status period"),
    until: str = typer.Option(None, "--until", help="wq6, hotspots: ISO date; default: now"),
) -> None:
    """The national report shapes and views as JSON: WQ1-like, WQ6-like, hotspots, field-kit coverage."""
    from jaldpi.cli import database
    from jaldpi.config import get_settings
    from jaldpi.water_quality import service

    if kind not in ("wq1", "wq6", "hotspots", "ftk-coverage"):
        raise typer.BadParameter("one of wq1, wq6, hotspots, ftk-coverage", param_hint="KIND")
    settings = get_settings()
    end_day, start_day = _date(until, "--until"), _date(since, "--since")
    end = dt.datetime.combine(end_day, dt.time.max, dt.UTC) if end_day else dt.datetime.now(dt.UTC)
    start = (dt.datetime.combine(start_day, dt.time.min, dt.UTC) if start_day
             else end - dt.timedelta(days=settings.wq_status_period_days))
    db = database()
    with db.unit_of_work(write=False) as session:
        path = within_option(session, within)
        who = _operator()
        if kind == "wq1":
            year = year or dt.date.today().year
            data: Any = {"report": "WQ1", "year": year, "level": level, "items": service.wq1(
                session, who, year, level, path, pre_months=tuple(settings.wq_pre_monsoon_months))}
        elif kind == "wq6":
            data = {"report": "WQ6", "level": level,
                    "items": service.wq6(session, who, service.Period(start, end), level, path)}
        elif kind == "hotspots":
            data = {"level": level, "items": service.hotspots(session, who, service.Period(start, end), level, path)}
        else:
            first = dt.date.fromisoformat(f"{month}-01") if month else dt.date.today().replace(day=1)
            data = service.ftk_coverage(session, who, first, path)
    _dump(data)


def register(app: typer.Typer) -> None:
    app.command("report")(report_command)
    app.command("verify")(verify_command)
    app.command("status")(status_command)
    app.command("overdue")(overdue_command)
    app.command("ruleset")(ruleset_command)
