"""One block-scale sandbox per backend (generated once for this module): counts, referential sanity, plausible
people, and the demo accounts signing in through the API with their jurisdictions."""

from __future__ import annotations

import re
import uuid

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from jaldpi.admin_units.models import AdminUnit
from jaldpi.assets.models import Component, Scheme
from jaldpi.config import Settings
from jaldpi.core.changelog import ChangeRecord, verify
from jaldpi.core.security import Passwords
from jaldpi.entities.models import Entity
from jaldpi.people.models import Household
from jaldpi.people.schemas import HouseholdIn
from jaldpi.resources.models import NaturalResource
from jaldpi.sandbox.accounts import demo_accounts, ensure_demo_accounts
from jaldpi.sandbox.generate import generate
from tests.conftest import _empty
from tests.helpers import ROOT


@pytest.fixture(scope="module")
def sandbox(migrated_database):
    from jaldpi.app import create_app

    _empty(migrated_database)
    settings = Settings(env="test", database_url=migrated_database.url, node_id="test-node",
                        password_hash_time_cost=1, password_hash_memory_kib=1024, rate_limit_per_minute=0,
                        anonymous_rate_limit_per_minute=0)
    app = create_app(settings, migrated_database)
    node = app.state.node
    result = generate(node.db, node.catalogue, seed=7, scale="block")
    with node.db.unit_of_work() as session:
        accounts = demo_accounts(36, result.sample)
        ensure_demo_accounts(session, Passwords(1, 1024), accounts)
    with TestClient(app) as client:
        yield {"result": result, "node": node, "client": client, "accounts": accounts, "db": migrated_database}
    _empty(migrated_database)


def scalar(db, stmt):
    with db.unit_of_work(write=False) as session:
        return session.execute(stmt).scalar_one()


def test_block_scale_counts(sandbox):
    db, result = sandbox["db"], sandbox["result"]
    counts = {lv: scalar(db, select(func.count()).select_from(AdminUnit).where(AdminUnit.level == lv))
              for lv in ("gram_panchayat", "village", "habitation", "block", "district")}
    assert 10 <= counts["gram_panchayat"] <= 20
    assert 20 <= counts["village"] <= 80
    assert counts["habitation"] >= counts["village"]
    assert counts["block"] > 100 and counts["district"] > 10  # the real upper hierarchy is loaded
    households = scalar(db, select(func.count()).select_from(Household))
    assert 1000 <= households <= 9000 and households == result.counts["households"]
    paths = {p.split("/B")[1].split("/")[0] for p in sandbox_paths(db)}
    assert paths == {str(result.sample["block"])}  # one block
    assert scalar(db, select(func.count()).select_from(Entity).where(Entity.entity_type == "vwsc")) == \
        counts["village"]
    types = dict(select_all(db, select(Scheme.scheme_type, func.count()).group_by(Scheme.scheme_type)))
    assert types.get("svs", 0) > types.get("mvs", 0) >= 1
    assert len(dict(select_all(db, select(Scheme.lifecycle_status, func.count())
                               .group_by(Scheme.lifecycle_status)))) >= 3
    # every record is in the hash-chained change log, and the chain verifies
    with db.unit_of_work(write=False) as session:
        assert session.execute(select(func.count()).select_from(ChangeRecord)).scalar_one() >= \
            sum(result.counts.values())
        assert verify(session).ok


def sandbox_paths(db):
    with db.unit_of_work(write=False) as session:
        return set(session.execute(select(Household.lgd_path).distinct()).scalars())


def select_all(db, stmt):
    with db.unit_of_work(write=False) as session:
        return session.execute(stmt).all()


def test_referential_sanity(sandbox):
    db = sandbox["db"]
    village = AdminUnit.__table__.alias("v")
    orphans = scalar(db, select(func.count()).select_from(Household).outerjoin(
        village, (village.c.id == Household.village_id) & (village.c.level == "village")).where(village.c.id.is_(None)))
    assert orphans == 0
    assert scalar(db, select(func.count()).select_from(Component).outerjoin(Scheme, Scheme.id == Component.scheme_id)
                  .where(Scheme.id.is_(None))) == 0
    fhtc = select_all(db, select(Component.household_id, Component.village_id, Household.village_id,
                                 Household.has_tap_connection)
                      .select_from(Component).outerjoin(Household, Household.id == Component.household_id)
                      .where(Component.component_type == "fhtc"))
    assert fhtc and all(h is not None and cv == hv and tap for h, cv, hv, tap in fhtc)
    # the graph: every FHTC hangs off a distribution pipeline of its scheme; pipelines are LineStrings
    by_id = {r.id: r for r in select_all(db, select(Component.id, Component.component_type, Component.scheme_id,
                                                    Component.upstream_ids, Component.geometry))}
    for c in by_id.values():
        for up in c.upstream_ids or []:
            assert by_id[uuid.UUID(up)].scheme_id == c.scheme_id
        if c.component_type == "fhtc":
            assert [by_id[uuid.UUID(u)].component_type for u in c.upstream_ids] == \
                ["distribution_pipeline"]
        if c.component_type in ("distribution_pipeline", "rising_main"):
            assert c.geometry["type"] == "LineString"
    assert {"source", "pumping_station", "distribution_pipeline", "fhtc", "school_connection",
            "anganwadi_connection", "meter", "sensor"} <= {c.component_type for c in by_id.values()}
    # VWSC 50%-women rule: most committees meet it, some are flagged
    rule = dict(select_all(db, select(Entity.women_rule_met, func.count()).where(Entity.entity_type == "vwsc")
                           .group_by(Entity.women_rule_met)))
    assert rule.get(True, 0) > rule.get(False, 0) > 0
    sizes = [n for (n,) in select_all(db, select(Entity.member_count).where(Entity.entity_type == "vwsc"))]
    assert min(sizes) >= 10 and max(sizes) <= 15
    labs = select_all(db, select(Entity.accreditation).where(Entity.entity_type == "water_quality_lab"))
    assert labs and all(a["body"] == "NABL" and a["valid_until"] > a["valid_from"] for (a,) in labs)
    gwau = select_all(db, select(NaturalResource.gw_category)
                      .where(NaturalResource.resource_type == "groundwater_assessment_unit"))
    assert len(gwau) == 1 and gwau[0][0]


def test_households_have_plausible_names_and_phones(sandbox):
    node, db = sandbox["node"], sandbox["db"]
    with db.unit_of_work() as session:
        page = node.catalogue["households"].list(session, ROOT, limit=300)
    items = page["items"]
    assert len(items) == 300
    with_phone = [h for h in items if h["phone"]]
    assert len(with_phone) > 200 and all(re.fullmatch(r"[6-9]\d{9}", h["phone"]) for h in with_phone)
    for h in items:
        assert len(h["head_name"].split()) >= 2
        HouseholdIn.model_validate({k: h[k] for k in ("members_count", "social_category", "has_tap_connection",
                                                      "connected_on", "head_name", "phone", "ration_card")}
                                   | {"village": h["village_id"]})
    assert sum(h["has_tap_connection"] for h in items) > len(items) / 2  # most have taps
    # Telangana names: Telugu surnames first
    surnames = {h["head_name"].split()[0] for h in items}
    assert surnames & {"Reddy", "Goud", "Banoth", "Bhukya", "Yadav", "Rao", "Naik"}


def login(client, account) -> dict[str, str]:
    if account.kind == "system":
        form = {"grant_type": "client_credentials", "client_id": account.username,
                "client_secret": account.password}
    else:
        form = {"grant_type": "password", "username": account.username, "password": account.password}
    r = client.post("/api/v1/auth/token", data=form)
    assert r.status_code == 200, r.text
    return {"Authorization": f"Bearer {r.json()['access_token']}"}


def test_demo_accounts_log_in_and_are_scoped(sandbox):
    client, result, db = sandbox["client"], sandbox["result"], sandbox["db"]
    accounts = {a.username: a for a in sandbox["accounts"]}
    assert set(accounts) >= {"node_admin", "national_official", "state_official", "district_official",
                             "block_official", "vwsc_operator", "lab_analyst", "field_tester", "citizen",
                             "partner_system"}
    assert accounts["partner_system"].kind == "system"
    headers = {name: login(client, a) for name, a in accounts.items()}
    total = result.counts["households"]

    def households(name, **params):
        r = client.get("/api/v1/households", params={"limit": 5, "total": "true", **params}, headers=headers[name])
        return r

    district = result.sample["district"]
    r = households("district_official")
    assert r.status_code == 200 and r.json()["total"] == total
    assert all(h["lgd"]["district"] == district for h in r.json()["items"])
    assert households("state_official").json()["total"] == total
    assert households("partner_system").json()["total"] == total
    gp = result.sample["gram_panchayat"]
    in_gp = scalar(db, select(func.count()).select_from(Household).where(Household.lgd_path.contains(f"/G{gp}/")))
    r = households("vwsc_operator")
    assert r.json()["total"] == in_gp < total
    assert all(h["lgd"]["gram_panchayat"] == gp for h in r.json()["items"])
    # an official of another (real, empty) district of the state sees none of these households
    with db.unit_of_work(write=False) as session:
        other = session.execute(select(AdminUnit.lgd_code).where(AdminUnit.level == "district",
                                                                 AdminUnit.lgd_code != district)).scalars().first()
    from jaldpi.sandbox.accounts import DemoAccount
    outsider = DemoAccount("other_district_official", "demo-other-district", "district_official",
                           f"district:{other}")
    with db.unit_of_work() as session:
        ensure_demo_accounts(session, Passwords(1, 1024), [outsider])
    r = client.get("/api/v1/households", params={"total": "true"}, headers=login(client, outsider))
    assert r.status_code == 200 and r.json()["total"] == 0
    # personal data: clear for the district official (pii:read), masked for the block official
    clear = households("district_official").json()["items"][0]
    masked = households("block_official", village_id=clear["village_id"]).json()["items"]
    assert "*" not in clear["head_name"] and any("*" in h["head_name"] for h in masked)
    # roles without households:read see none; the citizen reads the public LGD directory
    for name in ("field_tester", "citizen", "lab_analyst"):
        r = households(name)
        assert r.status_code in (200, 403) and (r.status_code == 403 or r.json()["total"] == 0), name
    village = result.sample["village"]
    r = client.get(f"/api/v1/admin_units/LGD-V{village}", headers=headers["citizen"])
    assert r.status_code == 200 and r.json()["attributes"]["synthetic"] is True
    # idempotent: a second run creates nothing
    with db.unit_of_work() as session:
        again = ensure_demo_accounts(session, Passwords(1, 1024), sandbox["accounts"])
    assert set(again.values()) == {"exists"}
