"""The complainant's personal data and the tracking PIN, kept apart from the grievance record.

Reuses the household store's scheme (:mod:`jaldpi.people.personal_data`): AES-256-GCM under
``settings.pii_encryption_key`` with the grievance id as associated data (a ciphertext cannot be moved to another
grievance), keyed hashes (HMAC-SHA256 under ``settings.identity_hash_key``) instead of clear values where only
matching is needed, masking for callers without ``pii:read`` in the grievance's place, and every clear read logged in
``personal_data_access_log``.

The store is the registry's :class:`~jaldpi.core.registry.PrivateStore` for the fields ``complainant_name`` and
``complainant_phone``: they are never columns of ``grievances``, never in the change log (which records only that
they changed), the public view, open data or federation.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
import uuid
from collections.abc import Sequence
from typing import Any

from sqlalchemy import insert, select, update
from sqlalchemy.orm import Session

from jaldpi.core.models import utcnow
from jaldpi.core.security import Principal
from jaldpi.grievances.models import GrievanceContact
from jaldpi.people.models import PersonalDataAccess
from jaldpi.people.personal_data import PII_PERMISSION, HouseholdPersonalStore, mask_name, mask_phone

PERSONAL_FIELDS = frozenset({"complainant_name", "complainant_phone"})
PIN_DIGITS = 6
# Indian mobile numbers (TRAI national numbering plan: 10 digits, first digit 6-9) written with or without +91, 91
# or 0 in front; other numbers are kept as their digits (E.164 allows 8 to 15).
_INDIAN_MOBILE = re.compile(r"^(?:\+?91|0)?([6-9]\d{9})$")
_E164 = re.compile(r"^\+?(\d{8,15})$")


def normalise_phone(value: str | None) -> str | None:
    """The canonical form of a phone number (10 digits for an Indian mobile, else its digits), or None if it is not
    a phone number. Spaces, hyphens, dots and brackets are ignored."""
    if value is None:
        return None
    compact = re.sub(r"[\s\-().]", "", str(value))
    m = _INDIAN_MOBILE.match(compact)
    if m:
        return m.group(1)
    m = _E164.match(compact)
    return m.group(1) if m else None


def new_pin() -> str:
    """A random 6-digit PIN (``secrets``: a CSPRNG), leading zeros kept."""
    return f"{secrets.randbelow(10 ** PIN_DIGITS):0{PIN_DIGITS}d}"


class GrievanceContactStore:
    """PrivateStore of the ``grievances`` registry, plus the PIN and the phone matching the service needs."""

    fields = PERSONAL_FIELDS

    def __init__(self, encryption_key: str, identity_key: str) -> None:
        self._box = HouseholdPersonalStore(encryption_key, identity_key)  # same AES-GCM layout and key checks
        self._key = identity_key.encode()

    # ------------------------------------------------------------------ keyed hashes
    def phone_hash(self, phone: str) -> str:
        return hmac.new(self._key, b"grievance-phone:" + phone.encode(), hashlib.sha256).hexdigest()

    def pin_hash(self, grievance_id: uuid.UUID, pin: str) -> str:
        return hmac.new(self._key, b"grievance-pin:" + grievance_id.bytes + pin.encode(), hashlib.sha256).hexdigest()

    # ------------------------------------------------------------------ PrivateStore
    @staticmethod
    def is_masked(value: Any) -> bool:
        return HouseholdPersonalStore.is_masked(value)

    def _current(self, session: Session, ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, dict[str, Any]]:
        t = GrievanceContact.__table__
        out: dict[uuid.UUID, dict[str, Any]] = {}
        ids = list(ids)
        for i in range(0, len(ids), 5000):
            for gid, blob in session.execute(select(t.c.grievance_id, t.c.ciphertext)
                                             .where(t.c.grievance_id.in_(ids[i:i + 5000]))):
                out[gid] = self._box.decrypt(gid, blob) if blob else {}
        return out

    def changed(self, session: Session, values: dict[uuid.UUID, dict[str, Any]]) -> dict[uuid.UUID, list[str]]:
        current = self._current(session, list(values))
        return {gid: sorted(k for k, v in given.items() if _clean(k, v) != current.get(gid, {}).get(k))
                for gid, given in values.items()}

    def write(self, session: Session, values: dict[uuid.UUID, dict[str, Any]], principal: Principal,
              created: frozenset[uuid.UUID] | set[uuid.UUID] = frozenset()) -> None:
        t = GrievanceContact.__table__
        existing = {gid for (gid,) in session.execute(select(t.c.grievance_id)
                                                      .where(t.c.grievance_id.in_(list(values))))}
        current = self._current(session, [g for g in values if g in existing])
        now = utcnow()
        for gid, given in values.items():
            clear = {**current.get(gid, {}), **{k: _clean(k, v) for k, v in given.items()}}
            clear = {k: v for k, v in clear.items() if v}
            row = {"ciphertext": self._box.encrypt(gid, clear) if clear else None,
                   "phone_hash": self.phone_hash(clear["complainant_phone"]) if clear.get("complainant_phone")
                   else None, "updated_at": now}
            if gid in existing:
                session.execute(update(t).where(t.c.grievance_id == gid).values(**row))
            else:
                session.execute(insert(t).values(grievance_id=gid, pin_hash=None, failed_pin_attempts=0, **row))

    def read(self, session: Session, ids: Sequence[uuid.UUID], principal: Principal,
             paths: dict[uuid.UUID, str]) -> dict[uuid.UUID, dict[str, Any]]:
        out: dict[uuid.UUID, dict[str, Any]] = {}
        clear_ids: list[str] = []
        for gid, data in self._current(session, ids).items():
            name, phone = data.get("complainant_name"), data.get("complainant_phone")
            if not (name or phone):
                continue
            if principal.can(PII_PERMISSION, paths[gid]):
                clear_ids.append(str(gid))
                out[gid] = {"complainant_name": name, "complainant_phone": phone}
            else:
                out[gid] = {"complainant_name": mask_name(name) if name else None,
                            "complainant_phone": mask_phone(phone) if phone else None}
        if clear_ids:
            _log_access(session, principal, clear_ids)
        return out

    # ------------------------------------------------------------------ service helpers
    def contact(self, session: Session, grievance_id: uuid.UUID) -> dict[str, Any]:
        """The clear name and phone of one grievance, for the service that replies to the complainant (no log:
        no person reads it, a message is sent)."""
        return self._current(session, [grievance_id]).get(grievance_id, {})

    def set_pin(self, session: Session, grievance_id: uuid.UUID, pin: str) -> None:
        t = GrievanceContact.__table__
        digest = self.pin_hash(grievance_id, pin)
        done = session.execute(update(t).where(t.c.grievance_id == grievance_id)
                               .values(pin_hash=digest, failed_pin_attempts=0, updated_at=utcnow()))
        if done.rowcount == 0:
            session.execute(insert(t).values(grievance_id=grievance_id, ciphertext=None, phone_hash=None,
                                             pin_hash=digest, failed_pin_attempts=0, updated_at=utcnow()))

    def check_pin(self, session: Session, grievance_id: uuid.UUID, pin: str) -> tuple[bool, int]:
        """(PIN right, failed attempts so far). Constant-time comparison."""
        t = GrievanceContact.__table__
        row = session.execute(select(t.c.pin_hash, t.c.failed_pin_attempts)
                              .where(t.c.grievance_id == grievance_id)).first()
        if row is None or row.pin_hash is None:
            return False, 0
        return hmac.compare_digest(row.pin_hash, self.pin_hash(grievance_id, str(pin))), row.failed_pin_attempts

    @staticmethod
    def count_failure_after_rollback(session: Session, grievance_id: uuid.UUID) -> None:
        """Count a wrong PIN. The request that carried it fails and rolls back, so the count is written in a unit
        of work of its own once that rollback has released the database (SQLite allows one writer at a time)."""
        from sqlalchemy import event

        database = session.info["database"]

        def _count(_session: Session) -> None:
            t = GrievanceContact.__table__
            with database.unit_of_work() as own:
                own.execute(update(t).where(t.c.grievance_id == grievance_id)
                            .values(failed_pin_attempts=t.c.failed_pin_attempts + 1))

        event.listen(session, "after_rollback", _count, once=True)

    def sender_matches(self, session: Session, grievance_id: uuid.UUID, phone: str) -> bool:
        t = GrievanceContact.__table__
        stored = session.execute(select(t.c.phone_hash).where(t.c.grievance_id == grievance_id)).scalar_one_or_none()
        return stored is not None and hmac.compare_digest(stored, self.phone_hash(phone))


def _clean(name: str, value: Any) -> Any:
    if value in (None, ""):
        return None
    if name == "complainant_phone":
        return normalise_phone(value) or str(value)
    return str(value).strip()


def _log_access(session: Session, principal: Principal, ids: list[str]) -> None:
    row = {"at": utcnow(), "actor": principal.subject, "record_type": "grievances", "record_ids": ids,
           "record_count": len(ids)}
    if session.info.get("write"):
        session.execute(insert(PersonalDataAccess.__table__), [row])
        return
    with session.info["database"].unit_of_work() as log_session:  # a read-only unit rolls back: log apart
        log_session.execute(insert(PersonalDataAccess.__table__), [row])
