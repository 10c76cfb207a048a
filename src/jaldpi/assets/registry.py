"""Schemes and components: jurisdiction paths, lifecycle rule, geometry rule."""

from __future__ import annotations

import uuid
from typing import Any

from jaldpi.admin_units.paths import common_prefix
from jaldpi.assets.models import Component, Scheme
from jaldpi.assets.schemas import ComponentIn, SchemeIn
from jaldpi.core.registry import Filter, Reference, RegistrySpec
from jaldpi.core.schemas import first_position
from jaldpi.standard.codelists import codelist, item

LIFECYCLE = [i["code"] for i in codelist("scheme_lifecycle")["items"]]


def scheme_path(data: dict[str, Any], resolved: dict[str, Any]) -> str:
    """A scheme belongs to the lowest unit containing every village it serves (an MVS across two districts is a
    state record)."""
    return common_prefix([v["lgd_path"] for v in resolved.get("villages", [])])


def scheme_rules(data: dict[str, Any]) -> list[tuple[str, str]]:
    problems = []
    old = data.get("_old")
    if old is not None and old["lifecycle_status"] != data["lifecycle_status"]:
        before, after = LIFECYCLE.index(old["lifecycle_status"]), LIFECYCLE.index(data["lifecycle_status"])
        if after != before + 1:
            problems.append(("lifecycle_status", f"cannot go from {old['lifecycle_status']} to "
                             f"{data['lifecycle_status']}; next allowed: "
                             f"{(LIFECYCLE[before + 1] if before + 1 < len(LIFECYCLE) else 'none')}"))
    agency = data["_resolved"].get("implementing_agency")
    if agency is not None and agency["entity_type"] not in ("implementing_agency", "contractor"):
        problems.append(("implementing_agency", "must be an entity of type implementing_agency or contractor"))
    return problems


def component_path(data: dict[str, Any], resolved: dict[str, Any]) -> str:
    data["longitude"], data["latitude"] = first_position(data.get("geometry"))
    village = resolved.get("village")
    return village["lgd_path"] if village else resolved["scheme"]["lgd_path"]


def component_rules(data: dict[str, Any]) -> list[tuple[str, str]]:
    problems = []
    geometry = data.get("geometry")
    if geometry:
        wanted = item("component_types", data["component_type"])["geometry"]
        if geometry["type"] != wanted:
            problems.append(("geometry", f"a {data['component_type']} is a {wanted}, not a {geometry['type']}"))
    resolved = data["_resolved"]
    scheme = resolved["scheme"]
    for up in resolved.get("upstream", []):
        if up["scheme_id"] != scheme["id"]:
            problems.append(("upstream", f"component {up['code']} belongs to another scheme"))
        if data.get("_old") and up["id"] == data["_old"]["id"]:
            problems.append(("upstream", "a component cannot feed itself"))
    source = resolved.get("water_source")
    if source is not None and source["resource_type"] != "water_source":
        problems.append(("water_source", "must be a natural resource of type water_source"))
    if resolved.get("household") is not None and data["component_type"] != "fhtc":
        problems.append(("household", "only household tap connections (fhtc) name a household"))
    return problems


def scheme_spec() -> RegistrySpec:
    return RegistrySpec(
        name="schemes", title="scheme", table=Scheme.__table__, schema=SchemeIn, code_prefix="SCH",
        derive_path=scheme_path,
        references=(
            Reference("villages", "village_ids", "admin_units", levels=("village",), many=True),
            Reference("habitations", "habitation_ids", "admin_units", levels=("habitation",), many=True),
            Reference("implementing_agency", "implementing_agency_id", "entities"),
        ),
        filters={
            "scheme_type": Filter("scheme_type", str, "svs | mvs"),
            "lifecycle_status": Filter("lifecycle_status", str, "code list scheme_lifecycle"),
            "is_functional": Filter("is_functional", bool),
        },
        validate_row=scheme_rules,
    )


def component_spec() -> RegistrySpec:
    return RegistrySpec(
        name="components", title="scheme component", table=Component.__table__, schema=ComponentIn,
        code_prefix="CMP", derive_path=component_path,
        references=(
            Reference("scheme", "scheme_id", "schemes"),
            Reference("village", "village_id", "admin_units", levels=("village", "habitation")),
            Reference("upstream", "upstream_ids", "components", many=True),
            Reference("water_source", "water_source_id", "natural_resources"),
            Reference("household", "household_id", "households"),
        ),
        filters={
            "scheme_id": Filter("scheme_id", uuid.UUID),
            "component_type": Filter("component_type", str, "code list component_types"),
            "village_id": Filter("village_id", uuid.UUID),
            "household_id": Filter("household_id", uuid.UUID),
            "is_functional": Filter("is_functional", bool),
        },
        validate_row=component_rules,
    )
