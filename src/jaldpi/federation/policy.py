"""The federation policy: which record types travel between nodes, who owns them, which fields never leave.

The policy is data (``policy.json`` beside this module; a node may point ``JALDPI_FEDERATION_POLICY_FILE`` at its own
copy). It is applied twice: by the sender, before a message is signed (local fields removed, people pseudonymised),
and by the receiver, which refuses any change that still carries a local field. Record types the policy does not
list are never exchanged (deny by default), so a new registry stays on its node until someone decides otherwise.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

POLICY_FILE = Path(__file__).with_name("policy.json")

NATIONAL = "national"
JURISDICTION = "jurisdiction"


@dataclass(frozen=True)
class TypePolicy:
    record_type: str
    exchange: bool
    owner: str = JURISDICTION
    owner_by_level: dict[str, str] = field(default_factory=dict)
    local_fields: frozenset[str] = frozenset()
    reason: str = ""

    def owner_kind(self, record: dict[str, Any] | None) -> str:
        """``national`` or ``jurisdiction`` for this record (admin units: habitations belong to the state)."""
        if record and self.owner_by_level and record.get("level") in self.owner_by_level:
            return self.owner_by_level[record["level"]]
        return self.owner


@dataclass(frozen=True)
class FederationPolicy:
    version: str
    types: dict[str, TypePolicy]
    pseudonymised_fields: frozenset[str]

    @classmethod
    def load(cls, path: Path | None = None) -> "FederationPolicy":
        source = path or POLICY_FILE
        try:
            data = json.loads(Path(source).read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise ValueError(f"federation policy {source}: {exc}") from exc
        types = {}
        for name, entry in data.get("record_types", {}).items():
            owner = entry.get("owner", JURISDICTION)
            levels = dict(entry.get("owner_by_level", {}))
            for kind in (owner, *levels.values()):
                if kind not in (NATIONAL, JURISDICTION):
                    raise ValueError(f"federation policy {source}: {name}: owner must be national or jurisdiction, "
                                     f"not {kind!r}")
            types[name] = TypePolicy(name, bool(entry.get("exchange", False)), owner, levels,
                                     frozenset(entry.get("local_fields", ())), entry.get("reason", ""))
        return cls(str(data.get("version", "0")), types, frozenset(data.get("pseudonymised_fields", ())))

    def of(self, record_type: str) -> TypePolicy | None:
        entry = self.types.get(record_type)
        return entry if entry is not None and entry.exchange else None

    def exchanged(self) -> list[str]:
        return sorted(name for name, entry in self.types.items() if entry.exchange)


def pseudonym(key: str, node_id: str, person: str | None) -> str | None:
    """A stable, keyed pseudonym for a person's name or username: ``<node>:p-<12 hex>`` (HMAC-SHA256).

    The key is the node's identity-hash key, which never leaves the node, so the pseudonym cannot be reversed by a
    dictionary of usernames on the receiving side.
    """
    if person is None:
        return None
    digest = hmac.new(key.encode(), person.encode(), hashlib.sha256).hexdigest()[:12]
    return f"{node_id}:p-{digest}"


def strip_local(policy: TypePolicy, record: dict[str, Any] | None) -> dict[str, Any] | None:
    if record is None:
        return None
    return {k: v for k, v in record.items() if k not in policy.local_fields}


def local_fields_present(policy: TypePolicy, record: dict[str, Any] | None) -> list[str]:
    """Local fields carried by a received record or diff (a message that must be refused)."""
    if not record:
        return []
    return sorted(k for k in record if k in policy.local_fields)
