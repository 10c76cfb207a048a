"""Input models of the upkeep registries (the data standard's shapes; JSON Schemas at /standard/v1/)."""

from __future__ import annotations

import datetime as dt
import uuid
from decimal import Decimal
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from jaldpi.core.schemas import RecordIn, Ref
from jaldpi.standard.codelists import literal

Money = Decimal  # rupees, two decimals


class MaintenancePlanIn(RecordIn):
    component: Ref | None = Field(None, description="One component (the plan then applies to it alone)")
    scheme: Ref | None = Field(None, description="A scheme: its components of component_type")
    admin_unit: Ref | None = Field(None, description="A state, district or block (LGD): the components of "
                                   "component_type under it")
    component_type: literal("component_types") | None = Field(  # type: ignore[valid-type]
        None, description="code list component_types; required unless the plan names a component")
    task: literal("maintenance_task_types") = Field(description="code list maintenance_task_types")  # type: ignore[valid-type]
    interval_days: int = Field(ge=1, le=3650, description="Days between two runs of the task")
    responsible_role: literal("roles") | None = Field(  # type: ignore[valid-type]
        None, description="code list roles; default: the national schedule's role for the task")
    active: bool = Field(True, description="false: the task is not done here (no tasks are generated)")
    notes: str | None = Field(None, max_length=1000)

    @model_validator(mode="after")
    def _one_target(self) -> MaintenancePlanIn:
        given = [k for k in ("component", "scheme", "admin_unit") if getattr(self, k) is not None]
        if len(given) != 1:
            raise ValueError("a plan names exactly one of component, scheme, admin_unit")
        if self.component is None and self.component_type is None:
            raise ValueError("component_type is required unless the plan names a component")
        return self


class MaintenanceTaskIn(RecordIn):
    component: Ref
    task: literal("maintenance_task_types") = Field(description="code list maintenance_task_types")  # type: ignore[valid-type]
    due_on: dt.date
    interval_days: int | None = Field(None, ge=1, le=3650, description="Interval that produced this task; the next "
                                      "task falls due this many days after completion")
    responsible_role: literal("roles") | None = None  # type: ignore[valid-type]
    schedule_source: str | None = Field(None, max_length=80, description="national, or the code of the "
                                        "maintenance plan that set the interval")
    status: Literal["open", "done", "cancelled"] = "open"
    done_at: dt.datetime | None = None
    done_by: str | None = Field(None, max_length=120, description="Account or staff id of who did the work")
    findings: str | None = Field(None, max_length=2000)
    condition: int | None = Field(None, ge=1, le=5, description="Condition observed, code list asset_conditions")

    @model_validator(mode="after")
    def _done(self) -> MaintenanceTaskIn:
        if self.status == "done" and self.done_at is None:
            raise ValueError("a done task has done_at")
        if self.status == "open" and self.done_at is not None:
            raise ValueError("an open task has no done_at; set status done")
        return self


class BreakdownTicketIn(RecordIn):
    scheme: Ref | None = Field(None, description="The scheme; default: the component's scheme")
    component: Ref | None = Field(None, description="The component that failed, if known")
    village: Ref | None = Field(None, description="The village (or habitation) affected: id, code or LGD code")
    origin: literal("breakdown_origins") = "manual"  # type: ignore[valid-type]
    origin_ref: str | None = Field(None, max_length=200, description="The grievance, alert or assessment that "
                                   "opened the ticket; one open ticket per origin and origin_ref")
    description: str = Field(min_length=1, max_length=4000)
    reported_at: dt.datetime | None = Field(None, description="Default: when the ticket is written")
    failed_at: dt.datetime | None = Field(None, description="When the asset stopped working; default reported_at")
    state: str | None = Field(None, max_length=16, description="Read-only: the workflow state (set by transitions)")
    restored_at: dt.datetime | None = Field(None, description="Read-only: set by the restore transition")
    closed_at: dt.datetime | None = Field(None, description="Read-only: set when the case closes")

    @model_validator(mode="after")
    def _asset(self) -> BreakdownTicketIn:
        if self.scheme is None and self.component is None:
            raise ValueError("a ticket names a scheme or a component")
        return self


class PartIn(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)
    part: str = Field(min_length=1, max_length=200, description="What was fitted, e.g. 'submersible cable 4 sq mm'")
    quantity: Decimal = Field(gt=0, max_digits=12, decimal_places=3)
    unit: str | None = Field(None, max_length=16, description="nos, m, kg, L, ...")
    unit_cost_inr: Money = Field(ge=0, max_digits=14, decimal_places=2, description="Rupees per unit")


class RepairIn(RecordIn):
    ticket: Ref | None = Field(None, description="The breakdown ticket repaired")
    component: Ref | None = Field(None, description="Default: the ticket's component; required without a ticket")
    started_at: dt.datetime
    finished_at: dt.datetime | None = None
    work_done: str = Field(min_length=1, max_length=2000)
    parts: list[PartIn] = Field(default_factory=list, max_length=200)
    labour_cost_inr: Money = Field(Decimal("0"), ge=0, max_digits=14, decimal_places=2)
    agency: Ref | None = Field(None, description="Contractor, agency or SHG (entity) that did the work")
    invoice_document_ids: list[uuid.UUID] = Field(default_factory=list, max_length=50,
                                                  description="Invoices in the documents registry")

    @model_validator(mode="after")
    def _when(self) -> RepairIn:
        if self.ticket is None and self.component is None:
            raise ValueError("a repair names a ticket or a component")
        if self.finished_at is not None and self.finished_at < self.started_at:
            raise ValueError("finished_at is before started_at")
        return self


class ConditionAssessmentIn(RecordIn):
    component: Ref
    assessed_at: dt.datetime
    condition: int = Field(ge=1, le=5, description="code list asset_conditions: 1 very poor ... 5 very good")
    needs_repair: bool = False
    notes: str | None = Field(None, max_length=2000)
    photo_document_ids: list[uuid.UUID] = Field(default_factory=list, max_length=20,
                                                description="Photos in the documents registry")
    assessed_by: str | None = Field(None, max_length=120, description="Account or staff id of the assessor")
    maintenance_task: Ref | None = Field(None, description="The PM task during which it was observed")

