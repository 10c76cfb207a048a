"""Typed models of what a jaldpi node answers: records, pages, import summaries, feed changes, history.

The models mirror the node's JSON (docs/api.md) without importing the server's schemas, so a partner system loads
only pydantic. They are deliberately lenient where the standard may grow:

* every model allows extra fields (``model_config extra="allow"``): a field added by a newer node is kept and
  readable as an attribute (``record.new_field``) and in ``record.model_extra``, and sent back unchanged;
* code-list values (``scheme_type``, ``lifecycle_status``, ...) are plain strings, not enumerations, because code
  lists are data that a node may extend (``/standard/v1/codelists``);
* every field has a default, so a record can also be built on the client side to be pushed
  (``Household(village=500001, members_count=4)``); records read from a node always carry their metadata.

References are read back as ``<field>_id`` (``village_id``) and written as ``<field>`` (``village``: a UUID, a code,
an LGD code or ``{"external_id": {"system", "value"}}``); a record read from a node may be sent back as it is.
"""

from __future__ import annotations

import datetime as dt
import uuid
from decimal import Decimal
from typing import Any, Generic, TypeVar

from pydantic import BaseModel, ConfigDict, Field
from pydantic_core import to_jsonable_python

from jaldpi.client.errors import ImportFailed


class _Model(BaseModel):
    model_config = ConfigDict(extra="allow")


# ---------------------------------------------------------------------------------------------------- records

class Record(_Model):
    """Any registry record: the metadata every record has, plus its fields (extra fields are kept as attributes)."""

    id: uuid.UUID | None = Field(None, description="UUIDv7; mint it yourself (jaldpi.client.new_id) or let the node")
    code: str | None = Field(None, description="Human code, e.g. HH-7K3M9Q2XWZ4P; minted by the node when absent")
    version: int | None = Field(None, description="1 on creation, +1 on every change; send it back to refuse lost "
                                "updates")
    lgd_path: str | None = Field(None, description="Jurisdiction path, e.g. /S28/D745/B4001/G200001/V500001/")
    lgd: dict[str, int | str] = Field(default_factory=dict, description="LGD codes of the path by level")
    external_ids: dict[str, str] = Field(default_factory=dict, description="{system: value}, e.g. {'imis': '123'}")
    created_at: dt.datetime | None = None
    updated_at: dt.datetime | None = None
    created_by: str | None = None
    updated_by: str | None = None
    source_system: str | None = Field(None, description="System the last write came from")
    deleted_at: dt.datetime | None = Field(None, description="Set when soft-deleted (lists hide deleted records)")

    def to_payload(self) -> dict[str, Any]:
        """The fields that were set, as JSON values, ready to send (read-only fields are ignored by the node)."""
        return self.model_dump(mode="json", exclude_unset=True)


class AdminUnit(Record):
    """An LGD unit (state, district, block, gram panchayat, village, ...) or a habitation. Public to read."""

    level: str | None = Field(None, description="code list lgd_levels: state, district, block, village, ...")
    lgd_code: int | None = None
    lgd_version: int | None = None
    name: str | None = None
    name_local: str | None = None
    parent_id: uuid.UUID | None = None
    subdistrict_id: uuid.UUID | None = None
    census2011_code: str | None = None
    census2001_code: str | None = None
    valid_from: dt.date | None = None
    valid_to: dt.date | None = None
    attributes: dict[str, Any] | None = None


class Member(_Model):
    name: str | None = None
    role: str | None = Field(None, description="code list committee_roles")
    gender: str | None = Field(None, description="code list genders")
    social_category: str | None = None
    is_pri_member: bool | None = None


class Accreditation(_Model):
    body: str | None = Field(None, description="NABL by default")
    certificate_number: str | None = None
    valid_from: dt.date | None = None
    valid_until: dt.date | None = None


class Entity(Record):
    """A VWSC, gram panchayat body, water-quality lab, implementing agency, contractor, ISA or SHG."""

    entity_type: str | None = Field(None, description="code list entity_types")
    name: str | None = None
    admin_unit_id: uuid.UUID | None = None
    status: str | None = Field(None, description="code list entity_statuses")
    registration_number: str | None = None
    formed_on: dt.date | None = None
    contact_email: str | None = None
    contact_phone: str | None = None
    members: list[Member] | None = None
    lab_level: str | None = None
    accreditation: Accreditation | None = None
    parameters_tested: list[str] | None = None
    serves_ids: list[uuid.UUID] | None = None
    attributes: dict[str, Any] | None = None
    # derived by the node (read-only)
    member_count: int | None = None
    women_members: int | None = None
    women_share: float | None = Field(None, description="0..1; committees need at least 0.5 (JJM VWSC rule)")
    women_rule_met: bool | None = None
    accreditation_valid: bool | None = None


class NaturalResource(Record):
    """A water source, aquifer, groundwater assessment unit or surface water body."""

    resource_type: str | None = Field(None, description="code list resource_types")
    name: str | None = None
    admin_unit_id: uuid.UUID | None = None
    source_type: str | None = Field(None, description="code list source_types")
    aquifer_id: uuid.UUID | None = None
    assessment_unit_id: uuid.UUID | None = None
    gw_category: str | None = Field(None, description="CGWB category: safe, semi_critical, critical, ...")
    assessment_year: str | None = None
    stage_of_extraction_pct: float | None = Field(None, description="percent")
    depth_m: float | None = Field(None, description="metres")
    yield_lph: float | None = Field(None, description="litres per hour")
    area_ha: float | None = Field(None, description="hectares")
    geometry: dict[str, Any] | None = Field(None, description="GeoJSON geometry (RFC 7946), WGS 84")
    attributes: dict[str, Any] | None = None
    latitude: float | None = None
    longitude: float | None = None


class Household(Record):
    """A household. Personal fields are masked unless your role has ``pii:read`` where the household is."""

    village_id: uuid.UUID | None = None
    habitation_id: uuid.UUID | None = None
    members_count: int | None = None
    social_category: str | None = Field(None, description="code list social_categories")
    has_tap_connection: bool | None = None
    connected_on: dt.date | None = None
    is_exempted: bool | None = None
    head_name: str | None = Field(None, description="personal data (masked without pii:read)")
    phone: str | None = Field(None, description="personal data (masked without pii:read)")
    aadhaar: str | None = Field(None, description="write-only: reads show at most the last four digits")
    ration_card: str | None = Field(None, description="personal data (masked without pii:read)")


class Scheme(Record):
    """A piped water supply scheme (single- or multi-village)."""

    name: str | None = None
    scheme_type: str | None = Field(None, description="svs | mvs")
    village_ids: list[uuid.UUID] | None = None
    habitation_ids: list[uuid.UUID] | None = None
    implementing_agency_id: uuid.UUID | None = None
    sanctioned_cost_inr: Decimal | None = Field(None, description="rupees, exact (sent as a decimal string)")
    sanctioned_on: dt.date | None = None
    design_population: int | None = None
    design_lpcd: int | None = Field(None, description="litres per person per day")
    lifecycle_status: str | None = Field(None, description="planned, sanctioned, under_construction, commissioned, "
                                         "handed_over (forward one step at a time)")
    commissioned_on: dt.date | None = None
    handed_over_on: dt.date | None = None
    is_functional: bool | None = None
    attributes: dict[str, Any] | None = None


class Component(Record):
    """A part of a scheme (source, ESR, pipeline, tap connection, ...), linked upstream to form its graph."""

    scheme_id: uuid.UUID | None = None
    component_type: str | None = Field(None, description="code list component_types")
    name: str | None = None
    village_id: uuid.UUID | None = None
    upstream_ids: list[uuid.UUID] | None = None
    water_source_id: uuid.UUID | None = None
    household_id: uuid.UUID | None = None
    geometry: dict[str, Any] | None = Field(None, description="GeoJSON geometry (RFC 7946), WGS 84")
    capacity_kl: float | None = Field(None, description="kilolitres")
    diameter_mm: float | None = Field(None, description="millimetres")
    length_m: float | None = Field(None, description="metres")
    installed_on: dt.date | None = None
    is_functional: bool | None = None
    attributes: dict[str, Any] | None = None
    latitude: float | None = None
    longitude: float | None = None


class SamplingPoint(Record):
    """A place where water is sampled (source, storage, household tap, school, ...)."""

    name: str | None = None
    point_type: str | None = Field(None, description="code list sampling_point_types")
    admin_unit_id: uuid.UUID | None = None
    water_source_id: uuid.UUID | None = None
    component_id: uuid.UUID | None = None
    geometry: dict[str, Any] | None = None
    is_chlorinated: bool | None = None
    alternate_source_available: bool | None = None
    attributes: dict[str, Any] | None = None
    latitude: float | None = None
    longitude: float | None = None


class SampleResult(_Model):
    """One parameter as reported: a number, a censored value ("BDL", "<0.1"), or a qualitative reading."""

    parameter: str | None = Field(None, description="rule-set parameter code, e.g. arsenic")
    value: Any = Field(None, description="as reported (never turned into 0)")
    unit: str | None = None
    method: str | None = None


class Sample(Record):
    """A lab or field-kit sample; the node judges it against IS 10500 on write (``verdict``, ``contaminants``)."""

    sampling_point_id: uuid.UUID | None = None
    test_kind: str | None = Field(None, description="lab | field_kit")
    purpose: str | None = Field(None, description="code list sample_purposes")
    related_sample_id: uuid.UUID | None = None
    lab_id: uuid.UUID | None = None
    collected_at: dt.datetime | None = None
    collected_by: str | None = None
    tested_at: dt.datetime | None = None
    geometry: dict[str, Any] | None = None
    toxic_substances_suspected: bool | None = None
    viral_protection_required: bool | None = None
    results: list[SampleResult] | None = None
    attributes: dict[str, Any] | None = None
    # derived by the node (read-only)
    verdict: str | None = Field(None, description="code list sample_verdicts")
    contaminants: list[str] | None = None
    season: str | None = None
    bacteriological_positive: bool | None = None
    bacteriological_tested: bool | None = None
    chemical_tested: bool | None = None
    requires_repeat_sample: bool | None = None
    source_rejected: bool | None = None
    ruleset_version: str | None = None
    evaluation: dict[str, Any] | None = None


class SupplyRecord(Record):
    """Water supplied by a scheme to a village on one day (one record per scheme, village and date)."""

    scheme_id: uuid.UUID | None = None
    village_id: uuid.UUID | None = None
    supply_date: dt.date | None = None
    supplied: bool | None = None
    start_time: dt.time | None = None
    end_time: dt.time | None = None
    hours_of_supply: float | None = Field(None, description="hours")
    scheduled_start: dt.time | None = None
    scheduled_end: dt.time | None = None
    volume_supplied_kl: float | None = Field(None, description="kilolitres")
    tail_end_residual_chlorine_mg_l: float | None = Field(None, description="mg/L")
    chlorinated: bool | None = None
    reason_no_supply: str | None = Field(None, description="code list no_supply_reasons")
    source: str | None = Field(None, description="operator | telemetry")
    notes: str | None = None
    attributes: dict[str, Any] | None = None
    # derived by the node (read-only)
    duration_share: float | None = Field(None, description="actual / scheduled duration")
    schedule_source: str | None = None
    start_offset_minutes: int | None = Field(None, description="actual minus scheduled start, minutes")


#: The typed model of each registry of the standard; any other record type reads as :class:`Record`.
RECORD_TYPES: dict[str, type[Record]] = {
    "admin_units": AdminUnit,
    "entities": Entity,
    "natural_resources": NaturalResource,
    "households": Household,
    "schemes": Scheme,
    "components": Component,
    "sampling_points": SamplingPoint,
    "samples": Sample,
    "supply_records": SupplyRecord,
}


def record_model(record_type: str) -> type[Record]:
    return RECORD_TYPES.get(record_type, Record)


def as_payload(record: Record | dict[str, Any]) -> dict[str, Any]:
    """A record to send: a model's set fields, or a dict with UUIDs, dates and Decimals turned into JSON values."""
    if isinstance(record, Record):
        return record.to_payload()
    if isinstance(record, dict):
        return to_jsonable_python(record)
    raise TypeError(f"a record must be a dict or a jaldpi.client Record, not {type(record).__name__}")


RecordT = TypeVar("RecordT", bound=Record)


class Page(BaseModel, Generic[RecordT]):
    """One keyset page of a list: pass ``next_cursor`` as ``after`` for the next one (None on the last page)."""

    items: list[RecordT]
    next_cursor: str | None = None
    total: int | None = Field(None, description="all matches; only when asked for (total=True)")

    @property
    def has_more(self) -> bool:
        return self.next_cursor is not None


class HistoryEntry(_Model):
    """One version of a record: who changed it, when, from which system, what changed and the record as it was."""

    seq: int
    version: int
    operation: str = Field(description="create | update | delete | restore")
    actor: str | None = None
    source_system: str | None = None
    occurred_at: dt.datetime
    changes: Any = None
    record: dict[str, Any] | None = Field(None, description="the record after this change (None for a delete)")
    hash: str | None = None


class LookupHit(_Model):
    """A record found by an external identifier, with its registry."""

    record_type: str
    record: Record


# ---------------------------------------------------------------------------------------------------- import

class RowError(_Model):
    """Why one row was refused; ``code`` is stable: invalid, not_found, already_exists, reference_not_found, ..."""

    code: str
    field: str | None = None
    message: str = ""


class RowResult(_Model):
    """One row of an import: its index in the records you pushed, what happened, and its id and code."""

    index: int
    action: str = Field(description="created | updated | deleted | ignored | error")
    id: uuid.UUID | None = None
    code: str | None = None
    errors: list[RowError] = Field(default_factory=list)


class ImportStats(_Model):
    created: int = 0
    updated: int = 0
    deleted: int = 0
    ignored: int = 0
    errors: int = 0
    total: int = 0


class BatchOutcome(_Model):
    """One request of a (possibly split) push: rows ``first_index`` .. ``first_index + count - 1``."""

    first_index: int
    count: int
    status: str
    written: bool
    attempts: int = Field(1, description="requests sent for this batch (more than 1 after a retried failure)")


class ImportSummary(_Model):
    """The node's import summary (docs/api.md, "Bulk import"); for a push split into batches, the merged summary.

    ``status``: ``ok`` (no errors), ``partial`` (some rows written or writable, some refused), ``error`` (nothing
    written). ``rows`` lists the rows with errors (every row with ``report="full"``), indexed in the records you
    pushed. ``unsent`` counts rows never sent because an earlier batch of an atomic push failed.
    """

    registry: str
    status: str
    strategy: str
    atomic: bool
    dry_run: bool
    written: bool
    stats: ImportStats
    rows: list[RowResult] = Field(default_factory=list)
    batches: list[BatchOutcome] = Field(default_factory=list)
    unsent: int = 0

    @property
    def ok(self) -> bool:
        return self.stats.errors == 0 and self.unsent == 0

    @property
    def failed_rows(self) -> list[RowResult]:
        return [r for r in self.rows if r.errors]

    def raise_for_errors(self) -> ImportSummary:
        """Raise :class:`ImportFailed` if any row was refused or not sent; return the summary otherwise."""
        if not self.ok:
            raise ImportFailed(self)
        return self

    @classmethod
    def merge(cls, parts: list[tuple[int, ImportSummary, int]], *, unsent: int = 0) -> ImportSummary:
        """Merge the summaries of consecutive batches, given as ``(first_index, summary, attempts)``.

        Row indices are shifted by each batch's first index, so they point into the whole push. The merged status
        is ``ok`` without errors, ``error`` when every batch was refused whole, and ``partial`` otherwise.
        """
        if not parts:
            raise ValueError("nothing to merge")
        first = parts[0][1]
        stats = ImportStats()
        rows: list[RowResult] = []
        batches: list[BatchOutcome] = []
        for offset, part, attempts in parts:
            for name in ImportStats.model_fields:
                setattr(stats, name, getattr(stats, name) + getattr(part.stats, name))
            rows.extend(r.model_copy(update={"index": r.index + offset}) for r in part.rows)
            batches.append(BatchOutcome(first_index=offset, count=part.stats.total, status=part.status,
                                        written=part.written, attempts=attempts))
        if stats.errors == 0 and unsent == 0:
            status = "ok"
        elif all(b.status == "error" for b in batches):
            status = "error"
        else:
            status = "partial"
        return cls(registry=first.registry, status=status, strategy=first.strategy, atomic=first.atomic,
                   dry_run=first.dry_run, written=any(b.written for b in batches), stats=stats, rows=rows,
                   batches=batches, unsent=unsent)


# ---------------------------------------------------------------------------------------------------- feed

class Change(_Model):
    """One entry of the change feed (``GET /api/v1/changes``): a create, update, delete or restore of a record.

    Delivery is at least once: a consumer that crashed before storing its cursor sees a change again. Deduplicate
    on ``seq`` (unique, increasing) or on ``(record_type, record_id, version)``.
    """

    seq: int = Field(description="position in the node's change log; increases with commit order")
    cursor: str = Field(description="resume after this change by passing it as `after`")
    record_type: str
    record_id: uuid.UUID
    operation: str = Field(description="create | update | delete | restore")
    version: int
    occurred_at: dt.datetime
    actor: str | None = None
    source_system: str | None = None
    lgd_path: str | None = None
    lgd: dict[str, int | str] = Field(default_factory=dict)
    record: dict[str, Any] | None = Field(None, description="the record after the change; None for a delete")
    changes: Any = Field(None, description="what changed: field -> [before, after]")
    hash: str | None = Field(None, description="the change-log hash (tamper evidence)")
    origin: dict[str, Any] | None = Field(None, description="set when the change was received from the node that "
                                          "owns the record (federation): node, seq, event_time, hash")

    @property
    def dedupe_key(self) -> tuple[str, uuid.UUID, int]:
        return (self.record_type, self.record_id, self.version)

    def typed_record(self) -> Record | None:
        """The snapshot as the typed model of its registry (None for a delete)."""
        return None if self.record is None else record_model(self.record_type).model_validate(self.record)


class ChangePage(_Model):
    items: list[Change]
    next_cursor: str | None = Field(None, description="store it and pass it as `after`; equals `after` when empty")
    has_more: bool = False


# ---------------------------------------------------------------------------------------------------- access

class Grant(_Model):
    role: str
    path: str = Field(description="LGD subtree where the role applies; '/' is national")


class Identity(_Model):
    """``GET /api/v1/auth/me``: who the client is signed in as, and where each permission applies."""

    subject: str | None = None
    kind: str | None = Field(None, description="person | system | anonymous")
    grants: list[Grant] = Field(default_factory=list)
    permissions: dict[str, list[str]] = Field(default_factory=dict,
                                              description="permission -> LGD path prefixes where it applies")


__all__ = [
    "Accreditation", "AdminUnit", "BatchOutcome", "Change", "ChangePage", "Component", "Entity", "Grant",
    "HistoryEntry", "Household", "Identity", "ImportStats", "ImportSummary", "LookupHit", "Member",
    "NaturalResource", "Page", "RECORD_TYPES", "Record", "RowError", "RowResult", "Sample", "SampleResult",
    "SamplingPoint", "Scheme", "SupplyRecord", "as_payload", "record_model",
]
