from __future__ import annotations

import datetime as dt
import uuid

from sqlalchemy import Boolean, Date, DateTime, ForeignKey, Integer, LargeBinary, String, Uuid
from sqlalchemy.orm import Mapped, mapped_column

from jaldpi.core.models import Base, BigIntPK, JsonType, RecordMixin, utcnow


class Household(RecordMixin, Base):
    """A household: no personal data here (see :class:`HouseholdPersonalData`)."""

    __tablename__ = "households"

    village_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("admin_units.id"), index=True)
    habitation_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, ForeignKey("admin_units.id"))
    members_count: Mapped[int] = mapped_column(Integer)
    social_category: Mapped[str | None] = mapped_column(String(16))
    has_tap_connection: Mapped[bool] = mapped_column(Boolean, default=False, index=True)
    connected_on: Mapped[dt.date | None] = mapped_column(Date)
    is_exempted: Mapped[bool] = mapped_column(Boolean, default=False)


class HouseholdPersonalData(Base):
    """Encrypted personal data of a household (AES-256-GCM, the household id as associated data).

    ``identity_hash`` is HMAC-SHA256 of the Aadhaar number under the node's identity key: it lets a node find a
    duplicate registration without ever storing the number (Aadhaar Act 2016, s. 29; UIDAI storage rules).
    """

    __tablename__ = "household_personal_data"

    household_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("households.id"), primary_key=True)
    ciphertext: Mapped[bytes] = mapped_column(LargeBinary)
    identity_hash: Mapped[str | None] = mapped_column(String(64), index=True)
    updated_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class PersonalDataAccess(Base):
    """Every read of personal data in clear: who, when, which records, through what."""

    __tablename__ = "personal_data_access_log"

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow, index=True)
    actor: Mapped[str] = mapped_column(String(120), index=True)
    record_type: Mapped[str] = mapped_column(String(64))
    record_ids: Mapped[list[str]] = mapped_column(JsonType)
    record_count: Mapped[int] = mapped_column(Integer)
