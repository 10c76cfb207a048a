"""Who owns a record, and the guard that refuses local changes to records another node owns.

A record's owner follows its LGD jurisdiction (:mod:`policy`): a state node owns the records under its state's path;
the national node owns the national directories (LGD units, code lists) and every record of a state that runs no
node of its own. Each node holds replicas of what others own and may change only what it owns, so there is exactly
one source of truth per record and a change arriving from the wrong node is refused.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from jaldpi.federation.models import FederationPeer
from jaldpi.federation.policy import NATIONAL, FederationPolicy

ROLES = ("standalone", "state", "national")


def normalise_jurisdiction(value: str | None) -> str:
    """``"S28"``, ``"/S28/"`` or ``"/S28"`` -> ``"/S28/"``; empty -> ``"/"``."""
    if not value or value.strip() in ("", "/"):
        return "/"
    parts = [p for p in value.strip().split("/") if p]
    return "/" + "/".join(parts) + "/"


@dataclass(frozen=True)
class Topology:
    """This node and the peers it knows, as seen from this node."""

    self_id: str
    role: str  # standalone | state | national
    jurisdiction: str  # path prefix this node owns ("/" for national)
    peers: tuple[tuple[str, str, str], ...]  # (node_id, role, jurisdiction)

    @property
    def federated(self) -> bool:
        return self.role != "standalone"

    @property
    def national_id(self) -> str | None:
        if self.role == "national":
            return self.self_id
        return next((node for node, role, _ in self.peers if role == "national"), None)

    def state_nodes(self) -> list[tuple[str, str]]:
        """(node id, path prefix) of every state node known here, this one included."""
        nodes = [(node, path) for node, role, path in self.peers if role == "state"]
        if self.role == "state":
            nodes.append((self.self_id, self.jurisdiction))
        return nodes

    def owner(self, policy: FederationPolicy, record_type: str, path: str,
              record: dict[str, Any] | None = None) -> str | None:
        """The node id that owns this record; None when the record type is not exchanged (it is simply local)."""
        entry = policy.of(record_type)
        if entry is None:
            return None
        national = self.national_id or "national"
        if entry.owner_kind(record) == NATIONAL:
            return national
        best: tuple[int, str] | None = None
        for node, prefix in self.state_nodes():
            if path.startswith(prefix) and (best is None or len(prefix) > best[0]):
                best = (len(prefix), node)
        return best[1] if best else national


def load_topology(session: Session, settings) -> Topology:
    peers = session.execute(select(FederationPeer.node_id, FederationPeer.role, FederationPeer.jurisdiction)
                            .where(FederationPeer.active.is_(True))).all()
    role = settings.federation_role
    jurisdiction = "/" if role == "national" else normalise_jurisdiction(settings.federation_jurisdiction)
    return Topology(settings.node_id, role, jurisdiction, tuple((p[0], p[1], p[2]) for p in peers))


def make_write_guard(settings, policy: FederationPolicy
                     ) -> Callable[[Session, str], Callable[[str, dict[str, Any]], str | None] | None]:
    """The hook :class:`jaldpi.core.registry.Catalogue` calls once per import: returns a per-row check, or None.

    A standalone node (no federation) changes everything it holds. A federated node refuses a local change to a
    record another node owns, naming that node, so the user knows where to make the change.
    """

    def for_import(session: Session, record_type: str) -> Callable[[str, dict[str, Any]], str | None] | None:
        if settings.federation_role == "standalone" or policy.of(record_type) is None:
            return None
        topology = load_topology(session, settings)

        def check(path: str, row: dict[str, Any]) -> str | None:
            owner = topology.owner(policy, record_type, path, row)
            if owner is None or owner == topology.self_id:
                return None
            return (f"{record_type} at {path} is owned by node '{owner}'; change it there (this node holds a "
                    "read-only replica)")

        return check

    return for_import
