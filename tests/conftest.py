"""Test fixtures. Storage tests run on every backend named by the environment:

* SQLite always (a temporary file, migrated with the shipped Alembic migrations);
* PostgreSQL when ``JALDPI_TEST_POSTGRES_URL`` is set (``.ci/run`` sets it): a fresh database per test session,
  created from that server's ``postgres`` database and dropped at the end.

Between tests every table is emptied, so each test starts from a migrated, empty node.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import create_engine, text

from jaldpi.config import Settings
from jaldpi.core.db import Database
from jaldpi.core.migrate import upgrade
from jaldpi.core.models import Base
from jaldpi.registries import all_models

all_models()

SHARED_DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"
PG_URL = os.environ.get("JALDPI_TEST_POSTGRES_URL")
# The file channel of notifications writes here (one directory per test process, emptied between tests), never in
# the checkout's ./var.
NOTIFICATIONS_DIR = Path(tempfile.gettempdir()) / f"jaldpi-test-notifications-{os.getpid()}"
# Document blobs likewise (content-addressed, so sharing them between tests is harmless).
DOCUMENTS_DIR = Path(tempfile.gettempdir()) / f"jaldpi-test-documents-{os.getpid()}"
BACKENDS = ["sqlite"] + (["postgresql"] if PG_URL else [])


def _pg_database(name: str) -> str:
    admin = create_engine(PG_URL.rsplit("/", 1)[0] + "/postgres", isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}"'))
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    return PG_URL.rsplit("/", 1)[0] + f"/{name}"


def _drop_pg_database(name: str) -> None:
    admin = create_engine(PG_URL.rsplit("/", 1)[0] + "/postgres", isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


@pytest.fixture(scope="session", params=BACKENDS)
def migrated_database(request, tmp_path_factory) -> Iterator[Database]:
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path_factory.mktemp('db') / 'jaldpi.db'}"
        db = Database(url)
        upgrade(db)
        yield db
        db.dispose()
    else:
        worker = os.environ.get("PYTEST_XDIST_WORKER", "main")
        name = f"jaldpi_test_{worker}_{uuid.uuid4().hex[:8]}"
        db = Database(_pg_database(name))
        upgrade(db)
        yield db
        db.dispose()
        _drop_pg_database(name)


def _empty(db: Database) -> None:
    tables = [t.name for t in reversed(Base.metadata.sorted_tables)]
    with db.engine.begin() as conn:
        if db.dialect == "postgresql":
            conn.execute(text("TRUNCATE " + ", ".join(f'"{t}"' for t in tables) + " RESTART IDENTITY CASCADE"))
        else:
            for t in tables:
                conn.execute(text(f'DELETE FROM "{t}"'))


@pytest.fixture
def database(migrated_database: Database) -> Iterator[Database]:
    _empty(migrated_database)
    # the code-list overlay is process-wide: forget extensions read from the tables just emptied
    from jaldpi.standard.codelists import reset_overlay

    reset_overlay()
    shutil.rmtree(NOTIFICATIONS_DIR, ignore_errors=True)  # messages sent by the previous test
    yield migrated_database


def test_settings(database: Database, **overrides) -> Settings:
    values = dict(env="test", database_url=database.url, node_id="test-node", password_hash_time_cost=1,
                  password_hash_memory_kib=1024, rate_limit_per_minute=0, anonymous_rate_limit_per_minute=0,
                  notifications_dir=NOTIFICATIONS_DIR, documents_dir=DOCUMENTS_DIR)
    return Settings(**(values | overrides))


test_settings.__test__ = False  # a helper, not a test


@pytest.fixture
def settings(database: Database) -> Settings:
    return test_settings(database)


@pytest.fixture(scope="session")
def _shared_app(migrated_database: Database):
    """One app per backend: building the routes and models costs ~0.1 s, and the app keeps no per-test state
    (rate limits are off in the test settings)."""
    from jaldpi.app import create_app

    return create_app(test_settings(migrated_database), migrated_database)


@pytest.fixture
def app(_shared_app, database: Database):
    return _shared_app


@pytest.fixture
def client(app) -> Iterator[TestClient]:
    with TestClient(app) as c:
        yield c


@pytest.fixture
def node(app):
    return app.state.node
