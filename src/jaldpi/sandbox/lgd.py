"""A minimal loader of one state's real LGD upper hierarchy (state, districts, sub-districts, blocks).

The sandbox builds synthetic gram panchayats and villages under real LGD blocks. This loader reads the official LGD
CSV exports (``1-state.csv``, ``2-district.csv``, ``3-subdistrict.csv``, ``blocks.csv``) from a directory, keeps
one state's rows and creates the units that are not in the registry yet through ``Registry.import_records`` (so
they get versions and change-log entries like any other write). Units already present, e.g. loaded by the full
importer ``jaldpi lgd import``, are left as they are.

Without a directory of real files it falls back to the extract bundled in ``lgd_seed/`` (Telangana, state 36).
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import select, tuple_
from sqlalchemy.orm import Session

from jaldpi.admin_units.models import AdminUnit
from jaldpi.core.registry import Registry, Strategy
from jaldpi.core.security import Principal
from jaldpi.sandbox.ids import lgd_unit_id

SEED_DIR = Path(__file__).resolve().parent / "lgd_seed"
SEED_STATE = 36
FILES = {"state": "1-state.csv", "district": "2-district.csv", "subdistrict": "3-subdistrict.csv",
         "block": "blocks.csv"}
UPPER_LEVELS = ("state", "district", "subdistrict", "block")


class LgdSourceError(RuntimeError):
    pass


@dataclass
class LgdSource:
    directory: Path
    bundled: bool

    @property
    def label(self) -> str:
        return f"bundled seed {self.directory}" if self.bundled else str(self.directory)


def find_lgd_dir(explicit: Path | None = None) -> LgdSource:
    """``explicit``, else ``../shared/data/lgd`` beside the working directory or the repository, else the seed."""
    if explicit is not None:
        if not (explicit / FILES["state"]).is_file():
            raise LgdSourceError(f"{explicit} holds no LGD {FILES['state']}")
        return LgdSource(explicit, False)
    candidates = [Path.cwd().parent / "shared" / "data" / "lgd"]
    repo = Path(__file__).resolve().parents[3]  # src/jaldpi/sandbox/lgd.py -> repository root (editable install)
    if (repo / "pyproject.toml").is_file():
        candidates.append(repo.parent / "shared" / "data" / "lgd")
    for c in candidates:
        if all((c / f).is_file() for f in FILES.values()):
            return LgdSource(c.resolve(), False)
    return LgdSource(SEED_DIR, True)


def _rows(path: Path) -> tuple[list[str], list[list[str]]]:
    with path.open(newline="", encoding="utf-8-sig") as f:
        reader = csv.reader(f)
        header = [h.strip() for h in next(reader)]
        return header, [r for r in reader if any(c.strip() for c in r)]


def _col(header: list[str], name: str, nth: int = 0) -> int | None:
    hits = [i for i, h in enumerate(header) if h.lower() == name.lower()]
    return hits[nth] if len(hits) > nth else None


def _census(value: str | None) -> str | None:
    value = (value or "").strip()
    return value if value.isdigit() and int(value) != 0 else None


def _int(value: str | None) -> int | None:
    value = (value or "").strip()
    return int(value) if value.isdigit() else None


def read_state(directory: Path, state_code: int) -> list[dict[str, Any]]:
    """One state's upper units as registry input, parents first. Raises if the state is not in the files."""
    items: list[dict[str, Any]] = []

    def get(row: list[str], idx: int | None) -> str | None:
        return row[idx].strip() if idx is not None and idx < len(row) and row[idx].strip() else None

    header, rows = _rows(directory / FILES["state"])
    code_i, ver_i = _col(header, "State Code"), _col(header, "State Version")
    name_i, local_i = _col(header, "State Name"), _col(header, "State Name", 1)
    c01, c11, kind_i = _col(header, "Census 2001 Code"), _col(header, "Census 2011 Code"), _col(header, "State or UT")
    for r in rows:
        if _int(get(r, code_i)) == state_code:
            local = get(r, local_i)
            items.append({"level": "state", "lgd_code": state_code, "lgd_version": _int(get(r, ver_i)),
                          "name": get(r, name_i), "name_local": local if local != get(r, name_i) else None,
                          "census2001_code": _census(get(r, c01)), "census2011_code": _census(get(r, c11)),
                          "attributes": {"state_or_ut": get(r, kind_i)} if get(r, kind_i) else {}})
    if not items:
        raise LgdSourceError(f"state {state_code} is not in {directory / FILES['state']}"
                             + (f" (the bundled seed holds only state {SEED_STATE}; pass --lgd-dir with the "
                                "official LGD files)" if directory == SEED_DIR else ""))
    state_ref = {"code": f"LGD-S{state_code}"}

    header, rows = _rows(directory / FILES["district"])
    sc, dc, dn = _col(header, "State Code"), _col(header, "District Code"), _col(header, "District Name")
    c01, c11 = _col(header, "Census 2001 Code"), _col(header, "Census 2011 Code")
    for r in rows:
        if _int(get(r, sc)) == state_code and _int(get(r, dc)):
            items.append({"level": "district", "lgd_code": _int(get(r, dc)), "name": get(r, dn),
                          "parent": state_ref, "census2001_code": _census(get(r, c01)),
                          "census2011_code": _census(get(r, c11))})
    districts = {it["lgd_code"] for it in items if it["level"] == "district"}

    for level, fname, prefix in (("subdistrict", FILES["subdistrict"], "Sub-district"),
                                 ("block", FILES["block"], "Block")):
        header, rows = _rows(directory / fname)
        sc, dc = _col(header, "State Code"), _col(header, "District Code")
        code_i, ver_i = _col(header, f"{prefix} Code"), _col(header, f"{prefix} Version")
        name_i, local_i = _col(header, f"{prefix} Name"), _col(header, f"{prefix} Name", 1)
        c01, c11 = _col(header, "Census 2001 code"), _col(header, "Census 2011 code")
        for r in rows:
            district = _int(get(r, dc))
            if _int(get(r, sc)) != state_code or district not in districts or not _int(get(r, code_i)):
                continue
            local = get(r, local_i)
            items.append({"level": level, "lgd_code": _int(get(r, code_i)), "lgd_version": _int(get(r, ver_i)),
                          "name": get(r, name_i), "name_local": local if local != get(r, name_i) else None,
                          "parent": {"code": f"LGD-D{district}"}, "census2001_code": _census(get(r, c01)),
                          "census2011_code": _census(get(r, c11))})
    return items


def load_upper_hierarchy(session: Session, registry: Registry, principal: Principal, directory: Path,
                         state_code: int) -> dict[str, int]:
    """Create the state's missing upper units; returns counts ``{"read": n, "created": m}``."""
    items = read_state(directory, state_code)
    wanted = {(it["level"], it["lgd_code"]) for it in items}
    present: set[tuple[str, int]] = set()
    t = AdminUnit.__table__
    keys = list(wanted)
    for i in range(0, len(keys), 2000):
        present.update((lv, code) for lv, code in session.execute(
            select(t.c.level, t.c.lgd_code).where(tuple_(t.c.level, t.c.lgd_code).in_(keys[i:i + 2000]))))
    missing = [{"id": str(lgd_unit_id(it["level"], it["lgd_code"])), **it} for it in items
               if (it["level"], it["lgd_code"]) not in present]
    created = 0
    if missing:
        summary = registry.import_records(session, principal, missing, strategy=Strategy.create, atomic=True,
                                          source_system="lgd")
        if summary.status != "ok":
            bad = [r for r in summary.rows if r.errors][:5]
            raise LgdSourceError(f"LGD upper hierarchy of state {state_code} did not load: "
                                 + "; ".join(f"row {r.index} {missing[r.index].get('level')} "
                                             f"{missing[r.index].get('lgd_code')}: {r.errors}" for r in bad))
        created = summary.stats()["created"]
    return {"read": len(items), "created": created}


def upper_units(session: Session, state_code: int) -> dict[tuple[str, int], dict[str, Any]]:
    """The state's upper units in the registry, by (level, LGD code)."""
    t = AdminUnit.__table__
    rows = session.execute(select(t.c.id, t.c.level, t.c.lgd_code, t.c.name, t.c.lgd_path, t.c.parent_id)
                           .where(t.c.lgd_path.startswith(f"/S{state_code}/"), t.c.level.in_(UPPER_LEVELS),
                                  t.c.deleted_at.is_(None))).mappings()
    return {(r["level"], r["lgd_code"]): dict(r) for r in rows}
