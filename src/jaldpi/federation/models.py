"""Tables of the federation: known peer nodes and their keys, sync cursors, received messages, conflicts, refusals."""

from __future__ import annotations

import datetime as dt
import uuid

from sqlalchemy import BigInteger, Boolean, DateTime, Integer, String, Text, Uuid
from sqlalchemy.orm import Mapped, mapped_column

from jaldpi.core.models import Base, BigIntPK, JsonType, utcnow


class FederationPeer(Base):
    """Another node this node exchanges with: its role, where it answers, what it owns, and its public keys."""

    __tablename__ = "federation_peers"

    node_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    role: Mapped[str] = mapped_column(String(16))  # national | state
    base_url: Mapped[str | None] = mapped_column(String(500))
    jurisdiction: Mapped[str] = mapped_column(String(255))  # LGD path prefix it owns: "/S28/"; "/" for national
    jwks: Mapped[dict] = mapped_column(JsonType)  # {"keys": [Ed25519 JWK, ...]}
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class FederationCursor(Base):
    """How far a sync has got with a peer: ``push`` = last local seq the peer acknowledged; ``pull`` = last seq of
    the peer's log that was applied here. Advanced in the same transaction as the work it records."""

    __tablename__ = "federation_cursors"

    peer_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    direction: Mapped[str] = mapped_column(String(8), primary_key=True)  # push | pull
    position: Mapped[int] = mapped_column(BigInteger, default=0)
    last_success_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    last_error: Mapped[str | None] = mapped_column(Text)
    last_error_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    changes_total: Mapped[int] = mapped_column(BigInteger, default=0)


class FederationMessage(Base):
    """Every signed message received (inbox) with the acknowledgement sent back, so a re-sent message gets the same
    answer and nothing is applied twice."""

    __tablename__ = "federation_messages"

    message_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    sender: Mapped[str] = mapped_column(String(64), index=True)
    received_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    change_count: Mapped[int] = mapped_column(Integer)
    counts: Mapped[dict] = mapped_column(JsonType)  # status -> number
    accepted_through: Mapped[int] = mapped_column(BigInteger)
    ack: Mapped[str] = mapped_column(Text)  # the signed acknowledgement (compact JWS)


class FederationConflict(Base):
    """A change that could not be applied because the record moved on here independently (different history).

    Never resolved silently: listed by ``jaldpi federation conflicts`` and ``GET /federation/v1/conflicts``; an
    operator keeps one side with ``jaldpi federation resolve``.
    """

    __tablename__ = "federation_conflicts"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    record_type: Mapped[str] = mapped_column(String(64), index=True)
    record_id: Mapped[uuid.UUID] = mapped_column(Uuid, index=True)
    sender: Mapped[str] = mapped_column(String(64))
    local_version: Mapped[int] = mapped_column(Integer)
    incoming_version: Mapped[int] = mapped_column(Integer)
    reason: Mapped[str] = mapped_column(Text)
    incoming: Mapped[dict] = mapped_column(JsonType)  # the change as received
    local: Mapped[dict | None] = mapped_column(JsonType)  # the record as it was here
    detected_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    status: Mapped[str] = mapped_column(String(16), default="open", index=True)  # open | kept_local | took_incoming
    resolved_by: Mapped[str | None] = mapped_column(String(120))
    resolved_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))


class FederationRefusal(Base):
    """A change of ours a peer refused or reported in conflict (from its signed acknowledgement), kept so that the
    owning node sees and fixes it; the sync itself moves on."""

    __tablename__ = "federation_refusals"

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    peer_id: Mapped[str] = mapped_column(String(64), index=True)
    seq: Mapped[int] = mapped_column(BigInteger)
    record_type: Mapped[str] = mapped_column(String(64))
    record_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    version: Mapped[int] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(16))  # refused | conflict
    reason: Mapped[str] = mapped_column(Text)
    at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
