"""Sampling points and samples: jurisdiction paths, lab rules, and the IS 10500 evaluation of every sample on write.

The verdict columns of a sample (verdict, contaminants, flags, rule-set version, per-parameter evaluation) are
derived here on every write, so what is stored is always what the node's rule set said, and which rule set said it.
"""

from __future__ import annotations

import uuid
from typing import Any

from jaldpi.core.registry import Filter, Reference, RegistrySpec
from jaldpi.core.schemas import first_position
from jaldpi.standard.codelists import item
from jaldpi.water_quality.models import Sample, SamplingPoint
from jaldpi.water_quality.schemas import SampleIn, SamplingPointIn

ADMIN_LEVELS = ("state", "district", "subdistrict", "block", "gram_panchayat", "village", "habitation")


def point_path(data: dict[str, Any], resolved: dict[str, Any]) -> str:
    data["longitude"], data["latitude"] = first_position(data.get("geometry"))
    return resolved["admin_unit"]["lgd_path"]


def point_rules(data: dict[str, Any]) -> list[tuple[str, str]]:
    problems = []
    source = data["_resolved"].get("water_source")
    if source is not None and source["resource_type"] != "water_source":
        problems.append(("water_source", "must be a natural resource of type water_source"))
    return problems


def season_of(month: int, pre_monsoon_months: tuple[int, ...]) -> str:
    return "pre_monsoon" if month in pre_monsoon_months else "post_monsoon"


def sample_spec(evaluator, pre_monsoon_months: tuple[int, ...], on_written=None) -> RegistrySpec:
    """``evaluator(results, point_row, sample_data) -> dict of derived columns`` (see evaluation.py)."""

    def derive(data: dict[str, Any], resolved: dict[str, Any]) -> str:
        point = resolved["sampling_point"]
        data["season"] = season_of(data["collected_at"].month, pre_monsoon_months)
        data.update(evaluator(data.get("results") or [], point, data))
        return point["lgd_path"]

    def rules(data: dict[str, Any]) -> list[tuple[str, str]]:
        problems = []
        resolved = data["_resolved"]
        lab = resolved.get("lab")
        if data["test_kind"] == "lab" and lab is None and data["purpose"] == "confirmation":
            problems.append(("lab", "a lab confirmation names the lab"))
        if lab is not None:
            if lab["entity_type"] != "water_quality_lab":
                problems.append(("lab", "must be an entity of type water_quality_lab"))
            elif data["test_kind"] != "lab":
                problems.append(("lab", "field-kit tests do not name a lab"))
            else:
                can_test = set(lab.get("parameters_tested") or [])
                missing = sorted({r["parameter"] for r in data.get("results") or []} - can_test) if can_test else []
                if missing:
                    problems.append(("results", f"lab {lab['code']} is not set up to test {', '.join(missing)}"))
        related = resolved.get("related_sample")
        if related is not None and related["sampling_point_id"] != resolved["sampling_point"]["id"]:
            problems.append(("related_sample", "the related sample was taken at another sampling point"))
        if related is not None and data["purpose"] == "confirmation" and related["test_kind"] != "field_kit":
            problems.append(("related_sample", "a confirmation confirms a field-kit sample"))
        if data["test_kind"] == "field_kit":
            problem = _tester_problem(data)
            if problem:
                problems.append(("collected_by", problem))
        for problem in (data.get("evaluation") or {}).get("input_problems", []):
            problems.append((f"results.{problem['parameter']}", problem["problem"]))
        return problems

    return RegistrySpec(
        name="samples", title="water sample", table=Sample.__table__, schema=SampleIn, code_prefix="WQS",
        derive_path=derive,
        references=(
            Reference("sampling_point", "sampling_point_id", "sampling_points"),
            Reference("related_sample", "related_sample_id", "samples"),
            Reference("lab", "lab_id", "entities"),
        ),
        filters={
            "sampling_point_id": Filter("sampling_point_id", uuid.UUID),
            "lab_id": Filter("lab_id", uuid.UUID),
            "test_kind": Filter("test_kind", str, "lab | field_kit"),
            "purpose": Filter("purpose", str, "code list sample_purposes"),
            "verdict": Filter("verdict", str, "code list sample_verdicts"),
            "season": Filter("season", str, "pre_monsoon | post_monsoon"),
            "bacteriological_positive": Filter("bacteriological_positive", bool),
        },
        search_column=None,
        validate_row=rules,
        on_written=on_written,
    )


def _tester_problem(data: dict[str, Any]) -> str | None:
    """Field-kit results come from registered testers: an active account holding the ``field_tester`` role over the
    sample's place. ``collected_by`` names the tester; left out, the writer must be that tester."""
    from sqlalchemy import select

    from jaldpi.accounts.models import Account, AccountGrant

    session, principal, path = data["_session"], data["_principal"], data["_path"]
    tester = data.get("collected_by")
    if tester is None:
        if any(g.role == "field_tester" and path.startswith(g.path) for g in principal.grants):
            return None
        return "field-kit results come from a registered tester: name the tester's account in collected_by"
    cache = session.info.setdefault("field_testers", {})
    if tester not in cache:
        cache[tester] = [p for (p,) in session.execute(
            select(AccountGrant.lgd_path).join(Account, Account.id == AccountGrant.account_id)
            .where(Account.username == tester, Account.active.is_(True), AccountGrant.role == "field_tester"))]
    if not any(path.startswith(p) for p in cache[tester]):
        return f"{tester} is not a registered field tester for this place"
    return None


def point_spec() -> RegistrySpec:
    return RegistrySpec(
        name="sampling_points", title="sampling point", table=SamplingPoint.__table__, schema=SamplingPointIn,
        code_prefix="WQP", derive_path=point_path,
        references=(
            Reference("admin_unit", "admin_unit_id", "admin_units", levels=ADMIN_LEVELS),
            Reference("water_source", "water_source_id", "natural_resources"),
            Reference("component", "component_id", "components"),
        ),
        filters={
            "point_type": Filter("point_type", str, "code list sampling_point_types"),
            "admin_unit_id": Filter("admin_unit_id", uuid.UUID),
            "water_source_id": Filter("water_source_id", uuid.UUID),
        },
        validate_row=point_rules,
    )


def is_consumer_end(point_type: str) -> bool:
    return bool(item("sampling_point_types", point_type).get("consumer_end"))
