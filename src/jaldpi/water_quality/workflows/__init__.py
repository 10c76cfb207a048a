"""Water-quality workflows, declared as data (the JSON files here) and run by the core workflow engine.

* ``wq_lab_confirmation``: an adverse field-kit result opens a task for the lab serving the village; the lab's
  confirmation sample (purpose ``confirmation``, ``related_sample`` = the kit sample) settles it automatically.
* ``wq_remedial_action``: a lab-confirmed contamination (any unsafe lab sample) opens a case assigned to the block,
  escalating to the district and the state when its SLA passes. Someone records the actions taken (code list
  ``remedial_actions``); the case closes only on a passing re-test (purpose ``retest`` or ``repeat``, at the same
  sampling point, taken after the contamination); a bacteriological positive needs a passing bacteriological
  repeat sample. A failing re-test sends the case back to ``action_required``.

Samples drive the cases: :func:`after_samples_written` runs in the same unit of work as the sample import.
"""

from __future__ import annotations

import datetime as dt
import json
import uuid
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from jaldpi.core.security import Grant, Principal
from jaldpi.entities.models import Entity
from jaldpi.standard.codelists import codes
from jaldpi.water_quality.models import Sample

HERE = Path(__file__).parent
LAB_CONFIRMATION = "wq_lab_confirmation"
REMEDIAL_ACTION = "wq_remedial_action"
SYSTEM_ACTOR = "system:water_quality"
LAB_LEVEL_ORDER = ("block", "sub_division", "district", "regional", "mobile", "state_referral", "treatment_plant")


def definition(name: str) -> dict[str, Any]:
    return json.loads((HERE / f"{name}.json").read_text(encoding="utf-8"))


def _sample(session: Session, key: Any) -> dict[str, Any] | None:
    try:
        sid = uuid.UUID(str(key))
        cond = Sample.id == sid
    except ValueError:
        cond = Sample.code == str(key)
    row = session.execute(select(Sample.__table__).where(cond, Sample.deleted_at.is_(None))).mappings().first()
    return dict(row) if row else None


# ---------------------------------------------------------------------------------------------------- guards

def _confirmation_guard(want_unsafe: bool):
    def guard(session: Session, case, payload: dict[str, Any]) -> str | None:
        sample = _sample(session, payload.get("confirmation_sample"))
        if sample is None:
            return "confirmation_sample is not a known sample"
        if sample["test_kind"] != "lab" or str(sample["related_sample_id"]) != str(case.subject_id):
            return "the confirmation must be a lab sample whose related_sample is the field-kit sample of this case"
        if sample["verdict"] == "pending":
            return "the confirmation sample has no results yet"
        if (sample["verdict"] == "unsafe") != want_unsafe:
            return f"the confirmation sample is {sample['verdict']}"
        return None
    return guard


def _known_actions(session: Session, case, payload: dict[str, Any]) -> str | None:
    actions = payload.get("actions")
    allowed = set(codes("remedial_actions"))
    if not isinstance(actions, list) or not actions:
        return "actions is a non-empty list of codes from the remedial_actions code list"
    unknown = [a for a in actions if a not in allowed]
    return f"unknown remedial actions {unknown}; allowed: {sorted(allowed)}" if unknown else None


def _retest_checks(session: Session, case, payload: dict[str, Any]) -> tuple[dict[str, Any] | None, str | None]:
    sample = _sample(session, payload.get("retest_sample"))
    if sample is None:
        return None, "retest_sample is not a known sample"
    if sample["test_kind"] != "lab" or sample["purpose"] not in ("retest", "repeat"):
        return None, "a re-test is a lab sample with purpose retest or repeat"
    if str(sample["sampling_point_id"]) != case.data.get("sampling_point_id"):
        return None, "the re-test was taken at another sampling point"
    contaminated_at = case.data.get("contaminated_at")
    if contaminated_at and _aware(sample["collected_at"]) < _aware(dt.datetime.fromisoformat(contaminated_at)):
        return None, "the re-test was taken before the contamination it should clear"
    return sample, None


def _aware(value: dt.datetime) -> dt.datetime:
    """SQLite returns naive datetimes for timezone-aware columns: they were stored in UTC."""
    return value if value.tzinfo else value.replace(tzinfo=dt.UTC)


def _passing_retest(session: Session, case, payload: dict[str, Any]) -> str | None:
    sample, problem = _retest_checks(session, case, payload)
    if problem:
        return problem
    if sample["verdict"] != "safe":
        return f"closes only after a passing re-test; this re-test is {sample['verdict']}"
    if case.data.get("repeat_required") and not (sample["bacteriological_tested"]
                                                 and not sample["bacteriological_positive"]):
        return "a bacteriological positive needs a passing bacteriological repeat sample before closing"
    judged = {r["parameter"] for r in (sample.get("evaluation") or {}).get("results", [])
              if r.get("verdict") in ("within_acceptable", "within_permissible")}
    needed = {p for c in case.data.get("contaminants") or [] for p in c.split("+")}
    untested = sorted(needed - judged)
    if untested:
        return ("closes only after a passing re-test of the contaminants; this re-test did not test "
                f"{', '.join(untested)}")
    return None


def _retest_unsafe(session: Session, case, payload: dict[str, Any]) -> str | None:
    sample, problem = _retest_checks(session, case, payload)
    if problem:
        return problem
    return None if sample["verdict"] == "unsafe" else f"the re-test is {sample['verdict']}, not unsafe"


def register(engine) -> None:
    engine.register(definition(LAB_CONFIRMATION), guards={
        "wq_confirmation_sample_unsafe": _confirmation_guard(True),
        "wq_confirmation_sample_not_unsafe": _confirmation_guard(False),
    })
    engine.register(definition(REMEDIAL_ACTION), guards={
        "wq_known_remedial_actions": _known_actions,
        "wq_passing_retest": _passing_retest,
        "wq_retest_sample_unsafe": _retest_unsafe,
    })


# ---------------------------------------------------------------------------------------------------- sample hook

def serving_lab(session: Session, village_path: str, village_id: uuid.UUID | None) -> dict[str, Any] | None:
    """The lab serving a place: one that lists it (or a unit above it) in ``serves``, else the nearest lab whose own
    unit contains it; lower-level labs first (block labs test all sources in their area, JJM_NORMS.md)."""
    state_prefix = "/" + village_path.strip("/").split("/")[0] + "/"
    labs = [dict(r) for r in session.execute(
        select(Entity.__table__).where(Entity.entity_type == "water_quality_lab", Entity.status == "active",
                                       Entity.deleted_at.is_(None),
                                       Entity.lgd_path.startswith(state_prefix, autoescape=True))).mappings()]
    if not labs:
        return None
    from jaldpi.admin_units.models import AdminUnit

    ancestors = {str(r.id) for r in session.execute(select(AdminUnit.id).where(
        AdminUnit.lgd_path.in_(_prefixes(village_path)), AdminUnit.level != "habitation"))}
    if village_id:
        ancestors.add(str(village_id))

    def rank(lab: dict[str, Any]) -> tuple:
        serves = bool(ancestors & set(lab.get("serves_ids") or []))
        contains = village_path.startswith(lab["lgd_path"])
        level = LAB_LEVEL_ORDER.index(lab["lab_level"]) if lab.get("lab_level") in LAB_LEVEL_ORDER else 99
        return (not serves, not contains, level, -len(lab["lgd_path"]), lab["code"])

    best = min(labs, key=rank)
    r = rank(best)
    return best if (not r[0] or not r[1]) else None


def _first_level(path: str, chain: tuple[str, ...]) -> str:
    """The first level of ``chain`` present in ``path`` (external data may sit at district level, without a block)."""
    from jaldpi.admin_units.paths import letters

    present = {seg[0] for seg in path.strip("/").split("/") if seg}
    return next((level for level in chain if letters()[level] in present), chain[-1])


def _prefixes(path: str) -> list[str]:
    parts = [p for p in path.strip("/").split("/") if p]
    return ["/" + "/".join(parts[:i]) + "/" for i in range(1, len(parts) + 1)]


def _level_of(path: str) -> str:
    """The LGD level of a path's last segment (``/S28/D745/`` -> ``district``)."""
    from jaldpi.admin_units.paths import letters

    by_letter = {v: k for k, v in letters().items()}
    last = [seg for seg in path.strip("/").split("/") if seg][-1]
    return by_letter[last[0]]


def _acting(engine, principal: Principal, case, name: str) -> tuple[Principal, str | None]:
    """Who takes an automatic transition. The sample write that causes it was already authorised (like opening a
    case, which checks no role): the writer acts if one of their roles may take the transition, else the system
    acts on their behalf (e.g. a block official entering a lab's confirmation result, a tester entering a re-test)."""
    t = engine.definition(case.workflow, case.workflow_version).transition(name)
    if engine._authorising_role(principal, t, case) is not None:
        return principal, None
    from jaldpi.standard.codelists import role_permissions

    system = Principal(SYSTEM_ACTOR, "system", (Grant("node_admin", case.lgd_path),), role_permissions(),
                       principal.source_system)
    return system, f"automatic, on the sample written by {principal.subject}"


def _auto(engine, session: Session, principal: Principal, case, name: str, payload: dict[str, Any]) -> None:
    acting, note = _acting(engine, principal, case, name)
    engine.transition(session, acting, case.id, name, payload | ({"note": note} if note else {}))


def after_samples_written(engine, session: Session, principal: Principal,
                          rows: list[tuple[str, dict[str, Any]]]) -> None:
    """Open and move cases from samples just written (same unit of work, so they roll back with the import).

    Automatic transitions are taken only when their guard would pass (a sample that cannot move a case, e.g. a
    re-test taken before the contamination, is stored and moves nothing; it never fails the write)."""
    for _action, row in rows:
        if row["verdict"] == "pending" or row["purpose"] == "survey":
            continue  # a resource survey (CGWB's national hydrograph stations) is judged but opens no case
        sid = row["id"]
        if row["test_kind"] == "field_kit":
            if row["verdict"] == "unsafe" and not engine.cases_for(session, "samples", sid,
                                                                   workflow=LAB_CONFIRMATION):
                lab = serving_lab(session, row["lgd_path"], None)
                assigned_path = lab["lgd_path"] if lab else None
                engine.open_case(
                    session, principal, LAB_CONFIRMATION, "samples", sid, row["lgd_path"],
                    _level_of(assigned_path) if assigned_path else _first_level(row["lgd_path"],
                                                                                ("district", "state")),
                    {"field_kit_sample": row["code"], "sampling_point_id": str(row["sampling_point_id"]),
                     "contaminants": row["contaminants"], "lab_id": str(lab["id"]) if lab else None,
                     "lab_code": lab["code"] if lab else None},
                    assigned_path=assigned_path,
                    note=f"adverse field-kit result: {', '.join(row['contaminants'])}")
            continue
        # lab samples
        if row["purpose"] == "confirmation" and row["related_sample_id"] and row["verdict"] in ("unsafe", "safe"):
            name = "confirm" if row["verdict"] == "unsafe" else "not_confirmed"
            payload = {"confirmation_sample": str(sid)}
            for case in engine.cases_for(session, "samples", row["related_sample_id"], workflow=LAB_CONFIRMATION,
                                         open_only=True):
                if _confirmation_guard(row["verdict"] == "unsafe")(session, case, payload) is None:
                    _auto(engine, session, principal, case, name, payload)
        point = str(row["sampling_point_id"])
        remedial = engine.cases_for(session, "sampling_points", row["sampling_point_id"], workflow=REMEDIAL_ACTION)
        open_remedial = [c for c in remedial if c.closed_at is None]
        if row["purpose"] in ("retest", "repeat"):
            payload = {"retest_sample": str(sid)}
            for case in open_remedial:
                if case.state != "retest_due":
                    continue
                if row["verdict"] == "safe" and _passing_retest(session, case, payload) is None:
                    _auto(engine, session, principal, case, "close", payload)
                elif row["verdict"] == "unsafe" and _retest_unsafe(session, case, payload) is None:
                    _auto(engine, session, principal, case, "retest_failed", payload)
            continue
        already = any((c.data or {}).get("contaminated_sample_id") == str(sid) for c in remedial)
        if row["verdict"] == "unsafe" and not open_remedial and not already:
            engine.open_case(
                session, principal, REMEDIAL_ACTION, "sampling_points", row["sampling_point_id"], row["lgd_path"],
                _first_level(row["lgd_path"], ("block", "district", "state")),
                {"sampling_point_id": point, "contaminated_sample": row["code"],
                 "contaminated_sample_id": str(sid), "contaminants": row["contaminants"],
                 "contaminated_at": _aware(row["collected_at"]).isoformat(),
                 "repeat_required": bool(row["bacteriological_positive"])},
                note=f"lab-confirmed contamination: {', '.join(row['contaminants'])}")
