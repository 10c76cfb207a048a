"""Importers of laboratory results (CSV and XLSX), including the CGWB national groundwater-quality file.

Two formats share one pipeline (read -> map columns -> classify cells -> place rows -> write through
``Registry.import_records`` in batches -> read the stored evaluations back -> report):

**cgwb** -- the Central Ground Water Board's NHS groundwater quality workbook (e.g.
``nhs_groundwater_quality_pre_monsoon_2023.xlsx``, sheet "Table 1"): State, District, Location (names, no codes),
Longitude, Latitude, Year, then one column per parameter. The file carries **no sampling dates** (only the year):
every sample gets ``collected_at`` = the configured date (default 2023-05-01T00:00:00+05:30, pre-monsoon 2023) and
the file's year is kept in ``attributes.year``. State and district names are matched to LGD districts by
:class:`jaldpi.admin_units.names.NameMatcher` (exact, alias, fuzzy; every fuzzy match and every unmatched name is
reported; unmatched rows are skipped, never silently dropped). Each matched row becomes a sampling point (type
``source``, in the district, named after the location, a Point from lon/lat when they are valid) and one lab sample.
Both carry the external id ``cgwb = "<state>|<district>|<location>|<S. No.>"`` (the file's own serial number), so a
re-import matches what is stored and changes nothing.

**csv / xlsx** -- the generic lab format, one sample per row:

========================== =================================================================================
column                     meaning
========================== =================================================================================
sampling_point             the sampling point's id (UUID) or code (``WQP-...``); or instead
sampling_point_external_id ``system:value`` of the sampling point (e.g. ``jjm:12345``)
collected_at               ISO date or date-time (a date alone is 00:00 India time)
tested_at                  optional, same format
lab                        optional: the lab entity's id or code
test_kind                  ``lab`` (default) or ``field_kit``
purpose                    ``routine`` (default), ``confirmation``, ``retest``, ``repeat``
related_sample             required for confirmation / retest / repeat: id or code of the related sample
collected_by               optional
external_id                optional ``system:value`` of the sample in the lab's system; without it the sample's
                           key is ``lab-import = <sampling point>|<collected_at>|<test_kind>|<purpose>``
                           (re-importing the same file is then idempotent too)
remarks                    optional, kept in ``attributes.remarks``
<parameter> [<unit>]       one column per parameter: ``arsenic [ppb]``, ``Nitrate (mg/L as N)``, ``F (mg/L)``,
                           ``EC (µS/cm at 25 °C)``; names are rule-set codes, names or aliases, or the usual
                           chemical symbols (Cl, F, SO4, NO3, Fe, As, U, Ca, Mg, TH, pH, ...)
========================== =================================================================================

Column mapping: header spellings are normalised (case, spaces, µ/μ -> u, a "at 25 °C" note, unit in ``[...]``
or ``(...)``, even unclosed as in CGWB's ``EC (µS/cm at``). A parameter of the rule set becomes a result
``{parameter, value, unit}``; measured quantities that IS 10500 does not cover (EC, CO3, HCO3, PO4, Na, K, ...) are
kept in the sample's ``attributes.other_results`` (``{name: {"value", "unit"}}``) and not sent to the rules engine.
Columns that are neither are kept in ``attributes`` under their header.

Cells go through **as reported**: numbers, censored values (``BDL``, ``<0.01``, ``ND``) and missing markers (``-``,
``NA``; blank cells are omitted) are passed to the rules engine, which judges them; nothing is turned into zero.
A cell that is none of these (``#REF!``, a date in a number column) cannot be evaluated: it is not sent as a result
but kept in ``attributes.unreadable_results`` and counted per column as *unparseable*.
"""

from __future__ import annotations

import csv
import datetime as dt
import json
import math
import re
import time
import unicodedata
import uuid
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from decimal import Decimal
from functools import lru_cache
from pathlib import Path
from typing import Any

from sqlalchemy import select

from jaldpi.core.registry import Strategy
from jaldpi.core.security import Grant, Principal

IST = dt.timezone(dt.timedelta(hours=5, minutes=30), "IST")
CGWB_SOURCE_SYSTEM = "cgwb-nhs-2023"
CGWB_COLLECTED_AT = dt.datetime(2023, 5, 1, 0, 0, tzinfo=IST)
CGWB_SYSTEM = "cgwb"  # external-id system of CGWB stations and samples
LAB_SOURCE_SYSTEM = "lab-import"
BATCH_SIZE = 5000
RULESET_FILE = Path(__file__).with_name("rulesets") / "is10500_2012.json"
UNSAFE_VERDICTS = ("exceeds", "below_minimum")
FORMATS = ("cgwb", "csv", "xlsx")

_IMPORT_ROLE = "wq_importer"
_IMPORT_PERMISSIONS = frozenset({"admin_units:read", "entities:read", "sampling_points:read", "sampling_points:write",
                                 "samples:read", "samples:write"})


def importer_principal(source_system: str = CGWB_SOURCE_SYSTEM) -> Principal:
    """The system principal of the importer: reads and writes sampling points and samples across the whole tree."""
    return Principal("wq-import", "system", (Grant(_IMPORT_ROLE, "/"),), {_IMPORT_ROLE: _IMPORT_PERMISSIONS},
                     source_system=source_system)


# ------------------------------------------------------------------------------------------------ rule set


@lru_cache(maxsize=1)
def ruleset_parameters() -> dict[str, str]:
    """Normalised names, codes and aliases of the rule set's parameters -> parameter code."""
    names: dict[str, str] = {}
    try:
        data = json.loads(RULESET_FILE.read_text(encoding="utf-8"))
        params = data.get("parameters", [])
    except (OSError, ValueError):  # pragma: no cover - the rule set ships with the package
        params = []
    for p in params:
        code = p["code"]
        for n in [code, code.replace("_", " "), p.get("name"), *(p.get("aliases") or [])]:
            if n:
                names.setdefault(header_name(n), code)
    return names


# Usual column names of lab sheets -> (parameter code, default unit). Codes not in the rule set are kept as
# attributes (not IS 10500 parameters). Units given in the header win over these defaults.
KNOWN_COLUMNS: dict[str, tuple[str, str | None]] = {
    "ph": ("ph", None), "ph value": ("ph", None),
    "ec": ("electrical_conductivity", "uS/cm"), "electrical conductivity": ("electrical_conductivity", "uS/cm"),
    "conductivity": ("electrical_conductivity", "uS/cm"), "specific conductance": ("electrical_conductivity", "uS/cm"),
    "cl": ("chloride", "mg/L"), "chloride": ("chloride", "mg/L"),
    "f": ("fluoride", "mg/L"), "fluoride": ("fluoride", "mg/L"),
    "so4": ("sulphate", "mg/L"), "sulphate": ("sulphate", "mg/L"), "sulfate": ("sulphate", "mg/L"),
    "no3": ("nitrate", "mg/L as NO3"), "nitrate": ("nitrate", "mg/L as NO3"),
    "no3 n": ("nitrate", "mg/L as N"), "nitrate n": ("nitrate", "mg/L as N"), "nitrate as n": ("nitrate", "mg/L as N"),
    "th": ("total_hardness", "mg/L as CaCO3"), "total hardness": ("total_hardness", "mg/L as CaCO3"),
    "hardness": ("total_hardness", "mg/L as CaCO3"), "total hardness as caco3": ("total_hardness", "mg/L as CaCO3"),
    "ca": ("calcium", "mg/L"), "calcium": ("calcium", "mg/L"),
    "mg": ("magnesium", "mg/L"), "magnesium": ("magnesium", "mg/L"),
    "fe": ("iron", "mg/L"), "iron": ("iron", "mg/L"),
    "as": ("arsenic", "ug/L"), "arsenic": ("arsenic", "mg/L"),
    "u": ("uranium", "ug/L"), "uranium": ("uranium", "mg/L"),
    "tds": ("tds", "mg/L"), "total dissolved solids": ("tds", "mg/L"),
    "turbidity": ("turbidity", "NTU"), "mn": ("manganese", "mg/L"), "manganese": ("manganese", "mg/L"),
    "frc": ("free_residual_chlorine", "mg/L"), "residual chlorine": ("free_residual_chlorine", "mg/L"),
    "total alkalinity": ("total_alkalinity", "mg/L as CaCO3"), "alkalinity": ("total_alkalinity", "mg/L as CaCO3"),
    "co3": ("carbonate", "mg/L"), "carbonate": ("carbonate", "mg/L"),
    "hco3": ("bicarbonate", "mg/L"), "bicarbonate": ("bicarbonate", "mg/L"),
    "po4": ("phosphate", "mg/L"), "phosphate": ("phosphate", "mg/L"),
    "na": ("sodium", "mg/L"), "sodium": ("sodium", "mg/L"),
    "k": ("potassium", "mg/L"), "potassium": ("potassium", "mg/L"),
    "sio2": ("silica", "mg/L"), "silica": ("silica", "mg/L"),
}

_UNITS = {
    "mg/l": "mg/L", "mgl": "mg/L", "mg per l": "mg/L", "ppm": "ppm", "ppb": "ppb", "ug/l": "ug/L", "ugl": "ug/L",
    "microgram/l": "ug/L", "us/cm": "uS/cm", "umho/cm": "uS/cm", "umhos/cm": "uS/cm", "micromhos/cm": "uS/cm",
    "ms/cm": "mS/cm", "mg/l as n": "mg/L as N", "mg/l no3-n": "mg/L as N", "mg/l as no3-n": "mg/L as N",
    "no3-n": "mg/L as N", "as n": "mg/L as N", "mg/l as no3": "mg/L as NO3", "mg/l as caco3": "mg/L as CaCO3",
    "as caco3": "mg/L as CaCO3", "ntu": "NTU", "hazen": "Hazen", "ph units": None, "ph": None, "": None,
}


def header_name(text: Any) -> str:
    """A parameter name for matching: lower case, accents and punctuation away (``"Total-Hardness"`` -> ``"total
    hardness"``)."""
    t = unicodedata.normalize("NFKD", str(text or "").replace("µ", "u").replace("μ", "u"))
    t = t.encode("ascii", "ignore").decode().lower()
    return re.sub(r"[^a-z0-9]+", " ", t).strip()


def normalise_unit(text: str | None) -> str | None:
    """``"µS/cm at 25 °C"`` -> ``"uS/cm"``; ``"mg/l as N"`` -> ``"mg/L as N"``; unknown units are kept as written."""
    if text is None:
        return None
    t = unicodedata.normalize("NFKC", text).replace("µ", "u").replace("μ", "u").replace("°", " ")
    t = re.sub(r"\bat\b.*$", "", t, flags=re.I)  # "at 25 C", "at" (cut off)
    t = re.sub(r"\s+", " ", t).strip().rstrip(",;")
    key = t.lower().replace(" /", "/").replace("/ ", "/")
    if key in _UNITS:
        return _UNITS[key]
    return t or None


@dataclass(frozen=True)
class Header:
    raw: str
    name: str  # normalised name without the unit
    unit: str | None  # normalised unit, None if the header gives none


def parse_header(cell: Any) -> Header:
    """``"EC (µS/cm at"`` -> name "ec", unit "uS/cm"; ``"arsenic [ppb]"`` -> "arsenic", "ppb";
    ``"Nitrate (mg/L as N)"`` -> "nitrate", "mg/L as N"; ``"Total Hardness"`` -> "total hardness", None."""
    raw = str(cell if cell is not None else "").replace("\ufeff", "").strip()
    m = re.match(r"^(?P<name>[^\[(]*)[\[(](?P<unit>[^\])]*)[\])]?\s*(?P<rest>.*)$", raw)
    if m:
        name, unit = m.group("name"), m.group("unit")
    else:
        name, unit = raw, None
    return Header(raw, header_name(name), normalise_unit(unit) if unit is not None and unit.strip() else None)


@dataclass
class ColumnStats:
    numeric: int = 0
    censored: int = 0
    missing: int = 0
    unparseable: int = 0


@dataclass
class Column:
    index: int
    header: str
    kind: str  # result | other_result | field | attribute
    key: str  # parameter code, field name or attribute name
    unit: str | None = None
    stats: ColumnStats = field(default_factory=ColumnStats)

    def as_dict(self) -> dict[str, Any]:
        return {"header": self.header, "kind": self.kind, "maps_to": self.key, "unit": self.unit,
                **self.stats.__dict__}


CGWB_FIELDS = {"s no": "serial", "sno": "serial", "sl no": "serial", "state": "state", "state name": "state",
               "district": "district", "district name": "district", "location": "location", "site": "location",
               "station": "location", "village": "location", "longitude": "longitude", "long": "longitude",
               "lon": "longitude", "latitude": "latitude", "lat": "latitude", "year": "year"}
LAB_FIELDS = {"sampling point": "sampling_point", "sampling point id": "sampling_point",
              "sampling point code": "sampling_point", "sampling point external id": "sampling_point_external_id",
              "collected at": "collected_at", "collection date": "collected_at", "date of collection": "collected_at",
              "tested at": "tested_at", "lab": "lab", "laboratory": "lab", "test kind": "test_kind",
              "purpose": "purpose", "related sample": "related_sample", "collected by": "collected_by",
              "external id": "external_id", "sample id": "external_id", "remarks": "remarks"}


def map_columns(header: list[Any], fields: dict[str, str]) -> list[Column]:
    """Map header cells to fields, rule-set results, other measured results, or plain attributes."""
    known = ruleset_parameters()
    columns = []
    for i, cell in enumerate(header):
        h = parse_header(cell)
        if not h.raw:
            continue
        if h.name in fields and h.unit is None:
            columns.append(Column(i, h.raw, "field", fields[h.name]))
            continue
        code, default_unit = KNOWN_COLUMNS.get(h.name, (known.get(h.name), None))
        if code is None and h.name in fields:
            columns.append(Column(i, h.raw, "field", fields[h.name]))
            continue
        if code is None:
            columns.append(Column(i, h.raw, "attribute", h.raw))
            continue
        unit = h.unit or default_unit
        if code == "nitrate" and unit in ("mg/L", "ppm") and h.name in ("no3 n", "nitrate n", "nitrate as n"):
            unit = "mg/L as N"
        kind = "result" if code in known.values() else "other_result"
        columns.append(Column(i, h.raw, kind, code, unit))
    return columns


# ------------------------------------------------------------------------------------------------ cells

_NUMBER = re.compile(r"^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$")
_CENSORED = re.compile(r"^(<|>|≤|≥|<=|>=|less than|below|upto|up to)\s*[+-]?(\d+(\.\d*)?|\.\d+)\s*[a-zA-Zµ/]*$",
                       re.I)
CENSORED_WORDS = frozenset({"bdl", "b d l", "nd", "n d", "nil", "blq", "bql", "not detected", "below detection limit",
                            "below detectable limit", "trace", "traces", "absent", "lod", "lt dl", "dl"})
MISSING_WORDS = frozenset({"", "-", "--", "---", "—", "–", "na", "n a", "nan", "null", "none", "not analysed",
                           "not analyzed", "not tested", "nt", "x"})


def classify(value: Any) -> str:
    """``numeric`` | ``censored`` | ``missing`` | ``unparseable`` -- how a reported cell reads."""
    if value is None:
        return "missing"
    if isinstance(value, bool):
        return "unparseable"
    if isinstance(value, int | Decimal):
        return "numeric"
    if isinstance(value, float):
        return "unparseable" if math.isnan(value) or math.isinf(value) else "numeric"
    if not isinstance(value, str):
        return "unparseable"  # a date or time where a number belongs
    text = value.strip()
    if _NUMBER.match(text):
        return "numeric"
    if _CENSORED.match(text):
        return "censored"
    words = header_name(text)
    if text in MISSING_WORDS or words in MISSING_WORDS:
        return "missing"
    if words in CENSORED_WORDS or (text.startswith("<") and words in CENSORED_WORDS):
        return "censored"
    return "unparseable"


def reported(value: Any) -> Any:
    """The value to send: numbers as numbers (numeric text from CSV as an exact Decimal), text stripped."""
    if isinstance(value, str):
        text = value.strip()
        if _NUMBER.match(text):
            d = Decimal(text)
            return int(d) if d == d.to_integral_value() and "." not in text and "e" not in text.lower() else d
        return text
    return value


# ------------------------------------------------------------------------------------------------ reading


def read_rows(path: Path, sheet: str | None = None) -> tuple[list[Any], list[tuple[int, list[Any]]]]:
    """Header and data rows (with their 1-based line / spreadsheet row numbers) of a CSV or XLSX file."""
    path = Path(path)
    if path.suffix.lower() in (".xlsx", ".xlsm"):
        from openpyxl import load_workbook

        wb = load_workbook(path, read_only=True, data_only=True)
        try:
            ws = wb[sheet] if sheet else (wb["Table 1"] if "Table 1" in wb.sheetnames else wb.worksheets[0])
            header: list[Any] | None = None
            rows: list[tuple[int, list[Any]]] = []
            for number, row in enumerate(ws.iter_rows(values_only=True), start=1):
                values = list(row)
                if all(v is None or (isinstance(v, str) and not v.strip()) for v in values):
                    continue
                if header is None:
                    header = values
                else:
                    rows.append((number, values))
        finally:
            wb.close()
        return header or [], rows
    with path.open(encoding="utf-8-sig", newline="") as f:
        reader = csv.reader(f)
        header = []
        rows = []
        for number, row in enumerate(reader, start=1):
            if not any(c.strip() for c in row):
                continue
            if not header:
                header = row
            else:
                rows.append((number, row))
    return header, rows


def _cell(row: list[Any], index: int) -> Any:
    return row[index] if index < len(row) else None


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return re.sub(r"\s+", " ", str(value)).strip()


def parse_coordinate(value: Any) -> float | None:
    """A decimal degree from a number, ``"21.93"``, a stray backtick or quote, or degrees-minutes-seconds
    ``"74 41 25"``; None if unreadable."""
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, int | float | Decimal):
        v = float(value)
        return v if math.isfinite(v) else None
    if not isinstance(value, str):
        return None
    text = value.strip().strip("`'\"").strip()
    if _NUMBER.match(text):
        return float(text)
    parts = re.split(r"[\s°'\"′″:]+", text)
    parts = [p for p in parts if p]
    if 2 <= len(parts) <= 3 and all(_NUMBER.match(p) for p in parts):
        d, m, s = (float(p) for p in (parts + ["0"])[:3])
        if m < 60 and s < 60:
            return d + m / 60 + s / 3600
    return None


def point_geometry(lon: Any, lat: Any) -> tuple[dict[str, Any] | None, str]:
    """(GeoJSON Point or None, "valid" | "missing" | "invalid")."""
    if lon in (None, "") and lat in (None, ""):
        return None, "missing"
    x, y = parse_coordinate(lon), parse_coordinate(lat)
    if x is None or y is None or not (-180 <= x <= 180) or not (-90 <= y <= 90) or (x == 0 and y == 0):
        return None, "invalid"
    return {"type": "Point", "coordinates": [round(x, 6), round(y, 6)]}, "valid"


# ------------------------------------------------------------------------------------------------ report


@dataclass
class ImportReport:
    file: str
    format: str
    rows_read: int = 0
    matched: Counter = field(default_factory=Counter)  # exact / alias / fuzzy (cgwb); reference (csv)
    unmatched: dict[tuple[str, str, str], int] = field(default_factory=dict)  # (state, district, reason) -> rows
    fuzzy: dict[tuple[str, str], dict[str, Any]] = field(default_factory=dict)
    aliases: dict[tuple[str, str], dict[str, Any]] = field(default_factory=dict)
    skipped: dict[str, list[int]] = field(default_factory=lambda: defaultdict(list))  # reason -> row numbers
    columns: list[Column] = field(default_factory=list)
    coordinates: Counter = field(default_factory=Counter)
    points: Counter = field(default_factory=Counter)
    samples: Counter = field(default_factory=Counter)
    exceedances: dict[str, dict[str, int]] = field(default_factory=dict)
    collected_at: str | None = None
    notes: list[str] = field(default_factory=list)
    seconds: float = 0.0
    sample_ids: list[uuid.UUID] = field(default_factory=list, repr=False)

    @property
    def matched_total(self) -> int:
        return sum(self.matched.values())

    @property
    def unmatched_total(self) -> int:
        return sum(self.unmatched.values())

    def skip(self, reason: str, row: int) -> None:
        self.skipped[reason].append(row)

    def to_dict(self) -> dict[str, Any]:
        return {
            "file": self.file, "format": self.format, "rows_read": self.rows_read,
            "matched": {"total": self.matched_total, **dict(self.matched)},
            "unmatched": {"rows": self.unmatched_total, "groups": [
                {"state": s, "district": d, "reason": r, "rows": n}
                for (s, d, r), n in sorted(self.unmatched.items(), key=lambda kv: (-kv[1], kv[0]))]},
            "fuzzy_matches": [{"state": s, "district": d, **v} for (s, d), v in sorted(self.fuzzy.items())],
            "alias_matches": [{"state": s, "district": d, **v} for (s, d), v in sorted(self.aliases.items())],
            "written": {"sampling_points": dict(self.points), "samples": dict(self.samples)},
            "skipped": {"rows": sum(len(v) for v in self.skipped.values()), "reasons": [
                {"reason": r, "rows": len(v), "row_numbers": v[:20]}
                for r, v in sorted(self.skipped.items(), key=lambda kv: -len(kv[1]))]},
            "columns": [c.as_dict() for c in self.columns],
            "coordinates": dict(self.coordinates),
            "exceedances": self.exceedances,
            "collected_at": self.collected_at, "notes": self.notes, "seconds": round(self.seconds, 2),
        }


# ------------------------------------------------------------------------------------------------ pipeline


def _split_results(row: list[Any], columns: list[Column], unreadable: dict[str, Any]
                   ) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    results: list[dict[str, Any]] = []
    other: dict[str, Any] = {}
    for col in columns:
        if col.kind not in ("result", "other_result"):
            continue
        value = _cell(row, col.index)
        kind = classify(value)
        setattr(col.stats, kind, getattr(col.stats, kind) + 1)
        if value is None or (isinstance(value, str) and not value.strip()):
            continue  # a blank cell reports nothing
        if kind == "unparseable":
            unreadable[col.key] = value if isinstance(value, str | int | float) else str(value)
            continue
        if col.kind == "result":
            results.append({"parameter": col.key, "value": reported(value), "unit": col.unit})
        else:
            other[col.key] = {"value": reported(value), "unit": col.unit}
    return results, other


def _jsonable_attr(value: Any) -> Any:
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, dt.datetime | dt.date):
        return value.isoformat()
    return value


def _write(db, catalogue, report: ImportReport, batch: list[dict[str, Any]], principal: Principal,
           source_system: str) -> None:
    """One unit of work: the batch's sampling points (if any), then its samples."""
    points_reg = catalogue["sampling_points"]
    samples_reg = catalogue["samples"]
    with db.unit_of_work() as session:
        point_items = [b["point"] for b in batch if b.get("point") is not None]
        point_ids: dict[int, uuid.UUID | None] = {}
        if point_items:
            summary = points_reg.import_records(session, principal, point_items,
                                                strategy=Strategy.create_and_update, atomic=False,
                                                source_system=source_system)
            k = 0
            for n, b in enumerate(batch):
                if b.get("point") is None:
                    continue
                res = summary.rows[k]
                k += 1
                if res.errors:
                    report.points["errors"] += 1
                    e = res.errors[0]
                    report.skip(f"sampling point refused: {e['code']} {e['field'] or ''}: {e['message']}", b["row"])
                    point_ids[n] = None
                else:
                    report.points[res.action] += 1
                    point_ids[n] = res.id
        sample_items, rows = [], []
        for n, b in enumerate(batch):
            item = b["sample"]
            if b.get("point") is not None:
                if point_ids.get(n) is None:
                    continue
                item["sampling_point"] = str(point_ids[n])
            sample_items.append(item)
            rows.append(b["row"])
        if not sample_items:
            return
        summary = samples_reg.import_records(session, principal, sample_items, strategy=Strategy.create_and_update,
                                             atomic=False, source_system=source_system)
        for row_number, res in zip(rows, summary.rows, strict=True):
            if res.errors:
                report.samples["errors"] += 1
                e = res.errors[0]
                report.skip(f"sample refused: {e['code']} {e['field'] or ''}: {e['message']}", row_number)
            else:
                report.samples[res.action] += 1
                report.sample_ids.append(res.id)


def _parameter_verdicts(evaluation: dict[str, Any] | None) -> list[tuple[str, str | None]]:
    """(parameter, verdict) pairs of a stored evaluation: ``results`` [{parameter, verdict}] as the evaluation
    adapter stores it, or a ``parameters`` {code: {verdict}} mapping."""
    evaluation = evaluation or {}
    if isinstance(evaluation.get("results"), list):
        return [(r.get("parameter"), r.get("verdict")) for r in evaluation["results"] if isinstance(r, dict)]
    return [(code, e.get("verdict")) for code, e in (evaluation.get("parameters") or {}).items()
            if isinstance(e, dict)]


def count_exceedances(db, sample_ids: list[uuid.UUID]) -> dict[str, dict[str, int]]:
    """Per parameter, how many of ``sample_ids`` the stored evaluation judges ``exceeds`` / ``below_minimum``."""
    from jaldpi.water_quality.models import Sample

    t = Sample.__table__
    counts: dict[str, Counter] = defaultdict(Counter)
    with db.unit_of_work(write=False) as session:
        for start in range(0, len(sample_ids), 5000):
            chunk = sample_ids[start:start + 5000]
            for (evaluation,) in session.execute(select(t.c.evaluation).where(t.c.id.in_(chunk))):
                for code, verdict in _parameter_verdicts(evaluation):
                    if verdict in UNSAFE_VERDICTS:
                        counts[code][verdict] += 1
    return {code: {v: c[v] for v in UNSAFE_VERDICTS} | {"samples": sum(c.values())}
            for code, c in sorted(counts.items())}


def _flush(db, catalogue, report, pending, principal, source_system, batch_size) -> list[dict[str, Any]]:
    if len(pending) >= batch_size:
        _write(db, catalogue, report, pending, principal, source_system)
        return []
    return pending


def import_cgwb(db, catalogue, path: Path, *, collected_at: dt.datetime = CGWB_COLLECTED_AT,
                source_system: str = CGWB_SOURCE_SYSTEM, batch_size: int = BATCH_SIZE, sheet: str | None = None,
                principal: Principal | None = None, matcher=None) -> ImportReport:
    """Import a CGWB NHS groundwater-quality workbook (see the module docstring)."""
    from jaldpi.admin_units.names import NameMatcher

    started = time.perf_counter()
    principal = principal or importer_principal(source_system)
    report = ImportReport(str(path), "cgwb", collected_at=collected_at.isoformat())
    report.notes.append("the file has no sampling dates: every sample's collected_at is the configured date "
                        f"{collected_at.isoformat()}; the file's year is kept in attributes.year")
    header, rows = read_rows(Path(path), sheet)
    report.columns = map_columns(header, CGWB_FIELDS)
    fields = {c.key: c.index for c in report.columns if c.kind == "field"}
    missing = {"state", "district"} - fields.keys()
    if missing:
        raise ValueError(f"{path}: not a CGWB file: no {', '.join(sorted(missing))} column")
    if matcher is None:
        with db.unit_of_work(write=False) as session:
            matcher = NameMatcher.from_database(session)
    report.rows_read = len(rows)
    pending: list[dict[str, Any]] = []
    for number, row in rows:
        state, district = _text(_cell(row, fields["state"])), _text(_cell(row, fields["district"]))
        location = _text(_cell(row, fields["location"])) if "location" in fields else ""
        serial = _text(_cell(row, fields["serial"])) if "serial" in fields else ""
        unreadable: dict[str, Any] = {}
        results, other = _split_results(row, report.columns, unreadable)  # column stats over every row read
        geometry, geo_status = point_geometry(_cell(row, fields["longitude"]) if "longitude" in fields else None,
                                              _cell(row, fields["latitude"]) if "latitude" in fields else None)
        report.coordinates[geo_status] += 1
        match = matcher.match_district(state, district)
        if not match.matched:
            key = (state, district, match.reason or "not matched")
            report.unmatched[key] = report.unmatched.get(key, 0) + 1
            report.skip(f"place not matched: {match.reason}", number)
            continue
        report.matched[match.method] += 1
        if match.method in ("fuzzy", "alias"):
            target = report.fuzzy if match.method == "fuzzy" else report.aliases
            entry = target.setdefault((state, district), {"lgd_name": match.unit.name, "lgd_code": match.unit.code,
                                                          "score": match.score, "rows": 0})
            entry["rows"] += 1
        ext = f"{state}|{district}|{location}|{serial or number}"
        attributes: dict[str, Any] = {"site": location or None, "source": "cgwb", "state_name": state,
                                      "district_name": district, "place_match": match.method}
        if geo_status == "invalid":
            attributes["coordinates_as_reported"] = [_jsonable_attr(_cell(row, fields["longitude"])),
                                                     _jsonable_attr(_cell(row, fields["latitude"]))]
        point = {"point_type": "monitoring_well", "admin_unit": match.unit.code,
                 "name": (location or None) and location[:200],
                 "geometry": geometry, "attributes": attributes, "external_ids": {CGWB_SYSTEM: ext}}
        sample_attrs: dict[str, Any] = {"source": "cgwb", "collected_at_is_nominal": True}
        if "year" in fields and _cell(row, fields["year"]) is not None:
            sample_attrs["year"] = _jsonable_attr(_cell(row, fields["year"]))
        if other:
            sample_attrs["other_results"] = other
        if unreadable:
            sample_attrs["unreadable_results"] = unreadable
        for col in report.columns:
            if col.kind == "attribute" and _cell(row, col.index) not in (None, ""):
                sample_attrs[col.key] = _jsonable_attr(_cell(row, col.index))
        sample = {"test_kind": "lab", "purpose": "survey", "collected_at": _utc(collected_at),
                  "results": results, "attributes": sample_attrs, "external_ids": {CGWB_SYSTEM: ext}}
        pending.append({"row": number, "point": point, "sample": sample})
        pending = _flush(db, catalogue, report, pending, principal, source_system, batch_size)
    if pending:
        _write(db, catalogue, report, pending, principal, source_system)
    report.exceedances = count_exceedances(db, report.sample_ids)
    report.seconds = time.perf_counter() - started
    return report


def _parse_datetime(value: Any) -> dt.datetime | None:
    if isinstance(value, dt.datetime):
        return value if value.tzinfo else value.replace(tzinfo=IST)
    if isinstance(value, dt.date):
        return dt.datetime.combine(value, dt.time(), IST)
    text = _text(value)
    if not text:
        return None
    try:
        if re.fullmatch(r"\d{4}-\d{2}-\d{2}", text):
            return dt.datetime.combine(dt.date.fromisoformat(text), dt.time(), IST)
        parsed = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        m = re.fullmatch(r"(\d{1,2})[/.-](\d{1,2})[/.-](\d{4})", text)  # 15/05/2023, Indian day-first
        if not m:
            return None
        try:
            return dt.datetime(int(m.group(3)), int(m.group(2)), int(m.group(1)), tzinfo=IST)
        except ValueError:
            return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=IST)


def _utc(value: dt.datetime) -> str:
    """Timestamps are sent in UTC: SQLite keeps no offset, so "+05:30" would be stored as a wrong instant."""
    return value.astimezone(dt.UTC).isoformat()


def _ext_pair(text: str) -> dict[str, str] | None:
    system, sep, value = text.partition(":")
    if not sep or not system.strip() or not value.strip():
        return None
    return {"system": system.strip(), "value": value.strip()}


def import_lab_file(db, catalogue, path: Path, *, source_system: str = LAB_SOURCE_SYSTEM,
                    batch_size: int = BATCH_SIZE, sheet: str | None = None, principal: Principal | None = None,
                    collected_at: dt.datetime | None = None) -> ImportReport:
    """Import a lab results file in the generic format (CSV or XLSX; see the module docstring)."""
    started = time.perf_counter()
    principal = principal or importer_principal(source_system)
    path = Path(path)
    report = ImportReport(str(path), "xlsx" if path.suffix.lower() in (".xlsx", ".xlsm") else "csv")
    header, rows = read_rows(path, sheet)
    report.columns = map_columns(header, LAB_FIELDS)
    fields = {c.key: c.index for c in report.columns if c.kind == "field"}
    if not {"sampling_point", "sampling_point_external_id"} & fields.keys():
        raise ValueError(f"{path}: no sampling_point or sampling_point_external_id column")
    if "collected_at" not in fields and collected_at is None:
        raise ValueError(f"{path}: no collected_at column (or give --collected-at)")
    report.rows_read = len(rows)
    pending: list[dict[str, Any]] = []
    for number, row in rows:
        def get(name: str, row: list[Any] = row) -> str:
            return _text(_cell(row, fields[name])) if name in fields else ""

        unreadable: dict[str, Any] = {}
        results, other = _split_results(row, report.columns, unreadable)
        point_ref: Any = get("sampling_point") or None
        if point_ref is None and get("sampling_point_external_id"):
            pair = _ext_pair(get("sampling_point_external_id"))
            point_ref = {"external_id": pair} if pair else None
        if point_ref is None:
            report.skip("no sampling point (sampling_point or sampling_point_external_id as system:value)", number)
            continue
        when = _parse_datetime(_cell(row, fields["collected_at"])) if "collected_at" in fields else collected_at
        if when is None:
            report.skip("collected_at missing or not a date", number)
            continue
        report.matched["reference"] += 1
        test_kind = get("test_kind") or "lab"
        purpose = get("purpose") or "routine"
        ext = _ext_pair(get("external_id")) if get("external_id") else None
        point_key = point_ref if isinstance(point_ref, str) else "{system}:{value}".format(**point_ref["external_id"])
        external_ids = ({ext["system"]: ext["value"]} if ext else
                        {LAB_SOURCE_SYSTEM: f"{point_key}|{when.isoformat()}|{test_kind}|{purpose}"})
        attrs: dict[str, Any] = {}
        if other:
            attrs["other_results"] = other
        if unreadable:
            attrs["unreadable_results"] = unreadable
        if get("remarks"):
            attrs["remarks"] = get("remarks")
        for col in report.columns:
            if col.kind == "attribute" and _cell(row, col.index) not in (None, ""):
                attrs[col.key] = _jsonable_attr(_cell(row, col.index))
        sample: dict[str, Any] = {"sampling_point": point_ref, "test_kind": test_kind, "purpose": purpose,
                                  "collected_at": _utc(when), "results": results, "attributes": attrs,
                                  "external_ids": external_ids}
        for name in ("lab", "related_sample", "collected_by"):
            if get(name):
                sample[name] = get(name)
        if get("tested_at"):
            tested = _parse_datetime(get("tested_at"))
            if tested is None:
                report.skip("tested_at is not a date", number)
                continue
            sample["tested_at"] = _utc(tested)
        pending.append({"row": number, "point": None, "sample": sample})
        pending = _flush(db, catalogue, report, pending, principal, source_system, batch_size)
    if pending:
        _write(db, catalogue, report, pending, principal, source_system)
    report.exceedances = count_exceedances(db, report.sample_ids)
    report.seconds = time.perf_counter() - started
    return report


def detect_format(path: Path) -> str:
    """``cgwb`` when the header has State and District columns, else ``csv`` / ``xlsx`` by the file's suffix."""
    header, _ = read_rows(Path(path)) if Path(path).suffix.lower() == ".csv" else (_xlsx_header(Path(path)), None)
    names = {parse_header(h).name for h in header}
    if {"state", "district"} <= names:
        return "cgwb"
    return "xlsx" if Path(path).suffix.lower() in (".xlsx", ".xlsm") else "csv"


def _xlsx_header(path: Path) -> list[Any]:
    from openpyxl import load_workbook

    wb = load_workbook(path, read_only=True, data_only=True)
    try:
        ws = wb["Table 1"] if "Table 1" in wb.sheetnames else wb.worksheets[0]
        for row in ws.iter_rows(values_only=True, max_row=20):
            if any(v not in (None, "") for v in row):
                return list(row)
    finally:
        wb.close()
    return []


def import_file(db, catalogue, path: Path, *, format: str | None = None, **kwargs: Any) -> ImportReport:
    fmt = format or detect_format(Path(path))
    if fmt == "cgwb":
        return import_cgwb(db, catalogue, Path(path), **{k: v for k, v in kwargs.items() if v is not None})
    if fmt in ("csv", "xlsx"):
        return import_lab_file(db, catalogue, Path(path), **kwargs)
    raise ValueError(f"unknown format {fmt!r}: one of {', '.join(FORMATS)}")


__all__ = ["BATCH_SIZE", "CGWB_COLLECTED_AT", "CGWB_SOURCE_SYSTEM", "Column", "Header", "ImportReport",
           "classify", "count_exceedances", "detect_format", "import_cgwb", "import_file", "import_lab_file",
           "importer_principal", "map_columns", "normalise_unit", "parse_coordinate", "parse_header",
           "point_geometry", "read_rows", "reported"]
