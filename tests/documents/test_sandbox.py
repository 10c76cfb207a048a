"""The sandbox seed: real small files through the service, idempotent."""

from __future__ import annotations

import uuid

from sqlalchemy import update

from jaldpi.assets.models import Component
from jaldpi.documents.sandbox import seed_demo
from jaldpi.documents.service import open_content
from tests.helpers import build_records, count_rows


def test_seed_demo_writes_a_few_documents_once(doc_node, world, doc_client):
    records = build_records(doc_node, registries=("components",))
    with doc_node.db.unit_of_work() as session:  # give the village 500001 ESR a position and a village
        session.execute(update(Component).where(Component.code == records["components"]["a1"]["code"])
                        .values(village_id=uuid.UUID(world.ids["LGD-V500001"]), longitude=78.49, latitude=17.39))
    counts = seed_demo(doc_node)
    assert counts == {"photos": 1, "resolutions": 2}
    assert count_rows(doc_node, "documents") == 3
    assert seed_demo(doc_node) == counts  # a second run finds its records and changes nothing
    assert count_rows(doc_node, "documents") == 3
    page = doc_client.get("/api/v1/documents", params={"document_type": "gram_sabha_resolution"})
    assert page.status_code == 401  # records are not public; their public content is
    with doc_node.db.unit_of_work(write=False) as session:
        from sqlalchemy import select

        from jaldpi.documents.models import Document

        rows = session.execute(select(Document.id, Document.sha256, Document.document_type)).all()
    resolution = next(r for r in rows if r.document_type == "gram_sabha_resolution")
    served = doc_client.get(f"/public/v1/documents/{resolution.id}/content")
    assert served.status_code == 200 and served.content.startswith(b"%PDF-1.4") and b"%%EOF" in served.content
    photo = next(r for r in rows if r.document_type == "photo")
    stream, size = open_content(doc_node.settings, photo.sha256)
    with stream:
        assert stream.read(8) == b"\x89PNG\r\n\x1a\n" and size > 50
