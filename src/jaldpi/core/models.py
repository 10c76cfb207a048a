"""Declarative base, naming convention and the columns every registry record shares."""

from __future__ import annotations

import datetime as dt
import uuid

from sqlalchemy import JSON, BigInteger, DateTime, Integer, MetaData, String, UniqueConstraint, Uuid
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

# JSON everywhere, JSONB on PostgreSQL (indexable, compact).
JsonType = JSON().with_variant(JSONB(), "postgresql")
# SQLite only auto-increments INTEGER PRIMARY KEY; PostgreSQL wants BIGINT for logs that grow without bound.
BigIntPK = BigInteger().with_variant(Integer(), "sqlite")


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def aware(value: dt.datetime | None) -> dt.datetime | None:
    """A datetime read from a timezone-aware column, made aware: SQLite hands back naive values, stored in UTC;
    PostgreSQL's (aware, in the session's time zone) are returned as they are. None stays None."""
    return value.replace(tzinfo=dt.UTC) if value is not None and value.tzinfo is None else value


def as_utc(value: dt.datetime | None) -> dt.datetime | None:
    """Like :func:`aware`, and expressed in UTC (for output and for keys that must compare as text)."""
    return value if value is None else aware(value).astimezone(dt.UTC)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


class RecordMixin:
    """Columns of every registry record.

    ``lgd_path`` is the jurisdiction path of the record (see :mod:`jaldpi.core.jurisdiction`): every scoped query
    filters on its prefix. ``version`` starts at 1 and increments on every change; updates may state the version
    they were based on and are refused with ``version_conflict`` when it moved.
    """

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    code: Mapped[str] = mapped_column(String(64), unique=True)
    version: Mapped[int] = mapped_column(Integer, default=1)
    lgd_path: Mapped[str] = mapped_column(String(255), index=True)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    created_by: Mapped[str | None] = mapped_column(String(120))
    updated_by: Mapped[str | None] = mapped_column(String(120))
    source_system: Mapped[str | None] = mapped_column(String(120))
    deleted_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True), default=None)


RECORD_COLUMNS = ("id", "code", "version", "lgd_path", "created_at", "updated_at", "created_by", "updated_by",
                  "source_system", "deleted_at")


class ExternalIdentifier(Base):
    """Identifiers other systems give a record: national MIS scheme id, WQMIS ids, Census codes, a state's ids.

    One row per (record, system); a value is unique within its record type and system, so a lookup by external id
    finds exactly one record.
    """

    __tablename__ = "external_ids"
    __table_args__ = (UniqueConstraint("record_type", "system", "value", name="uq_external_ids_type_system_value"),)

    record_type: Mapped[str] = mapped_column(String(64), primary_key=True)
    record_id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    system: Mapped[str] = mapped_column(String(64), primary_key=True)
    value: Mapped[str] = mapped_column(String(200))
