"""``jaldpi wq``: water-quality commands (importing lab results)."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

import typer
from rich.console import Console
from rich.table import Table

app = typer.Typer(help="Water quality: import lab results (CGWB groundwater quality, lab CSV/XLSX).",
                  no_args_is_help=True)
console = Console()


def print_report(report: dict[str, Any], out: Console | None = None) -> None:
    """The import report as Rich tables."""
    out = out or console
    m = report["matched"]
    summary = Table(title=f"Import of {report['file']} ({report['format']})", show_header=False)
    summary.add_row("rows read", str(report["rows_read"]))
    summary.add_row("matched", f"{m['total']}  " + ", ".join(f"{k} {v}" for k, v in m.items() if k != "total"))
    summary.add_row("unmatched (skipped)", str(report["unmatched"]["rows"]))
    for what, counts in report["written"].items():
        summary.add_row(what.replace("_", " "), ", ".join(f"{k} {v}" for k, v in sorted(counts.items())) or "-")
    summary.add_row("rows skipped", str(report["skipped"]["rows"]))
    if report.get("coordinates"):
        summary.add_row("coordinates", ", ".join(f"{k} {v}" for k, v in sorted(report["coordinates"].items())))
    if report.get("collected_at"):
        summary.add_row("collected_at", report["collected_at"])
    summary.add_row("seconds", str(report["seconds"]))
    out.print(summary)
    for note in report.get("notes", []):
        out.print(f"[dim]note: {note}[/]")

    if report["unmatched"]["groups"]:
        t = Table(title="Places not matched (rows skipped)")
        for c in ("state", "district", "rows", "reason"):
            t.add_column(c, justify="right" if c == "rows" else "left")
        for g in report["unmatched"]["groups"]:
            t.add_row(g["state"], g["district"], str(g["rows"]), g["reason"])
        out.print(t)
    if report.get("fuzzy_matches"):
        t = Table(title="Fuzzy name matches (review)")
        for c in ("state", "district", "LGD district", "code", "score", "rows"):
            t.add_column(c)
        for f in report["fuzzy_matches"]:
            t.add_row(f["state"], f["district"], f["lgd_name"], f["lgd_code"], str(f["score"]), str(f["rows"]))
        out.print(t)
    other = [r for r in report["skipped"]["reasons"] if not r["reason"].startswith("place not matched")]
    if other:
        t = Table(title="Rows skipped for other reasons")
        t.add_column("reason")
        t.add_column("rows", justify="right")
        t.add_column("first rows")
        for r in other:
            t.add_row(r["reason"], str(r["rows"]), ", ".join(map(str, r["row_numbers"][:8])))
        out.print(t)

    t = Table(title="Columns")
    for c in ("header", "kind", "maps to", "unit", "numeric", "censored", "missing", "unparseable"):
        t.add_column(c, justify="right" if c in ("numeric", "censored", "missing", "unparseable") else "left")
    for c in report["columns"]:
        if c["kind"] == "field":
            continue
        t.add_row(c["header"], c["kind"], c["maps_to"], c["unit"] or "", str(c["numeric"]), str(c["censored"]),
                  str(c["missing"]), str(c["unparseable"]))
    out.print(t)

    t = Table(title="Imported samples judged unsafe, per parameter (stored evaluation)")
    for c in ("parameter", "exceeds", "below_minimum", "samples"):
        t.add_column(c, justify="left" if c == "parameter" else "right")
    for code, counts in report["exceedances"].items():
        t.add_row(code, str(counts["exceeds"]), str(counts["below_minimum"]), str(counts["samples"]))
    out.print(t)


@app.command("import")
def import_command(
    file: Path = typer.Argument(..., exists=True, dir_okay=False, help="CSV or XLSX file"),
    format: str = typer.Option(None, "--format", help="cgwb | csv | xlsx (default: detected from the header)"),
    collected_at: str = typer.Option(None, "--collected-at", help="ISO date-time for files without sampling dates "
                                     "(CGWB default 2023-05-01T00:00:00+05:30)"),
    batch_size: int = typer.Option(5000, "--batch-size", min=1),
    as_json: bool = typer.Option(False, "--json", help="print the report as JSON"),
) -> None:
    """Import lab results; rows whose place or sampling point cannot be matched are reported, not written."""
    from jaldpi.cli import database
    from jaldpi.config import get_settings
    from jaldpi.registries import build_catalogue
    from jaldpi.water_quality.importers import FORMATS, import_file

    if format is not None and format not in FORMATS:
        raise typer.BadParameter(f"one of {', '.join(FORMATS)}", param_hint="--format")
    when = None
    if collected_at:
        try:
            when = dt.datetime.fromisoformat(collected_at)
        except ValueError as exc:
            raise typer.BadParameter("an ISO date or date-time", param_hint="--collected-at") from exc
        if when.tzinfo is None:
            when = when.replace(tzinfo=dt.timezone(dt.timedelta(hours=5, minutes=30)))
    db = database()
    catalogue = build_catalogue(get_settings())
    try:
        report = import_file(db, catalogue, file, format=format, collected_at=when, batch_size=batch_size)
    except ValueError as exc:
        Console(stderr=True).print(f"[red]{exc}[/]")
        raise typer.Exit(2) from exc
    data = report.to_dict()
    if as_json:
        print(json.dumps(data, indent=1, ensure_ascii=False))
    else:
        print_report(data)


# `jaldpi wq verify | status | overdue | ruleset` live in cli_reports.py (kept apart from the import command).
from jaldpi.water_quality.cli_reports import register as _register_report_commands  # noqa: E402

_register_report_commands(app)
