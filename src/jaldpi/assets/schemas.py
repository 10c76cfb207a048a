from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from pydantic import Field, model_validator

from jaldpi.core.schemas import Geometry, RecordIn, Ref
from jaldpi.standard.codelists import literal


class SchemeIn(RecordIn):
    """A piped water-supply scheme (Single Village or Multi Village)."""

    name: str = Field(min_length=1, max_length=200)
    scheme_type: literal("scheme_types") = Field(description="svs (one village) or mvs (several)")  # type: ignore[valid-type]
    villages: list[Ref] = Field(min_length=1, description="Villages served (LGD codes or ids)")
    habitations: list[Ref] = Field(default_factory=list, description="Habitations served")
    implementing_agency: Ref | None = Field(None, description="An entity of type implementing_agency or contractor")
    sanctioned_cost_inr: Decimal | None = Field(None, ge=0, max_digits=16, decimal_places=2, description="Rupees")
    sanctioned_on: dt.date | None = None
    design_population: int | None = Field(None, ge=1, description="Persons, at the design year")
    design_lpcd: int = Field(55, ge=1, le=500, description="Litres per capita per day the scheme is designed for; "
                             "JJM norm: at least 55")
    lifecycle_status: literal("scheme_lifecycle") = "planned"  # type: ignore[valid-type]
    commissioned_on: dt.date | None = None
    handed_over_on: dt.date | None = None
    is_functional: bool | None = Field(None, description="Only for commissioned or handed-over schemes")
    attributes: dict[str, Any] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _rules(self) -> "SchemeIn":
        if self.scheme_type == "svs" and len(self.villages) != 1:
            raise ValueError("a single village scheme (svs) serves exactly one village")
        if self.scheme_type == "mvs" and len(self.villages) < 2:
            raise ValueError("a multi village scheme (mvs) serves two or more villages")
        if self.is_functional is not None and self.lifecycle_status not in ("commissioned", "handed_over"):
            raise ValueError("is_functional applies once a scheme is commissioned")
        return self


class ComponentIn(RecordIn):
    """A part of a scheme: source, plant, reservoir, pumps, pipes, taps, meters, sensors."""

    scheme: Ref = Field(description="The scheme this component belongs to")
    component_type: literal("component_types") = Field(description="code list component_types")  # type: ignore[valid-type]
    name: str | None = Field(None, max_length=200)
    village: Ref | None = Field(None, description="Village (or habitation) where it stands; else the scheme's area")
    upstream: list[Ref] = Field(default_factory=list, description="Components that feed this one (graph edges)")
    water_source: Ref | None = Field(None, description="For sources: the natural resource drawn from")
    household: Ref | None = Field(None, description="For household tap connections: the household")
    geometry: Geometry | None = Field(None, description="Point for most; LineString for pipelines")
    capacity_kl: float | None = Field(None, ge=0, description="Kilolitres (reservoirs, sumps)")
    diameter_mm: float | None = Field(None, ge=0)
    length_m: float | None = Field(None, ge=0)
    installed_on: dt.date | None = None
    is_functional: bool | None = None
    attributes: dict[str, Any] = Field(default_factory=dict, description="Type-specific facts (pump kW, ...)")
