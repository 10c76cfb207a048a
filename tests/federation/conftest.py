"""Fixtures for federation tests: a national node and a state node, each a real app on its own database, served
over real HTTP (uvicorn threads), with each other registered as peers and distinct signing keys."""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Iterator
from dataclasses import dataclass

import pytest

from jaldpi.core.db import Database
from jaldpi.core.migrate import upgrade
from tests.conftest import test_settings
from tests.liveserver import serve


def seed_for(node_id: str) -> str:
    return base64.urlsafe_b64encode(hashlib.sha256(f"test-signing-key:{node_id}".encode()).digest()).decode()


@dataclass
class TestNode:
    __test__ = False
    app: object
    url: str

    @property
    def node(self):
        return self.app.state.node

    @property
    def fed(self):
        return self.node.extras["federation"]

    @property
    def db(self) -> Database:
        return self.node.db


def make_app(database: Database, node_id: str, role: str, jurisdiction: str | None = None, **overrides):
    from jaldpi.app import create_app

    settings = test_settings(database, node_id=node_id, federation_role=role, federation_jurisdiction=jurisdiction,
                             signing_key=seed_for(node_id), **overrides)
    return create_app(settings, database)


def register(a: TestNode, b: TestNode) -> None:
    """Register b as a's peer (what an operator does with `jaldpi federation peer add --fetch`)."""
    described = b.fed.describe()
    a.fed.add_peer(described["node_id"], described["role"], described["jwks"], base_url=b.url,
                   jurisdiction=described["jurisdiction"])


@pytest.fixture
def state_database(tmp_path) -> Iterator[Database]:
    db = Database(f"sqlite:///{tmp_path / 'state28.db'}")
    upgrade(db)
    yield db
    db.dispose()


@pytest.fixture
def pair(database, state_database) -> Iterator[tuple[TestNode, TestNode]]:
    """(national, state-28): national on the test backend (SQLite or PostgreSQL), the state on its own SQLite."""
    national_app = make_app(database, "national", "national")
    state_app = make_app(state_database, "state-28", "state", "S28")
    with serve(national_app) as national_url, serve(state_app) as state_url:
        national, state = TestNode(national_app, national_url), TestNode(state_app, state_url)
        register(national, state)
        register(state, national)
        yield national, state
