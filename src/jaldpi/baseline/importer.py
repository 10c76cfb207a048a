"""Import JJM village profiles (CSV scraped from the national JJM dashboard) into ``village_baselines``.

* **Headers** are matched after lower-casing and dropping punctuation, with the spellings seen in dashboard
  exports (``service_level`` / ``ServiceLevel`` / ``lpcd``, ``TotalNoofHouseholds`` / ``households``, ``JJMStatus``
  / ``HGJ Status``...); unknown columns are kept in ``raw`` only. A file without state, district, block and village
  name columns is refused.
* **Values**: blanks, ``-``, ``NA``, ``N/A``, ``null`` are *missing* and stay missing (``None``), never 0. A
  reported 0 lpcd stays 0 (it is below the norm). Thousands separators are accepted; anything else unreadable is
  missing and counted per column in the report.
* **Dashboard ids** (``vil_encode``, ``blcode11``) are obfuscated ids, not LGD codes: kept as opaque external ids.
* **Har Ghar Jal status** is kept as given and normalised: ``certified`` (the status names certification),
  ``reported`` ("100% Har Ghar Jal", "Har Ghar Jal reported": every household reported connected), ``none``
  ("In progress", "Not started", "Partial"); anything else is left un-normalised (null) and counted.
* **Matching** (see :mod:`jaldpi.baseline.matching`): state, district, block to LGD units; villages to village
  units present in the node under the matched block (or district).
* **Idempotent**: the natural key is (source, state, district, block, village names as given, dashboard id); a
  re-import inserts new rows, updates changed ones (content hash) and leaves the rest alone. One unit of work per
  file; new rows go in with :func:`jaldpi.core.bulkio.bulk_insert`.
"""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import io
import re
import time
from collections import Counter
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

import orjson
from sqlalchemy import bindparam, select, update

from jaldpi.baseline.matching import LEVELS, BaselineMatcher
from jaldpi.baseline.models import VillageBaseline
from jaldpi.core.bulkio import bulk_insert
from jaldpi.core.ids import new_id
from jaldpi.core.models import utcnow

SOURCE = "jjm-village-profile"
DEFAULT_AS_ON = dt.date(2024, 2, 1)  # the dashboard files were scraped early 2024
MISSING = {"", "-", "--", "na", "n/a", "nil", "null", "none", "not available"}

# field -> header spellings (compared after _header())
FIELDS: dict[str, tuple[str, ...]] = {
    "state_name": ("statename", "state"),
    "district_name": ("districtname", "district"),
    "block_name": ("blockname", "block", "mandal", "mandalname"),
    "village_name": ("villagename", "village"),
    "block_external_id": ("blcode11", "blcode", "blockcode", "blockid"),
    "external_id": ("vilencode", "villageencode", "villagecode", "villageid", "vilcode"),
    "service_level_lpcd": ("servicelevel", "servicelevellpcd", "lpcd", "servicelevelinlpcd"),
    "habitations": ("totalhab", "habitations", "totalhabitations", "noofhabitations"),
    "households": ("totalnoofhouseholds", "totalhouseholds", "households", "noofhouseholds", "totalhh"),
    "houses_with_taps": ("houseswithtaps", "householdswithtaps", "hhwithtap", "hhwithtapconnection",
                         "tapconnections", "fhtc"),
    "schools": ("noofschool", "noofschools", "schools"),
    "schools_with_taps": ("schooltapcon", "schoolswithtaps", "schooltapconnection"),
    "anganwadis": ("noofbalagan", "noofanganwadi", "noofanganwadis", "anganwadis"),
    "anganwadis_with_taps": ("balagantapcon", "anganwaditapcon", "anganwadiswithtaps", "awctapcon"),
    "har_ghar_jal_status": ("jjmstatus", "hgjstatus", "hargharjalstatus", "status"),
    "population_sc": ("sccurrentpop", "scpopulation", "scpop"),
    "population_st": ("stcurrentpop", "stpopulation", "stpop"),
    "population_general": ("gencurrentpop", "generalpopulation", "genpop"),
    "population_total": ("totalcurrentpop", "totalpopulation", "population", "totalpop"),
}
REQUIRED = ("state_name", "district_name", "block_name", "village_name")
INTEGER_FIELDS = ("habitations", "households", "houses_with_taps", "schools", "schools_with_taps", "anganwadis",
                  "anganwadis_with_taps")
POPULATION = {"population_sc": "sc", "population_st": "st", "population_general": "general",
              "population_total": "total"}


def _header(text: Any) -> str:
    return re.sub(r"[^a-z0-9]+", "", str(text or "").replace("\ufeff", "").lower())


def map_header(header: list[str]) -> dict[str, int]:
    """field -> column index; the first column whose name matches a spelling wins."""
    normalised = [_header(h) for h in header]
    out: dict[str, int] = {}
    for name, spellings in FIELDS.items():
        for s in spellings:
            s = _header(s)
            if s in normalised:
                out[name] = normalised.index(s)
                break
    return out


def is_missing(value: Any) -> bool:
    return value is None or str(value).strip().lower() in MISSING


def parse_decimal(value: Any) -> Decimal | None:
    """``"56.84"`` -> Decimal("56.84"); missing -> None; unreadable -> ValueError."""
    if is_missing(value):
        return None
    text = str(value).strip().replace(",", "")
    try:
        number = Decimal(text)
    except InvalidOperation as exc:
        raise ValueError(f"not a number: {value!r}") from exc
    if not number.is_finite():
        raise ValueError(f"not a number: {value!r}")
    return number.quantize(Decimal("0.01"))


def parse_int(value: Any) -> int | None:
    number = parse_decimal(value)
    if number is None:
        return None
    if number != number.to_integral_value():
        raise ValueError(f"not a whole number: {value!r}")
    return int(number)


def har_ghar_jal_code(status: str | None) -> str | None:
    """Normalise the dashboard's status text (kept as given in ``har_ghar_jal_status``)."""
    if is_missing(status):
        return None
    text = re.sub(r"[^a-z0-9%]+", " ", str(status).lower()).strip()
    if "certif" in text:
        return "certified"
    if text in ("in progress", "not started", "partial", "partially covered", "no", "none", "not reported"):
        return "none"
    if "har ghar jal" in text or text in ("reported", "hgj reported", "100%", "100 %"):
        return "reported"
    return None


@dataclass
class ParsedRow:
    line: int
    values: dict[str, Any]
    raw: dict[str, str]
    problems: list[str] = field(default_factory=list)


def read_profile(text: str) -> tuple[list[str], dict[str, int], list[ParsedRow]]:
    """Parse a CSV text; raises ValueError when the name columns are not there."""
    reader = csv.reader(io.StringIO(text.lstrip("\ufeff")))
    try:
        header = next(reader)
    except StopIteration as exc:
        raise ValueError("empty file") from exc
    columns = map_header(header)
    missing = [f for f in REQUIRED if f not in columns]
    if missing:
        raise ValueError(f"not a JJM village profile: no column for {', '.join(missing)} (header: {header})")
    rows: list[ParsedRow] = []
    line = 1
    for cells in reader:
        line = reader.line_num
        if not any(c.strip() for c in cells):
            continue
        raw = {header[i].strip(): (cells[i] if i < len(cells) else "") for i in range(len(header))}

        def cell(name: str, cells: list[str] = cells) -> str | None:
            i = columns.get(name)
            return cells[i].strip() if i is not None and i < len(cells) else None

        row = ParsedRow(line, {}, raw)
        for f in REQUIRED:
            row.values[f] = " ".join((cell(f) or "").split())
        for f in ("external_id", "block_external_id", "har_ghar_jal_status"):
            v = cell(f)
            row.values[f] = None if is_missing(v) else v
        try:
            row.values["service_level_lpcd"] = parse_decimal(cell("service_level_lpcd"))
        except ValueError:
            row.values["service_level_lpcd"] = None
            row.problems.append("service_level_lpcd")
        for f in INTEGER_FIELDS:
            try:
                row.values[f] = parse_int(cell(f))
            except ValueError:
                row.values[f] = None
                row.problems.append(f)
        population: dict[str, int | None] = {}
        for f, key in POPULATION.items():
            if f in columns:
                try:
                    population[key] = parse_int(cell(f))
                except ValueError:
                    population[key] = None
                    row.problems.append(f)
        row.values["population"] = population or None
        row.values["har_ghar_jal"] = har_ghar_jal_code(row.values["har_ghar_jal_status"])
        rows.append(row)
    return header, columns, rows


def row_key(source: str, v: dict[str, Any]) -> str:
    parts = [source, v["state_name"], v["district_name"], v["block_name"], v["village_name"], v["external_id"] or ""]
    return hashlib.sha256("\x1f".join(p.lower() for p in parts).encode()).hexdigest()


@dataclass
class FileReport:
    file: str
    source: str
    as_on: str
    rows_read: int = 0
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    duplicates_in_file: int = 0
    columns: dict[str, str] = field(default_factory=dict)
    unreadable: Counter = field(default_factory=Counter)
    missing_lpcd: int = 0
    har_ghar_jal: Counter = field(default_factory=Counter)  # status as given -> rows
    unmapped_har_ghar_jal: Counter = field(default_factory=Counter)
    levels: dict[str, Counter] = field(default_factory=lambda: {lv: Counter() for lv in LEVELS})
    unmatched: dict[str, Counter] = field(default_factory=lambda: {lv: Counter() for lv in LEVELS})
    alias_fuzzy: dict[tuple[str, ...], dict[str, Any]] = field(default_factory=dict)
    districts: dict[tuple[str, str], dict[str, Any]] = field(default_factory=dict)  # file names -> LGD district
    seconds: float = 0.0

    def to_dict(self) -> dict[str, Any]:
        levels = {}
        for lv in LEVELS:
            c = self.levels[lv]
            matched = sum(v for k, v in c.items() if k != "none")
            levels[lv] = {"matched": matched, "unmatched": c.get("none", 0),
                          **{m: c.get(m, 0) for m in ("exact", "alias", "fuzzy")}}
        names = {"state": ("state",), "district": ("state", "district"), "block": ("state", "district", "block"),
                 "village": ("state", "district", "block")}
        unmatched = {}
        for lv in LEVELS:
            unmatched[lv] = [{**dict(zip(names[lv], key[:-1], strict=True)), "reason": key[-1], "rows": n}
                             for key, n in sorted(self.unmatched[lv].items(), key=lambda kv: (-kv[1], kv[0]))]
        return {
            "file": self.file, "source": self.source, "as_on": self.as_on, "rows_read": self.rows_read,
            "written": {"created": self.created, "updated": self.updated, "unchanged": self.unchanged},
            "duplicates_in_file": self.duplicates_in_file,
            "columns": self.columns, "unreadable_values": dict(self.unreadable), "missing_lpcd": self.missing_lpcd,
            "har_ghar_jal": dict(self.har_ghar_jal), "unmapped_har_ghar_jal": dict(self.unmapped_har_ghar_jal),
            "levels": levels, "unmatched": unmatched,
            "alias_and_fuzzy_matches": [
                {"level": k[0], "name": k[-1], "context": list(k[1:-1]), **v}
                for k, v in sorted(self.alias_fuzzy.items())],
            "districts": [{"state": s, "district": d, **v} for (s, d), v in sorted(self.districts.items())],
            "seconds": round(self.seconds, 2),
        }


_COLUMNS = ("source", "row_key", "content_hash", "external_id", "block_external_id", "as_on", "file_name", "line",
            "state_name", "district_name", "block_name", "village_name", "state_id", "district_id", "block_id",
            "village_id", "lgd_path", "state_match", "district_match", "block_match", "village_match",
            "match_scores", "match_notes", "service_level_lpcd", "habitations", "households", "houses_with_taps",
            "schools", "schools_with_taps", "anganwadis", "anganwadis_with_taps", "har_ghar_jal_status",
            "har_ghar_jal", "population", "raw")
_HASHED = tuple(c for c in _COLUMNS if c not in ("row_key", "content_hash", "line", "file_name"))


def _content_hash(row: dict[str, Any]) -> str:
    return hashlib.sha256(orjson.dumps({c: row[c] for c in _HASHED}, default=str,
                                       option=orjson.OPT_SORT_KEYS)).hexdigest()


def import_profile(db, path: Path, *, as_on: dt.date = DEFAULT_AS_ON, source: str = SOURCE,
                   matcher: BaselineMatcher | None = None, text: str | None = None) -> FileReport:
    """Import one profile file (one unit of work)."""
    started = time.perf_counter()
    path = Path(path)
    header, columns, rows = read_profile(text if text is not None else path.read_text(encoding="utf-8-sig"))
    report = FileReport(path.name, source, as_on.isoformat(), rows_read=len(rows),
                        columns={f: header[i].strip() for f, i in columns.items()})
    if matcher is None:
        with db.unit_of_work(write=False) as session:
            matcher = BaselineMatcher.from_database(session)
    records: dict[str, dict[str, Any]] = {}
    for r in rows:
        v = r.values
        for p in r.problems:
            report.unreadable[p] += 1
        if v["service_level_lpcd"] is None:
            report.missing_lpcd += 1
        status = v["har_ghar_jal_status"]
        report.har_ghar_jal[status or "(missing)"] += 1
        if status and v["har_ghar_jal"] is None:
            report.unmapped_har_ghar_jal[status] += 1
        m = matcher.match(v["state_name"], v["district_name"], v["block_name"], v["village_name"])
        names = (v["state_name"], v["district_name"], v["block_name"], v["village_name"])
        for i, lv in enumerate(LEVELS):
            lm = m.levels[lv]
            report.levels[lv][lm.method or "none"] += 1
            if lm.method is None:
                context = names[:3] if lv == "village" else names[: i + 1]
                report.unmatched[lv][(*context, lm.reason or "not matched")] += 1
            elif lm.method in ("alias", "fuzzy") and lv != "village":
                e = report.alias_fuzzy.setdefault((lv, *names[: i + 1]), {
                    "method": lm.method, "lgd_name": lm.unit.name, "lgd_code": lm.unit.lgd_code,
                    "score": lm.score, "rows": 0})
                e["rows"] += 1
            elif lm.method == "fuzzy":
                e = report.alias_fuzzy.setdefault((lv, *names), {
                    "method": lm.method, "lgd_name": lm.unit.name, "lgd_code": lm.unit.lgd_code,
                    "score": lm.score, "rows": 0})
                e["rows"] += 1
        d = m.levels["district"]
        entry = report.districts.setdefault((v["state_name"], v["district_name"]), {
            "lgd_code": d.unit.lgd_code if d.unit else None, "lgd_name": d.unit.name if d.unit else None,
            "method": d.method, "rows": 0})
        entry["rows"] += 1
        rec = {"source": source, "row_key": row_key(source, v), "external_id": v["external_id"],
               "block_external_id": v["block_external_id"], "as_on": as_on, "file_name": path.name, "line": r.line,
               **{k: v[k] for k in ("state_name", "district_name", "block_name", "village_name")},
               **{f"{lv}_id": (m.levels[lv].unit.id if m.levels[lv].unit else None) for lv in LEVELS},
               "lgd_path": m.lgd_path,
               **{f"{lv}_match": m.levels[lv].method or "none" for lv in LEVELS},
               "match_scores": {lv: m.levels[lv].score for lv in LEVELS if m.levels[lv].score is not None},
               "match_notes": {lv: m.levels[lv].reason for lv in LEVELS if m.levels[lv].reason},
               **{k: v[k] for k in ("service_level_lpcd", *INTEGER_FIELDS, "har_ghar_jal_status", "har_ghar_jal",
                                    "population")},
               "raw": r.raw}
        rec["content_hash"] = _content_hash(rec)
        if rec["row_key"] in records:
            report.duplicates_in_file += 1  # the same names and dashboard id twice: the last row wins
        records[rec["row_key"]] = rec
    _write(db, records, report)
    report.seconds = time.perf_counter() - started
    return report


def _write(db, records: dict[str, dict[str, Any]], report: FileReport) -> None:
    t = VillageBaseline.__table__
    keys = list(records)
    now = utcnow()
    with db.unit_of_work() as session:
        existing: dict[str, tuple[Any, str]] = {}
        for i in range(0, len(keys), 1000):
            chunk = keys[i:i + 1000]
            for rid, key, h in session.execute(select(t.c.id, t.c.row_key, t.c.content_hash).where(
                    t.c.source == report.source, t.c.row_key.in_(chunk))):
                existing[key] = (rid, h)
        new, changed = [], []
        for key, rec in records.items():
            old = existing.get(key)
            if old is None:
                new.append({"id": new_id(), **rec, "imported_at": now})
            elif old[1] != rec["content_hash"]:
                changed.append({"b_id": old[0], **rec, "imported_at": now})
            else:
                report.unchanged += 1
        bulk_insert(session, t, new)
        if changed:
            cols = [c for c in (*_COLUMNS, "imported_at") if c not in ("source", "row_key")]
            stmt = update(t).where(t.c.id == bindparam("b_id")).values({c: bindparam(f"v_{c}") for c in cols})
            session.connection().execute(stmt, [{"b_id": c["b_id"], **{f"v_{k}": c[k] for k in cols}}
                                                for c in changed])
        report.created, report.updated = len(new), len(changed)


def import_files(db, paths: list[Path], *, as_on: dt.date = DEFAULT_AS_ON, source: str = SOURCE
                 ) -> list[FileReport]:
    """Import several files with one matcher (LGD units and villages read once)."""
    with db.unit_of_work(write=False) as session:
        matcher = BaselineMatcher.from_database(session)
    return [import_profile(db, p, as_on=as_on, source=source, matcher=matcher) for p in paths]


__all__ = ["DEFAULT_AS_ON", "FileReport", "SOURCE", "har_ghar_jal_code", "import_files", "import_profile",
           "map_header", "parse_decimal", "read_profile"]
