"""The progress domain's registries: ``component_estimates`` and ``progress_updates``.

Derived on every write of a progress update:

* physical: ``component_id`` and ``scheme_id`` from the work item (estimate); ``percent_complete`` =
  quantity done / estimated quantity x 100, two decimals (not capped: above 100 needs a ``reason``);
* financial: ``warnings`` when the Central share of Central + State releases differs from the state's expected
  funding pattern by more than ``progress_share_tolerance_points`` (JJM: 90:10 Himalayan & NE, 100:0 UTs, 50:50
  others; configurable, a warning and never a refusal);
* ``submitted_at`` on the first write.

Rules (refused, naming the field): workflow fields are set by ``progress_approval`` only; figures can change only
while an update is ``returned``; percent complete above 100, a quantity below the last approved one, releases above
the sanction, spending above releases or cumulative figures going down need a ``reason``; photos must be geotagged
documents of type ``photo`` taken no later than ``as_of`` + ``progress_photo_days_after_as_of`` days, at least
``progress_min_photos_physical`` of them; ``as_of`` is not in the future.
"""

from __future__ import annotations

import datetime as dt
import uuid
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from jaldpi.core.models import aware, utcnow
from jaldpi.core.registry import Filter, Reference, RegistrySpec, same_value
from jaldpi.progress import service
from jaldpi.progress.models import ComponentEstimate, ProgressUpdate
from jaldpi.progress.schemas import FINANCIAL_FIELDS, WORKFLOW_FIELDS, ComponentEstimateIn, ProgressUpdateIn

CENT = Decimal("0.01")
# Fields a maker may change only while the update is returned (the checker is looking at the others).
FIGURE_FIELDS = ("kind", "as_of", "estimate_id", "scheme_id", "quantity_done", "photo_ids", *FINANCIAL_FIELDS,
                 "reason", "remarks", "attributes")


# ---------------------------------------------------------------------------------------------------- estimates

def estimate_path(data: dict[str, Any], resolved: dict[str, Any]) -> str:
    component = resolved["component"]
    data["scheme_id"] = component["scheme_id"]
    return component["lgd_path"]


def estimate_spec() -> RegistrySpec:
    return RegistrySpec(
        name="component_estimates", title="component estimate", table=ComponentEstimate.__table__,
        schema=ComponentEstimateIn, code_prefix="EST", derive_path=estimate_path,
        references=(Reference("component", "component_id", "components"),),
        filters={
            "component_id": Filter("component_id", uuid.UUID),
            "scheme_id": Filter("scheme_id", uuid.UUID),
            "unit": Filter("unit", str, "code list progress_units"),
        },
        search_column="item",
        read_permission="progress:read", write_permission="progress:write",
    )


# ---------------------------------------------------------------------------------------------------- updates

def percent_of(quantity: Decimal, estimated: Decimal) -> Decimal:
    """Percent complete of a work item, two decimals, rounded half up."""
    return (Decimal(quantity) * 100 / Decimal(estimated)).quantize(CENT, rounding=ROUND_HALF_UP)


def _state_code(path: str) -> int | None:
    first = path.strip("/").split("/")[0] if path.strip("/") else ""
    return int(first[1:]) if first[:1] == "S" and first[1:].isdigit() else None


def share_warnings(settings, data: dict[str, Any], path: str) -> list[dict[str, Any]]:
    """A ``funding_share`` warning when the Central share of Central + State releases is off the state's pattern."""
    central, state = data.get("released_central_inr"), data.get("released_state_inr")
    if central is None or state is None or (central + state) == 0:
        return []
    code = _state_code(path)
    expected = settings.progress_central_share_pct_by_state.get(code, settings.progress_central_share_pct_default)
    actual = Decimal(central) * 100 / (Decimal(central) + Decimal(state))
    if abs(actual - Decimal(str(expected))) <= Decimal(str(settings.progress_share_tolerance_points)):
        return []
    return [{"code": "funding_share", "field": "released_central_inr",
             "message": f"Central share of releases is {actual.quantize(CENT)}%; the funding pattern for state "
                        f"{code} is {expected:g}:{100 - expected:g} (Centre:State)"}]


def update_spec(settings, on_written=None) -> RegistrySpec:
    def derive(data: dict[str, Any], resolved: dict[str, Any]) -> str:
        if data["kind"] == "physical":
            estimate = resolved["estimate"]
            data["component_id"], data["scheme_id"] = estimate["component_id"], estimate["scheme_id"]
            data["percent_complete"] = percent_of(data["quantity_done"], estimate["estimated_quantity"])
            path = estimate["lgd_path"]
        else:
            data["component_id"], data["percent_complete"] = None, None
            path = resolved["scheme"]["lgd_path"]
        data["warnings"] = share_warnings(settings, data, path) if data["kind"] == "financial" else []
        if data.get("submitted_at") is None and data.get("status") == "submitted":
            data["submitted_at"] = utcnow()
        return path

    def rules(data: dict[str, Any]) -> list[tuple[str, str]]:
        session, old, resolved = data["_session"], data["_old"], data["_resolved"]
        by_workflow = bool(session.info.get(service.WORKFLOW_WRITE))
        problems: list[tuple[str, str]] = []
        if not by_workflow:
            problems += _maker_rules(data, old)
            if problems:
                return problems
        if data["as_of"] > dt.date.today() + dt.timedelta(days=1):  # a day of slack for time zones
            problems.append(("as_of", "as_of is in the future"))
        current = service.current_update(session, data["kind"], data.get("estimate_id") or data["scheme_id"],
                                         exclude=old["id"] if old else None, as_of=data["as_of"])
        if data["kind"] == "physical":
            problems += _physical_rules(settings, data, resolved, current)
        else:
            problems += _financial_rules(data, current)
        return problems

    return RegistrySpec(
        name="progress_updates", title="progress update", table=ProgressUpdate.__table__, schema=ProgressUpdateIn,
        code_prefix="PRG", derive_path=derive,
        references=(
            Reference("estimate", "estimate_id", "component_estimates"),
            Reference("scheme", "scheme_id", "schemes"),
            Reference("photos", "photo_ids", "documents", many=True),
        ),
        filters={
            "kind": Filter("kind", str, "physical | financial"),
            "status": Filter("status", str, "code list progress_statuses"),
            "is_current": Filter("is_current", bool, "the approved update current for its work item or scheme"),
            "estimate_id": Filter("estimate_id", uuid.UUID),
            "component_id": Filter("component_id", uuid.UUID),
            "scheme_id": Filter("scheme_id", uuid.UUID),
        },
        search_column=None,
        read_permission="progress:read", write_permission="progress:write",
        validate_row=rules,
        on_written=on_written,
    )



def _maker_rules(data: dict[str, Any], old: dict[str, Any] | None) -> list[tuple[str, str]]:
    """What a maker's write may do: never set workflow fields; change figures only while returned."""
    problems = []
    for name in WORKFLOW_FIELDS:
        before = old.get(name) if old else ProgressUpdateIn.model_fields[name].default
        if name == "submitted_at" and old is None:
            continue  # derived on create
        if not same_value(data.get(name), before):
            problems.append((name, f"{name} is set by the progress_approval workflow (approve, return, resubmit), "
                                   "not by writing the update"))
    if old is None or problems:
        return problems
    changed = [f for f in FIGURE_FIELDS if not same_value(data.get(f), old.get(f))]
    if changed and old["status"] == "approved":
        problems.append((changed[0], "an approved update is final: submit a new update with the new figures"))
    elif changed and old["status"] == "submitted":
        problems.append((changed[0], "the update is awaiting approval: figures can change only after the checker "
                                     "returns it"))
    return problems


def _needs_reason(data: dict[str, Any], field: str, problem: str) -> list[tuple[str, str]]:
    return [] if (data.get("reason") or "").strip() else [(field, problem + "; give a reason")]


def _physical_rules(settings, data: dict[str, Any], resolved: dict[str, Any],
                    current: dict[str, Any] | None) -> list[tuple[str, str]]:
    problems = []
    estimate = resolved["estimate"]
    scheme = resolved.get("scheme")
    if scheme is not None and scheme["id"] != estimate["scheme_id"]:
        problems.append(("scheme", f"the work item {estimate['code']} belongs to another scheme"))
    if data["percent_complete"] > 100:
        problems += _needs_reason(data, "quantity_done", f"{data['quantity_done']} {estimate['unit']} is "
                                  f"{data['percent_complete']}% of the estimated {estimate['estimated_quantity']}")
    if current is not None and data["quantity_done"] < current["quantity_done"]:
        problems += _needs_reason(data, "quantity_done", f"below the last approved quantity "
                                  f"{current['quantity_done']} ({current['code']}, as of {current['as_of']})")
    problems += photo_problems(settings, data["as_of"], resolved.get("photos") or [])
    return problems


def photo_problems(settings, as_of: dt.date, photos: list[dict[str, Any]]) -> list[tuple[str, str]]:
    """Photos evidence physical progress: documents of type photo, with a geotag, taken by as_of (+ slack)."""
    problems = []
    if len(photos) < settings.progress_min_photos_physical:
        problems.append(("photos", f"a physical update carries at least {settings.progress_min_photos_physical} "
                                   "geotagged photo(s) (documents of type photo)"))
    latest = as_of + dt.timedelta(days=settings.progress_photo_days_after_as_of)
    for i, doc in enumerate(photos):
        label = f"photos.{i}"
        if doc.get("document_type") != "photo":
            problems.append((label, f"document {doc.get('code')} is a {doc.get('document_type')}, not a photo"))
            continue
        lon = doc.get("lon", doc.get("longitude"))
        lat = doc.get("lat", doc.get("latitude"))
        if lon is None or lat is None:
            problems.append((label, f"photo {doc.get('code')} has no geotag (lon/lat)"))
        taken = doc.get("captured_at")
        if taken is None:
            problems.append((label, f"photo {doc.get('code')} has no captured_at"))
        else:
            day = (taken if isinstance(taken, dt.date) and not isinstance(taken, dt.datetime)
                   else aware(taken).date())
            if day > latest:
                problems.append((label, f"photo {doc.get('code')} was taken on {day}, after the update's as_of "
                                        f"{as_of}"))
    return problems


def _financial_rules(data: dict[str, Any], current: dict[str, Any] | None) -> list[tuple[str, str]]:
    problems = []
    released = sum((data.get(f) or Decimal(0) for f in ("released_central_inr", "released_state_inr",
                                                       "released_community_inr")), Decimal(0))
    if released > data["sanctioned_inr"]:
        problems += _needs_reason(data, "released_central_inr", f"releases {released} exceed the sanctioned "
                                  f"{data['sanctioned_inr']}")
    if data["expenditure_inr"] > released:
        problems += _needs_reason(data, "expenditure_inr", f"expenditure {data['expenditure_inr']} exceeds releases "
                                  f"{released}")
    if current is not None:
        for f in FINANCIAL_FIELDS:
            if data.get(f) is not None and current.get(f) is not None and data[f] < current[f]:
                problems += _needs_reason(data, f, f"{f} {data[f]} is below the last approved {current[f]} "
                                          f"({current['code']}, as of {current['as_of']})")
    return problems


def specs(settings, workflows) -> list[RegistrySpec]:
    """The RegistrySpecs this domain adds to the node's catalogue (documents are registered before, see
    registries.OPERATIONS_DOMAINS)."""
    return [estimate_spec(), update_spec(settings, on_written=lambda session, principal, rows:
                                         service.after_updates_written(workflows, session, principal, rows))]


__all__ = ["estimate_spec", "percent_of", "photo_problems", "share_warnings", "specs", "update_spec"]
