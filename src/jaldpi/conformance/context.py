"""What the checks of one run share: the target, the credentials and their jurisdictions, the villages to write in,
the test records the kit wrote (so it can delete them at the end).

Shared things are built lazily and once (a "fixture"): ``--only REG-005`` builds just what REG-005 needs. A fixture
that cannot be built raises :class:`PrerequisiteFailed` for every check that needs it, with the same reason.
"""

from __future__ import annotations

import datetime as dt
import email.utils
import os
import secrets
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal, TypeVar

from jaldpi.conformance.http import Answer, CheckSkipped, PrerequisiteFailed, Target

T = TypeVar("T")

# Where the kit writes: VWSCs (entities of type vwsc) are the simplest record of the v1 standard that every
# implementation must accept, and they sit in a village, so jurisdiction applies to them.
WRITE_REGISTRY = "entities"
TAG_SYSTEM = "conformance"  # external-id system of every record the kit writes


@dataclass(frozen=True)
class Credential:
    """An OAuth2 credential: a partner system's client id and secret, or a person's username and password."""

    grant_type: Literal["client_credentials", "password"]
    identifier: str
    secret: str

    def form(self) -> dict[str, str]:
        if self.grant_type == "client_credentials":
            return {"grant_type": "client_credentials", "client_id": self.identifier, "client_secret": self.secret}
        return {"grant_type": "password", "username": self.identifier, "password": self.secret}

    def describe(self) -> str:
        kind = "client" if self.grant_type == "client_credentials" else "user"
        return f"{kind} {self.identifier!r}"


@dataclass(frozen=True)
class RunOptions:
    target: str
    credential: Credential | None = None
    narrow: Credential | None = None  # a second credential bound to a smaller subtree than ``credential``
    village_lgd: int | None = None  # where to write test records; default: discovered from admin_units
    read_only: bool = False
    only: tuple[str, ...] = ()  # requirement ids; empty: all
    timeout_s: float = 30.0


@dataclass(frozen=True)
class Unit:
    """An administrative unit as the public directory lists it."""

    id: str
    code: str
    lgd_code: Any
    lgd_path: str

    def describe(self) -> str:
        return f"{self.code} ({self.lgd_path})"


@dataclass
class Login:
    """A signed-in credential: its token and, where the target says, where each permission applies."""

    credential: Credential
    answer: Answer
    token: str
    grants: list[dict[str, str]] | None  # [{"role", "path"}], None when the target does not tell

    def scope(self, permission: str, role_permissions: dict[str, set[str]] | None) -> list[str] | None:
        """LGD path prefixes where this credential holds ``permission``; None when unknown."""
        if self.grants is None:
            return None
        paths = []
        for grant in self.grants:
            perms = (role_permissions or {}).get(grant.get("role", ""))
            if perms is None or permission in perms:  # a role the roles list does not describe: assume it applies
                paths.append(grant.get("path", "/"))
        return paths


def uuid7() -> str:
    """A UUIDv7 (RFC 9562): 48-bit Unix milliseconds, version 7, variant 10, random rest; as a client would mint."""
    ms = time.time_ns() // 1_000_000
    value = (ms & ((1 << 48) - 1)) << 80 | 0x7 << 76 | int.from_bytes(os.urandom(10), "big") & ((1 << 76) - 1)
    value = value & ~(0x3 << 62) | (0x2 << 62)
    return str(uuid.UUID(int=value))


def under(path: str, prefixes: list[str]) -> bool:
    return any(path.startswith(p) for p in prefixes)


class _Failure:
    def __init__(self, exc: BaseException) -> None:
        self.exc = exc


@dataclass
class RunContext:
    options: RunOptions
    target: Target
    tag: str = field(default_factory=lambda: f"{TAG_SYSTEM}-{secrets.token_hex(4)}")
    server_started_at: dt.datetime | None = None  # the target's clock (Date header) when the run began
    created_ids: list[str] = field(default_factory=list)  # records the kit wrote, to delete at the end
    used_external_ids: list[str] = field(default_factory=list)  # every conformance external id the kit sent
    _fixtures: dict[str, Any] = field(default_factory=dict)

    # ---------------------------------------------------------------- fixtures
    def fixture(self, name: str, build: Callable[[], T]) -> T:
        """Build ``name`` once; a failure is remembered and raised again for every later check that needs it."""
        if name not in self._fixtures:
            try:
                self._fixtures[name] = build()
            except (PrerequisiteFailed, CheckSkipped) as exc:
                self._fixtures[name] = _Failure(exc)
        value = self._fixtures[name]
        if isinstance(value, _Failure):
            raise value.exc
        return value

    def note_server_time(self, answer: Answer) -> None:
        if self.server_started_at is None and answer.headers.get("date"):
            try:
                self.server_started_at = email.utils.parsedate_to_datetime(answer.headers["date"])
            except (TypeError, ValueError):
                pass

    # ---------------------------------------------------------------- signing in
    def login(self, credential: Credential) -> tuple[Answer, Login | None]:
        answer = self.target.post("/api/v1/auth/token", data=credential.form())
        body = answer.json_or_none()
        if answer.status != 200 or not isinstance(body, dict) or not isinstance(body.get("access_token"), str):
            return answer, None
        grants = body.get("grants")
        if not isinstance(grants, list):
            me = self.target.get("/api/v1/auth/me", token=body["access_token"]).json_or_none()
            grants = me.get("grants") if isinstance(me, dict) else None
        if isinstance(grants, list):
            grants = [g for g in grants if isinstance(g, dict)]
        return answer, Login(credential, answer, body["access_token"], grants if isinstance(grants, list) else None)

    def main_login(self) -> Login:
        def build() -> Login:
            credential = self.options.credential
            if credential is None:
                raise CheckSkipped("needs a credential (--client-id/--client-secret or --username/--password)")
            answer, login = self.login(credential)
            if login is None:
                raise PrerequisiteFailed(f"cannot sign in as {credential.describe()}: {answer.label} answered "
                                         f"{answer.status} {answer.snippet()}")
            return login
        return self.fixture("main_login", build)

    def token(self) -> str:
        return self.main_login().token

    def narrow_login(self) -> Login:
        def build() -> Login:
            credential = self.options.narrow
            if credential is None:
                raise CheckSkipped("needs a second, narrower credential (--narrow-client-id/--narrow-client-secret "
                                   "or --narrow-username/--narrow-password)")
            answer, login = self.login(credential)
            if login is None:
                raise PrerequisiteFailed(f"cannot sign in as the narrow {credential.describe()}: {answer.label} "
                                         f"answered {answer.status} {answer.snippet()}")
            return login
        return self.fixture("narrow_login", build)

    def role_permissions(self) -> dict[str, set[str]] | None:
        """Role -> permissions from the standard's roles code list (None if the target does not publish them)."""
        def build() -> dict[str, set[str]] | None:
            body = self.target.get("/standard/v1/codelists/roles").json_or_none()
            if not isinstance(body, dict) or not isinstance(body.get("items"), list):
                return None
            return {item["code"]: set(item.get("permissions") or ()) for item in body["items"]
                    if isinstance(item, dict) and "code" in item and "permissions" in item}
        return self.fixture("role_permissions", build)

    def write_scope(self) -> list[str] | None:
        return self.main_login().scope(f"{WRITE_REGISTRY}:write", self.role_permissions())

    def narrow_read_scope(self) -> list[str]:
        def build() -> list[str]:
            login = self.narrow_login()
            scope = login.scope(f"{WRITE_REGISTRY}:read", self.role_permissions())
            if scope is None:
                raise CheckSkipped(f"cannot tell where the narrow {login.credential.describe()} may read: the token "
                                   "answer has no grants and /api/v1/auth/me does not list them")
            if "/" in scope:
                raise CheckSkipped(f"the narrow {login.credential.describe()} reads {WRITE_REGISTRY} everywhere "
                                   "(a grant at /): give a credential bound to a district or smaller")
            return scope
        return self.fixture("narrow_scope", build)

    # ---------------------------------------------------------------- places
    def _units(self, params: dict[str, Any]) -> list[Unit]:
        answer = self.target.get("/api/v1/admin_units", params=params)
        body = answer.json_or_none()
        if answer.status != 200 or not isinstance(body, dict) or not isinstance(body.get("items"), list):
            raise PrerequisiteFailed(f"cannot list administrative units: {answer.label} answered {answer.status} "
                                     f"{answer.snippet()}")
        units = []
        for item in body["items"]:
            if isinstance(item, dict) and all(k in item for k in ("id", "code", "lgd_path")):
                units.append(Unit(str(item["id"]), str(item["code"]), item.get("lgd_code"), str(item["lgd_path"])))
        return units

    def villages_within(self, path: str | None, limit: int = 1) -> list[Unit]:
        params: dict[str, Any] = {"level": "village", "limit": limit}
        if path and path != "/":
            params["within"] = path
        return self._units(params)

    def home_village(self) -> Unit:
        """The village where the kit writes: --village-lgd, or the first village inside the credential's scope."""
        def build() -> Unit:
            if self.options.village_lgd is not None:
                found = self._units({"level": "village", "lgd_code": self.options.village_lgd})
                if not found:
                    raise PrerequisiteFailed(f"village {self.options.village_lgd} (--village-lgd) is not in "
                                             "GET /api/v1/admin_units?level=village")
                scope = self.write_scope()
                if scope is not None and not under(found[0].lgd_path, scope):
                    # the operator's choice, not the target's fault: say so instead of failing REG-001 with a 403
                    raise PrerequisiteFailed(f"village {self.options.village_lgd} (--village-lgd, "
                                             f"{found[0].lgd_path}) is outside where the credential may write "
                                             f"{WRITE_REGISTRY} ({', '.join(scope) or 'nowhere'})")
                return found[0]
            scope = self.write_scope()
            if scope == []:
                grants = ", ".join(f"{g.get('role')} at {g.get('path')}" for g in self.main_login().grants or [])
                raise PrerequisiteFailed(f"the credential may not write {WRITE_REGISTRY} anywhere (grants: {grants});"
                                         f" give one whose role has {WRITE_REGISTRY}:write, or run --read-only")
            for path in (scope if scope is not None else [None]):
                found = self.villages_within(path)
                if found:
                    return found[0]
            where = f"inside {', '.join(scope)}" if scope else "at all"
            raise PrerequisiteFailed(f"found no village {where} in GET /api/v1/admin_units?level=village; pass "
                                     "--village-lgd")
        return self.fixture("home_village", build)

    def inside_village(self) -> Unit:
        """A village inside the narrow credential's jurisdiction (and the main credential's writing scope)."""
        def build() -> Unit:
            narrow = self.narrow_read_scope()
            main = self.write_scope()
            for path in narrow:
                for unit in self.villages_within(path, limit=50):
                    if main is None or under(unit.lgd_path, main):
                        return unit
            raise CheckSkipped(f"no village inside the narrow credential's jurisdiction {narrow} where the main "
                               "credential may write")
        return self.fixture("inside_village", build)

    def outside_village(self) -> Unit:
        """A village outside the narrow credential's jurisdiction where the main credential may write."""
        def build() -> Unit:
            narrow = self.narrow_read_scope()
            main = self.write_scope()
            home = self.home_village()
            if not under(home.lgd_path, narrow):
                return home
            for path in (main if main else [None]):
                params: dict[str, Any] = {"level": "district", "limit": 100}
                if path and path != "/":
                    params["within"] = path
                for district in self._units(params):
                    if under(district.lgd_path, narrow):
                        continue
                    for unit in self.villages_within(district.lgd_path, limit=50):
                        if not under(unit.lgd_path, narrow):
                            return unit
            raise CheckSkipped(f"no village outside the narrow credential's jurisdiction {narrow} where the main "
                               "credential may write")
        return self.fixture("outside_village", build)

    # ---------------------------------------------------------------- test records
    def external_id(self, purpose: str) -> str:
        value = f"{self.tag}-{purpose}"
        if value not in self.used_external_ids:
            self.used_external_ids.append(value)
        return value

    def payload(self, purpose: str, unit: Unit, **extra: Any) -> dict[str, Any]:
        """A valid VWSC in ``unit``, named and tagged so that it is recognisably the kit's and can be swept up."""
        return {"entity_type": "vwsc", "name": f"{self.tag} {purpose}", "admin_unit": unit.id,
                "external_ids": {TAG_SYSTEM: self.external_id(purpose)}, **extra}

    def track(self, answer: Answer) -> dict[str, Any] | None:
        """Remember a record the target says it wrote, for the clean-up; return it."""
        body = answer.json_or_none()
        if answer.status in (200, 201) and isinstance(body, dict) and isinstance(body.get("id"), str):
            if body["id"] not in self.created_ids:
                self.created_ids.append(body["id"])
            return body
        return None

    def create(self, purpose: str, unit: Unit, *, token: str | None = None, **extra: Any
               ) -> tuple[dict[str, Any], Answer]:
        payload = self.payload(purpose, unit, **extra)
        answer = self.target.post(f"/api/v1/{WRITE_REGISTRY}", json=payload, token=token or self.token())
        self.track(answer)
        return payload, answer

    def created_record(self, purpose: str, unit: Unit | None = None, **extra: Any) -> dict[str, Any]:
        """A record written once for ``purpose`` (the answer body), or PrerequisiteFailed saying why not."""
        def build() -> dict[str, Any]:
            payload, answer = self.create(purpose, unit or self.home_village(), **extra)
            record = self.track(answer)
            if record is None:
                raise PrerequisiteFailed(f"cannot create the test record: {answer.label} answered {answer.status} "
                                         f"{answer.snippet()}")
            self._fixtures[f"payload:{purpose}"] = payload
            self._fixtures[f"answer:{purpose}"] = answer
            return record
        return self.fixture(f"record:{purpose}", build)

    def sent(self, purpose: str) -> tuple[dict[str, Any], Answer]:
        """What was sent to create ``purpose``'s record, and the answer (after :meth:`created_record`)."""
        return self._fixtures[f"payload:{purpose}"], self._fixtures[f"answer:{purpose}"]

    def find(self, purpose_or_value: str, *, token: str | None = None, include_deleted: bool = False
             ) -> tuple[Answer, list[dict[str, Any]]]:
        """Records of the write registry holding the kit's external id (a purpose, or a full value)."""
        value = purpose_or_value if purpose_or_value.startswith(self.tag) else self.external_id(purpose_or_value)
        params: dict[str, Any] = {"external_id": f"{TAG_SYSTEM}:{value}"}
        if include_deleted:
            params["include_deleted"] = "true"
        answer = self.target.get(f"/api/v1/{WRITE_REGISTRY}", params=params, token=token or self.token())
        body = answer.json_or_none()
        if answer.status != 200 or not isinstance(body, dict) or not isinstance(body.get("items"), list):
            raise PrerequisiteFailed(f"cannot search by external id: {answer.label} answered {answer.status} "
                                     f"{answer.snippet()}")
        for item in body["items"]:  # whatever the target wrote, the clean-up deletes
            if isinstance(item, dict) and isinstance(item.get("id"), str) and item["id"] not in self.created_ids:
                self.created_ids.append(item["id"])
        return answer, body["items"]

    # ---------------------------------------------------------------- clean-up
    def cleanup(self) -> dict[str, Any]:
        """Delete every record the kit wrote or caused (swept up by its external ids too). Never raises."""
        report: dict[str, Any] = {"deleted": 0, "problems": []}
        login = self._fixtures.get("main_login")
        if not isinstance(login, Login):
            return report
        try:
            for value in list(self.used_external_ids):
                try:
                    self.find(value)
                except PrerequisiteFailed as exc:
                    report["problems"].append(str(exc))
                    break
            for rid in list(self.created_ids):
                answer = self.target.delete(f"/api/v1/{WRITE_REGISTRY}/{rid}", token=login.token)
                if answer.status == 200:
                    report["deleted"] += 1
                elif answer.status != 404:  # 404: deleted already (by a check), or never written
                    report["problems"].append(f"{answer.label} answered {answer.status} {answer.snippet()}")
        except Exception as exc:  # noqa: BLE001 - clean-up reports, it must not hide the results
            report["problems"].append(f"{type(exc).__name__}: {exc}")
        return report


__all__ = ["Credential", "Login", "RunContext", "RunOptions", "TAG_SYSTEM", "Unit", "WRITE_REGISTRY", "under",
           "uuid7"]
