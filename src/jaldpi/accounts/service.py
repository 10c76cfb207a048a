"""Account operations. Services flush, never commit: the caller's unit of work commits."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from jaldpi.accounts.models import Account, AccountGrant
from jaldpi.core.errors import Conflict, Forbidden, Unauthenticated, ValidationFailed
from jaldpi.core.ids import new_id
from jaldpi.core.security import Grant, Passwords, Principal
from jaldpi.standard.codelists import codes


@dataclass
class GrantSpec:
    role: str
    within: str  # "/" | "state:28" | "district:745" | a path


def resolve_grant_path(session: Session, within: str) -> str:
    """Turn ``district:745`` into that unit's jurisdiction path (it must exist)."""
    from jaldpi.admin_units.service import unit_path

    if within in ("/", "", "national", "india"):
        return "/"
    path = unit_path(session, within)
    if path is None:
        level, _, code = within.partition(":")
        raise ValidationFailed(f"no {level} with LGD code {code}", details=[{"field": "within",
                               "problem": "unknown administrative unit"}])
    return path


def create_account(session: Session, passwords: Passwords, *, username: str, secret: str, kind: str,
                   display_name: str, grants: list[GrantSpec], source_system: str | None = None,
                   created_by: Principal | None = None) -> Account:
    if kind not in ("person", "system"):
        raise ValidationFailed("kind must be person or system", details=[{"field": "kind", "problem": kind}])
    if len(secret) < 8:
        raise ValidationFailed("password or client secret must be at least 8 characters",
                               details=[{"field": "password", "problem": "too short"}])
    if session.execute(select(Account.id).where(Account.username == username)).first():
        raise Conflict(f"account {username} exists", code="already_exists")
    known_roles = set(codes("roles"))
    account = Account(id=new_id(), username=username, kind=kind, display_name=display_name,
                      secret_hash=passwords.hash(secret), source_system=source_system)
    for g in grants:
        if g.role not in known_roles:
            raise ValidationFailed(f"unknown role {g.role}", details=[{"field": "grants.role", "problem":
                                   f"not in code list roles: {sorted(known_roles)}"}])
        path = resolve_grant_path(session, g.within)
        if created_by is not None:
            # You can hand out only what lies inside your own user-management jurisdiction, and never node_admin.
            if not created_by.can("users:manage", path) or (g.role == "node_admin" and
                                                              created_by.scope("users:manage") != ["/"]):
                raise Forbidden(f"you cannot grant {g.role} over {path}", code="out_of_jurisdiction")
        account.grants.append(AccountGrant(id=new_id(), role=g.role, lgd_path=path))
    session.add(account)
    session.flush()
    from jaldpi.core import changelog

    now = changelog.utcnow()
    grants_out = [{"role": g.role, "path": g.lgd_path} for g in account.grants]
    changelog.record(session, changelog.PendingChange(
        "accounts", account.id, "create", 1, created_by.subject if created_by else "cli", None, now,
        grants_out[0]["path"] if grants_out else "/",
        {"username": username, "kind": kind, "display_name": display_name, "grants": grants_out},
        {"grants": [None, grants_out]}))
    return account


def authenticate(session: Session, passwords: Passwords, username: str, secret: str, kind: str) -> Account:
    account = session.execute(select(Account).where(Account.username == username)).scalar_one_or_none()
    if account is None or not account.active or account.kind != kind or not passwords.verify(account.secret_hash,
                                                                                              secret):
        raise Unauthenticated("wrong username/client id or password/secret", code="invalid_grant")
    return account


def grants_of(account: Account) -> list[Grant]:
    return [Grant(g.role, g.lgd_path) for g in account.grants]
