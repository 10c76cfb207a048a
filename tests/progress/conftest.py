"""Fixtures of the progress tests: a node with a temporary document store, the two-district world with one scheme
and one ESR per place (villages 500001 in block 4001, 500004 in block 4003, 500003 in district 746), a work item
(estimate) per ESR, geotagged photos, and officials at every level."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from tests.conftest import test_settings
from tests.helpers import ROOT, build_records, build_world, login_as

JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00" + b"ESR shuttering" * 20 + b"\xff\xd9"
PDF_BYTES = b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj << /Type /Catalog >> endobj\ntrailer << >>\n%%EOF\n"
AS_OF = dt.date(2026, 10, 31)
UPDATES = "/api/v1/progress_updates"


@pytest.fixture(scope="session")
def _progress_app(migrated_database, tmp_path_factory):
    """One app per backend (building one costs seconds on a busy machine); blobs in a session folder, tables
    emptied between tests by the ``database`` fixture."""
    from jaldpi.app import create_app

    settings = test_settings(migrated_database, documents_dir=tmp_path_factory.mktemp("progress") / "documents")
    return create_app(settings, migrated_database)


@pytest.fixture
def prog_app(_progress_app, database):
    return _progress_app


@pytest.fixture
def node(prog_app):
    return prog_app.state.node


@pytest.fixture
def client(prog_app) -> Iterator[TestClient]:
    with TestClient(prog_app) as c:
        yield c


@pytest.fixture
def world(node):
    w = build_world(node)
    w.records = build_records(node, registries=("components",))
    return w


def add_estimates(node, world, specs: dict[str, tuple[str, str, str]]) -> dict[str, dict]:
    """``{tag: (unit, quantity, cost)}`` -> one estimate (work item) per tagged ESR, written as ROOT."""
    registry = node.catalogue["component_estimates"]
    out = {}
    with node.db.unit_of_work() as session:
        for tag, (unit, quantity, cost) in specs.items():
            out[tag] = registry.write_one(session, ROOT, {
                "component": world.records["components"][tag]["id"], "item": f"ESR {tag} civil work",
                "unit": unit, "estimated_quantity": quantity, "estimated_cost_inr": cost}, _create())
    return out


def _create():
    from jaldpi.core.registry import Strategy

    return Strategy.create


@pytest.fixture
def estimates(node, world):
    return add_estimates(node, world, {"a1": ("kl", "100", "4000000.00"), "a4": ("kl", "50", "1000000.00"),
                                       "b3": ("kl", "200", "2500000.00")})


def photo(node, village: int = 500001, *, taken: dt.datetime | None = None, lon: float | None = 78.48,
          lat: float | None = 17.38, document_type: str = "photo", media_type: str = "image/jpeg",
          content: bytes = JPEG, filename: str = "site.jpg") -> str:
    from jaldpi.documents.service import store_document

    taken = taken or dt.datetime(2026, 10, 30, 10, 0, tzinfo=dt.UTC)
    with node.db.unit_of_work() as session:
        doc = store_document(session, ROOT, node.settings, content=content, filename=filename,
                             media_type=media_type, document_type=document_type, admin_unit=village,
                             captured_at=taken, lon=lon, lat=lat)
    return doc["id"]


@pytest.fixture
def people(client, node, world) -> dict[str, dict[str, str]]:
    """Tokens: a block 4001 maker, a block 4003 official, district 745 and 746 officials, a state official, a
    person holding both the block 4001 and the district 745 grant, and a national (read-only) official."""
    from jaldpi.accounts.service import GrantSpec, create_account
    from tests.helpers import token

    tokens = {
        "block": login_as(client, node, "block-maker", "block_official", "block:4001"),
        "block_east": login_as(client, node, "block-east", "block_official", "block:4003"),
        "district": login_as(client, node, "district-checker", "district_official", "district:745"),
        "district_b": login_as(client, node, "district-beta", "district_official", "district:746"),
        "district_2": login_as(client, node, "district-second", "district_official", "district:745"),
        "state": login_as(client, node, "state-checker", "state_official", "state:28"),
        "national": login_as(client, node, "national-viewer", "national_official", "/"),
    }
    with node.db.unit_of_work() as session:
        create_account(session, node.passwords, username="two-hats", secret="password-123", kind="person",
                       display_name="two-hats", grants=[GrantSpec("block_official", "block:4001"),
                                                        GrantSpec("district_official", "district:745")])
    tokens["two_hats"] = token(client, "two-hats")
    return tokens


def physical(estimate: dict, quantity: str, photos: list[str], as_of: dt.date = AS_OF, **extra) -> dict:
    return {"kind": "physical", "estimate": estimate["id"], "as_of": as_of.isoformat(), "quantity_done": quantity,
            "photos": photos, **extra}


def financial(scheme: str, *, sanctioned: str, central: str, state: str, community: str = "0", spent: str,
              as_of: dt.date = AS_OF, **extra) -> dict:
    return {"kind": "financial", "scheme": scheme, "as_of": as_of.isoformat(), "sanctioned_inr": sanctioned,
            "released_central_inr": central, "released_state_inr": state, "released_community_inr": community,
            "expenditure_inr": spent, **extra}
