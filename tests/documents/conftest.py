"""Fixtures of the documents tests: a node whose blob store is a temporary folder, a world, and sample files."""

from __future__ import annotations

import io
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from tests.conftest import test_settings
from tests.helpers import build_world, login_as

# Smallest honest files: the signatures the media checks look for, and a little body.
JPEG = (b"\xff\xd8\xff\xe0\x00\x10JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00" + b"photo of a standpost" * 20
        + b"\xff\xd9")
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00\x00\x00\rIHDR" + b"png body" * 10
PDF = b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj << /Type /Catalog >> endobj\ntrailer << >>\n%%EOF\n"
MP4 = b"\x00\x00\x00\x20ftypisom\x00\x00\x02\x00isomiso2avc1mp41" + b"\x00" * 64 + b"mdat" + b"video" * 50

DOCUMENT_DEFAULTS = dict(documents_max_bytes=64 * 1024, documents_form_overhead_bytes=16 * 1024,
                         max_body_bytes=4 * 1024)


@pytest.fixture
def doc_settings(database, tmp_path: Path):
    """Small limits so that "too large" needs kilobytes, not 200 MB; the JSON body limit (4 KiB) is far below the
    document limit (64 KiB), so the upload route's own body limit is exercised too."""
    return test_settings(database, documents_dir=tmp_path / "documents", **DOCUMENT_DEFAULTS)


@pytest.fixture
def doc_app(doc_settings, database):
    from jaldpi.app import create_app

    return create_app(doc_settings, database)


@pytest.fixture
def doc_node(doc_app):
    return doc_app.state.node


@pytest.fixture
def doc_client(doc_app) -> Iterator[TestClient]:
    with TestClient(doc_app) as client:
        yield client


@pytest.fixture
def world(doc_node):
    return build_world(doc_node)


@pytest.fixture
def alpha(doc_client, doc_node, world) -> dict[str, str]:
    """A district 745 official."""
    return login_as(doc_client, doc_node, "alpha-official", "district_official", "district:745")


@pytest.fixture
def beta(doc_client, doc_node, world) -> dict[str, str]:
    """A district 746 official."""
    return login_as(doc_client, doc_node, "beta-official", "district_official", "district:746")


def upload(client: TestClient, headers: dict[str, str], content: bytes = JPEG, filename: str = "standpost.jpg",
           content_type: str | None = "image/jpeg", **fields):
    """POST /api/v1/documents/upload with a file and form fields (defaults: a geotagged photo of village 500001)."""
    data = {"document_type": "photo", "admin_unit": "500001", "lon": "78.4867", "lat": "17.3850"} | {
        k: str(v).lower() if isinstance(v, bool) else str(v) for k, v in fields.items() if v is not None}
    data = {k: v for k, v in data.items() if v != "<omit>"}
    files = {"file": (filename, io.BytesIO(content), content_type) if content_type else (filename, io.BytesIO(content))}
    return client.post("/api/v1/documents/upload", data=data, files=files, headers=headers)
