"""Access-control primitives: principals, grants bound to LGD subtrees, JWT tokens, password hashes.

Jurisdiction is the security model. A grant binds one role to one LGD subtree, written as a jurisdiction path
prefix (``/S28/D745/``; ``/`` is the whole country). A principal's permission ``p`` is scoped to the union of the
subtrees of the grants whose role carries ``p``. The data layer turns that into one ``lgd_path`` prefix filter on
every query (see :func:`scope_clause`), so get, list, search, export, history and bulk all share one check.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field

import jwt
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import ColumnElement, false, or_, true

from jaldpi.core.errors import OutOfJurisdiction, Unauthenticated

ROOT_PATH = "/"


@dataclass(frozen=True, slots=True)
class Grant:
    role: str
    path: str  # jurisdiction path prefix, always ends with "/"


@dataclass(slots=True)
class Principal:
    subject: str
    kind: str  # person | system | anonymous
    grants: tuple[Grant, ...] = ()
    role_permissions: Mapping[str, frozenset[str]] = field(default_factory=dict)
    source_system: str | None = None
    _scopes: dict[str, list[str]] = field(default_factory=dict, repr=False, compare=False)

    @property
    def is_anonymous(self) -> bool:
        return self.kind == "anonymous"

    def scope(self, permission: str) -> list[str]:
        """Path prefixes where this principal holds ``permission``; ``["/"]`` means everywhere, ``[]`` nowhere."""
        cached = self._scopes.get(permission)
        if cached is None:
            cached = self._scopes[permission] = self._compute_scope(permission)
        return list(cached)

    def _compute_scope(self, permission: str) -> list[str]:
        prefixes = sorted({g.path for g in self.grants if permission in self.role_permissions.get(g.role, ())})
        if ROOT_PATH in prefixes:
            return [ROOT_PATH]
        # drop prefixes covered by a shorter one
        kept: list[str] = []
        for p in sorted(prefixes, key=len):
            if not any(p.startswith(k) for k in kept):
                kept.append(p)
        return kept

    def has(self, permission: str) -> bool:
        return bool(self.scope(permission))

    def can(self, permission: str, path: str) -> bool:
        return any(path.startswith(p) for p in self.scope(permission))

    def require(self, permission: str, path: str, *, what: str = "record") -> None:
        if not self.can(permission, path):
            if self.is_anonymous:
                raise Unauthenticated(f"sign in to {permission.split(':')[-1]} this {what}")
            raise OutOfJurisdiction(f"{what} at {path} is outside your jurisdiction for {permission}",
                                    details=[{"field": "lgd_path", "problem": "outside jurisdiction"}])


ANONYMOUS = Principal(subject="anonymous", kind="anonymous")


def scope_clause(column, prefixes: list[str]) -> ColumnElement[bool]:
    """SQL condition: ``column`` lies under one of ``prefixes`` (materialised-path prefix match, index friendly)."""
    if not prefixes:
        return false()
    if ROOT_PATH in prefixes:
        return true()
    return or_(*[column.startswith(p, autoescape=True) for p in prefixes])


# --- tokens -------------------------------------------------------------------------------------------------------

def issue_token(*, secret: str, issuer: str, subject: str, kind: str, grants: list[Grant], minutes: int,
                source_system: str | None = None) -> tuple[str, int]:
    now = dt.datetime.now(dt.UTC)
    claims = {
        "iss": issuer, "sub": subject, "kind": kind, "iat": now, "exp": now + dt.timedelta(minutes=minutes),
        "grants": [{"role": g.role, "path": g.path} for g in grants],
    }
    if source_system:
        claims["src"] = source_system
    return jwt.encode(claims, secret, algorithm="HS256"), minutes * 60


def read_token(token: str, *, secret: str, issuer: str) -> dict:
    try:
        return jwt.decode(token, secret, algorithms=["HS256"], issuer=issuer,
                          options={"require": ["exp", "iat", "sub", "iss"]})
    except jwt.ExpiredSignatureError as exc:
        raise Unauthenticated("access token expired", code="token_expired") from exc
    except jwt.PyJWTError as exc:
        raise Unauthenticated(f"invalid access token: {exc}", code="invalid_token") from exc


# --- passwords ----------------------------------------------------------------------------------------------------

class Passwords:
    """argon2id password hashing (OWASP-recommended parameters by default; see settings)."""

    def __init__(self, time_cost: int = 2, memory_kib: int = 19456) -> None:
        self._hasher = PasswordHasher(time_cost=time_cost, memory_cost=memory_kib, parallelism=1)

    def hash(self, password: str) -> str:
        return self._hasher.hash(password)

    def verify(self, stored: str, password: str) -> bool:
        try:
            return self._hasher.verify(stored, password)
        except (VerificationError, InvalidHashError):
            return False
