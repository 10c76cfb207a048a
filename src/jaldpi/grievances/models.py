"""Tables of the grievances domain.

* ``grievances``: the registry record (no personal data): where, what, by which channel, and a mirror of the workflow
  case's state and assignment so that lists, filters, open data and the change feed need no join.
* ``grievance_contacts``: the complainant's name and phone, encrypted (AES-256-GCM, the grievance id as associated
  data), a keyed hash of the phone to match SMS senders, and the keyed hash of the tracking PIN.
* ``grievance_inbound_messages``: one row per SMS gateway message id, so a gateway's retry is answered once.
"""

from __future__ import annotations

import datetime as dt
import uuid

from sqlalchemy import DateTime, Float, ForeignKey, Integer, LargeBinary, String, Text, Uuid
from sqlalchemy.orm import Mapped, mapped_column

from jaldpi.core.models import Base, JsonType, RecordMixin, utcnow


class Grievance(RecordMixin, Base):
    """A citizen's complaint about water supply. ``code`` is the reference number the citizen tracks it by."""

    __tablename__ = "grievances"

    village_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("admin_units.id"), index=True)
    habitation_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, ForeignKey("admin_units.id"))
    scheme_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, ForeignKey("schemes.id"), index=True)
    component_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, ForeignKey("components.id"), index=True)
    category: Mapped[str] = mapped_column(String(32), index=True)
    description: Mapped[str] = mapped_column(Text)
    channel: Mapped[str] = mapped_column(String(16), index=True)
    language: Mapped[str] = mapped_column(String(2), default="en")
    longitude: Mapped[float | None] = mapped_column(Float)
    latitude: Mapped[float | None] = mapped_column(Float)
    # mirror of the workflow case, written only by the grievance workflow (system:grievances)
    status: Mapped[str | None] = mapped_column(String(24), index=True)
    routed_to_role: Mapped[str | None] = mapped_column(String(40))
    routed_to_path: Mapped[str | None] = mapped_column(String(255), index=True)
    submitted_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True), index=True)
    due_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    resolved_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    confirmed_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    closed_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    reopen_count: Mapped[int] = mapped_column(Integer, default=0)
    escalation_count: Mapped[int] = mapped_column(Integer, default=0)
    resolution_note: Mapped[str | None] = mapped_column(Text)
    rejection_reason: Mapped[str | None] = mapped_column(Text)
    breakdown_ticket: Mapped[str | None] = mapped_column(String(64))


class GrievanceContact(Base):
    """The complainant's personal data and the tracking PIN, apart from the record (docs/grievances.md, Privacy).

    ``ciphertext``: AES-256-GCM of ``{"name", "phone"}`` (null when the complainant left neither); ``phone_hash``:
    HMAC-SHA256 of the normalised phone under the node's identity key (finds the sender of an SMS without storing
    the number in clear); ``pin_hash``: HMAC-SHA256 of the PIN with the grievance id, under the same key.
    """

    __tablename__ = "grievance_contacts"

    grievance_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("grievances.id"), primary_key=True)
    ciphertext: Mapped[bytes | None] = mapped_column(LargeBinary)
    phone_hash: Mapped[str | None] = mapped_column(String(64), index=True)
    pin_hash: Mapped[str | None] = mapped_column(String(64))
    failed_pin_attempts: Mapped[int] = mapped_column(Integer, default=0)
    updated_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class GrievanceInboundMessage(Base):
    """An SMS received from the gateway, by its message id: never the text or the number (only the sender's hash)."""

    __tablename__ = "grievance_inbound_messages"

    message_id: Mapped[str] = mapped_column(String(120), primary_key=True)
    received_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow, index=True)
    sender_hash: Mapped[str] = mapped_column(String(64))
    command: Mapped[str] = mapped_column(String(16))
    outcome: Mapped[str] = mapped_column(String(32))
    grievance_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, ForeignKey("grievances.id"))
    details: Mapped[dict | None] = mapped_column(JsonType)
