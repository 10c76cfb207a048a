"""``jaldpi documents add | verify``: add a file as the node operator; check the store's integrity."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import typer

app = typer.Typer(help="Documents: content-hashed files (photos, videos, resolutions, certificates, receipts) with "
                  "their metadata as a registry.", no_args_is_help=True)


def _operator(settings):
    from jaldpi.core.security import Grant, Principal
    from jaldpi.standard.codelists import role_permissions

    return Principal("cli:operator", "system", (Grant("node_admin", "/"),), role_permissions(),
                     source_system=settings.node_id)


@app.command("add")
def add(file: Path = typer.Argument(..., exists=True, dir_okay=False, readable=True, help="The file to add"),
        document_type: str = typer.Option(..., "--type", help="code list document_types: photo, video, ..."),
        admin_unit: str = typer.Option(..., "--admin-unit", help="LGD code (or id, code) of the unit, e.g. 500001"),
        media_type: str | None = typer.Option(None, "--media-type", help="default: guessed from the file name"),
        title: str | None = typer.Option(None, "--title"),
        lon: float | None = typer.Option(None, "--lon", help="geotag longitude, WGS 84 degrees"),
        lat: float | None = typer.Option(None, "--lat", help="geotag latitude, WGS 84 degrees"),
        captured_at: str | None = typer.Option(None, "--captured-at", help="ISO 8601, e.g. 2026-11-20T10:30:00+05:30"),
        subject_type: str | None = typer.Option(None, "--subject-type"),
        subject_id: str | None = typer.Option(None, "--subject-id"),
        public: bool = typer.Option(False, "--public", help="the content may be served to anyone")) -> None:
    """Store FILE and write its record (as the node operator), through the same rules as the API."""
    from jaldpi.cli import database
    from jaldpi.config import get_settings
    from jaldpi.core.errors import JaldpiError
    from jaldpi.documents.service import guess_media_type, record_document, store_content
    from jaldpi.registries import build_catalogue

    settings = get_settings()
    declared = media_type or guess_media_type(file.name)
    if declared is None:
        raise typer.BadParameter("cannot tell the media type from the file name: give --media-type",
                                 param_hint="--media-type")
    when = None
    if captured_at:
        try:
            when = dt.datetime.fromisoformat(captured_at)
        except ValueError:
            raise typer.BadParameter("an ISO 8601 date-time", param_hint="--captured-at") from None
    db = database()
    try:
        sha256, size = store_content(settings, file.open("rb"))
        with db.unit_of_work() as session:
            record = record_document(session, _operator(settings), settings, sha256=sha256, size_bytes=size,
                                     filename=file.name, media_type=declared, document_type=document_type,
                                     admin_unit=admin_unit, title=title, captured_at=when, lon=lon, lat=lat,
                                     subject_type=subject_type, subject_id=subject_id, public=public,
                                     catalogue=build_catalogue(settings))
    except JaldpiError as exc:
        typer.echo(json.dumps(exc.to_dict(), ensure_ascii=False, indent=1), err=True)
        raise typer.Exit(1) from None
    finally:
        db.dispose()
    typer.echo(json.dumps({k: record[k] for k in ("id", "code", "document_type", "sha256", "size_bytes",
                                                  "lgd_path", "public")}, ensure_ascii=False))


@app.command("verify")
def verify(as_json: bool = typer.Option(False, "--json", help="print the full report as JSON")) -> None:
    """Re-hash every stored blob against its name; report corrupt content, records whose content is missing, and
    orphan blobs (content no record points at). Exits 1 when anything is corrupt or missing (orphans are harmless)."""
    from jaldpi.cli import database
    from jaldpi.config import get_settings
    from jaldpi.documents.service import verify_store
    from jaldpi.documents.storage import blob_store

    settings = get_settings()
    db = database()
    try:
        with db.unit_of_work(write=False) as session:
            report = verify_store(session, blob_store(settings))
    finally:
        db.dispose()
    if as_json:
        typer.echo(json.dumps(report, indent=1))
    else:
        typer.echo(f"checked {report['checked']} blobs ({report['bytes']} bytes): {len(report['corrupt'])} corrupt, "
                   f"{len(report['missing'])} records with missing content, {len(report['orphans'])} orphans")
        for sha in report["corrupt"]:
            typer.echo(f"corrupt: {sha} (content no longer matches its name: restore it from backup)")
        for item in report["missing"]:
            typer.echo(f"missing: {item['code']} points at {item['sha256']}, which is not stored")
        for sha in report["orphans"]:
            typer.echo(f"orphan: {sha} (no record points at it; harmless)")
    if report["corrupt"] or report["missing"]:
        raise typer.Exit(1)
