"""``jaldpi opendata build | list``: build open-data releases on demand or on a schedule, list them."""

from __future__ import annotations

import json
import logging
import time

import typer

from jaldpi.config import get_settings

app = typer.Typer(help="Open datasets: build releases, list them (docs/open_data.md).", no_args_is_help=True)


def _summary(release) -> dict:
    return {"release_id": release.id, "built_at": release.built_at,
            "datasets": {name: {"rows": e["rows"], "suppressed_cells": e["suppressed_cells"],
                                "dp": e["dp"] is not None} for name, e in release.manifest["datasets"].items()}}


@app.command("build")
def build(loop: bool = typer.Option(False, "--loop", help="Keep building, every --interval seconds"),
          interval: float = typer.Option(3600.0, "--interval", min=1, help="Seconds between builds with --loop"),
          keep: int = typer.Option(None, "--keep", min=1, help="Releases kept (default: opendata_keep_releases)"),
          force: bool = typer.Option(False, "--force", help="Build even when the data have not changed"),
          rounds: int = typer.Option(0, "--rounds", min=0, help="With --loop: stop after this many builds "
                                     "(0: never)")) -> None:
    """Build every dataset into a new release and make it current (LATEST); prints the release summary (JSON)."""
    from jaldpi.cli import database
    from jaldpi.opendata.build import build_release

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    settings = get_settings()
    db = database()
    done = 0
    while True:
        try:
            release = build_release(db, settings, keep=keep, force=force)
            print(json.dumps(_summary(release)), flush=True)
        except Exception as exc:  # a scheduled builder survives a failed round; LATEST still names the last good one
            if not loop:
                raise
            logging.getLogger("jaldpi.opendata").error("opendata: build failed: %s", type(exc).__name__)
        done += 1
        if not loop or (rounds and done >= rounds):
            break
        time.sleep(interval)


@app.command("list")
def list_command() -> None:
    """List the releases on disk (JSON lines, oldest first); the current one has "latest": true."""
    from jaldpi.opendata.store import latest_release, list_releases, open_release

    settings = get_settings()
    current = latest_release(settings)
    for release_id in list_releases(settings):
        release = open_release(settings, release_id)
        if release is None:
            continue
        print(json.dumps({**_summary(release), "latest": current is not None and current.id == release_id}))
