"""Tables of the workflow engine: one row per case, one append-only row per event of a case.

A case is a workflow instance about one subject record (``subject_type`` + ``subject_id``) at one place
(``lgd_path``). ``assigned_path``/``assigned_level`` say which jurisdiction is currently responsible (escalation
moves it up the LGD hierarchy). ``version`` increments on every change (optimistic concurrency, change-log
version). Domain-free: nothing here knows what a sample or a grievance is.
"""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

from sqlalchemy import Boolean, DateTime, ForeignKey, Index, Integer, String, Text, UniqueConstraint, Uuid
from sqlalchemy.orm import Mapped, mapped_column

from jaldpi.core.models import Base, JsonType, utcnow


class WorkflowCase(Base):
    __tablename__ = "workflow_cases"
    __table_args__ = (
        Index("ix_workflow_cases_subject", "subject_type", "subject_id"),
        Index("ix_workflow_cases_open_due", "closed_at", "due_at"),
        Index("ix_workflow_cases_workflow_state", "workflow", "state"),
    )

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    code: Mapped[str] = mapped_column(String(64), unique=True)
    workflow: Mapped[str] = mapped_column(String(64))
    workflow_version: Mapped[int] = mapped_column(Integer)
    state: Mapped[str] = mapped_column(String(64))
    subject_type: Mapped[str] = mapped_column(String(64))
    subject_id: Mapped[str] = mapped_column(String(64))
    lgd_path: Mapped[str] = mapped_column(String(255), index=True)
    assigned_path: Mapped[str] = mapped_column(String(255), index=True)
    assigned_level: Mapped[str] = mapped_column(String(32))
    assignee_role: Mapped[str | None] = mapped_column(String(64))
    opened_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    opened_by: Mapped[str | None] = mapped_column(String(120))
    updated_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    due_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    escalation_count: Mapped[int] = mapped_column(Integer, default=0)
    escalation_exhausted: Mapped[bool] = mapped_column(Boolean, default=False)
    closed_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    data: Mapped[dict[str, Any]] = mapped_column(JsonType, default=dict)
    version: Mapped[int] = mapped_column(Integer, default=1)


class WorkflowEvent(Base):
    __tablename__ = "workflow_events"
    __table_args__ = (UniqueConstraint("case_id", "seq", name="uq_workflow_events_case_id_seq"),)

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    case_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("workflow_cases.id"), index=True)
    seq: Mapped[int] = mapped_column(Integer)  # 1, 2, ... within the case: the event order
    at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    actor: Mapped[str] = mapped_column(String(120))
    actor_role: Mapped[str | None] = mapped_column(String(64))  # the role whose grant authorised the step
    transition: Mapped[str] = mapped_column(String(64))  # a transition name, or open / escalate / escalation_exhausted
    from_state: Mapped[str | None] = mapped_column(String(64))
    to_state: Mapped[str] = mapped_column(String(64))
    note: Mapped[str | None] = mapped_column(Text)
    data: Mapped[dict[str, Any] | None] = mapped_column(JsonType)


__all__ = ["WorkflowCase", "WorkflowEvent"]
