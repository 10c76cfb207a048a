"""Small builders shared by tests: a two-district state, accounts and tokens."""

from __future__ import annotations

from dataclasses import dataclass

from fastapi.testclient import TestClient

from jaldpi.accounts.service import GrantSpec, create_account
from jaldpi.core.registry import Strategy
from jaldpi.core.security import ANONYMOUS, Grant, Principal
from jaldpi.standard.codelists import role_permissions

ROOT = Principal("test-root", "person", (Grant("node_admin", "/"),), role_permissions())


@dataclass
class World:
    """State 28 with districts 745 and 746; each with one block, one GP, two villages."""

    ids: dict[str, str]


UNITS = [
    {"level": "state", "lgd_code": 28, "name": "Andhra Pradesh", "census2011_code": "28"},
    {"level": "district", "lgd_code": 745, "name": "Alpha", "parent": 28},
    {"level": "district", "lgd_code": 746, "name": "Beta", "parent": 28},
    {"level": "block", "lgd_code": 4001, "name": "Alpha Block", "parent": {"code": "LGD-D745"}},
    {"level": "block", "lgd_code": 4002, "name": "Beta Block", "parent": {"code": "LGD-D746"}},
    {"level": "gram_panchayat", "lgd_code": 200001, "name": "Alpha GP", "parent": {"code": "LGD-B4001"}},
    {"level": "gram_panchayat", "lgd_code": 200002, "name": "Beta GP", "parent": {"code": "LGD-B4002"}},
    {"level": "village", "lgd_code": 500001, "name": "Alpha One", "parent": {"code": "LGD-G200001"}},
    {"level": "village", "lgd_code": 500002, "name": "Alpha Two", "parent": {"code": "LGD-G200001"}},
    {"level": "village", "lgd_code": 500003, "name": "Beta One", "parent": {"code": "LGD-G200002"}},
]


def build_world(node) -> World:
    registry = node.catalogue["admin_units"]
    ids = {}
    with node.db.unit_of_work() as session:
        summary = registry.import_records(session, ROOT, UNITS, strategy=Strategy.create)
        assert summary.status == "ok", summary.to_dict()
        for row in summary.rows:
            ids[row.code] = str(row.id)
    return World(ids)


def make_account(node, username: str, role: str, within: str, kind: str = "person") -> str:
    with node.db.unit_of_work() as session:
        create_account(session, node.passwords, username=username, secret="password-123", kind=kind,
                       display_name=username, grants=[GrantSpec(role, within)])
    return username


def token(client: TestClient, username: str, kind: str = "person") -> dict[str, str]:
    if kind == "person":
        form = {"grant_type": "password", "username": username, "password": "password-123"}
    else:
        form = {"grant_type": "client_credentials", "client_id": username, "client_secret": "password-123"}
    response = client.post("/api/v1/auth/token", data=form)
    assert response.status_code == 200, response.text
    return {"Authorization": f"Bearer {response.json()['access_token']}"}


def login_as(client: TestClient, node, username: str, role: str, within: str) -> dict[str, str]:
    make_account(node, username, role, within)
    return token(client, username)


__all__ = ["ANONYMOUS", "ROOT", "World", "build_world", "login_as", "make_account", "token"]
