"""Parse bulk import bodies: a JSON array, NDJSON (one object per line) or CSV (header row, ``a.b`` for nested
fields, ``|`` between list items). Malformed input is refused whole, naming the line, before anything is written.
"""

from __future__ import annotations

import csv
import io
import types
import typing
from typing import Any

import orjson
from pydantic import BaseModel

from jaldpi.core.errors import ValidationFailed


def parse_body(content_type: str, raw: bytes, schema: type[BaseModel]) -> list[dict[str, Any]]:
    ctype = (content_type or "application/json").split(";")[0].strip().lower()
    if ctype in ("application/x-ndjson", "application/ndjson", "application/jsonl"):
        return parse_ndjson(raw)
    if ctype in ("text/csv", "application/csv"):
        return parse_csv(raw.decode("utf-8-sig"), schema)
    if ctype in ("application/json", ""):
        try:
            data = orjson.loads(raw)
        except orjson.JSONDecodeError as exc:
            raise ValidationFailed(f"body is not valid JSON: {exc}", code="malformed_body",
                                   details=[{"field": None, "problem": str(exc)}]) from exc
        if isinstance(data, dict) and isinstance(data.get("records"), list):
            data = data["records"]
        if not isinstance(data, list):
            raise ValidationFailed("a JSON bulk body must be an array of records (or {\"records\": [...]})",
                                   code="malformed_body")
        return data
    raise ValidationFailed(f"unsupported content type {ctype}; use application/json, application/x-ndjson or "
                           "text/csv", code="unsupported_media_type")


def parse_ndjson(raw: bytes) -> list[dict[str, Any]]:
    out = []
    for lineno, line in enumerate(raw.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            out.append(orjson.loads(line))
        except orjson.JSONDecodeError as exc:
            raise ValidationFailed(f"NDJSON line {lineno} is not valid JSON: {exc}", code="malformed_body",
                                   details=[{"field": f"line {lineno}", "problem": str(exc)}]) from exc
    return out


def _is_list(annotation: Any) -> bool:
    origin = typing.get_origin(annotation)
    if origin in (list, tuple, set):
        return True
    if origin in (typing.Union, types.UnionType):
        return any(_is_list(a) for a in typing.get_args(annotation))
    return False


def parse_csv(text: str, schema: type[BaseModel]) -> list[dict[str, Any]]:
    reader = csv.reader(io.StringIO(text))
    try:
        header = next(reader)
    except StopIteration:
        return []
    header = [h.strip() for h in header]
    dupes = {h for h in header if header.count(h) > 1}
    if dupes:
        raise ValidationFailed(f"CSV header repeats column(s) {sorted(dupes)}", code="malformed_body")
    list_fields = {name for name, f in schema.model_fields.items() if _is_list(f.annotation)}
    out = []
    for lineno, cells in enumerate(reader, start=2):
        if not any(c.strip() for c in cells):
            continue
        if len(cells) != len(header):
            raise ValidationFailed(f"CSV line {lineno} has {len(cells)} cells, the header has {len(header)}",
                                   code="malformed_body",
                                   details=[{"field": f"line {lineno}", "problem": "cell count"}])
        record: dict[str, Any] = {}
        for key, cell in zip(header, cells, strict=True):
            cell = cell.strip()
            if cell == "":
                continue
            parts = key.split(".")
            value: Any = cell.split("|") if parts[0] in list_fields and len(parts) == 1 else cell
            target = record
            for p in parts[:-1]:
                target = target.setdefault(p, {})
            target[parts[-1]] = value
        out.append(record)
    return out
