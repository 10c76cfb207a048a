"""Tables of the documents domain: one registry table of document metadata; the bytes live in the blob store."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

from sqlalchemy import BigInteger, Boolean, DateTime, Float, ForeignKey, Index, String, Uuid
from sqlalchemy.orm import Mapped, mapped_column

from jaldpi.core.models import Base, JsonType, RecordMixin


class Document(RecordMixin, Base):
    """A document's metadata. ``sha256`` names its bytes in the content-addressed blob store (storage.py): a record
    may point only at stored content, and the same bytes are stored once however many records point at them."""

    __tablename__ = "documents"
    __table_args__ = (Index("ix_documents_subject", "subject_type", "subject_id"),)

    document_type: Mapped[str] = mapped_column(String(32), index=True)
    title: Mapped[str | None] = mapped_column(String(200))
    filename: Mapped[str] = mapped_column(String(255))
    media_type: Mapped[str] = mapped_column(String(127))
    size_bytes: Mapped[int] = mapped_column(BigInteger)
    sha256: Mapped[str] = mapped_column(String(64), index=True)
    admin_unit_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("admin_units.id"), index=True)
    captured_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    lon: Mapped[float | None] = mapped_column(Float)
    lat: Mapped[float | None] = mapped_column(Float)
    subject_type: Mapped[str | None] = mapped_column(String(64))
    subject_id: Mapped[str | None] = mapped_column(String(64))
    public: Mapped[bool] = mapped_column(Boolean, default=False)
    attributes: Mapped[dict[str, Any]] = mapped_column(JsonType, default=dict)
