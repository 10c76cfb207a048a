"""The administrative-units registry: spec, path derivation, parent rules, and moving subtrees on re-parenting."""

from __future__ import annotations

import uuid
from typing import Any

from jaldpi.admin_units.models import AdminUnit
from jaldpi.admin_units.paths import ALLOWED_PARENTS, segment
from jaldpi.admin_units.schemas import AdminUnitIn
from jaldpi.core.ids import mint_code
from jaldpi.core.registry import Filter, Reference, RegistrySpec

LGD_LEVELS = tuple(ALLOWED_PARENTS)


def derive_path(data: dict[str, Any], resolved: dict[str, Any]) -> str:
    parent = resolved.get("parent")
    base = parent["lgd_path"] if parent else "/"
    if data["level"] == "habitation":
        return base  # habitations share their village's jurisdiction
    return base + segment(data["level"], data["lgd_code"])


def validate_row(data: dict[str, Any]) -> list[tuple[str, str]]:
    problems = []
    parent = data["_resolved"].get("parent")
    if parent is not None:
        allowed = ALLOWED_PARENTS[data["level"]]
        if parent["level"] not in allowed:
            problems.append(("parent", f"a {data['level']} cannot sit under a {parent['level']} "
                                       f"(allowed: {', '.join(allowed) or 'none'})"))
        old = data.get("_old")
        if old is not None and parent["lgd_path"].startswith(old["lgd_path"]) and data["level"] != "habitation":
            problems.append(("parent", "a unit cannot be moved under itself"))
    sub = data["_resolved"].get("subdistrict")
    if sub is not None and data["level"] != "village":
        problems.append(("subdistrict", "only villages name a revenue sub-district"))
    return problems


def mint(data: dict[str, Any], resolved: dict[str, Any]) -> str:
    if data["level"] == "habitation":
        from jaldpi.core.ids import new_id
        village = resolved["parent"]
        return mint_code(f"HAB{village['lgd_code']}", new_id())[:-6]  # HAB<village>-<6 base32 chars>
    return f"LGD-{segment(data['level'], data['lgd_code']).rstrip('/')}"


def predict_code(item: dict[str, Any]) -> str | None:
    level, code = item.get("level"), item.get("lgd_code")
    if level in ALLOWED_PARENTS and level != "habitation" and str(code or "").isdigit():
        return f"LGD-{segment(level, int(code)).rstrip('/')}"
    return None


def spec() -> RegistrySpec:
    return RegistrySpec(
        name="admin_units",
        title="administrative unit",
        table=AdminUnit.__table__,
        schema=AdminUnitIn,
        code_prefix="AU",
        derive_path=derive_path,
        references=(
            Reference("parent", "parent_id", "admin_units", levels=LGD_LEVELS,
                      levels_for=lambda unit: ALLOWED_PARENTS[unit.level] or LGD_LEVELS),
            Reference("subdistrict", "subdistrict_id", "admin_units", levels=("subdistrict",)),
        ),
        filters={
            "level": Filter("level", str, "code list lgd_levels"),
            "lgd_code": Filter("lgd_code", int, "LGD code (combine with level)"),
            "parent_id": Filter("parent_id", uuid.UUID, "id of the parent unit"),
            "census2011_code": Filter("census2011_code", str),
        },
        public_read=True,  # the LGD directory is public
        validate_row=validate_row,
        mint_code=mint,
        identity_keys=("level", "lgd_code"),
        moves_subtree=True,
        predict_code=predict_code,
    )
