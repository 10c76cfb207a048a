"""The table of national code-list extensions (registry ``codelist_entries``)."""

from __future__ import annotations

from sqlalchemy import String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from jaldpi.core.models import Base, JsonType, RecordMixin


class CodelistEntry(RecordMixin, Base):
    """A code added to a shipped code list at run time, by the national node (``lgd_path`` is always ``/``).

    ``code`` is ``<codelist>:<value>``: up to 22 + 1 + 64 characters, hence wider than other registries' codes.
    """

    __tablename__ = "codelist_entries"
    __table_args__ = (UniqueConstraint("codelist", "value", name="uq_codelist_entries_codelist_value"),)

    code: Mapped[str] = mapped_column(String(128), unique=True)
    codelist: Mapped[str] = mapped_column(String(64))
    value: Mapped[str] = mapped_column(String(64))
    label: Mapped[dict[str, str]] = mapped_column(JsonType)  # {"en": ..., "hi": ...}
    description: Mapped[str | None] = mapped_column(String(1000))
