"""Turns a sample's reported results into the derived columns stored with it, using the node's rule set."""

from __future__ import annotations

from typing import Any

from jaldpi.water_quality.registry import is_consumer_end
from jaldpi.water_quality.rules import BACTERIOLOGICAL_PARAMETERS, RuleSet, UnknownUnitError

BACTERIOLOGICAL = frozenset(BACTERIOLOGICAL_PARAMETERS) | {"h2s_vial"}
FTK_PSEUDO = frozenset({"h2s_vial", "h2s", "bacteria"})
JUDGED = frozenset({"within_acceptable", "within_permissible", "exceeds", "below_minimum"})


def make_evaluator(ruleset: RuleSet, ftk_parameters: list[str] | None):
    def evaluate(results: list[dict[str, Any]], point: dict[str, Any], sample: dict[str, Any]) -> dict[str, Any]:
        problems = []
        field_kit = sample["test_kind"] == "field_kit"
        for r in results:
            if field_kit and r["parameter"] in FTK_PSEUDO:
                continue  # the H2S vial: a field-kit reading, not an IS 10500 parameter
            code = ruleset.resolve(r["parameter"])
            if code is None:
                problems.append({"parameter": r["parameter"],
                                 "problem": f"not a parameter of rule set {ruleset.version}; see "
                                            "/api/v1/water-quality/ruleset"})
                continue
            try:
                ruleset.normalise(code, r.get("value"), r.get("unit"))
            except UnknownUnitError as exc:
                problems.append({"parameter": r["parameter"], "problem": str(exc)})
            except (ValueError, TypeError):
                pass  # censored, missing and qualitative values are judged (or kept as not evaluable) below
        if not results:
            return {"verdict": "pending", "contaminants": [], "bacteriological_positive": False,
                    "requires_repeat_sample": False, "source_rejected": False, "chemical_tested": False,
                    "bacteriological_tested": False, "ruleset_version": ruleset.version,
                    "evaluation": {"input_problems": problems} if problems else None}
        context = {
            "alternate_source_available": bool(point.get("alternate_source_available")),
            "toxic_substances_suspected": bool(sample.get("toxic_substances_suspected")),
            "viral_protection_required": bool(sample.get("viral_protection_required")),
            "chlorinated": bool(point.get("is_chlorinated")),
            "sampling_point": point["point_type"] if is_consumer_end(point["point_type"]) else "source",
        }
        if sample["test_kind"] == "field_kit":
            verdict = ruleset.evaluate_ftk(results, context, ftk_parameters=ftk_parameters)
        else:
            verdict = ruleset.evaluate_sample(results, context)
        body = verdict.to_dict()
        if problems:
            body["input_problems"] = problems
        judged = {r["parameter"] for r in body["results"] if r["verdict"] in JUDGED}
        return {
            "verdict": body["verdict"], "contaminants": body["contaminants"],
            "bacteriological_positive": body["bacteriological_positive"],
            "requires_repeat_sample": body["requires_repeat_sample"], "source_rejected": body["source_rejected"],
            "chemical_tested": bool(judged - BACTERIOLOGICAL), "bacteriological_tested": bool(judged & BACTERIOLOGICAL),
            "ruleset_version": body["ruleset_version"], "evaluation": body,
        }

    return evaluate
