"""The upload, content and public-content routes, and the registry rules seen through the API."""

from __future__ import annotations

import hashlib

from tests.documents.conftest import JPEG, MP4, PDF, PNG, upload
from tests.helpers import count_rows, error_of


def test_upload_and_download_round_trip(doc_client, alpha, doc_settings):
    response = upload(doc_client, alpha, title="Standpost at the school", captured_at="2026-11-20T10:30:00+05:30",
                      subject_type="components", subject_id="CMP-1", attributes='{"stage": "completed"}')
    assert response.status_code == 201, response.text
    record = response.json()
    sha = hashlib.sha256(JPEG).hexdigest()
    assert record["sha256"] == sha and record["size_bytes"] == len(JPEG)
    assert record["document_type"] == "photo" and record["media_type"] == "image/jpeg"
    assert record["lgd_path"].startswith("/S28/D745/") and record["lgd"]["village"] == 500001
    assert (record["lon"], record["lat"]) == (78.4867, 17.385)
    assert record["captured_at"] == "2026-11-20T05:00:00+00:00"
    assert record["attributes"] == {"stage": "completed"} and record["public"] is False
    assert record["content_url"] == f"/api/v1/documents/{record['id']}/content" and record["public_url"] is None
    assert response.headers["location"] == f"/api/v1/documents/{record['id']}"
    # the bytes sit in the sharded store under their hash
    assert (doc_settings.documents_dir / sha[:2] / sha[2:4] / sha).read_bytes() == JPEG

    content = doc_client.get(record["content_url"], headers=alpha)
    assert content.status_code == 200
    assert content.content == JPEG
    assert content.headers["content-type"] == "image/jpeg"
    assert content.headers["content-length"] == str(len(JPEG))
    assert content.headers["etag"] == f'"{sha}"'
    assert content.headers["content-disposition"] == (
        "inline; filename=\"standpost.jpg\"; filename*=UTF-8''standpost.jpg")
    assert content.headers["x-content-type-options"] == "nosniff"
    # by code too, and a revalidation costs no bytes
    assert doc_client.get(f"/api/v1/documents/{record['code']}/content", headers=alpha).content == JPEG
    again = doc_client.get(record["content_url"], headers=alpha | {"If-None-Match": f'"{sha}"'})
    assert again.status_code == 304 and again.content == b""
    # the metadata is an ordinary registry record: searchable, with history
    page = doc_client.get("/api/v1/documents?document_type=photo&q=school", headers=alpha).json()
    assert [d["id"] for d in page["items"]] == [record["id"]]
    history = doc_client.get(f"/api/v1/documents/{record['id']}/history", headers=alpha).json()["items"]
    assert [h["operation"] for h in history] == ["create"]


def test_hindi_filename_and_attachment_disposition(doc_client, alpha):
    record = upload(doc_client, alpha, PDF, "ग्राम सभा प्रस्ताव.pdf", "application/pdf",
                    document_type="gram_sabha_resolution", lon="<omit>", lat="<omit>").json()
    assert record["filename"] == "ग्राम सभा प्रस्ताव.pdf"
    disposition = doc_client.get(record["content_url"], headers=alpha).headers["content-disposition"]
    assert disposition.startswith('inline; filename="')
    assert "filename*=UTF-8''%E0%A4%97%E0%A5%8D" in disposition  # the exact name, percent-encoded (RFC 8187)
    sheet = upload(doc_client, alpha, b"PK\x03\x04" + b"\x00" * 40, "plan.xlsx",
                   "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
                   document_type="village_action_plan", lon="<omit>", lat="<omit>").json()
    assert doc_client.get(sheet["content_url"], headers=alpha).headers["content-disposition"].startswith("attachment;")


def test_same_bytes_are_stored_once(doc_client, alpha, doc_settings):
    first = upload(doc_client, alpha, filename="a.jpg").json()
    second = upload(doc_client, alpha, filename="b.jpg", admin_unit="500002").json()
    assert first["id"] != second["id"] and first["sha256"] == second["sha256"]
    stored = [p for p in doc_settings.documents_dir.rglob("*") if p.is_file()]
    assert [p.name for p in stored] == [first["sha256"]]  # one blob, and no temporary file left behind
    page = doc_client.get(f"/api/v1/documents?sha256={first['sha256']}", headers=alpha).json()
    assert len(page["items"]) == 2


def test_jurisdiction_other_district_cannot_read_content(doc_client, alpha, beta):
    record = upload(doc_client, alpha).json()
    for url in (record["content_url"], f"/api/v1/documents/{record['id']}"):
        response = doc_client.get(url, headers=beta)
        assert response.status_code == 404, url
        assert error_of(response)["code"] == "not_found"
    assert doc_client.get(record["content_url"], headers=alpha).status_code == 200
    assert error_of(doc_client.get(record["content_url"]))["code"] == "unauthenticated"
    # nor write there: a district 746 official cannot upload into district 745
    refused = upload(doc_client, beta, PNG, "x.png", "image/png")
    assert refused.status_code == 403 and error_of(refused)["code"] == "out_of_jurisdiction"


def test_public_route_serves_only_public_documents(doc_client, alpha):
    private = upload(doc_client, alpha).json()
    video = upload(doc_client, alpha, MP4, "gram-sabha.mp4", "video/mp4", document_type="video", public=True,
                   lon="<omit>", lat="<omit>").json()
    assert video["public_url"] == f"/public/v1/documents/{video['id']}/content"
    served = doc_client.get(video["public_url"])  # no token
    assert served.status_code == 200 and served.content == MP4
    assert served.headers["content-type"] == "video/mp4"
    assert served.headers["cache-control"].startswith("public")
    assert doc_client.get(f"/public/v1/documents/{video['code']}/content").content == MP4
    for key in (private["id"], private["code"], "00000000-0000-7000-8000-000000000000"):
        response = doc_client.get(f"/public/v1/documents/{key}/content")
        assert response.status_code == 404 and error_of(response)["code"] == "not_found"
    # made private again (a PATCH through the registry), it is no longer served
    patched = doc_client.patch(f"/api/v1/documents/{video['id']}", json={"public": False}, headers=alpha)
    assert patched.status_code == 200, patched.text
    assert doc_client.get(video["public_url"]).status_code == 404


def _refused(response, status: int, field: str, code: str = "validation_failed") -> str:
    assert response.status_code == status, response.text
    err = error_of(response)
    assert err["code"] == code, err
    fields = [d["field"] for d in err["details"]]
    assert field in fields, err
    return next(d["problem"] for d in err["details"] if d["field"] == field)


def test_refusals_name_the_problem(doc_client, doc_node, alpha):
    assert "photo" in _refused(upload(doc_client, alpha, document_type="selfie"), 422, "document_type")
    assert "image/jpeg" in _refused(upload(doc_client, alpha, PDF, "x.pdf", "application/pdf"), 422, "media_type")
    assert ".png" in _refused(upload(doc_client, alpha, PNG, "x.jpg", "image/png"), 422, "filename")
    problem = _refused(upload(doc_client, alpha, PDF, "x.jpg", "image/jpeg"), 422, "media_type")
    assert "application/pdf" in problem  # the bytes say PDF
    assert _refused(upload(doc_client, alpha, b"", "x.jpg"), 422, "file") == "0 bytes"
    assert "geotag" in _refused(upload(doc_client, alpha, lon="<omit>", lat="<omit>"), 422, "lon")
    assert "lat" in error_of(upload(doc_client, alpha, lat="<omit>"))["message"]
    _refused(upload(doc_client, alpha, lon="181"), 422, "lon")
    _refused(upload(doc_client, alpha, admin_unit="999999"), 422, "admin_unit", "validation_failed")
    _refused(upload(doc_client, alpha, attributes="[1]"), 422, "attributes")
    assert count_rows(doc_node, "documents") == 0


def test_too_large_is_413_and_stores_nothing(doc_client, alpha, doc_settings):
    big = JPEG + b"\x00" * doc_settings.documents_max_bytes
    response = _refused(upload(doc_client, alpha, big, "big.jpg"), 413, "file", "payload_too_large")
    assert str(doc_settings.documents_max_bytes) in response
    assert [p for p in doc_settings.documents_dir.rglob("*") if p.is_file()] == []
    # far above the upload route's own body limit, the middleware cuts the body off first
    huge = b"\xff\xd8\xff" + b"\x00" * (doc_settings.documents_max_bytes + doc_settings.documents_form_overhead_bytes)
    cut = upload(doc_client, alpha, huge, "huge.jpg")
    assert cut.status_code == 413 and error_of(cut)["code"] == "payload_too_large"


def test_upload_route_takes_bodies_above_the_json_limit(doc_client, alpha, doc_settings):
    photo = JPEG + b"\x00" * (doc_settings.max_body_bytes * 3)  # three times what any other route accepts
    response = upload(doc_client, alpha, photo, "large.jpg")
    assert response.status_code == 201, response.text
    assert response.json()["size_bytes"] == len(photo)
    # every other route keeps the node's limit
    other = doc_client.post("/api/v1/documents", content=b"[" + b" " * doc_settings.max_body_bytes + b"]",
                            headers=alpha | {"Content-Type": "application/json"})
    assert other.status_code == 413


def test_metadata_only_records_must_point_at_stored_content(doc_client, doc_node, alpha):
    stored = upload(doc_client, alpha).json()
    base = {"document_type": "photo", "filename": "copy.jpg", "media_type": "image/jpeg", "admin_unit": 500002,
            "lon": 78.5, "lat": 17.4}
    missing = doc_client.post("/api/v1/documents", json=base | {"sha256": "ab" * 32}, headers=alpha)
    assert "upload" in _refused(missing, 422, "sha256")
    wrong_size = doc_client.post("/api/v1/documents", json=base | {"sha256": stored["sha256"], "size_bytes": 5},
                                 headers=alpha)
    assert str(len(JPEG)) in _refused(wrong_size, 422, "size_bytes")
    _refused(doc_client.post("/api/v1/documents", json=base | {"sha256": "not-a-hash"}, headers=alpha), 422,
             "sha256")
    ok = doc_client.post("/api/v1/documents", json=base | {"sha256": stored["sha256"].upper()}, headers=alpha)
    assert ok.status_code == 201, ok.text
    assert ok.json()["size_bytes"] == len(JPEG)  # taken from the store
    assert count_rows(doc_node, "documents") == 2
