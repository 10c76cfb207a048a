"""Building a release: every dataset in every format, then one atomic switch of ``LATEST``.

1. The datasets are built into ``releases/.building-<id>/`` (one read-only unit of work, so they are consistent
   with each other), then ``release.json`` is written and the directory is renamed to ``releases/<id>/``. A
   failure anywhere removes the temporary directory: a half-built release is never visible.
2. ``LATEST`` is replaced atomically (write a temporary file, ``os.replace``).
3. Releases beyond the newest ``keep`` are deleted (never the current one).

Idempotent: the manifest records a *fingerprint* (the change-log head, the build date and the settings that shape
the data); when the current release has the same fingerprint, nothing is built and it is returned. This also keeps
the differentially private table from being re-noised (and its budget spent again) on unchanged data.

Logging names datasets and counts only, never row content.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import logging
import os
import shutil
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from sqlalchemy import func, select

from jaldpi import STANDARD_VERSION, __version__
from jaldpi.core.changelog import ChangeRecord
from jaldpi.opendata import formats
from jaldpi.opendata.builders import BUILDERS, BuildContext, Builder, Built
from jaldpi.opendata.datasets import DATASETS
from jaldpi.opendata.store import Release, latest_pointer, latest_release, list_releases, open_release, releases_dir

log = logging.getLogger("jaldpi.opendata")

DISCLOSURE_METHOD = ("primary suppression of household counts 1..k-1; complementary suppression along the LGD "
                     "hierarchy and within rows to a fixed point; derived cells suppressed with their sources")


def enabled_builders(settings: Any) -> dict[str, Builder]:
    return {name: builder for name, builder in BUILDERS.items()
            if name != "household_connections_dp" or settings.opendata_dp_enabled}


def fingerprint(session: Any, settings: Any, today: dt.date, names: list[str]) -> str:
    head = session.execute(select(func.max(ChangeRecord.seq))).scalar()
    knobs = {"seq": head, "today": today.isoformat(), "version": __version__, "datasets": names,
             **{k: str(getattr(settings, k)) for k in (
                 "node_id", "opendata_min_cell", "opendata_dp_enabled", "opendata_dp_epsilon", "opendata_dp_seed",
                 "opendata_licence", "opendata_wq_financial_years", "opendata_service_months",
                 "opendata_grievance_months", "service_norm_lpcd", "wq_ruleset")}}
    return hashlib.sha256(json.dumps(knobs, sort_keys=True).encode()).hexdigest()


def new_release_id(now: dt.datetime) -> str:
    """Sortable by build time: 20250131T101500123456Z."""
    return now.strftime("%Y%m%dT%H%M%S%fZ")


def build_release(db: Any, settings: Any, *, today: dt.date | None = None, keep: int | None = None,
                  force: bool = False, builders: Mapping[str, Builder] | None = None) -> Release:
    """Build every dataset into a new release and make it current; return it (or the unchanged current one)."""
    builders = dict(builders) if builders is not None else enabled_builders(settings)
    now = dt.datetime.now(dt.UTC)
    root = releases_dir(settings)
    root.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    with db.unit_of_work(write=False) as session:
        ctx = BuildContext(session, settings, today)
        as_of = ctx.today
        stamp = fingerprint(session, settings, ctx.today, sorted(builders))
        current = latest_release(settings)
        if current is not None and not force and current.manifest.get("fingerprint") == stamp:
            log.info("opendata: data unchanged since release %s; nothing built", current.id)
            return current
        release_id = new_release_id(now)
        while (root / release_id).exists():  # two builds in the same microsecond
            now += dt.timedelta(microseconds=1)
            release_id = new_release_id(now)
        work = root / f".building-{release_id}"
        work.mkdir()
        try:
            manifest = _build_into(work, ctx, builders, release_id=release_id, built_at=now, settings=settings)
        except BaseException:
            shutil.rmtree(work, ignore_errors=True)
            raise
    manifest["fingerprint"] = stamp
    manifest["as_of"] = as_of.isoformat()
    manifest["build_seconds"] = round(time.perf_counter() - started, 3)
    (work / "release.json").write_text(json.dumps(manifest, indent=1, ensure_ascii=False), encoding="utf-8")
    os.rename(work, root / release_id)
    _point_latest_at(settings, release_id)
    prune(settings, keep if keep is not None else settings.opendata_keep_releases)
    log.info("opendata: release %s built in %.1f s (%s)", release_id, manifest["build_seconds"],
             ", ".join(f"{n}: {e['rows']} rows" for n, e in manifest["datasets"].items()))
    release = open_release(settings, release_id)
    assert release is not None
    return release


def _build_into(work: Path, ctx: BuildContext, builders: Mapping[str, Builder], *, release_id: str,
                built_at: dt.datetime, settings: Any) -> dict[str, Any]:
    created = built_at.isoformat().replace("+00:00", "Z")
    disclosure = {"threshold": settings.opendata_min_cell, "method": DISCLOSURE_METHOD}
    manifest: dict[str, Any] = {"release_id": release_id, "built_at": created, "node_id": settings.node_id,
                                "standard": STANDARD_VERSION, "licence": settings.opendata_licence,
                                "disclosure": disclosure, "datasets": {}}
    for name, builder in builders.items():
        spec = DATASETS[name]
        t0 = time.perf_counter()
        built: Built = builder(ctx)
        directory = work / name
        directory.mkdir()
        files = {"csv": f"{name}.csv", "parquet": f"{name}.parquet"}
        formats.write_csv(built.rows, spec, directory / files["csv"])
        formats.write_parquet(directory / files["csv"], spec, directory / files["parquet"])
        if spec.has_points:
            files["geojson"] = f"{name}.geojson"
            formats.write_geojson(built.points or [], spec, directory / files["geojson"], built.metadata)
        entry: dict[str, Any] = {"rows": len(built.rows), "suppressed_cells": built.suppressed_cells,
                                 "dp": built.dp, "metadata": built.metadata}
        package = formats.datapackage(spec, directory, files, release_id=release_id, created=created,
                                      node_id=settings.node_id, standard=STANDARD_VERSION,
                                      licence=settings.opendata_licence, disclosure=disclosure, entry=entry)
        (directory / "datapackage.json").write_text(json.dumps(package, indent=1, ensure_ascii=False),
                                                    encoding="utf-8")
        all_files = {**files, "datapackage": "datapackage.json"}
        entry["files"] = {fmt: f"{name}/{file}" for fmt, file in all_files.items()}
        entry["sha256"] = {fmt: formats.sha256_of(directory / file) for fmt, file in all_files.items()}
        entry["seconds"] = round(time.perf_counter() - t0, 3)
        manifest["datasets"][name] = entry
        log.info("opendata: %s built: %d rows, %d suppressed cells, %.2f s", name, entry["rows"],
                 entry["suppressed_cells"], entry["seconds"])
    return manifest


def _point_latest_at(settings: Any, release_id: str) -> None:
    pointer = latest_pointer(settings)
    temporary = pointer.with_name(f".LATEST.{os.getpid()}.tmp")
    temporary.write_text(release_id + "\n", encoding="utf-8")
    os.replace(temporary, pointer)


def prune(settings: Any, keep: int) -> list[str]:
    """Delete all but the newest ``keep`` releases (never the current one); also stale temporary directories."""
    current = latest_release(settings)
    ids = list_releases(settings)
    doomed = [i for i in ids[:-keep] if current is None or i != current.id] if keep > 0 else []
    root = releases_dir(settings)
    for release_id in doomed:
        shutil.rmtree(root / release_id, ignore_errors=True)
    for stale in root.glob(".building-*"):
        if stale.is_dir() and time.time() - stale.stat().st_mtime > 24 * 3600:  # a build killed mid-way
            shutil.rmtree(stale, ignore_errors=True)
    return doomed
