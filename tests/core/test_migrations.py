"""Migrations: from an empty database to head, and the result matches the models (nothing for autogenerate)."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect

from jaldpi.core.migrate import upgrade
from jaldpi.core.models import Base


def test_upgrade_from_empty_to_head_matches_the_models(migrated_database, tmp_path):
    from jaldpi.core.db import Database
    from tests.conftest import PG_URL, _drop_pg_database, _pg_database

    if migrated_database.dialect == "sqlite":
        db = Database(f"sqlite:///{tmp_path / 'fresh.db'}")
        name = None
    else:
        name = f"jaldpi_mig_{tmp_path.name[-12:].replace('-', '_')}".lower()
        db = Database(_pg_database(name))
        assert PG_URL
    try:
        assert inspect(db.engine).get_table_names() == []
        upgrade(db)
        tables = set(inspect(db.engine).get_table_names())
        assert set(Base.metadata.tables) <= tables and "alembic_version" in tables
        with db.engine.connect() as conn:
            context = MigrationContext.configure(conn, opts={"compare_type": True, "compare_server_default": False})
            assert compare_metadata(context, Base.metadata) == []
        upgrade(db)  # idempotent at head
    finally:
        db.dispose()
        if name:
            _drop_pg_database(name)
