"""Loader of the official LGD (Local Government Directory) CSV exports into the administrative-units registry.

Two halves, kept apart:

* **Parsing** (pure, no database): :func:`read_csv`, :func:`detect_kind`, :func:`parse_rows`, :func:`parse_file`,
  :func:`plan`. They turn a CSV file into :class:`LgdRecord` objects plus a per-row account of what was skipped or
  merged and why. They can be tested on small snippets.
* **Loading**: :func:`load` sends the parsed records through the registry's one write path,
  :meth:`jaldpi.core.registry.Registry.import_records` (strategy ``create_and_update``, per-record, not atomic), in
  batches of ``batch_size`` rows, one unit of work per batch. Versions, history, the hash-chained change log and
  moving a re-parented unit's subtree all come from that write path.

File formats handled (the kind of file is detected from its header, never from its file name):

=====================  =========================================================================================
kind                   header (LGD export, Dec 2022 snapshot)
=====================  =========================================================================================
state                  S.No., State Code, State Version, State Name, State Name, Census 2001 Code,
                       Census 2011 Code, State or UT
district               State Code, State Name, District Code, District Name, Census 2001 Code, Census 2011 Code
subdistrict            S.No., State Code, State Name, District Code, District Name, Sub-district Code,
                       Sub-district Version, Sub-district Name, Census 2001 code, Census 2011 code
block                  S.No., State Code, State Name, District Code, District Name, Block Code, Block Version,
                       "Block Name ", Block Name
urban_local_body       S.No., Local Body Code, Local Body Version, Local Body Name, Local Body Name (In Local),
                       Localbody Type Code, Census 2011 Code, State Code, State Name
traditional_local_body Local Body Code, Local Body Version, Local Body Name (IN English), Local Body Name (In
                       Local), Local Body Type Code, Local Body Type Name, Intermediate/Block Panchayat Code,
                       District Panchayat Code, State Code, State Name (In English)
local_body_type        Local Body Type, Local Body Code, Description, Notes (a lookup table: names the types)
village                any header with "Village Code" (parent: Sub-District Code, else District Code)
gram_panchayat         any header with "Gram Panchayat Code" (parent: Block Code, else District Code)
=====================  =========================================================================================

Traps handled:

* header names are compared normalised (case, spaces, punctuation and a UTF-8 BOM ignored: "Localbody Type Code" is
  "Local Body Type Code", "Block Name " is "Block Name");
* duplicate header names (blocks.csv and 1-state.csv name two columns alike): columns are read by position, the
  first occurrence is the English name and the second the local-language name (``csv.DictReader`` would silently
  keep only the last one);
* quoted numbers (``"259500"``) and stray spaces; non-numeric or missing codes skip the row with a reason;
* Census and Panchayati Raj codes ``0``, ``00``, ``00000``, ``000000`` or blank mean "none" and are stored as None;
  Census codes are otherwise kept as the zero-padded strings they are;
* names in two columns (English / local); an empty local name is None;
* the ``State or UT`` flag (``S`` / ``U``) goes to ``attributes.state_or_ut``;
* versions (``... Version`` columns) go to ``lgd_version``; a missing or non-positive version is None (a warning);
* parents: district -> state, sub-district -> district, block -> district, urban and traditional local body ->
  state. A traditional local body's "Intermediate/Block Panchayat Code" and "District Panchayat Code" are
  Panchayati Raj codes, not development-block or district codes: they are kept in ``attributes``
  (``block_panchayat_code``, ``district_panchayat_code``);
* a code repeated within a file: if the repeat differs only in its parent (a block listed under two districts) or in
  a Panchayati Raj code, it is merged into the first row (the first parent wins, the others are kept in
  ``attributes.also_<level>_codes`` / ``also_<key>s``) and reported as *merged*; if it disagrees on anything else
  (name, version, Census code) it is skipped and reported;
* blank lines are ignored; a file whose header matches no kind is reported and not loaded.
"""

from __future__ import annotations

import csv
import io
import re
import time
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import aliased

from jaldpi.core.security import Grant, Principal

SOURCE_SYSTEM = "lgd-directory"
BATCH_SIZE = 5000

# Order in which kinds are loaded: parents before children. The type table is a lookup, parsed first, not loaded.
LOAD_ORDER = ("local_body_type", "state", "district", "subdistrict", "block", "gram_panchayat", "village",
              "urban_local_body", "traditional_local_body")

# attributes this loader owns (replaced on every load); any other attribute key of a unit is left alone
LGD_ATTRIBUTE_KEYS = frozenset({"state_or_ut", "local_body_type_code", "local_body_type_name",
                                "block_panchayat_code", "district_panchayat_code"})
MERGEABLE_ATTRIBUTES = ("block_panchayat_code", "district_panchayat_code")


def lgd_principal() -> Principal:
    """The principal of the loader: node administrator over the whole tree, source system ``lgd-directory``."""
    from jaldpi.standard.codelists import role_permissions

    return Principal("lgd-import", "system", (Grant("node_admin", "/"),), role_permissions(),
                     source_system=SOURCE_SYSTEM)


# ------------------------------------------------------------------------------------------------ parsing


def norm(cell: str) -> str:
    """Normalise a header cell: ``"\\ufeffLocal Body Name (IN English) "`` -> ``"localbodynameinenglish"``."""
    return re.sub(r"[^a-z0-9]", "", cell.replace("\ufeff", "").lower())


def clean(value: str | None) -> str:
    """A cell without surrounding spaces or a second layer of quotes (``'"35"'`` -> ``'35'``)."""
    v = (value or "").strip()
    while len(v) >= 2 and v[0] == v[-1] == '"':
        v = v[1:-1].strip()
    return v


def parse_code(value: str | None) -> int | None:
    """An LGD code: digits only (quotes and spaces ignored); blank, non-numeric or all zeros -> None."""
    v = clean(value)
    if not v.isdigit() or int(v) == 0:
        return None
    return int(v)


def parse_census(value: str | None) -> str | None:
    """A Census code, kept as its (zero-padded) digit string; blank, all zeros or non-numeric -> None."""
    v = clean(value)
    if not v.isdigit() or set(v) == {"0"}:
        return None
    return v


@dataclass(frozen=True)
class Kind:
    """How to read one kind of LGD file. Column candidates are normalised header names (see :func:`norm`)."""

    name: str
    level: str | None  # admin unit level; None for the lookup table
    code: tuple[str, ...] = ()
    name_en: tuple[str, ...] = ()
    name_local: tuple[str, ...] = ()
    version: tuple[str, ...] = ()
    parents: tuple[tuple[str, tuple[str, ...]], ...] = ()  # (parent level, code columns), first present one wins
    subdistrict: tuple[str, ...] = ()  # villages: the revenue sub-district


def _names(prefix: str) -> dict[str, tuple[str, ...]]:
    return {"code": (f"{prefix}code",), "name_en": (f"{prefix}nameinenglish", f"{prefix}name"),
            "name_local": (f"{prefix}nameinlocal",), "version": (f"{prefix}version",)}


KINDS: dict[str, Kind] = {
    "state": Kind("state", "state", **_names("state")),
    "district": Kind("district", "district", **_names("district"), parents=(("state", ("statecode",)),)),
    "subdistrict": Kind("subdistrict", "subdistrict", **_names("subdistrict"),
                        parents=(("district", ("districtcode",)),)),
    "block": Kind("block", "block", **_names("block"), parents=(("district", ("districtcode",)),)),
    "gram_panchayat": Kind("gram_panchayat", "gram_panchayat", **_names("grampanchayat"),
                           parents=(("block", ("blockcode",)), ("district", ("districtcode",)))),
    "village": Kind("village", "village", **_names("village"),
                    parents=(("subdistrict", ("subdistrictcode",)), ("district", ("districtcode",))),
                    subdistrict=("subdistrictcode",)),
    "urban_local_body": Kind("urban_local_body", "urban_local_body", **_names("localbody"),
                             parents=(("state", ("statecode",)),)),
    "traditional_local_body": Kind("traditional_local_body", "traditional_local_body", **_names("localbody"),
                                   parents=(("state", ("statecode",)),)),
    "local_body_type": Kind("local_body_type", None),
}


def detect_kind(header: Sequence[str]) -> str | None:
    """The kind of an LGD file from its header (normalised), most specific first; None if unrecognised."""
    cols = {norm(c) for c in header}
    if "villagecode" in cols:
        return "village"
    if "grampanchayatcode" in cols:
        return "gram_panchayat"
    if "localbodycode" in cols:
        if "description" in cols and "localbodyversion" not in cols:
            return "local_body_type"
        if cols & {"intermediateblockpanchayatcode", "districtpanchayatcode", "localbodytypename"}:
            return "traditional_local_body"
        if "localbodytypecode" in cols:
            return "urban_local_body"
        return None
    if "blockcode" in cols:
        return "block"
    if "subdistrictcode" in cols:
        return "subdistrict"
    if "districtcode" in cols:
        return "district"
    if "statecode" in cols and cols & {"statename", "statenameinenglish"}:
        return "state"
    return None


def read_csv(path: Path) -> tuple[list[str], list[tuple[int, list[str]]]]:
    """Header and data rows (with their 1-based line numbers) of a CSV file, read positionally.

    UTF-8 (with or without BOM); a file that is not valid UTF-8 is read as cp1252 so that it can still be
    reported on. Blank lines are dropped; a missing final newline is fine.
    """
    raw = path.read_bytes()
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        text = raw.decode("cp1252", errors="replace")
    reader = csv.reader(io.StringIO(text, newline=""))
    header: list[str] | None = None
    rows: list[tuple[int, list[str]]] = []
    for row in reader:
        if not any(c.strip() for c in row):
            continue
        if header is None:
            header = row
        else:
            rows.append((reader.line_num, row))
    return header or [], rows


@dataclass
class LgdRecord:
    """One unit as read from a file, ready to become an ``AdminUnitIn`` item."""

    line: int
    level: str
    lgd_code: int
    name: str
    name_local: str | None = None
    lgd_version: int | None = None
    census2001_code: str | None = None
    census2011_code: str | None = None
    parent_level: str | None = None
    parent_code: int | None = None
    subdistrict_code: int | None = None
    attributes: dict[str, Any] = field(default_factory=dict)

    def item(self) -> dict[str, Any]:
        """The record as input to the admin-units registry (every field given, so a cleared value is cleared)."""
        out: dict[str, Any] = {
            "level": self.level, "lgd_code": self.lgd_code, "name": self.name, "name_local": self.name_local,
            "lgd_version": self.lgd_version, "census2001_code": self.census2001_code,
            "census2011_code": self.census2011_code, "attributes": dict(self.attributes),
            "parent": ({"code": unit_code(self.parent_level, self.parent_code)} if self.parent_level else None),
        }
        if self.level == "village":
            out["subdistrict"] = ({"code": unit_code("subdistrict", self.subdistrict_code)}
                                  if self.subdistrict_code else None)
        return out


def unit_code(level: str, lgd_code: int) -> str:
    """The registry code of an LGD unit: ``LGD-D745``."""
    from jaldpi.admin_units.paths import segment

    return f"LGD-{segment(level, lgd_code).rstrip('/')}"


@dataclass
class RowNote:
    """A row not loaded as its own record: skipped (with a reason) or merged into an earlier row."""

    line: int
    code: str
    reason: str
    detail: str = ""


@dataclass
class ParsedFile:
    path: str
    kind: str | None
    rows_read: int = 0
    records: list[LgdRecord] = field(default_factory=list)
    skipped: list[RowNote] = field(default_factory=list)
    merged: list[RowNote] = field(default_factory=list)
    warnings: list[RowNote] = field(default_factory=list)
    note: str = ""
    local_body_types: dict[int, dict[str, str]] = field(default_factory=dict)  # kind local_body_type only

    @property
    def level(self) -> str | None:
        return KINDS[self.kind].level if self.kind else None


class _Columns:
    """Positional column lookup over a header whose names may repeat."""

    def __init__(self, header: Sequence[str]) -> None:
        self.names = [norm(c) for c in header]

    def find(self, candidates: Iterable[str], occurrence: int = 0) -> int | None:
        for cand in candidates:
            hits = [i for i, n in enumerate(self.names) if n == cand]
            if len(hits) > occurrence:
                return hits[occurrence]
        return None


def _cell(row: Sequence[str], index: int | None) -> str:
    return row[index] if index is not None and index < len(row) else ""


def parse_local_body_types(header: Sequence[str], rows: Sequence[tuple[int, list[str]]]) -> dict[int, dict[str, str]]:
    """local-body-type-code.csv (Local Body Type, Local Body Code, Description, Notes) -> {code: {name, category}}."""
    cols = _Columns(header)
    i_code, i_desc = cols.find(["localbodycode", "localbodytypecode"]), cols.find(["description"])
    i_cat = cols.find(["localbodytype"])
    out: dict[int, dict[str, str]] = {}
    for _, row in rows:
        code = parse_code(_cell(row, i_code))
        if code is not None and clean(_cell(row, i_desc)):
            out[code] = {"name": clean(_cell(row, i_desc)), "category": clean(_cell(row, i_cat))}
    return out


def parse_rows(kind: str, header: Sequence[str], rows: Sequence[tuple[int, list[str]]], *,
               local_body_types: dict[int, dict[str, str]] | None = None, path: str = "") -> ParsedFile:
    """Parse the data rows of one LGD file of a known ``kind`` (see the module docstring for formats and traps).

    Never raises on bad data: each row ends up as a record, a merged duplicate or a skipped row with a reason.
    """
    spec = KINDS[kind]
    out = ParsedFile(path=path, kind=kind, rows_read=len(rows))
    if spec.level is None:
        out.local_body_types = parse_local_body_types(header, rows)
        out.note = f"lookup table: {len(out.local_body_types)} local body types"
        return out
    cols = _Columns(header)
    i_code = cols.find(spec.code)
    i_name = cols.find(spec.name_en)
    i_local = cols.find(spec.name_local)
    if i_local is None and i_name is not None:  # the same header twice: English first, local second
        i_local = cols.find([cols.names[i_name]], occurrence=1)
    i_version = cols.find(spec.version)
    i_c2001, i_c2011 = cols.find(["census2001code"]), cols.find(["census2011code"])
    parent_cols = [(level, cols.find(c)) for level, c in spec.parents]
    parent_cols = [(level, i) for level, i in parent_cols if i is not None]
    i_sub = cols.find(spec.subdistrict) if spec.subdistrict else None
    i_state_ut = cols.find(["stateorut"])
    i_type_code, i_type_name = cols.find(["localbodytypecode"]), cols.find(["localbodytypename"])
    i_bp, i_dp = cols.find(["intermediateblockpanchayatcode"]), cols.find(["districtpanchayatcode"])
    if i_code is None or i_name is None or (spec.parents and not parent_cols):
        out.note = "header lacks a code, name or parent column: file not loaded"
        out.skipped = [RowNote(line, "", "unreadable file", out.note) for line, _ in rows]
        return out
    types = local_body_types or {}
    first: dict[int, LgdRecord] = {}
    for line, row in rows:
        raw_code = clean(_cell(row, i_code))
        if not raw_code:
            out.skipped.append(RowNote(line, raw_code, "missing code"))
            continue
        if not raw_code.isdigit():
            out.skipped.append(RowNote(line, raw_code, "non-numeric code", f"code {raw_code!r}"))
            continue
        code = parse_code(raw_code)
        if code is None:
            out.skipped.append(RowNote(line, raw_code, "missing code", "code is zero"))
            continue
        name = clean(_cell(row, i_name))
        if not name:
            out.skipped.append(RowNote(line, raw_code, "missing name"))
            continue
        rec = LgdRecord(line=line, level=spec.level, lgd_code=code, name=name,
                        name_local=clean(_cell(row, i_local)) or None,
                        census2001_code=parse_census(_cell(row, i_c2001)),
                        census2011_code=parse_census(_cell(row, i_c2011)))
        if i_version is not None:
            raw_version = clean(_cell(row, i_version))
            rec.lgd_version = parse_code(raw_version)
            if rec.lgd_version is None:
                out.warnings.append(RowNote(line, raw_code, "no version", f"version {raw_version!r} left empty"))
        for level, i in parent_cols:
            parent = parse_code(_cell(row, i))
            if parent is not None:
                rec.parent_level, rec.parent_code = level, parent
                break
        if spec.parents and rec.parent_code is None:
            raw_parents = ", ".join(f"{lv} {clean(_cell(row, i))!r}" for lv, i in parent_cols)
            out.skipped.append(RowNote(line, raw_code, "missing parent code", raw_parents))
            continue
        if i_sub is not None:
            rec.subdistrict_code = parse_code(_cell(row, i_sub))
        attrs = rec.attributes
        if i_state_ut is not None:
            flag = clean(_cell(row, i_state_ut)).upper()
            if flag in ("S", "U"):
                attrs["state_or_ut"] = flag
            else:
                out.warnings.append(RowNote(line, raw_code, "unknown State or UT flag", repr(flag)))
        if spec.level in ("urban_local_body", "traditional_local_body") and i_type_code is not None:
            type_code = parse_code(_cell(row, i_type_code))
            if type_code is not None:
                attrs["local_body_type_code"] = type_code
                type_name = clean(_cell(row, i_type_name)) or types.get(type_code, {}).get("name")
                if type_name:
                    attrs["local_body_type_name"] = type_name
                else:
                    out.warnings.append(RowNote(line, raw_code, "unknown local body type",
                                                f"type code {type_code} not in the local body type table"))
        if spec.level == "traditional_local_body":
            for key, i in (("block_panchayat_code", i_bp), ("district_panchayat_code", i_dp)):
                value = parse_code(_cell(row, i))
                if value is not None:
                    attrs[key] = value
        earlier = first.get(code)
        if earlier is None:
            first[code] = rec
            out.records.append(rec)
            continue
        merged, detail = _merge_duplicate(earlier, rec)
        (out.merged if merged else out.skipped).append(
            RowNote(line, raw_code, "duplicate code merged" if merged else "duplicate code within file", detail))
    return out


def _merge_duplicate(first: LgdRecord, dup: LgdRecord) -> tuple[bool, str]:
    """Fold ``dup`` into ``first`` if they differ only in parent or Panchayati Raj codes; else explain the conflict."""
    conflicts = [f"{f} {getattr(first, f)!r} vs {getattr(dup, f)!r}"
                 for f in ("name", "name_local", "lgd_version", "census2001_code", "census2011_code", "parent_level")
                 if getattr(first, f) != getattr(dup, f)]
    keys = set(first.attributes) | set(dup.attributes)
    conflicts += [f"{k} {first.attributes.get(k)!r} vs {dup.attributes.get(k)!r}" for k in sorted(keys)
                  if k not in MERGEABLE_ATTRIBUTES and not k.startswith("also_")
                  and first.attributes.get(k) != dup.attributes.get(k)]
    if conflicts:
        return False, f"same code as line {first.line} but different " + "; ".join(conflicts)
    notes = []
    if dup.parent_code != first.parent_code:
        also = first.attributes.setdefault(f"also_{first.parent_level}_codes", [])
        if dup.parent_code not in also:
            also.append(dup.parent_code)
        notes.append(f"also listed under {dup.parent_level} {dup.parent_code}; kept under {first.parent_code}")
    for key in MERGEABLE_ATTRIBUTES:
        value = dup.attributes.get(key)
        if value is not None and value != first.attributes.get(key):
            also = first.attributes.setdefault(f"also_{key}s", [])
            if value not in also:
                also.append(value)
            notes.append(f"also {key} {value}")
    return True, (f"repeats line {first.line}: " + "; ".join(notes)) if notes else f"exact repeat of line {first.line}"


def parse_file(path: Path, *, local_body_types: dict[int, dict[str, str]] | None = None) -> ParsedFile:
    """Read and parse one file; an unrecognised header gives a ParsedFile of kind None with a note."""
    header, rows = read_csv(path)
    kind = detect_kind(header)
    if kind is None:
        return ParsedFile(path=str(path), kind=None, rows_read=len(rows),
                          note="header not recognised as an LGD directory file: not loaded")
    return parse_rows(kind, header, rows, local_body_types=local_body_types, path=str(path))


def discover(paths: Iterable[Path]) -> list[Path]:
    """Files named on the command line, and the ``*.csv`` files of directories named there (sorted)."""
    found: list[Path] = []
    for p in paths:
        p = Path(p)
        if p.is_dir():
            found += sorted(f for f in p.iterdir() if f.is_file() and f.suffix.lower() == ".csv")
        else:
            found.append(p)
    unique: dict[Path, Path] = {}
    for f in found:
        unique.setdefault(f.resolve(), f)  # a file named twice (directly and through its directory) loads once
    return list(unique.values())


def plan(paths: Iterable[Path]) -> list[ParsedFile]:
    """Parse every file, in load order (parents first); the local body type table is read before local bodies."""
    files = discover(paths)
    kinds: dict[Path, str | None] = {}
    for f in files:
        try:
            kinds[f] = detect_kind(read_csv(f)[0])
        except OSError:
            kinds[f] = None
    types: dict[int, dict[str, str]] = {}
    for f in files:
        if kinds[f] == "local_body_type":
            types.update(parse_file(f).local_body_types)
    order = {k: i for i, k in enumerate(LOAD_ORDER)}
    ordered = sorted(files, key=lambda f: order.get(kinds[f], len(order)) if kinds[f] else len(order))
    parsed = []
    for f in ordered:
        try:
            pf = parse_file(f, local_body_types=types)
        except OSError as exc:
            pf = ParsedFile(path=str(f), kind=None, note=f"cannot read: {exc}")
        if pf.kind == "urban_local_body" and not types:
            pf.warnings.append(RowNote(0, "", "no local body type table",
                                       "no local-body-type-code file given: type names left empty"))
        parsed.append(pf)
    return parsed


# ------------------------------------------------------------------------------------------------ loading


@dataclass
class FileReport:
    path: str
    kind: str | None
    rows_read: int = 0
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    merged: list[RowNote] = field(default_factory=list)
    skipped: list[RowNote] = field(default_factory=list)
    warnings: list[RowNote] = field(default_factory=list)
    note: str = ""
    seconds: float = 0.0

    @property
    def loaded(self) -> int:
        return self.created + self.updated + self.unchanged

    def reasons(self) -> dict[str, int]:
        counts: dict[str, int] = {}
        for s in self.skipped:
            counts[s.reason] = counts.get(s.reason, 0) + 1
        return counts

    def to_dict(self) -> dict[str, Any]:
        return {"path": self.path, "kind": self.kind, "rows_read": self.rows_read,
                "loaded": self.loaded, "created": self.created, "updated": self.updated,
                "unchanged": self.unchanged, "merged": len(self.merged), "skipped": len(self.skipped),
                "skipped_reasons": self.reasons(), "note": self.note, "seconds": round(self.seconds, 3),
                "skipped_rows": [asdict(s) for s in self.skipped], "merged_rows": [asdict(s) for s in self.merged],
                "warnings": [asdict(w) for w in self.warnings]}


@dataclass
class ImportReport:
    files: list[FileReport]
    seconds: float = 0.0

    def totals(self) -> dict[str, int]:
        keys = ("rows_read", "loaded", "created", "updated", "unchanged")
        out = {k: sum(getattr(f, k) for f in self.files) for k in keys}
        out["merged"] = sum(len(f.merged) for f in self.files)
        out["skipped"] = sum(len(f.skipped) for f in self.files)
        return out

    def by_kind(self, kind: str) -> FileReport:
        matches = [f for f in self.files if f.kind == kind]
        if len(matches) != 1:
            raise KeyError(f"{len(matches)} files of kind {kind}")
        return matches[0]

    def to_dict(self) -> dict[str, Any]:
        return {"files": [f.to_dict() for f in self.files], "totals": self.totals(),
                "seconds": round(self.seconds, 3)}


def _existing(session, table, level: str, codes: list[int]) -> dict[int, dict[str, Any]]:
    """Stored units of ``level`` with these codes: their attributes and their parent's id and level."""
    parent = aliased(table)
    out: dict[int, dict[str, Any]] = {}
    for i in range(0, len(codes), BATCH_SIZE):
        stmt = (select(table.c.lgd_code, table.c.attributes, table.c.parent_id, parent.c.level.label("parent_level"))
                .outerjoin(parent, parent.c.id == table.c.parent_id)
                .where(table.c.level == level, table.c.lgd_code.in_(codes[i:i + BATCH_SIZE])))
        for row in session.execute(stmt).mappings():
            out[row["lgd_code"]] = dict(row)
    return out


def _item(rec: LgdRecord, old: dict[str, Any] | None) -> dict[str, Any]:
    item = rec.item()
    if old is not None:
        # keep attributes that other systems set; the LGD-owned keys are replaced by what the file says
        kept = {k: v for k, v in (old["attributes"] or {}).items()
                if k not in LGD_ATTRIBUTE_KEYS and not k.startswith("also_")}
        item["attributes"] = kept | item["attributes"]
        # a village already placed in the operational tree (under a gram panchayat or block) stays there
        if rec.level == "village" and old["parent_level"] in ("gram_panchayat", "block") and old["parent_id"]:
            item["parent"] = {"id": str(old["parent_id"])}
    return item


def _reason(rec: LgdRecord, errors: list[dict[str, Any]]) -> RowNote:
    from jaldpi.core.registry import ErrorCode

    codes = {e["code"] for e in errors}
    detail = "; ".join(f"{e['field']}: {e['message']}" if e.get("field") else e["message"] for e in errors)
    if ErrorCode.REFERENCE_NOT_FOUND in codes:
        bad = {e["field"] for e in errors if e["code"] == ErrorCode.REFERENCE_NOT_FOUND}
        what = (f"{rec.parent_level} {rec.parent_code}" if "parent" in bad
                else f"subdistrict {rec.subdistrict_code}")
        return RowNote(rec.line, str(rec.lgd_code), "unknown parent code", f"{what} is not in the directory")
    return RowNote(rec.line, str(rec.lgd_code), "rejected by registry", detail)


def load_file(db, registry, parsed: ParsedFile, *, principal: Principal | None = None,
              batch_size: int = BATCH_SIZE) -> FileReport:
    """Load one parsed file through ``registry.import_records`` (create_and_update, per record), in batches.

    Each batch is one unit of work (one transaction, change log sealed at its commit). Rows the registry rejects
    (e.g. a parent code not in the directory) are reported as skipped; they never stop the load.
    """
    from jaldpi.core.registry import Strategy

    started = time.perf_counter()
    principal = principal or lgd_principal()
    report = FileReport(path=parsed.path, kind=parsed.kind, rows_read=parsed.rows_read,
                        merged=list(parsed.merged), skipped=list(parsed.skipped), warnings=list(parsed.warnings),
                        note=parsed.note)
    if parsed.level is None or not parsed.records:
        report.seconds = time.perf_counter() - started
        return report
    table = registry.table
    records = parsed.records
    for start in range(0, len(records), batch_size):
        batch = records[start:start + batch_size]
        with db.unit_of_work() as session:
            existing = _existing(session, table, parsed.level, [r.lgd_code for r in batch])
            items = [_item(r, existing.get(r.lgd_code)) for r in batch]
            summary = registry.import_records(session, principal, items, strategy=Strategy.create_and_update,
                                              atomic=False, source_system=SOURCE_SYSTEM)
        for rec, row in zip(batch, summary.rows, strict=True):
            if row.errors:
                report.skipped.append(_reason(rec, row.errors))
            elif row.action == "created":
                report.created += 1
            elif row.action == "updated":
                report.updated += 1
            else:
                report.unchanged += 1
    report.skipped.sort(key=lambda s: s.line)
    report.seconds = time.perf_counter() - started
    return report


def load(db, registry, paths: Iterable[Path], *, principal: Principal | None = None,
         batch_size: int = BATCH_SIZE) -> ImportReport:
    """Parse and load LGD files (files or directories) in dependency order; see :func:`load_file`."""
    started = time.perf_counter()
    reports = [load_file(db, registry, pf, principal=principal, batch_size=batch_size) for pf in plan(paths)]
    return ImportReport(reports, seconds=time.perf_counter() - started)


__all__ = ["BATCH_SIZE", "KINDS", "LOAD_ORDER", "SOURCE_SYSTEM", "FileReport", "ImportReport", "Kind", "LgdRecord",
           "ParsedFile", "RowNote", "clean", "detect_kind", "discover", "lgd_principal", "load", "load_file", "norm",
           "parse_census", "parse_code", "parse_file", "parse_local_body_types", "parse_rows", "plan", "read_csv",
           "unit_code"]
