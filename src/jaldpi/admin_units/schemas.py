from __future__ import annotations

import datetime as dt
from typing import Any

from pydantic import Field, model_validator

from jaldpi.core.schemas import RecordIn, Ref
from jaldpi.standard.codelists import literal

LgdLevel = literal("lgd_levels")


class AdminUnitIn(RecordIn):
    """An administrative unit of the LGD (or a habitation, which LGD does not list)."""

    level: LgdLevel = Field(description="code list lgd_levels")
    lgd_code: int | None = Field(None, ge=1, description="LGD code; unique within the level; none for habitations")
    lgd_version: int | None = Field(None, ge=1, description="LGD's version number of the unit")
    name: str = Field(min_length=1, max_length=200)
    name_local: str | None = Field(None, max_length=200, description="Name in the local language")
    parent: Ref | None = Field(None, description="The unit above in the operational tree: state > district > "
                               "block > gram panchayat > village > habitation (sub-district under district)")
    subdistrict: Ref | None = Field(None, description="For villages: the revenue sub-district (tehsil)")
    census2011_code: str | None = Field(None, max_length=16, pattern=r"^\d+$")
    census2001_code: str | None = Field(None, max_length=16, pattern=r"^\d+$")
    valid_from: dt.date | None = None
    valid_to: dt.date | None = None
    attributes: dict[str, Any] = Field(default_factory=dict, description="Level-specific facts, e.g. local body "
                                       "type, state_or_ut")

    @model_validator(mode="after")
    def _codes_and_parents(self) -> "AdminUnitIn":
        if self.level == "habitation":
            if self.lgd_code is not None:
                raise ValueError("habitations are not LGD entities: leave lgd_code empty (the node mints a code)")
        elif self.lgd_code is None:
            raise ValueError(f"lgd_code is required for level {self.level}")
        if self.level == "state" and self.parent is not None:
            raise ValueError("a state has no parent")
        if self.level != "state" and self.parent is None:
            raise ValueError(f"a {self.level} needs a parent")
        if self.valid_from and self.valid_to and self.valid_to < self.valid_from:
            raise ValueError("valid_to is before valid_from")
        return self
