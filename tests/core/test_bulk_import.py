"""The bulk import contract (one write path for single and bulk writes)."""

from __future__ import annotations

import uuid

import orjson
import pytest

from jaldpi.core.ids import new_id
from tests.helpers import REGISTRIES, build_records, build_world, count_rows, error_of, login_as, record_payload


@pytest.fixture
def d745(client, node):
    build_world(node)
    return login_as(client, node, "d745", "district_official", "district:745")


def bulk(client, headers, registry, body, **params):
    if isinstance(body, list):
        return client.post(f"/api/v1/{registry}/bulk", params=params, json=body, headers=headers)
    content, ctype = body
    return client.post(f"/api/v1/{registry}/bulk", params=params, content=content,
                       headers={**headers, "Content-Type": ctype})


def entity(name: str, **extra) -> dict:
    return {"entity_type": "vwsc", "name": name, "admin_unit": 500001, **extra}


def test_strategies(client, node, d745):
    r = bulk(client, d745, "entities", [entity("A", code="E-A"), entity("B", code="E-B")], strategy="create")
    assert r.status_code == 200 and r.json()["stats"] | {} == {"created": 2, "updated": 0, "deleted": 0,
                                                              "ignored": 0, "errors": 0, "total": 2}
    r = bulk(client, d745, "entities", [entity("A", code="E-A")], strategy="create")
    assert r.status_code == 422 and r.json()["rows"][0]["errors"][0]["code"] == "already_exists"
    r = bulk(client, d745, "entities", [entity("C", code="E-C")], strategy="update")
    assert r.json()["rows"][0]["errors"][0] == {"code": "not_found", "field": "id",
                                                "message": "no entity matches this row's id, code or external id"}
    r = bulk(client, d745, "entities", [{"code": "E-A", "name": "A2"}, entity("C", code="E-C")],
             strategy="create_and_update", report="full")
    assert r.status_code == 200
    assert [row["action"] for row in r.json()["rows"]] == ["updated", "created"]
    r = bulk(client, d745, "entities", [{"code": "E-B"}, {"code": "E-B-missing"}], strategy="delete", atomic="false")
    body = r.json()
    assert body["status"] == "partial" and body["stats"]["deleted"] == 1 and body["stats"]["errors"] == 1
    assert body["rows"][0]["index"] == 1 and body["rows"][0]["errors"][0]["code"] == "not_found"
    names = sorted(i["name"] for i in client.get("/api/v1/entities", headers=d745).json()["items"])
    assert names == ["A2", "C"]
    # deleting again is idempotent
    r = bulk(client, d745, "entities", [{"code": "E-B"}], strategy="delete")
    assert r.json()["stats"]["ignored"] == 1


def test_atomic_writes_nothing_when_a_row_fails(client, node, d745):
    rows = [entity("Good 1"), entity("Bad", admin_unit=999999), entity("Good 2")]
    before = (count_rows(node, "entities"), count_rows(node, "change_log"), count_rows(node, "external_ids"))
    r = bulk(client, d745, "entities", [{**row, "external_ids": {"x": str(i)}} for i, row in enumerate(rows)])
    assert r.status_code == 422
    body = r.json()
    assert body["status"] == "error" and body["written"] is False
    assert body["stats"]["errors"] == 1 and body["stats"]["created"] == 0
    assert body["rows"] == [{"index": 1, "action": "error", "id": None, "code": None, "errors": [
        {"code": "reference_not_found", "field": "admin_unit",
         "message": "admin_units (state/district/subdistrict/block/gram_panchayat/village/habitation) '999999' "
                    "not found or not visible to you"}]}]
    assert (count_rows(node, "entities"), count_rows(node, "change_log"), count_rows(node, "external_ids")) == before


def test_per_record_mode_writes_the_good_rows(client, node, d745):
    rows = [entity("Good 1"), entity("Bad", admin_unit=999999), entity("Good 2"), {"name": "no type"}]
    log = count_rows(node, "change_log")
    r = bulk(client, d745, "entities", rows, atomic="false", report="full")
    assert r.status_code == 200
    body = r.json()
    assert body["status"] == "partial" and body["written"] is True
    assert [row["action"] for row in body["rows"]] == ["created", "error", "created", "error"]
    assert {e["field"] for e in body["rows"][3]["errors"]} >= {"entity_type", "admin_unit"}
    assert count_rows(node, "entities") == 2
    assert count_rows(node, "change_log") == log + 2
    # all rows bad in per-record mode: status error, nothing written
    r = bulk(client, d745, "entities", [{"name": "x"}], atomic="false")
    assert r.status_code == 422 and r.json()["status"] == "error"


def test_dry_run_reports_and_writes_nothing(client, node, d745):
    bulk(client, d745, "entities", [entity("A", code="E-A")])
    before = (count_rows(node, "entities"), count_rows(node, "change_log"))
    r = bulk(client, d745, "entities", [{"code": "E-A", "name": "A2"}, entity("B"), {"code": "E-A2", "name": "x"}],
             dry_run="true", report="full", atomic="false")
    body = r.json()
    assert body["dry_run"] is True and body["written"] is False
    assert [row["action"] for row in body["rows"]] == ["updated", "created", "error"]
    assert (count_rows(node, "entities"), count_rows(node, "change_log")) == before
    assert client.get("/api/v1/entities/E-A", headers=d745).json()["name"] == "A"


@pytest.mark.parametrize("registry", REGISTRIES)
def test_idempotent_resend(client, node, d745, registry):
    build_records(node, {"z1": 500001}, registries=("schemes",) if registry == "components" else ())
    rich = {
        "entities": {"formed_on": "2024-04-01", "members": [{"name": "Asha", "gender": "female", "role": "chairperson"},
                                                            {"name": "Ravi", "gender": "male"}],
                     "serves": [500001, 500002], "attributes": {"k": [1, 2]}},
        "natural_resources": {"geometry": {"type": "Point", "coordinates": [78.5, 17.25]}, "depth_m": 60.5},
        "households": {"social_category": "sc", "connected_on": "2024-01-31", "has_tap_connection": True,
                       "aadhaar": None},
        "schemes": {"sanctioned_cost_inr": "1250000.5", "sanctioned_on": "2023-05-01", "design_population": 800,
                    "attributes": {"funding": "jjm"}},
        "components": {"geometry": {"type": "Point", "coordinates": [78.5, 17.25]}, "capacity_kl": 100,
                       "installed_on": "2024-02-01"},
    }[registry]
    rows = [{**record_payload(registry, village, tag), **rich} for tag, village in (("k1", 500001), ("k2", 500002))]
    if registry == "components":
        for row in rows:
            row["scheme"] = {"external_id": {"system": "test", "value": "schemes-z1"}}
    if registry == "households":
        rows[0].pop("aadhaar")
    r = bulk(client, d745, registry, rows)
    assert r.status_code == 200 and r.json()["stats"]["created"] == 2, r.text
    log = count_rows(node, "change_log")
    r = bulk(client, d745, registry, rows)
    assert r.json()["stats"] == {"created": 0, "updated": 0, "deleted": 0, "ignored": 2, "errors": 0, "total": 2}
    assert count_rows(node, "change_log") == log
    # the records as this API returns them, sent back, change nothing either
    items = client.get(f"/api/v1/{registry}", headers=d745).json()["items"]
    r = bulk(client, d745, registry, items, strategy="update")
    assert r.status_code == 200, r.text
    assert r.json()["stats"]["ignored"] == len(items), r.text
    assert count_rows(node, "change_log") == log


def test_matching_by_id_code_and_external_id(client, node, d745):
    rid = str(new_id())
    r = bulk(client, d745, "entities", [entity("A", id=rid, code="E-A", external_ids={"imis": "1"})])
    assert r.status_code == 200
    for key in ({"id": rid}, {"code": "E-A"}, {"external_ids": {"imis": "1"}}):
        r = bulk(client, d745, "entities", [{**key, "name": f"via {list(key)[0]}"}], strategy="update",
                 report="full")
        assert r.status_code == 200, r.text
        assert r.json()["rows"][0]["id"] == rid and r.json()["rows"][0]["action"] == "updated"
    rec = client.get(f"/api/v1/entities/{rid}", headers=d745).json()
    assert rec["name"] == "via external_ids" and rec["version"] == 4


def test_references_by_id_code_lgd_code_and_external_id(client, node, d745):
    village = client.get("/api/v1/admin_units/LGD-V500001").json()
    bulk(client, d745, "entities", [entity("Agency", code="AG-1", entity_type="implementing_agency",
                                           external_ids={"pfms": "AG-77"})])
    agency = client.get("/api/v1/entities/AG-1", headers=d745).json()
    forms = [
        (village["id"], agency["id"]),
        ("LGD-V500001", "AG-1"),
        (500001, {"code": "AG-1"}),
        ("500001", {"id": agency["id"]}),
        ({"lgd_code": 500001}, {"external_id": {"system": "pfms", "value": "AG-77"}}),
        ({"code": "LGD-V500001"}, {"external_id": {"system": "pfms", "value": "AG-77"}}),
    ]
    rows = [{"name": f"S{i}", "scheme_type": "svs", "villages": [v], "implementing_agency": a}
            for i, (v, a) in enumerate(forms)]
    r = bulk(client, d745, "schemes", rows)
    assert r.status_code == 200, r.text
    items = client.get("/api/v1/schemes", headers=d745).json()["items"]
    assert len(items) == len(forms)
    assert {(tuple(i["village_ids"]), i["implementing_agency_id"]) for i in items} == {((village["id"],), agency["id"])}
    # an external id of another system does not resolve
    r = bulk(client, d745, "schemes", [{**rows[0], "implementing_agency": {"external_id": {"system": "x",
                                                                                           "value": "AG-77"}}}])
    assert r.json()["rows"][0]["errors"][0]["code"] == "reference_not_found"


def test_ndjson_and_csv_bodies(client, node, d745):
    nd = b"\n".join(orjson.dumps(entity(f"N{i}", external_ids={"st": f"n{i}"})) for i in range(3)) + b"\n\n"
    r = bulk(client, d745, "entities", (nd, "application/x-ndjson"))
    assert r.status_code == 200 and r.json()["stats"]["created"] == 3
    csv_body = ("name,entity_type,admin_unit.lgd_code,external_ids.st,serves,formed_on\n"
                "C1,vwsc,500001,c1,500001|500002,2024-01-02\n"
                "C2,vwsc,500002,c2,,\n").encode()
    r = bulk(client, d745, "entities", (csv_body, "text/csv; charset=utf-8"), report="full")
    assert r.status_code == 200, r.text
    c1 = client.get("/api/v1/entities", params={"external_id": "st:c1"}, headers=d745).json()["items"][0]
    assert c1["lgd"]["village"] == 500001 and len(c1["serves_ids"]) == 2 and c1["formed_on"] == "2024-01-02"
    # schemes from CSV: a list of villages and a nested reference
    csv_body = b"name,scheme_type,villages,implementing_agency.code\nM1,mvs,500001|500002,\n"
    r = bulk(client, d745, "schemes", (csv_body, "text/csv"))
    assert r.status_code == 200, r.text
    assert len(client.get("/api/v1/schemes", headers=d745).json()["items"][0]["village_ids"]) == 2


@pytest.mark.parametrize("body,ctype,line", [
    (b'[{"name": "x"}, {"name": ', "application/json", "line 1"),
    (b'{"name": "x", "entity_type": "vwsc", "admin_unit": 500001}\n{"name": oops}\n', "application/x-ndjson",
     "line 2"),
    (b"name,entity_type,admin_unit\nA,vwsc,500001\nB,vwsc\n", "text/csv", "line 3"),
])
def test_malformed_bodies_are_refused_whole(client, node, d745, body, ctype, line):
    before = (count_rows(node, "entities"), count_rows(node, "change_log"))
    r = bulk(client, d745, "entities", (body, ctype), atomic="false")
    assert r.status_code == 422
    err = error_of(r)
    assert err["code"] == "malformed_body" and line in err["message"]
    assert (count_rows(node, "entities"), count_rows(node, "change_log")) == before


def test_a_json_object_body_and_unknown_media_type(client, node, d745):
    r = bulk(client, d745, "entities", (b'{"name": "x"}', "application/json"))
    assert r.status_code == 422 and error_of(r)["code"] == "malformed_body"
    r = bulk(client, d745, "entities", (b"<xml/>", "application/xml"))
    assert r.status_code == 422 and error_of(r)["code"] == "unsupported_media_type"


def test_stable_error_codes_name_the_field(client, node, d745):
    bulk(client, d745, "entities", [entity("A", code="E-A", external_ids={"imis": "1"}), entity("B", code="E-B")])
    bulk(client, d745, "schemes", [{"name": "S", "code": "S-1", "scheme_type": "svs", "villages": [500001]}])
    build_records(node, {"b3": 500003}, registries=("entities",))
    cases = {
        "invalid": ("entities", entity("X", entity_type="nope"), "entity_type"),
        "not_found": ("entities", {"code": "E-NONE", "name": "x"}, "id"),
        "already_exists": ("entities", entity("A", code="E-A"), "id"),
        "reference_not_found": ("entities", entity("X", admin_unit=123), "admin_unit"),
        "out_of_jurisdiction": ("entities", entity("X", admin_unit=500003), "lgd_path"),
        "version_conflict": ("entities", {"code": "E-A", "name": "B", "version": 7}, "version"),
        "duplicate_external_id": ("entities", {"code": "E-B", "external_ids": {"imis": "1"}}, "external_ids.imis"),
        "rule_violation": ("schemes", {"code": "S-1", "lifecycle_status": "commissioned"}, "lifecycle_status"),
    }
    for code, (registry, row, field) in cases.items():
        strategy = {"not_found": "update", "already_exists": "create", "duplicate_external_id": "update",
                    "version_conflict": "update"}.get(code, "create_and_update")
        r = bulk(client, d745, registry, [row], strategy=strategy)
        assert r.status_code == 422, (code, r.text)
        errors = r.json()["rows"][0]["errors"]
        assert (errors[0]["code"], errors[0]["field"]) == (code, field), (code, errors)
        assert errors[0]["message"]
    r = bulk(client, d745, "entities", [entity("D", code="E-D"), entity("D", code="E-D")])
    assert r.json()["rows"][0]["index"] == 1
    assert r.json()["rows"][0]["errors"][0] | {"message": ""} == {"code": "duplicate_in_payload", "field": "code",
                                                                   "message": ""}
    r = bulk(client, d745, "entities", [entity("D", external_ids={"k": "v"}), entity("E", external_ids={"k": "v"})])
    assert [e["code"] for row in r.json()["rows"] for e in row["errors"]] == ["duplicate_external_id"]
    r = bulk(client, d745, "entities", ["not an object"])
    assert r.json()["rows"][0]["errors"][0]["code"] == "invalid"
    assert count_rows(node, "entities") == 3  # E-A, E-B and the ROOT-built record of district 746


def test_in_payload_references_between_admin_units(client, node):
    build_world(node)
    state = login_as(client, node, "s28", "state_official", "state:28")
    rows = [
        {"level": "village", "lgd_code": 600001, "name": "New V", "parent": {"code": "LGD-G600000"}},
        {"level": "gram_panchayat", "lgd_code": 600000, "name": "New GP", "parent": 4001},
    ]
    r = bulk(client, state, "admin_units", rows, report="full")
    assert r.status_code == 200, r.text
    v = client.get("/api/v1/admin_units/LGD-V600001").json()
    assert v["lgd_path"] == "/S28/D745/B4001/G600000/V600001/"


def test_bulk_record_limit(client, node, d745, app):
    node.settings.max_bulk_records, old = 2, node.settings.max_bulk_records
    try:
        r = bulk(client, d745, "entities", [entity(str(i)) for i in range(3)])
    finally:
        node.settings.max_bulk_records = old
    assert r.status_code == 413 and error_of(r)["code"] == "payload_too_large"
    assert count_rows(node, "entities") == 0


def test_client_minted_ids_are_kept(client, node, d745):
    rid = uuid.UUID(int=new_id().int)
    r = bulk(client, d745, "entities", [entity("A", id=str(rid))], report="full")
    assert r.json()["rows"][0]["id"] == str(rid)
