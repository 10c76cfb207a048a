"""Input models of the data standard for Har Ghar Jal certifications and Village Action Plans."""

from __future__ import annotations

import datetime as dt
import uuid
from decimal import Decimal
from typing import Any

from pydantic import Field

from jaldpi.core.schemas import RecordIn, Ref
from jaldpi.standard.codelists import literal


class HgjCertificationIn(RecordIn):
    """A village's Har Ghar Jal certification. People move it through the workflow ``hgj_certification``
    (``POST /api/v1/hgj/villages/{village}/report``, then ``/api/v1/cases/{case}/transitions/...``); state systems
    may import records of villages reported or certified elsewhere (the node replays the workflow's checks)."""

    village: Ref = Field(description="The village (administrative unit of level village)")
    status: literal("hgj_statuses") = Field(description="code list hgj_statuses")  # type: ignore[valid-type]
    reported_on: dt.date | None = Field(None, description="Date the completion certificate was handed to the Gram "
                                        "Panchayat (the village is then 'reported')")
    completion_certificate_id: uuid.UUID | None = Field(None, description="documents record of type "
                                                        "completion_certificate, of this village")
    gram_sabha_date: dt.date | None = Field(None, description="Date of the Gram Sabha that passed the resolution")
    resolution_document_id: uuid.UUID | None = Field(None, description="documents record of type "
                                                     "gram_sabha_resolution, of this village")
    video_document_id: uuid.UUID | None = Field(None, description="documents record of type video (the Gram Sabha "
                                                "meeting), of this village")
    resolution_uploaded_on: dt.date | None = None
    certified_on: dt.date | None = None
    certificate_document_id: uuid.UUID | None = Field(None, description="Optional documents record of type "
                                                      "hgj_certificate")
    returned_on: dt.date | None = None
    return_reasons: list[literal("hgj_return_reasons")] = Field(  # type: ignore[valid-type]
        default_factory=list, description="code list hgj_return_reasons (of the last return)")
    withdrawn_on: dt.date | None = None
    households_total: int | None = Field(None, ge=0, description="Households of the village in the households "
                                         "registry when it was reported")
    households_with_tap: int | None = Field(None, ge=0, description="... of which with a tap connection")
    tap_check: str | None = Field(None, pattern="^(complete|incomplete|no_records)$",
                                  description="complete: every registered household has a tap; incomplete: some do "
                                  "not (recorded as a warning, setting hgj_tap_check); no_records: none registered")
    attributes: dict[str, Any] = Field(default_factory=dict)


class VillageActionPlanIn(RecordIn):
    """A Village Action Plan, approved by the Gram Sabha (JJM operational guidelines; JJM_NORMS.md)."""

    village: Ref = Field(description="The village (administrative unit of level village)")
    period_from: dt.date = Field(description="First day the plan covers")
    period_to: dt.date = Field(description="Last day the plan covers")
    baseline_households: int = Field(ge=0, description="Baseline survey: households in the village")
    baseline_population: int = Field(ge=0, description="Baseline survey: people in the village")
    baseline_households_with_tap: int = Field(ge=0, description="Baseline survey: households with a tap connection")
    sources: list[Ref] = Field(default_factory=list, description="Water sources planned for (natural_resources of "
                               "type water_source)")
    source_yields_lph: list[float | None] = Field(default_factory=list, description="Yield of each source assessed "
                                                  "for the plan, litres per hour, in the order of sources (null: "
                                                  "not assessed); empty: none given")
    quality_issues: list[str] = Field(default_factory=list, description="Water-quality parameters of concern (codes "
                                      "of the node's IS 10500 rule set, e.g. fluoride, arsenic, e_coli)")
    om_arrangement: literal("om_arrangements") = Field(description="code list om_arrangements")  # type: ignore[valid-type]
    scheme_decision: literal("vap_scheme_decisions") = Field(  # type: ignore[valid-type]
        description="code list vap_scheme_decisions: svs (build a Single Village Scheme) or join_mvs")
    scheme: Ref | None = Field(None, description="The scheme: required to join a Multi Village Scheme (an mvs "
                               "scheme), optional for a Single Village Scheme (an svs scheme serving this village)")
    households_willing_to_contribute: int | None = Field(None, ge=0, description="Households that agreed to the "
                                                         "community contribution")
    estimated_cost_inr: Decimal | None = Field(None, ge=0, max_digits=16, decimal_places=2,
                                               description="Estimated cost of the in-village works, rupees")
    schedule_start: dt.date | None = Field(None, description="Planned start of works")
    schedule_end: dt.date | None = Field(None, description="Planned completion of works")
    grey_water_management: str | None = Field(None, max_length=4000, description="How grey water will be managed "
                                              "(soak pits, kitchen gardens, community treatment, ...)")
    approved_by_gram_sabha_on: dt.date | None = Field(None, description="Date the Gram Sabha approved the plan")
    documents: list[Ref] = Field(default_factory=list, description="documents records: the plan (type "
                                 "village_action_plan) and its annexes")
    attributes: dict[str, Any] = Field(default_factory=dict)
