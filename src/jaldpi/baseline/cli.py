"""``jaldpi baseline``: import JJM village profiles; report villages below the service norm."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

import typer
from rich.console import Console
from rich.table import Table

app = typer.Typer(help="Baseline: JJM village profiles (service level, tap connections, Har Ghar Jal status).",
                  no_args_is_help=True)
console = Console()


def print_import(report: dict[str, Any], out: Console | None = None) -> None:
    out = out or console
    s = Table(title=f"Import of {report['file']} (as on {report['as_on']})", show_header=False)
    s.add_row("rows read", str(report["rows_read"]))
    s.add_row("written", ", ".join(f"{k} {v}" for k, v in report["written"].items()))
    s.add_row("missing lpcd", str(report["missing_lpcd"]))
    s.add_row("Har Ghar Jal", ", ".join(f"{k}: {v}" for k, v in report["har_ghar_jal"].items()))
    if report["unreadable_values"]:
        s.add_row("unreadable values", ", ".join(f"{k} {v}" for k, v in report["unreadable_values"].items()))
    s.add_row("seconds", str(report["seconds"]))
    out.print(s)
    t = Table(title="Matches per level")
    for c in ("level", "matched", "exact", "alias", "fuzzy", "unmatched"):
        t.add_column(c, justify="left" if c == "level" else "right")
    for lv, m in report["levels"].items():
        t.add_row(lv, *(str(m[k]) for k in ("matched", "exact", "alias", "fuzzy", "unmatched")))
    out.print(t)
    for lv, groups in report["unmatched"].items():
        if not groups:
            continue
        t = Table(title=f"{lv.capitalize()} names not matched" + (" (per block)" if lv == "village" else ""))
        cols = [k for k in groups[0] if k not in ("reason", "rows")]
        for c in (*cols, "rows", "reason"):
            t.add_column(c, justify="right" if c == "rows" else "left")
        for g in groups[:60]:
            t.add_row(*(str(g[c]) for c in cols), str(g["rows"]), g["reason"])
        if len(groups) > 60:
            t.add_row(*([""] * len(cols)), "...", f"{len(groups) - 60} more groups (--json for all)")
        out.print(t)


def print_below_norm(data: dict[str, Any], out: Console | None = None) -> None:
    out = out or console
    level = data["level"]
    t = Table(title=f"Profile villages below {data['norm_lpcd']} lpcd per {level}")
    for c in (level, "LGD code", "villages", "below norm", "at/above", "missing lpcd", "share below"):
        t.add_column(c, justify="left" if c == level else "right")
    for i in data["items"]:
        unit = i[level]
        name = unit["name"] if unit else " / ".join(i["names_in_file"][0]) + " (not matched)"
        t.add_row(name, str(unit["lgd_code"]) if unit else "-", str(i["villages"]), str(i["below_norm"]),
                  str(i["at_or_above_norm"]), str(i["missing_lpcd"]),
                  f"{i['share_below']:.1%}" if i["share_below"] is not None else "-")
    tot = data["totals"]
    t.add_row("total", "", str(tot["villages"]), str(tot["below_norm"]), str(tot["at_or_above_norm"]),
              str(tot["missing_lpcd"]), "")
    out.print(t)


@app.command("import")
def import_command(
    files: list[Path] = typer.Argument(..., exists=True, dir_okay=False, help="JJM village profile CSV files"),
    as_on: str = typer.Option(None, "--as-on", help="date the profiles describe (default 2024-02-01: scraped early "
                              "2024)"),
    as_json: bool = typer.Option(False, "--json", help="print the reports as JSON"),
) -> None:
    """Import village profiles; names are matched to LGD units and what did not match is reported."""
    from jaldpi.baseline.importer import DEFAULT_AS_ON, import_files
    from jaldpi.cli import database

    try:
        day = dt.date.fromisoformat(as_on) if as_on else DEFAULT_AS_ON
    except ValueError as exc:
        raise typer.BadParameter("an ISO date (YYYY-MM-DD)", param_hint="--as-on") from exc
    try:
        reports = [r.to_dict() for r in import_files(database(), files, as_on=day)]
    except ValueError as exc:
        Console(stderr=True).print(f"[red]{exc}[/]")
        raise typer.Exit(2) from exc
    if as_json:
        print(json.dumps(reports, indent=1, ensure_ascii=False, default=str))
    else:
        for r in reports:
            print_import(r)


@app.command("report")
def report_command(
    within: str = typer.Option(None, "--within", help="LGD unit as level:code (district:518) or a path"),
    level: str = typer.Option("district", "--level", help="state | district | block"),
    as_json: bool = typer.Option(False, "--json", help="print the report as JSON"),
) -> None:
    """Villages below the service norm (setting service_norm_lpcd) per district (or state, block)."""
    from jaldpi.baseline import service
    from jaldpi.baseline.router import within_path
    from jaldpi.cli import database
    from jaldpi.config import get_settings
    from jaldpi.core.security import Grant, Principal
    from jaldpi.standard.codelists import role_permissions

    if level not in service.GROUP_LEVELS:
        raise typer.BadParameter("state, district or block", param_hint="--level")
    principal = Principal("system:cli", "system", (Grant("node_admin", "/"),), role_permissions())
    db = database()
    with db.unit_of_work(write=False) as session:
        data = service.below_norm(session, principal, get_settings().service_norm_lpcd, level=level,
                                  within=within_path(session, within))
    if as_json:
        print(json.dumps(data, indent=1, ensure_ascii=False, default=str))
    else:
        print_below_norm(data)
