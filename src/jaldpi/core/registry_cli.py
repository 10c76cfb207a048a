"""``jaldpi records import|export REGISTRY ...``: any registry, from the command line, through the same write path
and the same scoped reads as the API, as the node operator (node_admin over the whole node)."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import orjson
import typer

from jaldpi.core.bulkio import json_default

app = typer.Typer(help="Import and export registry records (as the node operator).", no_args_is_help=True)


def _node():
    from jaldpi.cli import database
    from jaldpi.config import get_settings
    from jaldpi.core.security import Grant, Principal
    from jaldpi.registries import build_catalogue
    from jaldpi.standard.codelists import role_permissions

    settings = get_settings()
    operator = Principal("cli:operator", "system", (Grant("node_admin", "/"),), role_permissions(),
                         source_system=settings.node_id)
    return database(), build_catalogue(settings), operator


def _registry(catalogue, name: str):
    if name not in catalogue.registries:
        raise typer.BadParameter(f"no registry {name}; known: {', '.join(sorted(catalogue.registries))}",
                                 param_hint="REGISTRY")
    return catalogue[name]


@app.command("import")
def import_records(registry: str = typer.Argument(..., help="admin_units, households, samples, ..."),
                   file: Path = typer.Argument(..., exists=True, dir_okay=False,
                                               help=".json (array), .ndjson/.jsonl or .csv"),
                   strategy: str = typer.Option("create_and_update", help="create | update | create_and_update | "
                                                "delete"),
                   atomic: bool = typer.Option(True, "--atomic/--per-record", help="all or nothing, or per record"),
                   dry_run: bool = typer.Option(False, "--dry-run", help="check and report, write nothing"),
                   full: bool = typer.Option(False, "--full", help="report every row, not only errors")) -> None:
    """Bulk import a file; prints the import summary (the API's shape); exit 1 if the import wrote nothing."""
    from jaldpi.core.bulkparse import parse_body
    from jaldpi.core.errors import JaldpiError
    from jaldpi.core.registry import Strategy

    db, catalogue, operator = _node()
    target = _registry(catalogue, registry)
    suffix = file.suffix.lower()
    ctype = {".csv": "text/csv", ".ndjson": "application/x-ndjson", ".jsonl": "application/x-ndjson"}.get(
        suffix, "application/json")
    try:
        items = parse_body(ctype, file.read_bytes(), target.spec.schema)
        with db.unit_of_work(write=not dry_run) as session:
            summary = target.import_records(session, operator, items, strategy=Strategy(strategy), atomic=atomic,
                                            dry_run=dry_run)
    except JaldpiError as exc:
        typer.echo(json.dumps(exc.to_dict(), indent=1, ensure_ascii=False), err=True)
        raise typer.Exit(1) from exc
    except ValueError as exc:
        raise typer.BadParameter(str(exc), param_hint="--strategy") from exc
    body = summary.to_dict(full=full)
    typer.echo(json.dumps(body, indent=1, ensure_ascii=False))
    raise typer.Exit(0 if body["status"] != "error" else 1)


@app.command("export")
def export_records(registry: str = typer.Argument(...),
                   within: str = typer.Option(None, help="level:code (district:745) or a jurisdiction path"),
                   page_size: int = typer.Option(500, min=1, max=5000)) -> None:
    """Every record of a registry (or under a unit) as NDJSON on stdout, page by page (keyset), personal data in
    clear only as the operator's role allows (node_admin: yes, and the read is logged)."""
    from jaldpi.admin_units.paths import parse_within

    db, catalogue, operator = _node()
    target = _registry(catalogue, registry)
    path = parse_within(within) if within else None
    after = None
    out = sys.stdout.buffer
    while True:
        with db.unit_of_work(write=False) as session:
            page = target.list(session, operator, limit=page_size, after=after, within=path)
        for item in page["items"]:
            out.write(orjson.dumps(item, default=json_default) + b"\n")
        after = page["next_cursor"]
        if not after:
            break
    out.flush()
