"""The entities registry. The VWSC 50%-women rule is computed on every write and reported, never enforced
silently: a committee below it is stored, flagged (``women_rule_met = false``) and listed by the filter."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

from jaldpi.core.registry import Filter, Reference, RegistrySpec
from jaldpi.entities.models import Entity
from jaldpi.entities.schemas import COMMITTEE_TYPES, EntityIn

ADMIN_LEVELS = ("state", "district", "subdistrict", "block", "gram_panchayat", "village", "habitation")

# JJM operational guidelines: at least 50% of VWSC members are women (../shared/reference/JJM_NORMS.md).
WOMEN_SHARE_REQUIRED = 0.5


def derive_path(data: dict[str, Any], resolved: dict[str, Any]) -> str:
    unit = resolved["admin_unit"]
    members = data.get("members") or []
    data["member_count"] = len(members)
    data["women_members"] = sum(1 for m in members if m.get("gender") == "female")
    data["women_rule_met"] = (data["women_members"] >= WOMEN_SHARE_REQUIRED * len(members)
                              if data["entity_type"] == "vwsc" and members else None)
    return unit["lgd_path"]


def output(record: dict[str, Any]) -> dict[str, Any]:
    acc = record.get("accreditation")
    if acc:
        today = dt.date.today().isoformat()
        record["accreditation_valid"] = acc["valid_from"] <= today <= acc["valid_until"]
    if record.get("entity_type") in COMMITTEE_TYPES and record.get("member_count"):
        record["women_share"] = round(record["women_members"] / record["member_count"], 3)
    return record


def spec() -> RegistrySpec:
    return RegistrySpec(
        name="entities",
        title="entity",
        table=Entity.__table__,
        schema=EntityIn,
        code_prefix="ENT",
        derive_path=derive_path,
        references=(
            Reference("admin_unit", "admin_unit_id", "admin_units", levels=ADMIN_LEVELS),
            Reference("serves", "serves_ids", "admin_units", levels=ADMIN_LEVELS, many=True),
        ),
        filters={
            "entity_type": Filter("entity_type", str, "code list entity_types"),
            "status": Filter("status", str),
            "lab_level": Filter("lab_level", str),
            "women_rule_met": Filter("women_rule_met", bool, "false lists committees below 50% women"),
            "admin_unit_id": Filter("admin_unit_id", uuid.UUID),
        },
        output=output,
        output_fields=("accreditation_valid", "women_share"),
    )
