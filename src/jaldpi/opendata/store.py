"""Reading built releases: the current one (``LATEST``), their manifests, files and rows.

Layout under ``settings.opendata_dir``::

    releases/<release_id>/release.json            the manifest (see build.py)
    releases/<release_id>/<name>/<name>.csv       one directory per dataset, with .parquet, .geojson (points),
    releases/<release_id>/<name>/datapackage.json  and the Frictionless descriptor
    LATEST                                        the current release id (replaced atomically after a build)

A release directory is complete once it exists (it is renamed into place whole), and never changes afterwards, so
its parsed rows can be cached in memory for the life of the process.
"""

from __future__ import annotations

import csv
import datetime as dt
import json
import threading
from pathlib import Path
from typing import Any

from jaldpi.opendata.datasets import DATASETS

FORMATS = ("csv", "parquet", "geojson", "datapackage")

_CACHE_LOCK = threading.Lock()
_RELEASES: dict[Path, Release] = {}
_MAX_CACHED_RELEASES = 4


def releases_dir(settings: Any) -> Path:
    return Path(settings.opendata_dir) / "releases"


def latest_pointer(settings: Any) -> Path:
    return Path(settings.opendata_dir) / "LATEST"


class Release:
    """One built release (immutable). ``rows(name)`` parses the dataset's CSV once, with typed values."""

    def __init__(self, directory: Path):
        self.directory = Path(directory)
        self.manifest: dict[str, Any] = json.loads((self.directory / "release.json").read_text(encoding="utf-8"))
        self.id: str = self.manifest["release_id"]
        self.built_at: str = self.manifest["built_at"]
        self._rows: dict[str, list[dict[str, Any]]] = {}
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        return f"Release({self.id!r})"

    @property
    def dataset_names(self) -> list[str]:
        return list(self.manifest["datasets"])

    def file(self, name: str, fmt: str) -> Path:
        """Path of dataset ``name`` in format csv | parquet | geojson | datapackage. KeyError when the dataset is
        not in this release or has no such file (geojson exists only for datasets with points)."""
        entry = self.manifest["datasets"].get(name)
        if entry is None:
            raise KeyError(f"dataset {name!r} is not in release {self.id}")
        relative = entry["files"].get(fmt)
        if relative is None:
            raise KeyError(f"dataset {name!r} has no {fmt!r} file in release {self.id}")
        return self.directory / relative

    def rows(self, name: str) -> list[dict[str, Any]]:
        """The dataset's rows as dicts (column -> typed value; empty cells -> None). Cached; do not mutate."""
        cached = self._rows.get(name)
        if cached is not None:
            return cached
        with self._lock:
            if name not in self._rows:
                self._rows[name] = read_csv_rows(self.file(name, "csv"), name)
            return self._rows[name]


def _convert(value: str, kind: str) -> Any:
    if value == "":
        return None
    if kind == "integer":
        return int(value)
    if kind == "number":
        return float(value)
    if kind == "boolean":
        return value == "true"
    if kind == "date":
        return dt.date.fromisoformat(value)
    return value


def read_csv_rows(path: Path, name: str) -> list[dict[str, Any]]:
    """Parse a dataset CSV written by formats.write_csv back into typed rows."""
    spec = DATASETS.get(name)
    types = {col.name: col.type for col in spec.columns} if spec else {}
    with path.open(newline="", encoding="utf-8") as handle:
        return [{key: _convert(value, types.get(key, "string")) for key, value in row.items()}
                for row in csv.DictReader(handle)]


def open_release(settings: Any, release_id: str) -> Release | None:
    """The release ``release_id`` (cached), or None when it does not exist (or the id is not a plain name)."""
    if not release_id or "/" in release_id or "\\" in release_id or release_id.startswith("."):
        return None
    directory = releases_dir(settings) / release_id
    if not (directory / "release.json").is_file():
        return None
    with _CACHE_LOCK:
        release = _RELEASES.get(directory)
        if release is None:
            release = Release(directory)
            _RELEASES[directory] = release
            while len(_RELEASES) > _MAX_CACHED_RELEASES:  # keep memory bounded across many builds
                _RELEASES.pop(next(iter(_RELEASES)))
        return release


def latest_release(settings: Any) -> Release | None:
    """The current release (the id in ``LATEST``), or None before the first build."""
    try:
        release_id = latest_pointer(settings).read_text(encoding="utf-8").strip()
    except FileNotFoundError:
        return None
    return open_release(settings, release_id)


def list_releases(settings: Any) -> list[str]:
    """Ids of the complete releases on disk, oldest first (ids sort by build time)."""
    root = releases_dir(settings)
    if not root.is_dir():
        return []
    return sorted(p.name for p in root.iterdir() if p.is_dir() and not p.name.startswith(".")
                  and (p / "release.json").is_file())
