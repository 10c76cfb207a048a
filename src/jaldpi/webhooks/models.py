"""Tables of the webhooks slice: subscriptions and their delivery log (which doubles as the dead-letter list).

A subscription's ``cursor_seq`` is the change-log sequence number up to which its events have been handled
(delivered, or handed to the retry/dead-letter machinery as a ``webhook_deliveries`` row). It moves in the same
transaction that writes the delivery row, so a crash never loses an event nor marks one twice.
"""

from __future__ import annotations

import datetime as dt
import uuid

from sqlalchemy import BigInteger, Boolean, DateTime, ForeignKey, Index, Integer, LargeBinary, String, Uuid
from sqlalchemy.orm import Mapped, mapped_column

from jaldpi.core.models import Base, JsonType, utcnow


class WebhookSubscription(Base):
    """One partner endpoint: which events (``record_type.operation`` patterns) within which jurisdiction.

    ``owner`` is the account username (the token subject) that created it; deliveries are scoped by that account's
    grants at delivery time, and an inactive account pauses the subscription. The shared secret is stored
    AES-256-GCM encrypted (:mod:`jaldpi.webhooks.service`); ``leased_until``/``lease_token`` let one dispatcher at a
    time work on the subscription without holding a database transaction open across HTTP calls.
    """

    __tablename__ = "webhook_subscriptions"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    owner: Mapped[str] = mapped_column(String(120), index=True)
    url: Mapped[str] = mapped_column(String(2048))
    event_types: Mapped[list[str]] = mapped_column(JsonType)
    within_path: Mapped[str] = mapped_column(String(255), index=True)
    description: Mapped[str | None] = mapped_column(String(500))
    secret_ciphertext: Mapped[bytes] = mapped_column(LargeBinary)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    cursor_seq: Mapped[int] = mapped_column(BigInteger, default=0)
    leased_until: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    lease_token: Mapped[str | None] = mapped_column(String(36))
    paused_reason: Mapped[str | None] = mapped_column(String(200))
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class WebhookDelivery(Base):
    """One event (or ping) sent to one subscription, with its attempts.

    ``status``: ``delivered`` (a 2xx answer), ``failed`` (being retried: ``next_attempt_at`` says when),
    ``dead`` (gave up after the last attempt: the dead-letter list), ``cancelled`` (a pending retry superseded by a
    replay that re-delivers the same event). ``seq`` is the change-log entry (null for a ping).
    """

    __tablename__ = "webhook_deliveries"
    __table_args__ = (Index("ix_webhook_deliveries_subscription_status_seq", "subscription_id", "status", "seq"),)

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    subscription_id: Mapped[uuid.UUID] = mapped_column(
        Uuid, ForeignKey("webhook_subscriptions.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(8))  # event | ping
    seq: Mapped[int | None] = mapped_column(BigInteger)
    event_id: Mapped[str] = mapped_column(String(200))
    event_type: Mapped[str] = mapped_column(String(100))
    status: Mapped[str] = mapped_column(String(12))
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    last_attempt_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    last_status_code: Mapped[int | None] = mapped_column(Integer)
    last_error: Mapped[str | None] = mapped_column(String(500))
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    delivered_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
