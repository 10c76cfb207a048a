"""Sandbox generation: determinism, the bundled LGD seed, resuming and refusing, on a tiny scale (fast)."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from jaldpi.admin_units.models import AdminUnit
from jaldpi.assets.models import Component, Scheme
from jaldpi.entities.models import Entity
from jaldpi.people.models import Household
from jaldpi.resources.models import NaturalResource
from jaldpi.sandbox.generate import SYNTHETIC_CODE_START, SandboxError, Scale, generate
from jaldpi.sandbox.ids import SeededIds
from jaldpi.sandbox.lgd import SEED_DIR, read_state
from tests.conftest import _empty

TINY = Scale("tiny", "one", (2, 3), (1, 2), (4, 8))
MODELS = (AdminUnit, Entity, NaturalResource, Household, Scheme, Component)


def snapshot(db) -> dict[str, list[tuple]]:
    """Every record's id, code and path (and a few data fields), per table, sorted."""
    out = {}
    with db.unit_of_work(write=False) as session:
        for model in MODELS:
            t = model.__table__
            extra = [c for c in ("name", "members_count", "component_type", "lifecycle_status") if c in t.c]
            rows = session.execute(select(t.c.id, t.c.code, t.c.lgd_path, *[t.c[c] for c in extra])
                                   .order_by(t.c.id)).all()
            out[t.name] = [tuple(str(v) for v in r) for r in rows]
    return out


def test_bundled_seed_is_one_state_in_official_format():
    items = read_state(SEED_DIR, 36)
    levels = [it["level"] for it in items]
    assert levels.count("state") == 1 and levels.count("district") == 33
    assert levels.count("subdistrict") > 500 and levels.count("block") > 500
    assert items[0]["name"].upper() == "TELANGANA"
    with pytest.raises(Exception, match="bundled seed holds only state 36"):
        read_state(SEED_DIR, 28)


def test_seeded_ids_are_uuid7_and_ordered():
    a, b = SeededIds(7), SeededIds(7)
    first = [a() for _ in range(100)]
    assert first == [b() for _ in range(100)]
    assert all(u.version == 7 for u in first) and first == sorted(first)
    assert SeededIds(8)() != first[0]


def test_same_seed_same_records_different_seed_different(node, database):
    r1 = generate(node.db, node.catalogue, seed=11, scale=TINY, lgd_dir=SEED_DIR)
    assert not r1.skipped and r1.counts["households"] > 0
    first = snapshot(database)
    _empty(database)
    generate(node.db, node.catalogue, seed=11, scale=TINY, lgd_dir=SEED_DIR)
    assert snapshot(database) == first  # ids, codes, paths and data: identical
    _empty(database)
    generate(node.db, node.catalogue, seed=12, scale=TINY, lgd_dir=SEED_DIR)
    other = snapshot(database)
    for table in ("households", "schemes", "components", "entities"):
        assert not {r[0] for r in other[table]} & {r[0] for r in first[table]}, table
    # synthetic LGD codes never collide with real ones: 7 digits from 9,000,000, marked synthetic
    with database.unit_of_work(write=False) as session:
        for _level, code, attrs in session.execute(select(AdminUnit.level, AdminUnit.lgd_code, AdminUnit.attributes)
                                                  .where(AdminUnit.level.in_(("gram_panchayat", "village")))):
            assert code >= SYNTHETIC_CODE_START and len(str(code)) == 7 and attrs["synthetic"] is True


def test_rerun_is_skipped_and_another_seed_is_refused(node, database):
    first = generate(node.db, node.catalogue, seed=3, scale=TINY, lgd_dir=SEED_DIR)
    again = generate(node.db, node.catalogue, seed=3, scale=TINY, lgd_dir=SEED_DIR)
    assert again.skipped and again.counts == first.counts and again.sample == first.sample
    with pytest.raises(SandboxError, match="seed 3"):
        generate(node.db, node.catalogue, seed=4, scale=TINY, lgd_dir=SEED_DIR)


def test_interrupted_run_resumes_without_duplicates(node, database):
    generate(node.db, node.catalogue, seed=5, scale=TINY, lgd_dir=SEED_DIR)
    complete = snapshot(database)
    # simulate an interruption: drop the completion marker and the last registry written
    with database.unit_of_work() as session:
        state = session.execute(select(AdminUnit).where(AdminUnit.level == "state")).scalar_one()
        state.attributes = {k: v for k, v in state.attributes.items() if k != "sandbox"}
        session.execute(Component.__table__.delete())
    resumed = generate(node.db, node.catalogue, seed=5, scale=TINY, lgd_dir=SEED_DIR)
    assert not resumed.skipped
    assert resumed.counts["households"] == 0 and resumed.counts["components"] == len(complete["components"])
    assert snapshot(database) == complete
