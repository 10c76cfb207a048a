"""Fixtures of the certification tests: a node whose document store is a temporary folder, the test world, officials
of each level, and helpers that upload real documents through the documents API."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from tests.conftest import test_settings
from tests.documents.conftest import JPEG, MP4, PDF
from tests.helpers import build_world, login_as

FILES = {"completion_certificate": (PDF, "completion.pdf", "application/pdf"),
         "gram_sabha_resolution": (PDF, "resolution.pdf", "application/pdf"),
         "video": (MP4, "gram-sabha.mp4", "video/mp4"),
         "hgj_certificate": (PDF, "hgj.pdf", "application/pdf"),
         "village_action_plan": (PDF, "vap.pdf", "application/pdf"),
         "photo": (JPEG, "tap.jpg", "image/jpeg")}


def make_app(database, tmp_path: Path, **overrides):
    from jaldpi.app import create_app

    return create_app(test_settings(database, documents_dir=tmp_path / "documents",
                                    notifications_dir=tmp_path / "notifications", **overrides), database)


@pytest.fixture(scope="session")
def _shared_hgj_app(migrated_database, tmp_path_factory):
    """One app per backend (like tests/conftest.py's): the blob store is content-addressed and the tables are
    emptied between tests, so nothing leaks from one test to the next."""
    return make_app(migrated_database, tmp_path_factory.mktemp("hgj"))


@pytest.fixture
def hgj_app(_shared_hgj_app, database):
    return _shared_hgj_app


@pytest.fixture
def hgj_node(hgj_app):
    return hgj_app.state.node


@pytest.fixture
def hgj_client(hgj_app) -> Iterator[TestClient]:
    with TestClient(hgj_app) as client:
        yield client


@pytest.fixture
def world(hgj_node):
    return build_world(hgj_node)


@pytest.fixture
def people(hgj_client, hgj_node, world) -> dict[str, dict[str, str]]:
    """Tokens: block 4001's official, the VWSC operator of village 500001, district 745's and 746's officials."""
    return {
        "block": login_as(hgj_client, hgj_node, "block-4001", "block_official", "block:4001"),
        "vwsc": login_as(hgj_client, hgj_node, "vwsc-500001", "vwsc_operator", "village:500001"),
        "district": login_as(hgj_client, hgj_node, "district-745", "district_official", "district:745"),
        "other_district": login_as(hgj_client, hgj_node, "district-746", "district_official", "district:746"),
        "state": login_as(hgj_client, hgj_node, "state-28", "state_official", "state:28"),
    }


def upload(client: TestClient, headers: dict[str, str], document_type: str, village: int = 500001,
           **form) -> dict:
    """Upload a real file through POST /api/v1/documents/upload; returns the document record."""
    content, filename, media_type = FILES[document_type]
    data = {"document_type": document_type, "admin_unit": str(village), "title": f"{document_type} {village}",
            **{k: str(v) for k, v in form.items()}}
    if document_type == "photo":
        data |= {"lon": "80.1", "lat": "16.2"}
    response = client.post("/api/v1/documents/upload", headers=headers, data=data,
                           files={"file": (filename, content, media_type)})
    assert response.status_code == 201, response.text
    return response.json()


def report(client: TestClient, headers: dict[str, str], certificate: dict, village: int = 500001, **body):
    return client.post(f"/api/v1/hgj/villages/{village}/report", headers=headers,
                       json={"completion_certificate": certificate["id"], **body})


def step(client: TestClient, headers: dict[str, str], case_id: str, name: str, **payload):
    return client.post(f"/api/v1/cases/{case_id}/transitions/{name}", headers=headers, json=payload)

