from __future__ import annotations

import uuid
from typing import Any

from jaldpi.core.registry import Filter, Reference, RegistrySpec
from jaldpi.people.models import Household
from jaldpi.people.personal_data import HouseholdPersonalStore
from jaldpi.people.schemas import HouseholdIn


def derive_path(data: dict[str, Any], resolved: dict[str, Any]) -> str:
    return resolved["village"]["lgd_path"]


def rules(data: dict[str, Any]) -> list[tuple[str, str]]:
    habitation = data["_resolved"].get("habitation")
    village = data["_resolved"]["village"]
    if habitation is not None and habitation["parent_id"] != village["id"]:
        return [("habitation", f"habitation {habitation['code']} is not in village {village['code']}")]
    return []


def spec(store: HouseholdPersonalStore) -> RegistrySpec:
    return RegistrySpec(
        name="households", title="household", table=Household.__table__, schema=HouseholdIn, code_prefix="HH",
        derive_path=derive_path,
        references=(
            Reference("village", "village_id", "admin_units", levels=("village",)),
            Reference("habitation", "habitation_id", "admin_units", levels=("habitation",)),
        ),
        filters={
            "village_id": Filter("village_id", uuid.UUID),
            "has_tap_connection": Filter("has_tap_connection", bool),
            "social_category": Filter("social_category", str),
        },
        search_column=None,  # no free-text search over households: names are personal data
        private_store=store,
        validate_row=rules,
    )
