"""Supply records registry: jurisdiction (the village's path), the served-village rule, derived columns.

Derived on every write, so service levels are computed set-based with the node's current tolerances:

* ``hours_of_supply`` from start/end (an end before the start is the next day);
* the day's schedule: the record's own ``scheduled_start``/``scheduled_end``, else the scheme's
  ``attributes.supply_schedule`` (``{"start": "06:00", "end": "08:00"}``, optionally with per-village overrides
  ``"villages": {"500001": {"start": ..., "end": ...}}`` keyed by village LGD code); ``schedule_source`` says which
  (``record`` | ``scheme``; none when no schedule is known);
* ``start_offset_minutes``: actual start minus scheduled start, on the 24-hour circle (-720..719);
* ``duration_share``: actual duration / scheduled duration;
* ``chlorinated``: the record's value, else the scheme's ``attributes.chlorinated`` (default false).
"""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

from jaldpi.core.registry import Filter, Reference, RegistrySpec
from jaldpi.service_delivery.models import SupplyRecord
from jaldpi.service_delivery.schemas import SupplyRecordIn

DAY = 24 * 60


def minutes(t: dt.time) -> float:
    return t.hour * 60 + t.minute + t.second / 60


def span_minutes(start: dt.time, end: dt.time) -> float:
    """Minutes from start to end; an end at or before the start is on the next day."""
    d = (minutes(end) - minutes(start)) % DAY
    return d or DAY


def _time(value: Any) -> dt.time | None:
    if isinstance(value, dt.time):
        return value
    if isinstance(value, str) and value:
        try:
            return dt.time.fromisoformat(value)
        except ValueError:
            return None
    return None


def scheme_schedule(scheme: dict[str, Any], village: dict[str, Any]) -> tuple[dt.time, dt.time] | None:
    sched = (scheme.get("attributes") or {}).get("supply_schedule")
    if not isinstance(sched, dict):
        return None
    own = (sched.get("villages") or {}).get(str(village.get("lgd_code")))
    if isinstance(own, dict):
        sched = own
    start, end = _time(sched.get("start")), _time(sched.get("end"))
    return (start, end) if start and end and start != end else None


def derive(data: dict[str, Any], resolved: dict[str, Any]) -> str:
    scheme, village = resolved["scheme"], resolved["village"]
    default = scheme_schedule(scheme, village)
    if data.get("scheduled_start") is None and default:
        data["scheduled_start"], data["scheduled_end"] = default
    if data.get("scheduled_start") is None:
        data["schedule_source"] = None
    else:
        data["schedule_source"] = ("scheme" if default and (data["scheduled_start"], data["scheduled_end"]) == default
                                   else "record")
    start, end = data.get("start_time"), data.get("end_time")
    if data["supplied"] and start is not None:
        data["hours_of_supply"] = round(span_minutes(start, end) / 60, 4)
    elif not data["supplied"]:
        data["hours_of_supply"] = 0.0
    data["start_offset_minutes"] = None
    data["duration_share"] = None
    if data["supplied"] and data.get("scheduled_start") is not None:
        scheduled = span_minutes(data["scheduled_start"], data["scheduled_end"])
        if start is not None:
            offset = (minutes(start) - minutes(data["scheduled_start"]) + DAY / 2) % DAY - DAY / 2
            data["start_offset_minutes"] = int(round(offset))
        data["duration_share"] = round(data["hours_of_supply"] * 60 / scheduled, 4)
    if data.get("chlorinated") is None:
        data["chlorinated"] = bool((scheme.get("attributes") or {}).get("chlorinated", False))
    return village["lgd_path"]


def rules(data: dict[str, Any]) -> list[tuple[str, str]]:
    resolved = data["_resolved"]
    scheme, village = resolved["scheme"], resolved["village"]
    if str(village["id"]) not in {str(v) for v in scheme.get("village_ids") or []}:
        return [("village", f"scheme {scheme['code']} does not serve village {village.get('lgd_code')}")]
    return []


def spec() -> RegistrySpec:
    return RegistrySpec(
        name="supply_records", title="supply record", table=SupplyRecord.__table__, schema=SupplyRecordIn,
        code_prefix="SUP", derive_path=derive,
        references=(
            Reference("scheme", "scheme_id", "schemes"),
            Reference("village", "village_id", "admin_units", levels=("village",)),
        ),
        filters={
            "scheme_id": Filter("scheme_id", uuid.UUID),
            "village_id": Filter("village_id", uuid.UUID),
            "supplied": Filter("supplied", bool),
            "source": Filter("source", str, "operator | telemetry"),
            "reason_no_supply": Filter("reason_no_supply", str, "code list no_supply_reasons"),
        },
        search_column=None,
        validate_row=rules,
        # one record per scheme, village and day: a re-send (any id or none) updates it
        identity_keys=("scheme_id", "village_id", "supply_date"),
    )
