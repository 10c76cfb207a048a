"""Tables of the notifications domain: the outbox and staff contacts.

Neither is a registry. A message is not a record users edit, and a contact is personal data of a staff member:
both stay out of the change log, the open data and federation (docs/notifications.md, "Privacy"). Addresses (phone
numbers, email addresses) are stored AES-256-GCM encrypted (:mod:`jaldpi.notifications.addresses`), next to a
keyed hash (for look-ups and duplicate checks) and a masked form (for operators' screens).
"""

from __future__ import annotations

import datetime as dt
import uuid

from sqlalchemy import DateTime, ForeignKey, Index, Integer, LargeBinary, String, Text, UniqueConstraint, Uuid
from sqlalchemy.orm import Mapped, mapped_column

from jaldpi.core.models import Base, utcnow

OUTBOX_STATUSES = ("queued", "sent", "failed", "dead")


class NotificationOutbox(Base):
    """One message to one address, rendered when it was queued, and its delivery attempts.

    Written in the caller's unit of work (:func:`jaldpi.notifications.service.queue_message`): a grievance and the
    SMS acknowledging it commit together, or neither does. ``status``: ``queued`` (never tried), ``failed`` (tried,
    retried at ``next_attempt_at``), ``sent`` (the channel accepted it: ``provider_message_id``), ``dead`` (gave up
    after the last attempt or on a permanent refusal; an operator may retry it). While a dispatcher works on a
    message, ``claim_token`` is its token and ``next_attempt_at`` the end of its lease.
    """

    __tablename__ = "notification_outbox"
    __table_args__ = (
        Index("ix_notification_outbox_status_next_attempt_at", "status", "next_attempt_at"),
        Index("ix_notification_outbox_subject", "subject_type", "subject_id"),
    )

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    channel: Mapped[str] = mapped_column(String(32))
    address_ciphertext: Mapped[bytes] = mapped_column(LargeBinary)
    address_hash: Mapped[str] = mapped_column(String(64), index=True)
    address_masked: Mapped[str] = mapped_column(String(120))
    template: Mapped[str] = mapped_column(String(100))
    language: Mapped[str] = mapped_column(String(8))
    subject: Mapped[str | None] = mapped_column(String(300))
    body: Mapped[str] = mapped_column(Text)
    subject_type: Mapped[str | None] = mapped_column(String(64))
    subject_id: Mapped[str | None] = mapped_column(String(64))
    lgd_path: Mapped[str] = mapped_column(String(255), index=True)
    status: Mapped[str] = mapped_column(String(8), default="queued")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    last_error: Mapped[str | None] = mapped_column(String(500))
    provider_message_id: Mapped[str | None] = mapped_column(String(200))
    claim_token: Mapped[str | None] = mapped_column(String(36))
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    sent_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))


class NotificationContact(Base):
    """Where a staff account wants its notifications: one channel and address, in one language (``en`` | ``hi``).

    An account may have several (an SMS number and an email address); :func:`notify_role` queues one message per
    contact. The same address twice on one account and channel is refused (``address_hash`` is unique there).
    """

    __tablename__ = "notification_contacts"
    __table_args__ = (UniqueConstraint("account_id", "channel", "address_hash",
                                       name="uq_notification_contacts_account_channel_address"),)

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    account_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("accounts.id", ondelete="CASCADE"), index=True)
    channel: Mapped[str] = mapped_column(String(32))
    address_ciphertext: Mapped[bytes] = mapped_column(LargeBinary)
    address_hash: Mapped[str] = mapped_column(String(64))
    address_masked: Mapped[str] = mapped_column(String(120))
    language: Mapped[str] = mapped_column(String(8), default="en")
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
