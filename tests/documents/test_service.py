"""The service functions other domains call: store_document, documents_by_id, open_content; atomicity; verify."""

from __future__ import annotations

import hashlib
import io

import pytest

from jaldpi.core.errors import Forbidden, NotFound, ValidationFailed
from jaldpi.core.security import Grant, Principal
from jaldpi.documents.service import documents_by_id, open_content, store_document, verify_store
from jaldpi.documents.storage import blob_store
from jaldpi.standard.codelists import role_permissions
from tests.documents.conftest import JPEG, MP4, PDF
from tests.helpers import ROOT, count_rows


def _store(node, principal=ROOT, **fields):
    values = dict(content=JPEG, filename="site.jpg", media_type="image/jpeg", document_type="photo",
                  admin_unit=500001, lon=78.48, lat=17.38) | fields
    with node.db.unit_of_work() as session:
        return store_document(session, principal, node.settings, **values)


def test_store_document_and_look_it_up(doc_node, world):
    resolution = _store(doc_node, content=io.BytesIO(PDF), filename="resolution.pdf", media_type="application/pdf",
                        document_type="gram_sabha_resolution", lon=None, lat=None, public=True,
                        subject_type="hgj_certifications", subject_id="HGJ-1", title="Gram Sabha resolution")
    assert resolution["sha256"] == hashlib.sha256(PDF).hexdigest() and resolution["size_bytes"] == len(PDF)
    assert resolution["code"].startswith("DOC-") and resolution["public"] is True
    # without a node at hand (no catalogue passed), the service builds its own from the settings
    photo = _store(doc_node)
    with doc_node.db.unit_of_work(write=False) as session:
        found = documents_by_id(session, [resolution["id"], photo["id"], "not-a-uuid",
                                          "00000000-0000-7000-8000-000000000000"])
    assert set(found) == {resolution["id"], photo["id"]}
    guard_view = found[resolution["id"]]
    assert guard_view["document_type"] == "gram_sabha_resolution"
    assert guard_view["admin_unit_id"] == world.ids["LGD-V500001"]
    assert guard_view["lgd_path"].endswith("/V500001/") and guard_view["public"] is True
    stream, size = open_content(doc_node.settings, resolution["sha256"])
    with stream:
        assert stream.read() == PDF and size == len(PDF)
    with pytest.raises(NotFound):
        open_content(doc_node.settings, "0" * 64)


def test_deleted_documents_are_absent_for_guards(doc_node, world):
    photo = _store(doc_node)
    registry = doc_node.catalogue["documents"]
    with doc_node.db.unit_of_work() as session:
        from jaldpi.core.registry import Strategy

        registry.write_one(session, ROOT, {"id": photo["id"]}, Strategy.delete)
    with doc_node.db.unit_of_work(write=False) as session:
        assert documents_by_id(session, [photo["id"]]) == {}


def test_retry_with_external_id_is_idempotent(doc_node, world):
    first = _store(doc_node, content=MP4, filename="sabha.mp4", media_type="video/mp4", document_type="video",
                   lon=None, lat=None, external_ids={"hgj_app": "upload-77"})
    again = _store(doc_node, content=MP4, filename="sabha.mp4", media_type="video/mp4", document_type="video",
                   lon=None, lat=None, external_ids={"hgj_app": "upload-77"})
    assert again["id"] == first["id"] and again["version"] == 1
    assert count_rows(doc_node, "documents") == 1


def test_refused_record_leaves_no_record_and_an_orphan_that_verify_reports(doc_node, world):
    with pytest.raises(ValidationFailed) as refused:
        _store(doc_node, lon=None, lat=None)  # a photo without its geotag
    assert refused.value.details[0]["field"] == "lon"
    assert count_rows(doc_node, "documents") == 0
    assert count_rows(doc_node, "change_log") == count_rows(doc_node, "admin_units")  # only the world's changes
    store = blob_store(doc_node.settings)
    orphan = hashlib.sha256(JPEG).hexdigest()
    assert store.exists(orphan)  # the bytes stayed: harmless, no record points at them
    kept = _store(doc_node, content=PDF, filename="r.pdf", media_type="application/pdf",
                  document_type="receipt", lon=None, lat=None)
    with doc_node.db.unit_of_work(write=False) as session:
        report = verify_store(session, store)
    assert report["checked"] == 2 and report["bytes"] == len(JPEG) + len(PDF)
    assert report["orphans"] == [orphan] and report["corrupt"] == [] and report["missing"] == []
    assert kept["sha256"] not in report["orphans"]


def test_a_failure_later_in_the_unit_of_work_rolls_the_record_back(doc_node, world):
    with pytest.raises(RuntimeError), doc_node.db.unit_of_work() as session:
        store_document(session, ROOT, doc_node.settings, content=JPEG, filename="a.jpg", media_type="image/jpeg",
                       document_type="photo", admin_unit=500001, lon=78.0, lat=17.0)
        raise RuntimeError("the calling domain's own write failed")
    assert count_rows(doc_node, "documents") == 0


def test_out_of_jurisdiction_and_read_only_callers(doc_node, world):
    beta = Principal("beta", "person", (Grant("district_official", "/S28/D746/"),), role_permissions())
    with pytest.raises(Forbidden) as outside:
        _store(doc_node, beta)
    assert outside.value.code == "out_of_jurisdiction"
    lab = Principal("lab", "person", (Grant("lab_analyst", "/S28/"),), role_permissions())
    with pytest.raises(Forbidden) as read_only:
        _store(doc_node, lab, content=b"never stored")
    assert "documents:write" in read_only.value.message
    assert not blob_store(doc_node.settings).exists(hashlib.sha256(b"never stored").hexdigest())
    assert count_rows(doc_node, "documents") == 0
