from __future__ import annotations

import datetime as dt
import uuid

from sqlalchemy import Boolean, DateTime, ForeignKey, String, Uuid
from sqlalchemy.orm import Mapped, mapped_column, relationship

from jaldpi.core.models import Base, utcnow


class Account(Base):
    """A person (password grant) or a partner system (client credentials)."""

    __tablename__ = "accounts"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    username: Mapped[str] = mapped_column(String(120), unique=True)
    kind: Mapped[str] = mapped_column(String(16))  # person | system
    display_name: Mapped[str] = mapped_column(String(200))
    secret_hash: Mapped[str] = mapped_column(String(200))
    source_system: Mapped[str | None] = mapped_column(String(120))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    grants: Mapped[list["AccountGrant"]] = relationship(back_populates="account", cascade="all, delete-orphan",
                                                        lazy="selectin")


class AccountGrant(Base):
    """One role over one LGD subtree (``lgd_path`` prefix; ``/`` for the whole country)."""

    __tablename__ = "account_grants"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    account_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("accounts.id", ondelete="CASCADE"), index=True)
    role: Mapped[str] = mapped_column(String(40))
    lgd_path: Mapped[str] = mapped_column(String(255), index=True)
    account: Mapped[Account] = relationship(back_populates="grants")
