"""CRUD, versions, history, keyset pages and the one error shape."""

from __future__ import annotations

import uuid

import pytest

from jaldpi.core.ids import new_id
from tests.helpers import build_world, count_rows, error_of, login_as


@pytest.fixture
def d745(client, node):
    build_world(node)
    return login_as(client, node, "d745", "district_official", "district:745")


def test_crud_versions_and_history(client, node, d745):
    rid = str(new_id())
    r = client.post("/api/v1/entities", headers=d745, json={
        "id": rid, "entity_type": "vwsc", "name": "VWSC One", "admin_unit": 500001, "external_ids": {"imis": "7"}})
    assert r.status_code == 201, r.text
    rec = r.json()
    assert rec["id"] == rid and rec["version"] == 1 and r.headers["location"] == f"/api/v1/entities/{rid}"
    assert rec["code"].startswith("ENT-") and len(rec["code"]) == 16
    assert rec["created_by"] == "d745" and rec["source_system"] == "test-node"
    by_code = client.get(f"/api/v1/entities/{rec['code']}", headers=d745)
    assert by_code.json() == client.get(f"/api/v1/entities/{rid}", headers=d745).json() == rec
    assert by_code.headers["etag"] == '"1"'
    # PATCH merges: other fields are kept
    r = client.patch(f"/api/v1/entities/{rid}", headers=d745, json={"status": "inactive"})
    assert r.status_code == 200 and r.json()["version"] == 2
    assert (r.json()["name"], r.json()["status"], r.json()["external_ids"]) == ("VWSC One", "inactive", {"imis": "7"})
    # If-Match and body version: a stale version is refused with 409, nothing written
    log = count_rows(node, "change_log")
    r = client.patch(f"/api/v1/entities/{rid}", headers={**d745, "If-Match": '"1"'}, json={"name": "X"})
    assert r.status_code == 409 and error_of(r)["code"] == "version_conflict"
    r = client.patch(f"/api/v1/entities/{rid}", headers=d745, json={"name": "X", "version": 1})
    assert r.status_code == 409 and error_of(r)["details"][0]["field"] == "version"
    r = client.delete(f"/api/v1/entities/{rid}", headers={**d745, "If-Match": 'W/"1"'})
    assert r.status_code == 409
    assert count_rows(node, "change_log") == log
    r = client.patch(f"/api/v1/entities/{rid}", headers={**d745, "If-Match": '"2"'}, json={"name": "Renamed"})
    assert r.status_code == 200 and r.json()["version"] == 3
    # soft delete: gone from lists and reads, visible with include_deleted, restorable by update
    r = client.delete(f"/api/v1/entities/{rid}", headers=d745)
    assert r.status_code == 200 and r.json()["deleted_at"] and r.json()["version"] == 4
    assert client.get(f"/api/v1/entities/{rid}", headers=d745).status_code == 404
    assert client.get("/api/v1/entities", headers=d745).json()["items"] == []
    listed = client.get("/api/v1/entities", params={"include_deleted": "true"}, headers=d745).json()["items"]
    assert [i["id"] for i in listed] == [rid]
    assert client.delete(f"/api/v1/entities/{rid}", headers=d745).status_code == 404
    r = client.patch(f"/api/v1/entities/{rid}", headers=d745, json={"name": "Back"})
    assert r.status_code == 200 and r.json()["deleted_at"] is None and r.json()["version"] == 5
    history = client.get(f"/api/v1/entities/{rec['code']}/history", headers=d745).json()["items"]
    assert [(h["operation"], h["version"]) for h in history] == [
        ("create", 1), ("update", 2), ("update", 3), ("delete", 4), ("restore", 5)]
    for h in history:
        assert h["actor"] == "d745" and h["source_system"] == "test-node" and h["occurred_at"] and h["hash"]
    assert history[1]["changes"] == {"status": ["active", "inactive"]}
    assert history[2]["changes"] == {"name": ["VWSC One", "Renamed"]}
    assert "deleted_at" in history[3]["changes"]
    assert history[0]["changes"]["name"] == [None, "VWSC One"]


def test_partner_system_writes_carry_its_source_system(client, node, d745):
    partner = login_as(client, node, "state-mis", "partner_system", "district:745", kind="system",
                       source_system="ap-state-mis")
    r = client.post("/api/v1/entities", headers=partner, json={"entity_type": "vwsc", "name": "P",
                                                               "admin_unit": 500002})
    assert r.status_code == 201 and r.json()["source_system"] == "ap-state-mis"
    history = client.get(f"/api/v1/entities/{r.json()['id']}/history", headers=d745).json()["items"]
    assert (history[0]["actor"], history[0]["source_system"]) == ("state-mis", "ap-state-mis")


def test_client_given_code_and_duplicates(client, node, d745):
    body = {"entity_type": "vwsc", "name": "A", "admin_unit": 500001, "code": "VWSC-500001-1"}
    assert client.post("/api/v1/entities", headers=d745, json=body).status_code == 201
    r = client.post("/api/v1/entities", headers=d745, json=body)
    assert r.status_code == 409 and error_of(r)["code"] == "already_exists"
    r = client.post("/api/v1/entities", headers=d745, json={**body, "code": None, "id": "not-a-uuid"})
    assert r.status_code == 422 and error_of(r)["details"][0]["field"] == "id"


def test_keyset_pages(client, node, d745):
    rows = [{"entity_type": "vwsc", "name": f"E{i:03d}", "admin_unit": 500001 + (i % 2)} for i in range(230)]
    assert client.post("/api/v1/entities/bulk", json=rows, headers=d745).status_code == 200
    seen: list[str] = []
    cursor = None
    pages = 0
    while True:
        params = {"limit": 50} | ({"after": cursor} if cursor else {})
        page = client.get("/api/v1/entities", params=params, headers=d745).json()
        assert "total" not in page
        assert len(page["items"]) <= 50
        seen += [i["id"] for i in page["items"]]
        pages += 1
        cursor = page["next_cursor"]
        if not cursor:
            break
    assert pages == 5 and len(seen) == 230 and len(set(seen)) == 230
    assert seen == sorted(seen, key=lambda s: uuid.UUID(s).int)
    r = client.get("/api/v1/entities", params={"limit": 40, "total": "true", "within": "village:500002"},
                   headers=d745).json()
    assert r["total"] == 115 and len(r["items"]) == 40
    node.settings.max_page_size, old = 100, node.settings.max_page_size
    try:
        r = client.get("/api/v1/entities", params={"limit": 100000}, headers=d745).json()
    finally:
        node.settings.max_page_size = old
    assert len(r["items"]) == 100 and r["next_cursor"]
    for bad in ("not-a-cursor!", "AAAA", "%%%"):
        r = client.get("/api/v1/entities", params={"after": bad}, headers=d745)
        assert r.status_code == 422 and error_of(r)["details"][0]["field"] == "after"
    r = client.get("/api/v1/entities", params={"limit": 0}, headers=d745)
    assert r.status_code == 422 and error_of(r)["details"][0]["field"] == "query.limit"
    # csv export pages carry a Link to the next page
    r = client.get("/api/v1/entities", params={"format": "csv", "limit": 100}, headers=d745)
    assert 'rel="next"' in r.headers["link"] and r.text.count("\n") == 101


def test_errors_have_one_shape_and_failed_requests_write_nothing(client, node, d745):
    before = {t: count_rows(node, t) for t in ("entities", "change_log", "external_ids")}
    cases = [
        client.post("/api/v1/entities", headers=d745, json={"entity_type": "vwsc", "name": "A",
                                                            "admin_unit": 500001, "colour": "blue"}),
        client.post("/api/v1/entities", headers=d745, json={"entity_type": "vwsc", "admin_unit": 500001}),
        client.post("/api/v1/entities", headers=d745, content=b"{not json",
                    ),
        client.get("/api/v1/entities", params={"colour": "blue"}, headers=d745),
        client.get("/api/v1/entities", params={"women_rule_met": "maybe"}, headers=d745),
        client.post("/api/v1/entities/bulk", params={"dryrun": "true"}, headers=d745,
                    json=[{"entity_type": "vwsc", "name": "A", "admin_unit": 500001}]),
        client.get("/api/v1/entities/ENT-X", params={"verbose": "1"}, headers=d745),
        client.patch("/api/v1/entities/ENT-NONE", headers=d745, json={"name": "x"}),
        client.get("/api/v1/nothing-here"),
        client.get("/api/v1/entities", headers={"Authorization": "Bearer forged.token.value"}),
        client.post("/api/v1/entities", headers=d745, json={"entity_type": "vwsc", "name": "A",
                                                            "admin_unit": 500003}),
    ]
    expected = [(422, "colour"), (422, "name"), (422, None), (422, "colour"), (422, "women_rule_met"),
                (422, "dryrun"), (422, "verbose"), (404, None), (404, None), (401, None), (403, "lgd_path")]
    for r, (status, field) in zip(cases, expected, strict=True):
        assert r.status_code == status, r.text
        err = error_of(r)
        if field:
            assert field in [d["field"] for d in err["details"]], err
    assert {t: count_rows(node, t) for t in before} == before


def test_method_not_allowed_has_the_error_shape(client, node, d745):
    r = client.put("/api/v1/entities/ENT-X", headers=d745, json={})
    assert r.status_code == 405
    assert error_of(r)["code"] == "method_not_allowed"
