from __future__ import annotations

import uuid
from typing import Any

from jaldpi.core.registry import Filter, Reference, RegistrySpec
from jaldpi.core.schemas import first_position
from jaldpi.resources.models import NaturalResource
from jaldpi.resources.schemas import NaturalResourceIn


def derive_path(data: dict[str, Any], resolved: dict[str, Any]) -> str:
    data["longitude"], data["latitude"] = first_position(data.get("geometry"))
    return resolved["admin_unit"]["lgd_path"]


def rules(data: dict[str, Any]) -> list[tuple[str, str]]:
    problems = []
    for field, wanted in (("aquifer", "aquifer"), ("assessment_unit", "groundwater_assessment_unit")):
        target = data["_resolved"].get(field)
        if target is not None and target["resource_type"] != wanted:
            problems.append((field, f"must be a natural resource of type {wanted}"))
    return problems


def spec() -> RegistrySpec:
    return RegistrySpec(
        name="natural_resources", title="natural resource", table=NaturalResource.__table__,
        schema=NaturalResourceIn, code_prefix="NR", derive_path=derive_path,
        references=(
            Reference("admin_unit", "admin_unit_id", "admin_units"),
            Reference("aquifer", "aquifer_id", "natural_resources"),
            Reference("assessment_unit", "assessment_unit_id", "natural_resources"),
        ),
        filters={
            "resource_type": Filter("resource_type", str, "code list resource_types"),
            "source_type": Filter("source_type", str, "code list source_types"),
            "gw_category": Filter("gw_category", str, "code list groundwater_categories"),
            "admin_unit_id": Filter("admin_unit_id", uuid.UUID),
        },
        validate_row=rules,
    )
