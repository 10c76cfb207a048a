"""The grievance record of the data standard (input), and the request bodies of the public routes."""

from __future__ import annotations

import datetime as dt
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from jaldpi.core.schemas import RecordIn, Ref
from jaldpi.standard.codelists import literal

LANGUAGES = ("en", "hi")
DESCRIPTION_MAX = 2000
# Fields that mirror the grievance's workflow case; written only by the grievance workflow (system:grievances).
MIRROR_FIELDS = ("status", "routed_to_role", "routed_to_path", "submitted_at", "due_at", "resolved_at",
                 "confirmed_at", "closed_at", "reopen_count", "escalation_count", "resolution_note",
                 "rejection_reason", "breakdown_ticket")


class GrievanceIn(RecordIn):
    """A citizen's complaint. The complainant's name and phone are personal data: kept encrypted apart from the
    record, shown masked without ``pii:read``, never in the change log, open data or federation."""

    village: Ref = Field(description="The village (LGD code, id or code); the grievance's jurisdiction")
    habitation: Ref | None = Field(None, description="A habitation of that village")
    scheme: Ref | None = Field(None, description="The scheme concerned; must serve the village")
    component: Ref | None = Field(None, description="The component concerned (tap, pipeline, pump...); in the "
                                  "village or of a scheme serving it")
    category: literal("grievance_categories") = Field(description="code list grievance_categories")  # type: ignore[valid-type]
    description: str = Field(min_length=1, max_length=DESCRIPTION_MAX, description="The citizen's words")
    channel: literal("grievance_channels") = Field(description="code list grievance_channels")  # type: ignore[valid-type]
    language: Literal["en", "hi"] = Field("en", description="Language of the replies to the complainant")
    longitude: float | None = Field(None, ge=-180, le=180, description="WGS 84 degrees")
    latitude: float | None = Field(None, ge=-90, le=90, description="WGS 84 degrees")
    complainant_name: str | None = Field(None, max_length=200, description="Personal data (encrypted apart)")
    complainant_phone: str | None = Field(None, max_length=20, description="Personal data (encrypted apart)")
    # -- maintained by the grievance workflow; refused from clients
    status: str | None = Field(None, description="Read-only: the state of the grievance's workflow case")
    routed_to_role: str | None = Field(None, description="Read-only: the role expected to act (code list roles)")
    routed_to_path: str | None = Field(None, description="Read-only: where the case is assigned (LGD path)")
    submitted_at: dt.datetime | None = Field(None, description="Read-only")
    due_at: dt.datetime | None = Field(None, description="Read-only: when the SLA of the current step ends")
    resolved_at: dt.datetime | None = Field(None, description="Read-only")
    confirmed_at: dt.datetime | None = Field(None, description="Read-only: the citizen confirmed the resolution")
    closed_at: dt.datetime | None = Field(None, description="Read-only")
    reopen_count: int = Field(0, ge=0, description="Read-only")
    escalation_count: int = Field(0, ge=0, description="Read-only")
    resolution_note: str | None = Field(None, description="Read-only: what was done (from the resolve step)")
    rejection_reason: str | None = Field(None, description="Read-only: why it is not a water-supply matter")
    breakdown_ticket: str | None = Field(None, description="Read-only: code of the breakdown ticket opened for it")


class PublicSubmission(BaseModel):
    """``POST /api/v1/public/grievances``: a citizen's complaint, without an account."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)
    village: int = Field(ge=1, description="The village's LGD code")
    category: literal("grievance_categories") = Field(description="code list grievance_categories")  # type: ignore[valid-type]
    description: str = Field(min_length=3, max_length=DESCRIPTION_MAX)
    phone: str | None = Field(None, max_length=20, description="For SMS updates (optional; stored encrypted)")
    name: str | None = Field(None, max_length=200, description="Optional; stored encrypted")
    language: Literal["en", "hi"] = "en"
    longitude: float | None = Field(None, ge=-180, le=180)
    latitude: float | None = Field(None, ge=-90, le=90)


class StaffSubmission(PublicSubmission):
    """``POST /api/v1/grievances``: a grievance entered by staff (a phone call, a visit)."""

    village: Ref = Field(description="The village (LGD code, id or code)")  # type: ignore[assignment]
    channel: literal("grievance_channels") = "staff_call"  # type: ignore[valid-type]
    habitation: Ref | None = None
    scheme: Ref | None = None
    component: Ref | None = None


class PinIn(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)
    pin: str = Field(pattern=r"^\d{6}$", description="The 6-digit PIN given at submission")


class ReopenIn(PinIn):
    reason: str = Field(min_length=3, max_length=1000, description="Why the problem is not solved")
