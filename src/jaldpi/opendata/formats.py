"""Writing a dataset: CSV (UTF-8, header), Parquet (duckdb), GeoJSON village points, Frictionless datapackage.json.

The CSV is the reference: Parquet is converted from it by duckdb with the schema's column types, so both always
hold the same values. Empty CSV cells are nulls (suppressed or not applicable), never zeros.
"""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import json
from pathlib import Path
from typing import Any

from jaldpi.opendata.datasets import DatasetSpec

LICENCE_URLS = {"GODL-India": "https://data.gov.in/sites/default/files/Gazette_Notification_OGDL.pdf"}
LICENCE_TITLES = {"GODL-India": "Government Open Data License - India"}
DUCKDB_TYPES = {"string": "VARCHAR", "integer": "BIGINT", "number": "DOUBLE", "date": "DATE", "boolean": "BOOLEAN"}
MEDIA_TYPES = {"csv": "text/csv", "parquet": "application/vnd.apache.parquet", "geojson": "application/geo+json"}


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return repr(round(value, 6))
    if isinstance(value, dt.date):
        return value.isoformat()
    return str(value)


def write_csv(rows: list[dict[str, Any]], spec: DatasetSpec, path: Path) -> None:
    columns = spec.column_names
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(columns)
        writer.writerows([_cell(row.get(column)) for column in columns] for row in rows)


def write_parquet(csv_path: Path, spec: DatasetSpec, path: Path) -> None:
    import duckdb

    types = ", ".join(f"'{col.name}': '{DUCKDB_TYPES[col.type]}'" for col in spec.columns)
    connection = duckdb.connect(":memory:")
    try:
        connection.execute("SET threads TO 2")
        source = str(csv_path).replace("'", "''")
        target = str(path).replace("'", "''")
        connection.execute(
            f"COPY (SELECT * FROM read_csv('{source}', header = true, delim = ',', quote = '\"', "
            f"columns = {{{types}}}, nullstr = '', auto_detect = false)) TO '{target}' "
            "(FORMAT parquet, COMPRESSION zstd)")
    finally:
        connection.close()


def write_geojson(features: list[dict[str, Any]], spec: DatasetSpec, path: Path, metadata: dict[str, Any]) -> None:
    body = {"type": "FeatureCollection", "name": spec.name,
            "jaldpi:villages_without_point": metadata.get("villages_without_point", 0),
            "features": [_json_safe_feature(f) for f in features]}
    path.write_text(json.dumps(body, ensure_ascii=False, separators=(",", ":")), encoding="utf-8")


def _json_safe_feature(feature: dict[str, Any]) -> dict[str, Any]:
    properties = {k: (v.isoformat() if isinstance(v, dt.date) else v) for k, v in feature["properties"].items()}
    return {**feature, "properties": properties}


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def table_schema(spec: DatasetSpec) -> dict[str, Any]:
    """Frictionless Table Schema of the dataset (the CSV header, in order)."""
    fields = []
    for col in spec.columns:
        entry: dict[str, Any] = {"name": col.name, "type": col.type, "title": col.title["en"],
                                 "description": col.description, "jaldpi:title_hi": col.title["hi"]}
        if col.type == "boolean":
            entry["trueValues"], entry["falseValues"] = ["true"], ["false"]
        if col.unit:
            entry["jaldpi:unit"] = col.unit
        if col.household_count:
            entry["jaldpi:household_count"] = True
        if col.derived_from:
            entry["jaldpi:derived_from"] = list(col.derived_from)
        if col.suppression_flag_for:
            entry["jaldpi:suppression_flag_for"] = col.suppression_flag_for
        fields.append(entry)
    return {"fields": fields, "missingValues": [""]}


def datapackage(spec: DatasetSpec, directory: Path, files: dict[str, str], *, release_id: str, created: str,
                node_id: str, standard: str, licence: str, disclosure: dict[str, Any],
                entry: dict[str, Any]) -> dict[str, Any]:
    """The Frictionless Data Package descriptor (profile tabular-data-package) of one dataset's files.

    ``files``: format -> file name within ``directory`` (csv, parquet, geojson). ``entry``: the manifest entry
    (rows, suppressed_cells, dp, metadata).
    """
    schema = table_schema(spec)
    resources = []
    for fmt, name in files.items():
        path = directory / name
        resource: dict[str, Any] = {
            "name": f"{spec.name}-{fmt}" if fmt != "csv" else spec.name, "path": name, "format": fmt,
            "mediatype": MEDIA_TYPES[fmt], "bytes": path.stat().st_size, "hash": f"sha256:{sha256_of(path)}",
            "title": spec.title["en"]}
        if fmt == "csv":
            resource.update({"profile": "tabular-data-resource", "encoding": "utf-8", "schema": schema,
                             "dialect": {"delimiter": ",", "header": True, "doubleQuote": True}})
        elif fmt == "parquet":
            resource.update({"profile": "data-resource", "schema": schema})
        else:
            resource["profile"] = "data-resource"
        resources.append(resource)
    return {
        "profile": "tabular-data-package",
        "name": spec.name.replace("_", "-"),
        "id": f"urn:jaldpi:{node_id}:opendata:{spec.name}:{release_id}",
        "title": spec.title["en"],
        "description": spec.description["en"],
        "version": release_id,
        "created": created,
        "keywords": spec.keywords,
        "licenses": [{"name": licence, "title": LICENCE_TITLES.get(licence, licence),
                      "path": LICENCE_URLS.get(licence, "")}],
        "sources": [{"title": f"jaldpi node {node_id}: registries (households, schemes, components, samples, "
                              "supply records, LGD directory)"}],
        "resources": resources,
        "jaldpi:title": spec.title,
        "jaldpi:description": spec.description,
        "jaldpi:sector": spec.sector,
        "jaldpi:granularity": spec.granularity,
        "jaldpi:frequency": spec.frequency,
        "jaldpi:standard": standard,
        "jaldpi:release": release_id,
        "jaldpi:rows": entry["rows"],
        "jaldpi:disclosure": {**disclosure, "suppressed_cells": entry["suppressed_cells"],
                              "household_count_columns": spec.household_count_columns},
        "jaldpi:differential_privacy": entry["dp"],
        "jaldpi:metadata": entry.get("metadata", {}),
    }
