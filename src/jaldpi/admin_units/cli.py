"""``jaldpi lgd ...``: load the official LGD directory CSV exports into the administrative-units registry."""

from __future__ import annotations

import json
from pathlib import Path

import typer
from rich.console import Console
from rich.table import Table


def within_option(session, within: str | None) -> str | None:
    """A command's ``--within`` (``district:745`` or a path such as ``/S28/D745/``) -> the unit's path; None when
    not given. A malformed value or a unit that does not exist is a usage error naming ``--within`` (exit 2)."""
    if not within:
        return None
    from jaldpi.admin_units.service import unit_path
    from jaldpi.core.errors import ValidationFailed

    try:
        path = unit_path(session, within)
    except ValidationFailed as exc:
        raise typer.BadParameter(exc.message, param_hint="--within") from exc
    if path is None:
        level, _, code = within.partition(":")
        raise typer.BadParameter(f"no {level} with LGD code {code}", param_hint="--within")
    return path


app = typer.Typer(help="LGD directory.", no_args_is_help=True)


def render_report(report, console: Console, *, max_rows: int = 20) -> None:
    """Print an :class:`~jaldpi.admin_units.lgd_import.ImportReport` as Rich tables: per file, then row details."""
    table = Table(title="LGD import", show_lines=False)
    for name, justify in (("file", "left"), ("kind", "left"), ("read", "right"), ("created", "right"),
                          ("updated", "right"), ("unchanged", "right"), ("merged", "right"), ("skipped", "right"),
                          ("skip reasons / note", "left"), ("s", "right")):
        table.add_column(name, justify=justify)
    for f in report.files:
        reasons = ", ".join(f"{r}: {n}" for r, n in f.reasons().items())
        table.add_row(Path(f.path).name, f.kind or "-", str(f.rows_read), str(f.created), str(f.updated),
                      str(f.unchanged), str(len(f.merged)), str(len(f.skipped)),
                      "; ".join(x for x in (reasons, f.note) if x), f"{f.seconds:.1f}")
    t = report.totals()
    table.add_row("total", "", str(t["rows_read"]), str(t["created"]), str(t["updated"]), str(t["unchanged"]),
                  str(t["merged"]), str(t["skipped"]), "", f"{report.seconds:.1f}", style="bold")
    console.print(table)
    details = [(Path(f.path).name, n, "skipped") for f in report.files for n in f.skipped]
    details += [(Path(f.path).name, n, "merged") for f in report.files for n in f.merged]
    if details and max_rows > 0:
        rows = Table(title="Rows not loaded as their own record")
        for name in ("file", "line", "code", "outcome", "reason", "detail"):
            rows.add_column(name)
        for fname, n, outcome in details[:max_rows]:
            rows.add_row(fname, str(n.line), n.code, outcome, n.reason, n.detail)
        console.print(rows)
    if len(details) > max(max_rows, 0):
        console.print(f"... and {len(details) - max_rows} more rows (see --json for all)")
    warnings = sum(len(f.warnings) for f in report.files)
    if warnings:
        console.print(f"{warnings} warning(s) (e.g. empty versions, unknown type codes): see --json")


@app.command("import")
def import_(
    paths: list[Path] = typer.Argument(..., exists=True, help="LGD CSV files or directories holding them"),
    as_json: bool = typer.Option(False, "--json", help="print the full report as JSON on stdout"),
    batch_size: int = typer.Option(5000, min=1, help="rows per import call (one transaction each)"),
    max_rows: int = typer.Option(20, help="skipped/merged rows to list in the table"),
) -> None:
    """Load LGD directory CSV files (states, districts, sub-districts, blocks, urban and traditional local bodies).

    Each file's kind is detected from its header. Files load parents first; re-running is idempotent.
    """
    from jaldpi.admin_units.lgd_import import discover, load
    from jaldpi.cli import database
    from jaldpi.config import get_settings
    from jaldpi.registries import build_catalogue

    if not discover(paths):
        Console(stderr=True).print("[red]no CSV files found[/]")
        raise typer.Exit(2)
    db = database()
    try:
        registry = build_catalogue(get_settings())["admin_units"]
        report = load(db, registry, paths, batch_size=batch_size)
    finally:
        db.dispose()
    render_report(report, Console(stderr=as_json), max_rows=max_rows)
    if as_json:
        typer.echo(json.dumps(report.to_dict(), indent=1, ensure_ascii=False))
