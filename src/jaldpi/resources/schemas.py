from __future__ import annotations

from typing import Any

from pydantic import Field, model_validator

from jaldpi.core.schemas import Geometry, RecordIn, Ref
from jaldpi.standard.codelists import literal


class NaturalResourceIn(RecordIn):
    resource_type: literal("resource_types") = Field(description="code list resource_types")  # type: ignore[valid-type]
    name: str = Field(min_length=1, max_length=200)
    admin_unit: Ref = Field(description="The unit it lies in (assessment units: the block / taluk / mandal)")
    source_type: literal("source_types") | None = Field(None, description="Water sources: code list source_types")  # type: ignore[valid-type]
    aquifer: Ref | None = Field(None, description="Groundwater sources: the aquifer tapped")
    assessment_unit: Ref | None = Field(None, description="Groundwater sources: the CGWB assessment unit")
    gw_category: literal("groundwater_categories") | None = Field(None, description="Assessment units: CGWB category")  # type: ignore[valid-type]
    assessment_year: str | None = Field(None, pattern=r"^\d{4}(-\d{2,4})?$", description="e.g. 2024 or 2023-24")
    stage_of_extraction_pct: float | None = Field(None, ge=0, description="Annual extraction over extractable "
                                                  "resource, percent (CGWB)")
    depth_m: float | None = Field(None, ge=0, description="Metres below ground level")
    yield_lph: float | None = Field(None, ge=0, description="Litres per hour")
    area_ha: float | None = Field(None, ge=0, description="Hectares (surface water bodies)")
    geometry: Geometry | None = None
    attributes: dict[str, Any] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _type_rules(self) -> "NaturalResourceIn":
        if self.resource_type == "water_source" and self.source_type is None:
            raise ValueError("a water_source needs source_type")
        if self.resource_type != "water_source" and self.source_type is not None:
            raise ValueError("source_type applies to water_source only")
        if self.gw_category is not None and self.resource_type != "groundwater_assessment_unit":
            raise ValueError("gw_category applies to groundwater_assessment_unit only")
        return self
