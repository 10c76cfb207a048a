"""Baseline reports: villages below the service norm (lpcd) per state / district / block; baseline rows, paged.

A profile village is *below norm* when its reported ``service_level_lpcd`` is below the norm (setting
``service_norm_lpcd``, 55); a village with no reported service level is counted as *missing*, never as below or
above. Rows are grouped by the LGD unit they matched; rows whose unit did not match are grouped by the names as
given (``matched: false``). Scoped by ``baseline:read``: a row is visible when its ``lgd_path`` (the deepest unit
matched) lies in the caller's jurisdiction; rows matched to no unit are visible to national scope only.
"""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import and_, case, func, select
from sqlalchemy.orm import Session

from jaldpi.admin_units.models import AdminUnit
from jaldpi.baseline.models import VillageBaseline
from jaldpi.core.pagination import decode_cursor, encode_cursor
from jaldpi.core.security import Principal, scope_clause

PERMISSION = "baseline:read"
GROUP_LEVELS = ("state", "district", "block")
_NAMES = {"state": ("state_name",), "district": ("state_name", "district_name"),
          "block": ("state_name", "district_name", "block_name")}


def _where(principal: Principal, within: str | None, source: str | None) -> list[Any]:
    t = VillageBaseline.__table__
    conds = [scope_clause(t.c.lgd_path, principal.scope(PERMISSION))]
    if within:
        conds.append(t.c.lgd_path.startswith(within, autoescape=True))
    if source:
        conds.append(t.c.source == source)
    return conds


def below_norm(session: Session, principal: Principal, norm: int, *, level: str = "district",
               within: str | None = None, source: str | None = None) -> dict[str, Any]:
    if level not in GROUP_LEVELS:
        raise ValueError(f"level must be one of {', '.join(GROUP_LEVELS)}")
    t = VillageBaseline.__table__
    unit_col = t.c[f"{level}_id"]
    lpcd = t.c.service_level_lpcd
    names = [t.c[n] for n in _NAMES[level]]
    stmt = (select(unit_col, *names, func.count().label("villages"),
                   func.sum(case((lpcd < norm, 1), else_=0)).label("below"),
                   func.sum(case((lpcd.is_(None), 1), else_=0)).label("missing"))
            .where(*_where(principal, within, source)).group_by(unit_col, *names))
    groups: dict[Any, dict[str, Any]] = {}
    for row in session.execute(stmt):
        key = row[0] if row[0] is not None else ("names", *row[1:1 + len(names)])
        g = groups.setdefault(key, {"unit_id": row[0], "matched": row[0] is not None, "names_in_file": [],
                                    "villages": 0, "below_norm": 0, "missing_lpcd": 0})
        g["names_in_file"].append(list(row[1:1 + len(names)]))
        g["villages"] += row.villages
        g["below_norm"] += int(row.below or 0)
        g["missing_lpcd"] += int(row.missing or 0)
    a = AdminUnit.__table__
    ids = [g["unit_id"] for g in groups.values() if g["unit_id"] is not None]
    units: dict[Any, dict[str, Any]] = {}
    for i in range(0, len(ids), 1000):
        for r in session.execute(select(a.c.id, a.c.code, a.c.lgd_code, a.c.name, a.c.lgd_path).where(
                a.c.id.in_(ids[i:i + 1000]))):
            units[r.id] = {"code": r.code, "lgd_code": r.lgd_code, "name": r.name, "lgd_path": r.lgd_path}
    items = []
    for g in groups.values():
        unit = units.get(g.pop("unit_id"))
        with_lpcd = g["villages"] - g["missing_lpcd"]
        items.append({level: unit, **g, "at_or_above_norm": with_lpcd - g["below_norm"],
                      "share_below": round(g["below_norm"] / with_lpcd, 4) if with_lpcd else None})
    items.sort(key=lambda i: (not i["matched"], (i[level] or {}).get("lgd_path") or "", i["names_in_file"]))
    totals = {k: sum(i[k] for i in items) for k in ("villages", "below_norm", "missing_lpcd", "at_or_above_norm")}
    return {"norm_lpcd": norm, "level": level, "within": within, "totals": totals, "items": items}


def _row(r: Any) -> dict[str, Any]:
    return {
        "id": str(r.id), "source": r.source, "as_on": r.as_on.isoformat(), "external_id": r.external_id,
        "names": {"state": r.state_name, "district": r.district_name, "block": r.block_name,
                  "village": r.village_name},
        "match": {"state": r.state_match, "district": r.district_match, "block": r.block_match,
                  "village": r.village_match, "scores": r.match_scores or {}, "notes": r.match_notes or {}},
        "units": {lv: (str(getattr(r, f"{lv}_id")) if getattr(r, f"{lv}_id") else None)
                  for lv in ("state", "district", "block", "village")},
        "lgd_path": r.lgd_path,
        "service_level_lpcd": float(r.service_level_lpcd) if r.service_level_lpcd is not None else None,
        "habitations": r.habitations, "households": r.households, "houses_with_taps": r.houses_with_taps,
        "schools": r.schools, "schools_with_taps": r.schools_with_taps, "anganwadis": r.anganwadis,
        "anganwadis_with_taps": r.anganwadis_with_taps, "har_ghar_jal_status": r.har_ghar_jal_status,
        "har_ghar_jal": r.har_ghar_jal, "population": r.population,
    }


def villages(session: Session, principal: Principal, norm: int, *, within: str | None = None,
             below_norm: bool | None = None, source: str | None = None, limit: int = 50, after: str | None = None,
             total: bool = False) -> dict[str, Any]:
    """Baseline rows in scope, keyset-paged by id; ``below_norm`` true: lpcd below the norm, false: at or above."""
    t = VillageBaseline.__table__
    conds = _where(principal, within, source)
    if below_norm is True:
        conds.append(t.c.service_level_lpcd < norm)
    elif below_norm is False:
        conds.append(t.c.service_level_lpcd >= norm)
    page_conds = list(conds)
    if after:
        page_conds.append(t.c.id > decode_cursor(after))
    rows = session.execute(select(t).where(and_(*page_conds)).order_by(t.c.id).limit(limit + 1)).all()
    more = len(rows) > limit
    rows = rows[:limit]
    out: dict[str, Any] = {"norm_lpcd": norm, "items": [_row(r) for r in rows],
                           "next_cursor": encode_cursor(uuid.UUID(str(rows[-1].id))) if more else None}
    if total:
        out["total"] = session.execute(select(func.count()).select_from(t).where(and_(*conds))).scalar_one()
    return out


__all__ = ["GROUP_LEVELS", "PERMISSION", "below_norm", "villages"]
