from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, model_validator

from jaldpi.core.schemas import PointGeometry, RecordIn, Ref
from jaldpi.standard.codelists import literal


class SamplingPointIn(RecordIn):
    name: str | None = Field(None, max_length=200)
    point_type: literal("sampling_point_types") = Field(description="code list sampling_point_types")  # type: ignore[valid-type]
    admin_unit: Ref = Field(description="The village (or habitation; for external data without villages, the "
                            "lowest known administrative unit)")
    water_source: Ref | None = Field(None, description="For sources: the natural resource (water_source)")
    component: Ref | None = Field(None, description="The scheme component sampled (reservoir, tap, ...)")
    geometry: PointGeometry | None = None
    is_chlorinated: bool = Field(False, description="The supply at this point is chlorinated (free residual "
                                 "chlorine then applies at consumer-end points)")
    alternate_source_available: bool = Field(False, description="An alternate source exists: IS 10500's "
                                             "permissible limits then do not apply, the acceptable limit is the bar")
    attributes: dict[str, Any] = Field(default_factory=dict)


class ResultIn(BaseModel):
    """One parameter as reported: a number, a censored value (BDL, <0.1, >200), missing (-), or a qualitative
    reading (present/absent; colour-chart range 0.5-1.0 for field kits). Kept as reported; never turned into 0."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)
    parameter: str = Field(min_length=1, max_length=64, description="Rule-set parameter code, e.g. arsenic")
    value: Decimal | int | float | str | bool | None = Field(description="As reported")
    unit: str | None = Field(None, max_length=32, description="As reported: mg/L, ppb, ug/L, mg/L as N, NTU, ...")
    method: str | None = Field(None, max_length=120)


class SampleIn(RecordIn):
    sampling_point: Ref
    test_kind: literal("test_kinds") = Field(description="lab or field_kit")  # type: ignore[valid-type]
    purpose: literal("sample_purposes") = "routine"  # type: ignore[valid-type]
    related_sample: Ref | None = Field(None, description="Confirmation: the field-kit sample confirmed; re-test or "
                                       "repeat: the sample re-tested")
    lab: Ref | None = Field(None, description="The water-quality lab (entity) for lab tests")
    collected_at: dt.datetime
    collected_by: str | None = Field(None, max_length=120, description="Account or staff id of the collector")
    tested_at: dt.datetime | None = None
    geometry: PointGeometry | None = Field(None, description="GPS where the sample was taken")
    toxic_substances_suspected: bool = False
    viral_protection_required: bool = False
    results: list[ResultIn] = Field(default_factory=list)
    attributes: dict[str, Any] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _rules(self) -> "SampleIn":
        seen = set()
        for r in self.results:
            if r.parameter in seen:
                raise ValueError(f"parameter {r.parameter} reported twice")
            seen.add(r.parameter)
        if self.purpose in ("confirmation", "retest", "repeat") and self.related_sample is None:
            raise ValueError(f"a {self.purpose} sample names related_sample")
        if self.purpose == "confirmation" and self.test_kind != "lab":
            raise ValueError("a confirmation is a lab test")
        if self.tested_at and self.tested_at < self.collected_at:
            raise ValueError("tested_at is before collected_at")
        return self
