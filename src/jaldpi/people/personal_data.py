"""The personal-data store of households: encryption at rest, keyed identity hashes, masking, access log."""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import uuid
from collections.abc import Sequence
from typing import Any

import orjson
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from sqlalchemy import insert, select
from sqlalchemy.orm import Session

from jaldpi.core.bulkio import bulk_insert
from jaldpi.core.models import utcnow
from jaldpi.core.security import Principal
from jaldpi.people.models import HouseholdPersonalData, PersonalDataAccess
from jaldpi.people.schemas import PERSONAL_FIELDS

PII_PERMISSION = "pii:read"


def mask_name(name: str) -> str:
    return " ".join(p[0] + "*" * (len(p) - 1) for p in name.split())


def mask_phone(phone: str) -> str:
    return "X" * (len(phone) - 2) + phone[-2:]


class HouseholdPersonalStore:
    fields = PERSONAL_FIELDS

    def __init__(self, encryption_key: str, identity_key: str) -> None:
        key = base64.urlsafe_b64decode(encryption_key.encode())
        if len(key) != 32:
            raise ValueError("JALDPI_PII_ENCRYPTION_KEY must be 32 bytes, urlsafe base64 encoded")
        self.aead = AESGCM(key)
        self.identity_key = identity_key.encode()

    def identity_hash(self, aadhaar: str) -> str:
        return hmac.new(self.identity_key, aadhaar.encode(), hashlib.sha256).hexdigest()

    def encrypt(self, household_id: uuid.UUID, clear: dict[str, Any]) -> bytes:
        """AES-256-GCM; the household id is the associated data, so a ciphertext cannot be moved to another row.

        Layout: version byte 1, 12-byte random nonce, ciphertext with its 16-byte tag.
        """
        nonce = os.urandom(12)
        return b"\x01" + nonce + self.aead.encrypt(nonce, orjson.dumps(clear), household_id.bytes)

    def decrypt(self, household_id: uuid.UUID, blob: bytes) -> dict[str, Any]:
        try:
            if blob[:1] != b"\x01":
                raise InvalidTag
            return orjson.loads(self.aead.decrypt(blob[1:13], blob[13:], household_id.bytes))
        except InvalidTag:
            return {"_error": "undecryptable with this node's key (or moved from another record)"}

    @staticmethod
    def is_masked(value: Any) -> bool:
        """A value as shown masked by :meth:`read` (sent back by a client that read it): not data."""
        return isinstance(value, str) and ("XXXX" in value or "*" in value)

    def _current(self, session: Session,
                 ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, tuple[dict[str, Any], str | None]]:
        table = HouseholdPersonalData.__table__
        ids = list(ids)
        current: dict[uuid.UUID, tuple[dict[str, Any], str | None]] = {}
        for i in range(0, len(ids), 5000):
            chunk = ids[i:i + 5000]
            for hid, blob, ihash in session.execute(
                    select(table.c.household_id, table.c.ciphertext, table.c.identity_hash)
                    .where(table.c.household_id.in_(chunk))):
                current[hid] = (self.decrypt(hid, blob), ihash)
        return current

    def changed(self, session: Session, values: dict[uuid.UUID, dict[str, Any]]) -> dict[uuid.UUID, list[str]]:
        """Names of the given fields whose value differs from the stored one (so a re-send is a no-op)."""
        current = self._current(session, list(values))
        out: dict[uuid.UUID, list[str]] = {}
        for hid, given in values.items():
            clear, ihash = current.get(hid, ({}, None))
            names = []
            for name, value in given.items():
                if name == "aadhaar":
                    if (self.identity_hash(value) if value else None) != ihash:
                        names.append(name)
                elif clear.get(name) != value:
                    names.append(name)
            out[hid] = sorted(names)
        return out

    def write(self, session: Session, values: dict[uuid.UUID, dict[str, Any]], principal: Principal,
              created: frozenset[uuid.UUID] | set[uuid.UUID] = frozenset()) -> None:
        table = HouseholdPersonalData.__table__
        # records created in this import have no stored personal data yet: no need to look it up
        current = self._current(session, [h for h in values if h not in created])
        now = utcnow()
        rows, replaced = [], []
        for hid, given in values.items():
            clear, ihash = current.get(hid, ({}, None))
            clear = dict(clear)
            for name, value in given.items():
                if name == "aadhaar":
                    ihash = self.identity_hash(value) if value else None
                    clear["aadhaar_last4"] = value[-4:] if value else None
                else:
                    clear[name] = value
            rows.append({"household_id": hid, "ciphertext": self.encrypt(hid, clear),
                         "identity_hash": ihash, "updated_at": now})
            if hid in current:
                replaced.append(hid)
        for i in range(0, len(replaced), 5000):
            session.execute(table.delete().where(table.c.household_id.in_(replaced[i:i + 5000])))
        bulk_insert(session, table, rows)

    def read(self, session: Session, ids: Sequence[uuid.UUID], principal: Principal,
             paths: dict[uuid.UUID, str]) -> dict[uuid.UUID, dict[str, Any]]:
        table = HouseholdPersonalData.__table__
        out: dict[uuid.UUID, dict[str, Any]] = {}
        clear_ids: list[str] = []
        for i in range(0, len(ids), 5000):
            chunk = list(ids[i:i + 5000])
            for hid, blob in session.execute(select(table.c.household_id, table.c.ciphertext)
                                             .where(table.c.household_id.in_(chunk))):
                data = self.decrypt(hid, blob)
                last4 = data.get("aadhaar_last4")
                shown = {"head_name": data.get("head_name"), "phone": data.get("phone"),
                         "ration_card": data.get("ration_card"),
                         "aadhaar": f"XXXX XXXX {last4}" if last4 else None}
                if principal.can(PII_PERMISSION, paths[hid]):
                    clear_ids.append(str(hid))
                else:
                    shown = {"head_name": mask_name(shown["head_name"]) if shown["head_name"] else None,
                             "phone": mask_phone(shown["phone"]) if shown["phone"] else None,
                             "ration_card": "XXXX" if shown["ration_card"] else None,
                             "aadhaar": "XXXX XXXX XXXX" if last4 else None}
                out[hid] = shown
        if clear_ids:
            self._log(session, principal, clear_ids)
        return out

    def _log(self, session: Session, principal: Principal, ids: list[str]) -> None:
        row = {"at": utcnow(), "actor": principal.subject, "record_type": "households", "record_ids": ids,
               "record_count": len(ids)}
        if session.info.get("write"):
            session.execute(insert(PersonalDataAccess.__table__), [row])
            return
        # A read-only unit of work rolls back: the access log is written in its own committed transaction, before
        # the data is returned, so no clear read goes unlogged.
        database = session.info["database"]
        with database.unit_of_work() as log_session:
            log_session.execute(insert(PersonalDataAccess.__table__), [row])
