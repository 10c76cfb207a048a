"""Input models of the progress domain (the data standard's ``component_estimates`` and ``progress_updates``).

Amounts are rupees as exact decimals (two places), quantities three places; never floats.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from pydantic import Field, model_validator

from jaldpi.core.schemas import RecordIn, Ref
from jaldpi.standard.codelists import literal


class ComponentEstimateIn(RecordIn):
    """One work item of a scheme component as estimated (a DPR bill-of-quantities line): what it should be."""

    component: Ref = Field(description="The scheme component (components registry)")
    item: str = Field(min_length=1, max_length=200, description="What is built, e.g. 'Laying 110 mm HDPE "
                      "distribution pipe' or 'ESR 100 KL, civil work'")
    unit: literal("progress_units") = Field(description="Unit of measure (code list progress_units)")  # type: ignore[valid-type]
    estimated_quantity: Decimal = Field(gt=0, max_digits=16, decimal_places=3, description="Quantity in `unit`")
    estimated_cost_inr: Decimal = Field(ge=0, max_digits=16, decimal_places=2, description="Estimated cost, rupees "
                                        "(weights the item in physical progress %)")
    attributes: dict[str, Any] = Field(default_factory=dict)


PHYSICAL_FIELDS = ("estimate", "quantity_done", "photos")
FINANCIAL_FIELDS = ("sanctioned_inr", "released_central_inr", "released_state_inr", "released_community_inr",
                    "expenditure_inr")
# Fields the progress_approval workflow sets; a maker's write may not change them (registry rule).
WORKFLOW_FIELDS = ("status", "is_current", "submitted_at", "approved_at", "return_reasons")


class ProgressUpdateIn(RecordIn):
    """Progress figures as of a date, entered by field staff (or a state system) and approved maker-checker."""

    kind: literal("progress_update_kinds") = Field(description="physical | financial")  # type: ignore[valid-type]
    as_of: dt.date = Field(description="Date the figures are true on")
    estimate: Ref | None = Field(None, description="Physical: the work item (component_estimates) reported on")
    scheme: Ref | None = Field(None, description="Financial: the scheme; physical: derived from the work item "
                               "(if given it must match)")
    quantity_done: Decimal | None = Field(None, ge=0, max_digits=16, decimal_places=3,
                                          description="Physical: quantity completed to date, in the item's unit")
    photos: list[Ref] = Field(default_factory=list, description="Physical: documents of type photo, geotagged, "
                              "taken no later than as_of (+1 day)")
    sanctioned_inr: Decimal | None = Field(None, ge=0, max_digits=16, decimal_places=2,
                                           description="Financial: administrative sanction to date, rupees")
    released_central_inr: Decimal | None = Field(None, ge=0, max_digits=16, decimal_places=2,
                                                 description="Financial: Central share released to date, rupees")
    released_state_inr: Decimal | None = Field(None, ge=0, max_digits=16, decimal_places=2,
                                               description="Financial: State share released to date, rupees")
    released_community_inr: Decimal | None = Field(None, ge=0, max_digits=16, decimal_places=2,
                                                   description="Financial: community contribution received, rupees")
    expenditure_inr: Decimal | None = Field(None, ge=0, max_digits=16, decimal_places=2,
                                            description="Financial: expenditure to date, rupees")
    reason: str | None = Field(None, max_length=2000, description="Why figures exceed the estimate or sanction, "
                               "spending exceeds releases, or a quantity is below the last approved one")
    remarks: str | None = Field(None, max_length=2000)
    attributes: dict[str, Any] = Field(default_factory=dict)
    status: literal("progress_statuses") = Field("submitted", description="Set by the progress_approval "  # type: ignore[valid-type]
                                                 "workflow (read-only)")
    is_current: bool = Field(False, description="Set by the workflow: the approved update that is current for its "
                             "work item or scheme (read-only)")
    submitted_at: dt.datetime | None = Field(None, description="Set by the workflow (read-only)")
    approved_at: dt.datetime | None = Field(None, description="Set by the workflow (read-only)")
    return_reasons: list[Any] | None = Field(None, description="Set by the workflow: why the checker returned it "
                                             "(read-only)")

    @model_validator(mode="after")
    def _kind_fields(self) -> ProgressUpdateIn:
        if self.kind == "physical":
            missing = [f for f in ("estimate", "quantity_done") if getattr(self, f) is None]
            extra = [f for f in FINANCIAL_FIELDS if getattr(self, f) is not None]
        else:
            missing = [f for f in ("scheme", "sanctioned_inr", "expenditure_inr") if getattr(self, f) is None]
            extra = [f for f in PHYSICAL_FIELDS if getattr(self, f) not in (None, [])]
        if missing:
            raise ValueError(f"a {self.kind} update needs {', '.join(missing)}")
        if extra:
            raise ValueError(f"a {self.kind} update does not carry {', '.join(extra)}")
        return self
