"""The certification domain's registries: ``hgj_certifications`` (one record per village) and
``village_action_plans``.

Rules (JJM_NORMS.md; docs/certification.md):

* a certification names a village; each status needs the evidence of the steps before it (reported: the completion
  certificate and the date; resolution uploaded and certified: the Gram Sabha date, its resolution and the video);
  every document must be of the right type and of this village; dates run in order;
* people change a certification only through the workflow (the hooks write the record as the person acting); a
  direct write (a state system importing villages reported or certified elsewhere) may only move a record forward
  along reported -> resolution_uploaded -> certified, never change the evidence of a step already taken, and never
  return or withdraw (those are the district's decisions, taken in the workflow); the node then replays the
  workflow's steps with their guards (lifecycle.replay_imported);
* a Village Action Plan names a village, sources of that village, a scheme serving it (an MVS to join one), quality
  issues among the node's IS 10500 parameters, and its documents of the village.
"""

from __future__ import annotations

import datetime as dt
import uuid
from decimal import Decimal
from typing import Any

from jaldpi.certification import evidence, lifecycle
from jaldpi.certification.models import HgjCertification, VillageActionPlan
from jaldpi.certification.schemas import HgjCertificationIn, VillageActionPlanIn
from jaldpi.core.registry import Filter, Reference, RegistrySpec

READ = "village_plans:read"
VAP_WRITE = "village_plans:write"
HGJ_WRITE = "hgj_certifications:write"  # direct writes (state-system imports); people act through the workflow

STAGE = lifecycle.STAGE
# the evidence of each stage: fixed once the stage is reached (a correction goes through return / withdraw)
STAGE_FIELDS = {
    1: ("reported_on", "completion_certificate_id"),
    2: ("gram_sabha_date", "resolution_document_id", "video_document_id"),
    3: ("certified_on",),
}


def village_path(data: dict[str, Any], resolved: dict[str, Any]) -> str:
    return resolved["village"]["lgd_path"]


def _village_problem(resolved: dict[str, Any]) -> list[tuple[str, str]]:
    village = resolved.get("village")
    if village is not None and village.get("level") != "village":
        return [("village", f"must be a village, not a {village.get('level')}")]
    return []


def certification_rules(settings):
    def rules(data: dict[str, Any]) -> list[tuple[str, str]]:
        problems = _village_problem(data["_resolved"])
        if problems:
            return problems
        status, old = data["status"], data["_old"]
        stage = STAGE.get(status, 0)
        village = data["_resolved"]["village"]
        need = {"reported_on": stage >= 1 or status in ("returned", "withdrawn"),
                "completion_certificate_id": stage >= 1 or status in ("returned", "withdrawn"),
                "gram_sabha_date": stage >= 2 or status == "returned",
                "resolution_document_id": stage >= 2 or status == "returned",
                "video_document_id": stage >= 2 or status == "returned",
                "certified_on": stage >= 3,
                "return_reasons": status == "returned"}
        for name, needed in need.items():
            if needed and data.get(name) in (None, []):
                problems.append((name, f"a certification with status {status} has {name}"))
        dates = [(n, data.get(n)) for n in ("reported_on", "gram_sabha_date", "certified_on") if data.get(n)]
        for (n1, d1), (n2, d2) in zip(dates, dates[1:], strict=False):
            if d2 < d1:
                problems.append((n2, f"{n2} ({d2}) is before {n1} ({d1})"))
        today = dt.date.today() + dt.timedelta(days=1)  # a day's grace: India is ahead of UTC
        for n, d in dates:
            if d > today:
                problems.append((n, f"{n} is in the future"))
        if (data.get("households_total") is not None and data.get("households_with_tap") is not None
                and data["households_with_tap"] > data["households_total"]):
            problems.append(("households_with_tap", "exceeds households_total"))
        kinds = {"completion_certificate_id": evidence.COMPLETION_CERTIFICATE,
                 "resolution_document_id": evidence.RESOLUTION, "video_document_id": evidence.VIDEO,
                 "certificate_document_id": evidence.HGJ_CERTIFICATE}
        given = {n: data.get(n) for n in kinds if data.get(n) is not None}
        if given and not (old is not None and all(old.get(n) == v for n, v in given.items())):
            docs = evidence.load(data["_session"], given.values())
            for n, value in given.items():
                p = evidence.problem(docs.get(str(value)), field=n, document_type=kinds[n],
                                     village_id=str(village["id"]), village_path=village["lgd_path"])
                if p:
                    problems.append((n, p.split(": ", 1)[1]))
        if not lifecycle.is_syncing(data["_session"]):
            problems += _direct_write_problems(data, old, status, settings)
        return problems

    return rules


def _direct_write_problems(data: dict[str, Any], old: dict[str, Any] | None, status: str,
                           settings) -> list[tuple[str, str]]:
    """A write that does not come from the workflow (an import): forward only, evidence of past steps fixed."""
    problems: list[tuple[str, str]] = []
    if status not in STAGE:
        return [("status", f"{status} is decided in the workflow (POST /api/v1/cases/{{case}}/transitions/...), "
                           "not written directly")]
    if old is not None and old["status"] != "withdrawn":
        if old["status"] not in STAGE:
            return [("status", f"the certification is {old['status']}: continue it in the workflow")]
        if STAGE[status] < STAGE[old["status"]]:
            return [("status", f"a certification moves forward only ({old['status']} -> {status}); a correction "
                               "is a return or a withdrawal in the workflow")]
        for stage in range(1, STAGE[old["status"]] + 1):
            for name in STAGE_FIELDS[stage]:
                if old.get(name) != data.get(name):
                    problems.append((name, f"fixed once the certification is {old['status']}"))
    if old is None or old["status"] == "withdrawn":
        problem = lifecycle.tap_refusal(data["_session"], settings, data["_resolved"]["village"])
        if problem:
            problems.append(("village", problem))
    return problems


def certification_spec(settings, engine) -> RegistrySpec:
    return RegistrySpec(
        name="hgj_certifications", title="Har Ghar Jal certification", table=HgjCertification.__table__,
        schema=HgjCertificationIn, code_prefix="HGJC", derive_path=village_path,
        references=(Reference("village", "village_id", "admin_units", levels=("village",)),),
        filters={
            "village_id": Filter("village_id", uuid.UUID),
            "status": Filter("status", str, "code list hgj_statuses"),
            "tap_check": Filter("tap_check", str, "complete | incomplete | no_records"),
        },
        search_column=None,
        read_permission=READ, write_permission=HGJ_WRITE,
        validate_row=certification_rules(settings),
        identity_keys=("village_id",),  # one certification per village
        on_written=lambda session, principal, rows: lifecycle.replay_imported(engine, settings, session, principal,
                                                                              rows),
    )


def vap_rules(settings):
    parameters: list[frozenset[str]] = []  # computed on first use (loading the rule set costs a little)

    def rules(data: dict[str, Any]) -> list[tuple[str, str]]:
        resolved = data["_resolved"]
        problems = _village_problem(resolved)
        if problems:
            return problems
        village = resolved["village"]
        checks = [
            (data["period_to"] < data["period_from"], "period_to", "is before period_from"),
            (data["baseline_households_with_tap"] > data["baseline_households"], "baseline_households_with_tap",
             "exceeds baseline_households"),
            (data["baseline_households"] > data["baseline_population"], "baseline_households",
             "exceeds baseline_population (a household has at least one person)"),
            ((data.get("households_willing_to_contribute") or 0) > data["baseline_households"],
             "households_willing_to_contribute", "exceeds baseline_households"),
            (bool(data.get("schedule_start") and data.get("schedule_end")
                  and data["schedule_end"] < data["schedule_start"]), "schedule_end", "is before schedule_start"),
            (bool(data.get("source_yields_lph")) and len(data["source_yields_lph"]) != len(data["source_ids"]),
             "source_yields_lph", f"has {len(data.get('source_yields_lph') or [])} values for "
             f"{len(data['source_ids'])} sources (one per source, in order)"),
            (any(y is not None and y < 0 for y in data.get("source_yields_lph") or []), "source_yields_lph",
             "are litres per hour, never negative"),
            (data["scheme_decision"] == "join_mvs" and data.get("scheme_id") is None, "scheme",
             "joining a Multi Village Scheme names the scheme"),
            (bool(data.get("approved_by_gram_sabha_on")) and data["approved_by_gram_sabha_on"]
             > dt.date.today() + dt.timedelta(days=1), "approved_by_gram_sabha_on", "is in the future"),
        ]
        problems += [(f, p) for bad, f, p in checks if bad]
        for i, source in enumerate(resolved.get("sources") or []):
            if source.get("resource_type") != "water_source":
                problems.append((f"sources.{i}", "must be a natural resource of type water_source"))
        scheme = resolved.get("scheme")
        if scheme is not None:
            wanted = "mvs" if data["scheme_decision"] == "join_mvs" else "svs"
            if scheme.get("scheme_type") != wanted:
                problems.append(("scheme", f"the decision {data['scheme_decision']} names a scheme of type {wanted}, "
                                           f"not {scheme.get('scheme_type')}"))
            elif str(village["id"]) not in [str(v) for v in scheme.get("village_ids") or []]:
                problems.append(("scheme", "does not serve this village (the scheme's villages)"))
        if not parameters:
            parameters.append(_parameters(settings))
        known = parameters[0]
        unknown = sorted(set(data.get("quality_issues") or []) - known)
        if unknown:
            problems.append(("quality_issues", f"not parameters of the node's rule set: {', '.join(unknown)}"))
        for i, doc in enumerate(resolved.get("documents") or []):
            if not str(doc.get("lgd_path", "")).startswith(village["lgd_path"]):
                problems.append((f"documents.{i}", "belongs to another village"))
        return problems

    return rules


def _parameters(settings) -> frozenset[str]:
    """Parameter codes a quality issue may name: the node's IS 10500 rule set and its field-test-kit list."""
    from jaldpi.water_quality.rules import ruleset_from_settings

    return frozenset({p["code"] for p in ruleset_from_settings(settings).document["parameters"]}
                     | set(settings.wq_ftk_parameters))


def derive_vap(data: dict[str, Any], resolved: dict[str, Any]) -> str:
    households, willing = data["baseline_households"], data.get("households_willing_to_contribute")
    data["willing_to_contribute_pct"] = (
        (Decimal(willing) * 100 / Decimal(households)).quantize(Decimal("0.01"))
        if willing is not None and households else None)
    return resolved["village"]["lgd_path"]


def vap_spec(settings) -> RegistrySpec:
    return RegistrySpec(
        name="village_action_plans", title="Village Action Plan", table=VillageActionPlan.__table__,
        schema=VillageActionPlanIn, code_prefix="VAP", derive_path=derive_vap,
        references=(
            Reference("village", "village_id", "admin_units", levels=("village",)),
            Reference("sources", "source_ids", "natural_resources", many=True),
            Reference("scheme", "scheme_id", "schemes"),
            Reference("documents", "document_ids", "documents", many=True),
        ),
        filters={
            "village_id": Filter("village_id", uuid.UUID),
            "scheme_decision": Filter("scheme_decision", str, "svs | join_mvs"),
            "om_arrangement": Filter("om_arrangement", str, "code list om_arrangements"),
            "scheme_id": Filter("scheme_id", uuid.UUID),
        },
        search_column=None,
        read_permission=READ, write_permission=VAP_WRITE,
        validate_row=vap_rules(settings),
    )


def specs(settings, workflows) -> list:
    """The RegistrySpecs this domain adds to the node's catalogue."""
    return [certification_spec(settings, workflows), vap_spec(settings)]
