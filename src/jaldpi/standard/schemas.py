"""Input schema of a national code-list extension (registry ``codelist_entries``)."""

from __future__ import annotations

import re

from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator

from jaldpi.core.schemas import RecordIn
from jaldpi.standard.codelists import extensible_codelists

SNAKE_CASE = r"^[a-z][a-z0-9]*(_[a-z0-9]+)*$"
_SNAKE_CASE = re.compile(SNAKE_CASE)


def _has_devanagari(text: str) -> bool:
    return any("\u0900" <= ch <= "\u097f" for ch in text)


class EntryLabel(BaseModel):
    """A code's label in English and Hindi (both required, as for every shipped code)."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    en: str = Field(min_length=1, max_length=200)
    hi: str = Field(min_length=1, max_length=200, description="In Devanagari")

    @field_validator("hi")
    @classmethod
    def _devanagari(cls, value: str) -> str:
        if not _has_devanagari(value):
            raise ValueError("the Hindi label is written in Devanagari")
        return value


class CodelistEntryIn(RecordIn):
    """A code added to a shipped code list by the national node; state nodes receive it by federation sync.

    The code records carry is ``value``; the entry's own record code is ``<codelist>:<value>``. Once added, an
    entry's codelist and value never change (v1 never renames a code): labels and description may.
    """

    code: str | None = Field(None, min_length=1, max_length=128,
                             description="<codelist>:<value>; minted when absent")
    codelist: str = Field(min_length=1, max_length=64, description="The code list to extend",
                          json_schema_extra={"enum": extensible_codelists()})
    value: str = Field(min_length=1, max_length=64, json_schema_extra={"pattern": SNAKE_CASE},
                       description="The new code, lowercase snake_case, e.g. solar_powered")
    label: EntryLabel
    description: str | None = Field(None, max_length=1000, description="What the code means, when to use it")

    @field_validator("value")
    @classmethod
    def _value(cls, value: str, info: ValidationInfo) -> str:
        if not _SNAKE_CASE.match(value):
            raise ValueError("a code is lowercase snake_case: a letter, then letters, digits and single underscores "
                             "(e.g. solar_powered)")
        codelist, code = info.data.get("codelist"), info.data.get("code")
        if codelist and code and code != f"{codelist}:{value}":
            # the stored code comes with every update: a different value (or list) means a renamed code
            raise ValueError(f"entry {code} cannot become {codelist}:{value}: the codelist and value of an entry "
                             "never change once added (relabel it, or add a new entry); a new entry leaves code "
                             f"out or sends {codelist}:{value}")
        return value
