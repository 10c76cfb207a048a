from __future__ import annotations

import datetime as dt

from pydantic import Field, field_validator

from jaldpi.core.schemas import RecordIn, Ref
from jaldpi.standard.codelists import literal

PERSONAL_FIELDS = frozenset({"head_name", "phone", "aadhaar", "ration_card"})


def _verhoeff_ok(number: str) -> bool:
    """Aadhaar numbers carry a Verhoeff check digit (UIDAI)."""
    d = [[0, 1, 2, 3, 4, 5, 6, 7, 8, 9], [1, 2, 3, 4, 0, 6, 7, 8, 9, 5], [2, 3, 4, 0, 1, 7, 8, 9, 5, 6],
         [3, 4, 0, 1, 2, 8, 9, 5, 6, 7], [4, 0, 1, 2, 3, 9, 5, 6, 7, 8], [5, 9, 8, 7, 6, 0, 4, 3, 2, 1],
         [6, 5, 9, 8, 7, 1, 0, 4, 3, 2], [7, 6, 5, 9, 8, 2, 1, 0, 4, 3], [8, 7, 6, 5, 9, 3, 2, 1, 0, 4],
         [9, 8, 7, 6, 5, 4, 3, 2, 1, 0]]
    p = [[0, 1, 2, 3, 4, 5, 6, 7, 8, 9], [1, 5, 7, 6, 2, 8, 3, 0, 9, 4], [5, 8, 0, 3, 7, 9, 6, 1, 4, 2],
         [8, 9, 1, 6, 0, 4, 3, 5, 2, 7], [9, 4, 5, 3, 1, 2, 6, 8, 7, 0], [4, 2, 8, 6, 5, 7, 3, 9, 0, 1],
         [2, 7, 9, 3, 8, 0, 6, 4, 1, 5], [7, 0, 4, 6, 9, 1, 3, 2, 5, 8]]
    c = 0
    for i, ch in enumerate(reversed(number)):
        c = d[c][p[i % 8][int(ch)]]
    return c == 0


class HouseholdIn(RecordIn):
    """A household. ``head_name``, ``phone``, ``aadhaar`` and ``ration_card`` are personal data: stored apart,
    encrypted, shown masked unless the reader's role carries ``pii:read`` there; the Aadhaar number is never stored,
    only a keyed hash and its last four digits."""

    village: Ref = Field(description="The LGD village")
    habitation: Ref | None = Field(None, description="The habitation within the village")
    members_count: int = Field(ge=1, le=60, description="Persons in the household")
    social_category: literal("social_categories") | None = None  # type: ignore[valid-type]
    has_tap_connection: bool = Field(False, description="Has a functional household tap connection (FHTC)")
    connected_on: dt.date | None = None
    is_exempted: bool = Field(False, description="Exempted from tariffs (state policy)")
    head_name: str | None = Field(None, min_length=1, max_length=200, description="Personal data")
    phone: str | None = Field(None, pattern=r"^(\+91)?[6-9]\d{9}$", description="Personal data: Indian mobile")
    aadhaar: str | None = Field(None, description="Personal data, write-only: 12 digits; kept as a keyed hash")
    ration_card: str | None = Field(None, max_length=40, description="Personal data: ration card number")

    @field_validator("aadhaar")
    @classmethod
    def _aadhaar(cls, value: str | None) -> str | None:
        if value is None:
            return None
        digits = value.replace(" ", "").replace("-", "")
        if len(digits) == 4 and value.startswith("XXXX"):
            raise ValueError("send the full Aadhaar number or leave it out (a masked value cannot be stored)")
        if not (len(digits) == 12 and digits.isdigit() and digits[0] not in "01" and _verhoeff_ok(digits)):
            raise ValueError("not a valid Aadhaar number (12 digits, not starting with 0 or 1, Verhoeff check)")
        return digits
