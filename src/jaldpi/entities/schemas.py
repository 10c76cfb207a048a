from __future__ import annotations

import datetime as dt
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, model_validator

from jaldpi.core.schemas import RecordIn, Ref
from jaldpi.standard.codelists import literal

COMMITTEE_TYPES = ("vwsc", "gram_panchayat_body", "self_help_group")


class Member(BaseModel):
    """A member of a committee or group. Names of committee members are public in the Gram Sabha."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)
    name: str = Field(min_length=1, max_length=200)
    role: literal("committee_roles") = "member"  # type: ignore[valid-type]
    gender: literal("genders")  # type: ignore[valid-type]
    social_category: literal("social_categories") | None = None  # type: ignore[valid-type]
    is_pri_member: bool = Field(False, description="An elected Panchayati Raj Institution member")


class Accreditation(BaseModel):
    model_config = ConfigDict(extra="forbid")
    body: str = Field("NABL", max_length=40)
    certificate_number: str = Field(min_length=1, max_length=60)
    valid_from: dt.date
    valid_until: dt.date

    @model_validator(mode="after")
    def _order(self) -> "Accreditation":
        if self.valid_until < self.valid_from:
            raise ValueError("valid_until is before valid_from")
        return self


class EntityIn(RecordIn):
    entity_type: literal("entity_types") = Field(description="code list entity_types")  # type: ignore[valid-type]
    name: str = Field(min_length=1, max_length=200)
    admin_unit: Ref = Field(description="Where the entity sits (its jurisdiction): the GP or village of a VWSC, the "
                            "district or block of a lab, the state or district of an agency")
    status: literal("entity_statuses") = "active"  # type: ignore[valid-type]
    registration_number: str | None = Field(None, max_length=100)
    formed_on: dt.date | None = None
    contact_email: str | None = Field(None, max_length=200, pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$",
                                      description="Office contact (not a person's private address)")
    contact_phone: str | None = Field(None, pattern=r"^\+?[0-9 -]{6,20}$", description="Office phone")
    members: list[Member] = Field(default_factory=list, description="Committees and groups: members")
    lab_level: literal("lab_levels") | None = Field(None, description="Labs: code list lab_levels")  # type: ignore[valid-type]
    accreditation: Accreditation | None = Field(None, description="Labs: NABL accreditation and its validity")
    parameters_tested: list[str] = Field(default_factory=list, description="Labs: parameters it can test")
    serves: list[Ref] = Field(default_factory=list, description="Labs, agencies: administrative units served")
    attributes: dict[str, Any] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _type_rules(self) -> "EntityIn":
        if self.entity_type == "water_quality_lab" and self.lab_level is None:
            raise ValueError("a water_quality_lab needs lab_level")
        if self.entity_type != "water_quality_lab" and (self.lab_level or self.accreditation):
            raise ValueError("lab_level and accreditation apply to water_quality_lab only")
        if self.members and self.entity_type not in COMMITTEE_TYPES:
            raise ValueError(f"members apply to {', '.join(COMMITTEE_TYPES)} only")
        return self
