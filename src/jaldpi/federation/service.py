"""The federation engine of one node: receive and answer signed messages, push and pull, peers, conflicts, status.

Used by the HTTP routes (:mod:`router`), the command line (:mod:`cli`) and the tests. Every step that writes does
so in one unit of work together with the cursor or message record it advances, so a node killed at any moment
resumes where the last committed step ended and a re-sent message changes nothing (see docs/federation.md).
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import httpx
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from jaldpi import STANDARD_VERSION
from jaldpi.core.changelog import ChangeRecord
from jaldpi.core.db import Database
from jaldpi.core.errors import Conflict, NotFound, ValidationFailed
from jaldpi.core.models import utcnow
from jaldpi.core.registry import Catalogue
from jaldpi.core.signing import SigningKey, jwks
from jaldpi.federation import envelope, inbound, outbound
from jaldpi.federation.models import (
    FederationConflict,
    FederationCursor,
    FederationMessage,
    FederationPeer,
    FederationRefusal,
)
from jaldpi.federation.ownership import Topology, load_topology, normalise_jurisdiction
from jaldpi.federation.policy import FederationPolicy

PUSH, PULL = "push", "pull"


class SyncError(Exception):
    """A push or pull round that could not complete (peer unreachable, refused the message, deferred a change)."""


@dataclass
class RoundReport:
    peer: str
    direction: str
    messages: int = 0
    sent_or_received: int = 0
    counts: dict[str, int] = field(default_factory=dict)
    position: int = 0
    caught_up: bool = False
    problems: list[str] = field(default_factory=list)

    def add(self, counts: dict[str, int]) -> None:
        for k, v in counts.items():
            self.counts[k] = self.counts.get(k, 0) + v

    def to_dict(self) -> dict[str, Any]:
        return {"peer": self.peer, "direction": self.direction, "messages": self.messages,
                "changes": self.sent_or_received, "counts": self.counts, "position": self.position,
                "caught_up": self.caught_up, "problems": self.problems}


class Federation:
    def __init__(self, settings, db: Database, catalogue: Catalogue, key: SigningKey,
                 policy: FederationPolicy | None = None,
                 on_applied: Callable[[set[str]], None] | None = None) -> None:
        self.settings = settings
        self.db = db
        self.catalogue = catalogue
        self.key = key
        self.policy = policy or FederationPolicy.load(settings.federation_policy_file)
        self.on_applied = on_applied  # called after commit with the record types that changed (code lists...)

    @property
    def node_id(self) -> str:
        return self.settings.node_id

    def _require_federated(self) -> None:
        if self.settings.federation_role == "standalone":
            raise Conflict("this node is standalone (JALDPI_FEDERATION_ROLE); it does not exchange with other nodes",
                           code="not_federated")

    # ------------------------------------------------------------------ description and peers
    def describe(self) -> dict[str, Any]:
        role = self.settings.federation_role
        return {"node_id": self.node_id, "role": role,
                "jurisdiction": "/" if role == "national" else normalise_jurisdiction(
                    self.settings.federation_jurisdiction),
                "standard": STANDARD_VERSION, "policy_version": self.policy.version,
                "exchanged_types": self.policy.exchanged(), "jwks": jwks([self.key])}

    def add_peer(self, node_id: str, role: str, jwks_doc: dict[str, Any], *, base_url: str | None = None,
                 jurisdiction: str | None = None) -> dict[str, Any]:
        if role not in ("national", "state"):
            raise ValidationFailed(f"peer role must be national or state, not {role!r}",
                                   details=[{"field": "role", "problem": "national | state"}])
        if node_id == self.node_id:
            raise ValidationFailed("a node cannot be its own peer", details=[{"field": "node_id", "problem": node_id}])
        keys = jwks_doc.get("keys") if isinstance(jwks_doc, dict) else None
        if not keys or not all(k.get("kty") == "OKP" and k.get("crv") == "Ed25519" and k.get("x") for k in keys):
            raise ValidationFailed("peer keys must be a JWKS of Ed25519 public keys ({\"keys\": [...]})",
                                   details=[{"field": "jwks", "problem": "expected Ed25519 OKP keys"}])
        path = "/" if role == "national" else normalise_jurisdiction(jurisdiction)
        if role == "state" and path == "/":
            raise ValidationFailed("a state peer needs its jurisdiction (e.g. S28)",
                                   details=[{"field": "jurisdiction", "problem": "required for a state node"}])
        with self.db.unit_of_work() as session:
            if role == "national":
                other = session.execute(select(FederationPeer.node_id).where(
                    FederationPeer.role == "national", FederationPeer.node_id != node_id)).scalar()
                if other:
                    raise Conflict(f"node '{other}' is already registered as the national node")
            else:
                clash = session.execute(select(FederationPeer.node_id).where(
                    FederationPeer.role == "state", FederationPeer.jurisdiction == path,
                    FederationPeer.node_id != node_id)).scalar()
                if clash:
                    raise Conflict(f"node '{clash}' already owns {path}")
            peer = session.get(FederationPeer, node_id)
            if peer is None:
                peer = FederationPeer(node_id=node_id, created_at=utcnow())
                session.add(peer)
            peer.role, peer.base_url, peer.jurisdiction = role, base_url, path
            peer.jwks, peer.active, peer.updated_at = {"keys": keys}, True, utcnow()
            session.flush()
            return _peer_out(peer)

    def fetch_peer_description(self, base_url: str) -> dict[str, Any]:
        try:
            response = httpx.get(base_url.rstrip("/") + "/federation/v1/node",
                                 timeout=self.settings.federation_timeout_seconds)
        except httpx.HTTPError as exc:
            raise SyncError(f"cannot reach {base_url}: {exc}") from exc
        if response.status_code != 200:
            raise SyncError(f"{base_url}/federation/v1/node answered {response.status_code}: {response.text[:200]}")
        return response.json()

    def peers(self) -> list[dict[str, Any]]:
        with self.db.unit_of_work(write=False) as session:
            return [_peer_out(p) for p in session.execute(select(FederationPeer).order_by(FederationPeer.node_id))
                    .scalars()]

    def remove_peer(self, node_id: str) -> None:
        with self.db.unit_of_work() as session:
            peer = session.get(FederationPeer, node_id)
            if peer is None:
                raise NotFound(f"no peer '{node_id}'")
            peer.active = False
            peer.updated_at = utcnow()

    def _peer(self, session: Session, node_id: str | None) -> FederationPeer:
        if node_id is None:  # the default partner: a state node's national node
            peer = session.execute(select(FederationPeer).where(FederationPeer.role == "national",
                                                                FederationPeer.active.is_(True))).scalar()
            if peer is None:
                raise NotFound("no national peer registered (jaldpi federation peer add)")
            return peer
        peer = session.get(FederationPeer, node_id)
        if peer is None or not peer.active:
            raise NotFound(f"no active peer '{node_id}'")
        return peer

    # ------------------------------------------------------------------ receiving
    def receive(self, token: str) -> str:
        """Verify and apply a changes message from a peer; return the signed acknowledgement (idempotent)."""
        self._require_federated()
        with self.db.unit_of_work() as session:
            received = envelope.verify(session, token, receiver=self.node_id, kind=envelope.CHANGES,
                                       max_age_seconds=self.settings.federation_message_max_age_seconds)
            claims = received.claims
            message_id = str(claims.get("jti") or "")
            if not message_id:
                raise ValidationFailed("message has no id (jti)", code="malformed_message")
            seen = session.get(FederationMessage, message_id)
            if seen is not None:
                return seen.ack
            changes = claims.get("changes")
            if not isinstance(changes, list):
                raise ValidationFailed("changes message without a list of changes", code="malformed_message")
            start_after = int(claims.get("after", 0))
            topology = load_topology(session, self.settings)
            now = utcnow()
            result = inbound.apply_changes(session, self.catalogue, self.policy, topology, received.sender.node_id,
                                           changes, start_after=start_after, now=now)
            scanned = int(claims.get("scanned_through", result.accepted_through))
            deferred = any(r["status"] == inbound.DEFERRED for r in result.results)
            accepted = result.accepted_through if deferred or len(result.results) < len(changes) else max(
                scanned, result.accepted_through)
            ack = envelope.sign(self.key, self.node_id, received.sender.node_id, envelope.ACK, {
                "in_reply_to": message_id, "ingested_at": now.isoformat(), "accepted_through": accepted,
                "counts": result.counts(),
                "results": [r for r in result.results if r["status"] != inbound.APPLIED],
            })
            session.add(FederationMessage(message_id=message_id, sender=received.sender.node_id, received_at=now,
                                          change_count=len(changes), counts=result.counts(),
                                          accepted_through=accepted, ack=ack))
        self._after_apply(result.applied_types)
        return ack

    def _after_apply(self, types: set[str]) -> None:
        if types and self.on_applied is not None:
            self.on_applied(types)

    def serve_outbox(self, request_token: str, after: int, limit: int) -> str:
        """A peer's pull: verify its request token, answer with a signed message of what it should hold."""
        self._require_federated()
        limit = max(1, min(limit, self.settings.federation_batch_size * 4))
        with self.db.unit_of_work(write=False) as session:
            received = envelope.verify(session, request_token, receiver=self.node_id, kind=envelope.PULL,
                                       max_age_seconds=600)
            peer_id = received.sender.node_id
            topology = load_topology(session, self.settings)
            out = outbound.outgoing(session, self.catalogue, self.policy, topology, peer_role=received.sender.role,
                                    peer_prefix=received.sender.jurisdiction, after_seq=after, limit=limit,
                                    pseudonym_key=self.settings.identity_hash_key)
        return envelope.sign(self.key, self.node_id, peer_id, envelope.CHANGES, {
            "after": after, "scanned_through": out.scanned_through, "exhausted": out.exhausted,
            "policy": self.policy.version, "standard": STANDARD_VERSION, "changes": out.changes})

    # ------------------------------------------------------------------ sending
    def _cursor(self, session: Session, peer_id: str, direction: str) -> FederationCursor:
        cursor = session.get(FederationCursor, (peer_id, direction))
        if cursor is None:
            cursor = FederationCursor(peer_id=peer_id, direction=direction, position=0, changes_total=0)
            session.add(cursor)
            session.flush()
        return cursor

    def _note_error(self, peer_id: str, direction: str, problem: str) -> None:
        with self.db.unit_of_work() as session:
            cursor = self._cursor(session, peer_id, direction)
            cursor.last_error, cursor.last_error_at = problem[:2000], utcnow()

    def push(self, peer_id: str | None = None, *, max_messages: int | None = None,
             client: httpx.Client | None = None) -> RoundReport:
        """Send this node's changes to a peer until caught up (or ``max_messages``). Resumable at any point."""
        peer_id, peer_role, peer_prefix, base_url = self._target(peer_id, "push to")
        report = RoundReport(peer_id, PUSH)
        own = client or httpx.Client(timeout=self.settings.federation_timeout_seconds)
        try:
            while max_messages is None or report.messages < max_messages:
                with self.db.unit_of_work(write=False) as session:
                    position = self._cursor_position(session, peer_id, PUSH)
                    topology = load_topology(session, self.settings)
                    out = outbound.outgoing(session, self.catalogue, self.policy, topology, peer_role=peer_role,
                                            peer_prefix=peer_prefix, after_seq=position,
                                            limit=self.settings.federation_batch_size,
                                            pseudonym_key=self.settings.identity_hash_key)
                report.position = position
                if not out.changes:
                    if out.scanned_through > position:  # only entries the peer does not take: skip them
                        self._advance(peer_id, PUSH, position, out.scanned_through, 0, [])
                        report.position = out.scanned_through
                    if out.exhausted:
                        report.caught_up = True
                        break
                    continue
                token = envelope.sign(self.key, self.node_id, peer_id, envelope.CHANGES, {
                    "after": position, "scanned_through": out.scanned_through, "policy": self.policy.version,
                    "standard": STANDARD_VERSION, "changes": out.changes})
                ack = self._post(own, base_url, token, peer_id)
                accepted = int(ack.get("accepted_through", position))
                if accepted < position or accepted > out.scanned_through:
                    raise SyncError(f"peer '{peer_id}' acknowledged {accepted}, outside {position}..."
                                    f"{out.scanned_through}")
                problems = [r for r in ack.get("results", []) if r.get("status") in (inbound.REFUSED,
                                                                                     inbound.CONFLICT)]
                self._advance(peer_id, PUSH, position, accepted, ack.get("counts", {}).get(inbound.APPLIED, 0),
                              problems)
                report.messages += 1
                report.sent_or_received += sum(1 for c in out.changes if c["seq"] <= accepted)
                report.add(ack.get("counts", {}))
                report.position = accepted
                report.problems += [f"seq {r['seq']} {r['record_type']} {r['record_id']}: {r['status']}: "
                                    f"{r.get('reason')}" for r in problems]
                deferred = [r for r in ack.get("results", []) if r.get("status") == inbound.DEFERRED]
                if deferred:
                    problem = f"peer deferred seq {deferred[0]['seq']}: {deferred[0].get('reason')}"
                    report.problems.append(problem)
                    self._note_error(peer_id, PUSH, problem)
                    break
        except (httpx.HTTPError, SyncError) as exc:
            self._note_error(peer_id, PUSH, str(exc))
            raise SyncError(str(exc)) from exc
        finally:
            if client is None:
                own.close()
        return report

    def _target(self, peer_id: str | None, verb: str) -> tuple[str, str, str, str]:
        """(node id, role, jurisdiction, base URL) of the peer a push or pull talks to."""
        self._require_federated()
        with self.db.unit_of_work(write=False) as session:
            peer = self._peer(session, peer_id)
            target = (peer.node_id, peer.role, peer.jurisdiction, peer.base_url)
        if not target[3]:
            raise SyncError(f"peer '{target[0]}' has no base URL to {verb}")
        return target

    @staticmethod
    def _keep_refusals(session: Session, peer_id: str, results: list[dict[str, Any]]) -> None:
        """Changes a peer refused or reported in conflict (or that we refused from it), kept for the operators."""
        for r in results:
            if r.get("status") not in (inbound.REFUSED, inbound.CONFLICT):
                continue
            session.add(FederationRefusal(
                peer_id=peer_id, seq=int(r["seq"]) if isinstance(r.get("seq"), int) else 0,
                record_type=str(r["record_type"]), record_id=uuid.UUID(str(r["record_id"])),
                version=int(r["version"] or 0), status=r["status"], reason=str(r.get("reason")), at=utcnow()))

    def _cursor_position(self, session: Session, peer_id: str, direction: str) -> int:
        cursor = session.get(FederationCursor, (peer_id, direction))
        return cursor.position if cursor is not None else 0

    def _advance(self, peer_id: str, direction: str, expected: int, position: int, applied: int,
                 problems: list[dict[str, Any]]) -> None:
        """Move a cursor forward (and keep refusals) in one transaction; refuse if someone else moved it."""
        with self.db.unit_of_work() as session:
            cursor = self._cursor(session, peer_id, direction)
            if cursor.position != expected:
                raise SyncError(f"{direction} cursor for '{peer_id}' moved from {expected} to {cursor.position} "
                                "meanwhile (two syncs at once?); this round stops")
            cursor.position = position
            cursor.last_success_at = utcnow()
            cursor.last_error = None
            cursor.changes_total = (cursor.changes_total or 0) + applied
            self._keep_refusals(session, peer_id, problems)

    def _post(self, client: httpx.Client, base_url: str, token: str, peer_id: str) -> dict[str, Any]:
        response = client.post(base_url.rstrip("/") + "/federation/v1/inbox", content=token,
                               headers={"Content-Type": "application/jose"})
        if response.status_code != 200:
            raise SyncError(f"peer '{peer_id}' refused the message: HTTP {response.status_code} {response.text[:300]}")
        ack_token = response.json().get("ack", "")
        with self.db.unit_of_work(write=False) as session:
            verified = envelope.verify(session, ack_token, receiver=self.node_id, kind=envelope.ACK,
                                       max_age_seconds=self.settings.federation_message_max_age_seconds,
                                       expected_sender=peer_id)
        return verified.claims

    def pull(self, peer_id: str | None = None, *, max_messages: int | None = None,
             client: httpx.Client | None = None) -> RoundReport:
        """Fetch and apply what a peer owns and this node should hold (national directories, code lists)."""
        peer_id, _role, _prefix, base_url = self._target(peer_id, "pull from")
        report = RoundReport(peer_id, PULL)
        own = client or httpx.Client(timeout=self.settings.federation_timeout_seconds)
        try:
            while max_messages is None or report.messages < max_messages:
                with self.db.unit_of_work(write=False) as session:
                    position = self._cursor_position(session, peer_id, PULL)
                request = envelope.sign(self.key, self.node_id, peer_id, envelope.PULL, {"after": position},
                                        lifetime_seconds=300)
                response = own.get(base_url.rstrip("/") + "/federation/v1/outbox",
                                   params={"after": position, "limit": self.settings.federation_batch_size},
                                   headers={"Authorization": f"JaldpiNode {request}"})
                if response.status_code != 200:
                    raise SyncError(f"peer '{peer_id}' refused the pull: HTTP {response.status_code} "
                                    f"{response.text[:300]}")
                token = response.json().get("envelope", "")
                applied_types: set[str] = set()
                with self.db.unit_of_work() as session:
                    received = envelope.verify(session, token, receiver=self.node_id, kind=envelope.CHANGES,
                                               max_age_seconds=self.settings.federation_message_max_age_seconds,
                                               expected_sender=peer_id)
                    claims = received.claims
                    if int(claims.get("after", -1)) != position:
                        raise SyncError(f"peer '{peer_id}' answered from {claims.get('after')}, asked {position}")
                    changes = claims.get("changes") or []
                    cursor = self._cursor(session, peer_id, PULL)
                    if cursor.position != position:
                        raise SyncError(f"pull cursor for '{peer_id}' moved meanwhile (two syncs at once?)")
                    topology = load_topology(session, self.settings)
                    result = inbound.apply_changes(session, self.catalogue, self.policy, topology, peer_id, changes,
                                                   start_after=position)
                    deferred = [r for r in result.results if r["status"] == inbound.DEFERRED]
                    new_position = (result.accepted_through if deferred
                                    else max(result.accepted_through, int(claims.get("scanned_through", position))))
                    cursor.position = new_position
                    cursor.last_success_at = utcnow()
                    cursor.last_error = None
                    cursor.changes_total = (cursor.changes_total or 0) + result.counts().get(inbound.APPLIED, 0)
                    self._keep_refusals(session, peer_id, result.results)
                    applied_types = result.applied_types
                self._after_apply(applied_types)
                report.messages += 1
                report.sent_or_received += len(result.results)
                report.add(result.counts())
                report.position = new_position
                if deferred:
                    problem = f"deferred seq {deferred[0]['seq']}: {deferred[0].get('reason')}"
                    report.problems.append(problem)
                    self._note_error(peer_id, PULL, problem)
                    break
                if claims.get("exhausted") and new_position == int(claims.get("scanned_through", new_position)):
                    report.caught_up = True
                    break
        except (httpx.HTTPError, SyncError) as exc:
            self._note_error(peer_id, PULL, str(exc))
            raise SyncError(str(exc)) from exc
        finally:
            if client is None:
                own.close()
        return report

    # ------------------------------------------------------------------ operators
    def status(self) -> dict[str, Any]:
        with self.db.unit_of_work(write=False) as session:
            cursors = session.execute(select(FederationCursor)).scalars().all()
            head = session.execute(select(func.max(ChangeRecord.seq))).scalar() or 0
            peers = []
            for peer in session.execute(select(FederationPeer).order_by(FederationPeer.node_id)).scalars():
                entry = _peer_out(peer)
                for c in cursors:
                    if c.peer_id == peer.node_id:
                        state = {"position": c.position, "last_success_at": _iso(c.last_success_at),
                                 "last_error": c.last_error, "last_error_at": _iso(c.last_error_at),
                                 "changes_total": c.changes_total}
                        if c.direction == PUSH:
                            state["pending"] = outbound.pending_count(session, self.policy, c.position)
                        entry[c.direction] = state
                peers.append(entry)
            open_conflicts = session.execute(select(func.count()).select_from(FederationConflict)
                                             .where(FederationConflict.status == "open")).scalar_one()
            refusals = session.execute(select(func.count()).select_from(FederationRefusal)).scalar_one()
        return {**{k: v for k, v in self.describe().items() if k != "jwks"}, "change_log_head": head,
                "peers": peers, "open_conflicts": open_conflicts, "refusals": refusals}

    def conflicts(self, status: str | None = "open") -> list[dict[str, Any]]:
        with self.db.unit_of_work(write=False) as session:
            stmt = select(FederationConflict).order_by(FederationConflict.detected_at)
            if status:
                stmt = stmt.where(FederationConflict.status == status)
            return [_conflict_out(c) for c in session.execute(stmt).scalars()]

    def resolve(self, conflict_id: str, keep: str, actor: str) -> dict[str, Any]:
        """``keep="incoming"``: the owner's version replaces the local one (the owner is the source of truth);
        ``keep="local"``: dismiss; later changes from the owner conflict again until the owner re-sends."""
        if keep not in ("incoming", "local"):
            raise ValidationFailed("keep must be incoming or local", details=[{"field": "keep", "problem": keep}])
        try:
            cid = uuid.UUID(conflict_id)
        except ValueError as exc:
            raise ValidationFailed(f"not a conflict id: {conflict_id}") from exc
        types: set[str] = set()
        with self.db.unit_of_work() as session:
            conflict = session.get(FederationConflict, cid)
            if conflict is None:
                raise NotFound(f"no conflict {conflict_id}")
            if conflict.status != "open":
                raise Conflict(f"conflict {conflict_id} is already {conflict.status}")
            if keep == "incoming":
                change = dict(conflict.incoming)
                topology = load_topology(session, self.settings)
                # The owner's version replaces the local row and takes the owner's version number, so the owner's
                # next change (version + 1) applies normally.
                batch = inbound.Batch(session, self.catalogue, conflict.sender)
                status, reason = inbound.apply_one(session, self.catalogue, self.policy, topology, conflict.sender,
                                                   change, batch, utcnow(), force=True)
                batch.flush()
                if status != inbound.APPLIED:
                    raise Conflict(f"could not take the incoming version: {status}: {reason}")
                types.add(conflict.record_type)
            conflict.status = "took_incoming" if keep == "incoming" else "kept_local"
            conflict.resolved_by, conflict.resolved_at = actor, utcnow()
            session.flush()
            out = _conflict_out(conflict)
        self._after_apply(types)
        return out


def _iso(value: dt.datetime | None) -> str | None:
    if value is None:
        return None
    return (value.replace(tzinfo=dt.UTC) if value.tzinfo is None else value).isoformat()


def _peer_out(peer: FederationPeer) -> dict[str, Any]:
    return {"node_id": peer.node_id, "role": peer.role, "base_url": peer.base_url,
            "jurisdiction": peer.jurisdiction, "active": peer.active,
            "keys": [k.get("kid") for k in (peer.jwks or {}).get("keys", [])]}


def _conflict_out(c: FederationConflict) -> dict[str, Any]:
    return {"id": str(c.id), "record_type": c.record_type, "record_id": str(c.record_id), "sender": c.sender,
            "local_version": c.local_version, "incoming_version": c.incoming_version, "reason": c.reason,
            "status": c.status, "detected_at": _iso(c.detected_at), "resolved_by": c.resolved_by,
            "resolved_at": _iso(c.resolved_at), "incoming": c.incoming, "local": c.local}


__all__ = ["Federation", "RoundReport", "SyncError", "Topology"]


def build_federation(settings, db: Database, catalogue: Catalogue) -> Federation:
    """The node's federation engine, with its signing key and the refresh hooks of replicated directories."""

    def refresh(types: set[str]) -> None:
        if "codelist_entries" in types:  # national code-list additions pulled: accept the new codes at once
            from jaldpi.standard import codelists

            refresh_overlay = getattr(codelists, "refresh_overlay", None)
            if refresh_overlay is not None:
                refresh_overlay(db)

    return Federation(settings, db, catalogue, SigningKey.from_setting(settings.signing_key, settings.secret_key),
                      on_applied=refresh)
