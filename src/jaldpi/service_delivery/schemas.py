from __future__ import annotations

import datetime as dt
from typing import Any, Literal

from pydantic import Field, model_validator

from jaldpi.core.schemas import RecordIn, Ref
from jaldpi.standard.codelists import literal


class SupplyRecordIn(RecordIn):
    """Daily supply of one scheme to one village. Times are local times; an end before the start crosses midnight.

    Give ``start_time`` and ``end_time`` (then ``hours_of_supply`` is derived from them), or ``hours_of_supply``
    alone; on a day without supply (``supplied`` false) times and hours are cleared, a volume above 0 is refused
    and ``reason_no_supply`` is required. The prescribed schedule of the day is ``scheduled_start`` and
    ``scheduled_end``; left out, the scheme's ``attributes.supply_schedule`` applies. Re-sending a record for the
    same scheme, village and date updates it.
    """

    scheme: Ref = Field(description="The scheme that supplied")
    village: Ref = Field(description="The village supplied (LGD code or id); the scheme must serve it")
    supply_date: dt.date = Field(description="The local date of the supply (the day its start falls on)")
    supplied: bool = Field(description="Water was supplied that day")
    start_time: dt.time | None = Field(None, description="Local time the supply started (HH:MM)")
    end_time: dt.time | None = Field(None, description="Local time the supply ended; before the start = next day")
    hours_of_supply: float | None = Field(None, ge=0, le=24, description="Hours of supply when times are not "
                                          "known; derived from start_time/end_time when they are given")
    scheduled_start: dt.time | None = Field(None, description="Prescribed start that day; default: the scheme's "
                                            "attributes.supply_schedule.start")
    scheduled_end: dt.time | None = Field(None, description="Prescribed end that day")
    volume_supplied_kl: float | None = Field(None, ge=0, description="Kilolitres supplied to the village (bulk "
                                             "meter)")
    tail_end_residual_chlorine_mg_l: float | None = Field(None, ge=0, le=20, description="Free residual chlorine "
                                                          "at the tail end, mg/L")
    chlorinated: bool | None = Field(None, description="The supply is chlorinated; default: the scheme's "
                                     "attributes.chlorinated (false when absent)")
    reason_no_supply: literal("no_supply_reasons") | None = Field(  # type: ignore[valid-type]
        None, description="code list no_supply_reasons; required when supplied is false")
    source: Literal["operator", "telemetry"] = "operator"
    notes: str | None = Field(None, max_length=500)
    attributes: dict[str, Any] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _rules(self) -> "SupplyRecordIn":
        if (self.start_time is None) != (self.end_time is None):
            raise ValueError("give both start_time and end_time, or neither")
        if (self.scheduled_start is None) != (self.scheduled_end is None):
            raise ValueError("give both scheduled_start and scheduled_end, or neither")
        if self.start_time is not None and self.start_time == self.end_time:
            raise ValueError("end_time equals start_time: a supply lasts less than 24 hours")
        if self.scheduled_start is not None and self.scheduled_start == self.scheduled_end:
            raise ValueError("scheduled_end equals scheduled_start")
        if self.supplied:
            if self.reason_no_supply is not None:
                raise ValueError("reason_no_supply is only for days without supply")
            if self.start_time is None and self.hours_of_supply is None:
                raise ValueError("a supply gives start_time and end_time, or hours_of_supply")
            if self.start_time is None and self.hours_of_supply == 0:
                raise ValueError("hours_of_supply is 0: record the day as supplied = false with a reason")
        else:
            if self.reason_no_supply is None:
                raise ValueError("reason_no_supply is required when supplied is false")
            # times of a day without supply mean nothing: cleared (a day re-sent as not supplied keeps no stale
            # times from the stored record)
            self.start_time = self.end_time = None
            self.hours_of_supply = 0.0
            if self.volume_supplied_kl not in (None, 0):
                raise ValueError("no supply: volume_supplied_kl must be 0 or absent")
        return self
