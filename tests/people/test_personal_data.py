"""Personal data of households: encrypted at rest, clear only with pii:read in jurisdiction, masked otherwise,
every clear read logged, never a raw Aadhaar number, never a personal value in the change log."""

from __future__ import annotations

import hashlib
import hmac

import pytest
from sqlalchemy import text

from jaldpi.people.schemas import _verhoeff_ok
from tests.helpers import build_world, count_rows, error_of, login_as


def valid_aadhaar(prefix: str = "23456789012") -> str:
    for d in "0123456789":
        if _verhoeff_ok(prefix + d):
            return prefix + d
    raise AssertionError("no check digit")


AADHAAR = valid_aadhaar()
NAME, PHONE, RATION = "Sita Ramaswamy", "9876501234", "RC-778899"
# whole values only: a 5-digit fragment of the phone also turns up by chance inside hex hashes and UUIDs
PLAINTEXTS = ["Sita", "Ramaswamy", PHONE, RATION, AADHAAR, AADHAAR[:8]]


@pytest.fixture
def hh(client, node):
    build_world(node)
    d745 = login_as(client, node, "d745", "district_official", "district:745")
    r = client.post("/api/v1/households", headers=d745, json={
        "village": 500001, "members_count": 5, "head_name": NAME, "phone": PHONE, "ration_card": RATION,
        "aadhaar": f"{AADHAAR[:4]} {AADHAAR[4:8]} {AADHAAR[8:]}", "external_ids": {"state_mis": "HH-1"}})
    assert r.status_code == 201, r.text
    return r.json(), d745


def _dump(node, table: str) -> str:
    with node.db.engine.connect() as conn:
        rows = conn.execute(text(f'SELECT * FROM "{table}"')).all()
    out = []
    for row in rows:
        for v in row:
            out.append(v.decode("latin-1") if isinstance(v, bytes | memoryview) else str(v))
    return "\n".join(out)


def test_personal_data_is_stored_only_encrypted(client, node, hh):
    record, _ = hh
    assert record["head_name"] == NAME and record["aadhaar"] == f"XXXX XXXX {AADHAAR[-4:]}"
    for table in ("households", "household_personal_data", "change_log", "external_ids"):
        dump = _dump(node, table)
        assert dump, table
        for secret in PLAINTEXTS:
            assert secret not in dump, (table, secret)
    with node.db.engine.connect() as conn:
        ihash = conn.execute(text("SELECT identity_hash FROM household_personal_data")).scalar_one()
    expected = hmac.new(node.settings.identity_hash_key.encode(), AADHAAR.encode(), hashlib.sha256).hexdigest()
    assert ihash == expected


def test_change_log_never_holds_personal_values(client, node, hh):
    record, d745 = hh
    r = client.patch(f"/api/v1/households/{record['id']}", headers=d745,
                     json={"phone": "9123456780", "head_name": "Gita Kumari", "members_count": 6})
    assert r.status_code == 200 and r.json()["head_name"] == "Gita Kumari"
    dump = _dump(node, "change_log")
    for secret in [*PLAINTEXTS, "9123456780", "Gita", "Kumari"]:
        assert secret not in dump
    history = client.get(f"/api/v1/households/{record['id']}/history", headers=d745).json()["items"]
    assert history[-1]["changes"]["personal_data"] == ["head_name", "phone"]
    assert history[-1]["changes"]["members_count"] == [5, 6]


@pytest.mark.parametrize("role,within,kind,clear", [
    ("state_official", "state:28", "person", True),
    ("district_official", "district:745", "person", True),
    ("national_official", "/", "person", False),
    ("block_official", "block:4001", "person", False),
    ("vwsc_operator", "village:500001", "person", False),
    ("partner_system", "district:745", "system", False),
])
def test_clear_only_with_pii_read_and_every_clear_read_is_logged(client, node, hh, role, within, kind, clear):
    record, _ = hh
    h = login_as(client, node, f"u-{role}", role, within, kind=kind)
    logged = count_rows(node, "personal_data_access_log")
    responses = [
        client.get(f"/api/v1/households/{record['id']}", headers=h),
        client.get(f"/api/v1/households/{record['code']}", headers=h),
        client.get("/api/v1/households", headers=h),
        client.get("/api/v1/lookup", params={"system": "state_mis", "value": "HH-1"}, headers=h),
    ]
    csv_export = client.get("/api/v1/households", params={"format": "csv"}, headers=h)
    ndjson_export = client.get("/api/v1/households", params={"format": "ndjson"}, headers=h)
    for r in [*responses, csv_export, ndjson_export]:
        assert r.status_code == 200, r.text
        assert AADHAAR not in r.text and AADHAAR[:8] not in r.text
    shown = [responses[0].json(), responses[1].json(), responses[2].json()["items"][0],
             responses[3].json()["items"][0]["record"]]
    for rec in shown:
        if clear:
            assert (rec["head_name"], rec["phone"], rec["ration_card"]) == (NAME, PHONE, RATION)
            assert rec["aadhaar"] == f"XXXX XXXX {AADHAAR[-4:]}"
        else:
            assert rec["head_name"] == "S*** R********"
            assert rec["phone"] == "XXXXXXXX34"
            assert rec["ration_card"] == "XXXX"
            assert rec["aadhaar"] == "XXXX XXXX XXXX"
    for export in (csv_export, ndjson_export):
        assert (NAME in export.text) is clear and (PHONE in export.text) is clear
    with node.db.engine.connect() as conn:
        rows = conn.execute(text("SELECT actor, record_type, record_ids, record_count FROM personal_data_access_log "
                                 "ORDER BY id")).all()[logged:]
    if not clear:
        assert rows == []  # masked reads are not logged
        return
    assert len(rows) == 6  # get by id, by code, list, lookup, csv export, ndjson export
    for actor, record_type, ids, n in rows:
        ids = ids if isinstance(ids, list) else __import__("json").loads(ids)
        assert (actor, record_type, ids, n) == (f"u-{role}", "households", [record["id"]], 1)


def test_list_read_logs_every_record_shown(client, node, hh):
    record, d745 = hh
    second = client.post("/api/v1/households", headers=d745, json={
        "village": 500002, "members_count": 2, "head_name": "Ravi Kumar"}).json()
    before = count_rows(node, "personal_data_access_log")
    assert client.get("/api/v1/households", headers=d745).status_code == 200
    with node.db.engine.connect() as conn:
        actor, ids, n = conn.execute(text("SELECT actor, record_ids, record_count FROM personal_data_access_log "
                                          "ORDER BY id DESC")).first()
    ids = ids if isinstance(ids, list) else __import__("json").loads(ids)
    assert count_rows(node, "personal_data_access_log") == before + 1
    assert actor == "d745" and n == 2 and sorted(ids) == sorted([record["id"], second["id"]])


def test_other_district_official_sees_nothing(client, node, hh):
    record, _ = hh
    d746 = login_as(client, node, "d746", "district_official", "district:746")
    assert client.get(f"/api/v1/households/{record['id']}", headers=d746).status_code == 404
    assert client.get("/api/v1/households", headers=d746).json()["items"] == []
    assert client.get("/api/v1/lookup", params={"system": "state_mis", "value": "HH-1"},
                      headers=d746).status_code == 404


def test_anonymous_callers_get_401_or_404(client, node, hh):
    record, _ = hh
    before = count_rows(node, "personal_data_access_log")
    for url in (f"/api/v1/households/{record['id']}", "/api/v1/households",
                f"/api/v1/households/{record['id']}/history", "/api/v1/households?format=csv"):
        r = client.get(url)
        assert r.status_code == 401, (url, r.text)
        assert error_of(r)["code"] == "unauthenticated"
    r = client.get("/api/v1/lookup", params={"system": "state_mis", "value": "HH-1"})
    assert r.status_code == 404
    r = client.post("/api/v1/households", json={"village": 500001, "members_count": 1})
    assert r.status_code == 401
    r = client.post("/api/v1/households/bulk", json=[{"village": 500001, "members_count": 1}])
    assert r.status_code == 401
    assert client.patch(f"/api/v1/households/{record['id']}", json={"members_count": 2}).status_code == 401
    assert client.delete(f"/api/v1/households/{record['id']}").status_code == 401
    assert count_rows(node, "personal_data_access_log") == before
    assert count_rows(node, "households") == 1


def test_masked_values_sent_back_do_not_overwrite_personal_data(client, node, hh):
    record, d745 = hh
    block = login_as(client, node, "b4001", "block_official", "block:4001")
    seen = client.get(f"/api/v1/households/{record['id']}", headers=block).json()
    assert seen["head_name"] == "S*** R********"
    r = client.patch(f"/api/v1/households/{record['id']}", headers=block,
                     json={k: seen[k] for k in ("head_name", "phone", "ration_card", "aadhaar", "members_count")})
    assert r.status_code == 200, r.text
    again = client.get(f"/api/v1/households/{record['id']}", headers=d745).json()
    assert (again["head_name"], again["phone"], again["ration_card"]) == (NAME, PHONE, RATION)
    assert again["aadhaar"] == f"XXXX XXXX {AADHAAR[-4:]}"


def test_resending_the_same_personal_data_is_ignored(client, node, hh):
    record, d745 = hh
    row = {"id": record["id"], "village": 500001, "members_count": 5, "head_name": NAME, "phone": PHONE,
           "ration_card": RATION, "aadhaar": AADHAAR, "external_ids": {"state_mis": "HH-1"}}
    log = count_rows(node, "change_log")
    r = client.post("/api/v1/households/bulk", json=[row], headers=d745)
    assert r.status_code == 200 and r.json()["stats"]["ignored"] == 1, r.text
    assert count_rows(node, "change_log") == log
    r = client.post("/api/v1/households/bulk", json=[{**row, "phone": "9000000001"}], headers=d745)
    assert r.json()["stats"]["updated"] == 1
    assert count_rows(node, "change_log") == log + 1


def test_invalid_aadhaar_is_refused_without_echoing_it(client, node, hh):
    _, d745 = hh
    bad = AADHAAR[:-1] + str((int(AADHAAR[-1]) + 1) % 10)
    r = client.post("/api/v1/households", headers=d745, json={"village": 500001, "members_count": 1,
                                                               "aadhaar": bad})
    assert r.status_code == 422
    assert error_of(r)["details"][0]["field"] == "aadhaar"
    assert bad not in r.text
    r = client.post("/api/v1/households/bulk", headers=d745, json=[{"village": 500001, "members_count": 1,
                                                                    "aadhaar": bad}])
    assert r.status_code == 422 and bad not in r.text
    assert r.json()["rows"][0]["errors"][0]["field"] == "aadhaar"


def test_ciphertext_is_bound_to_its_household(client, node, hh):
    """AES-GCM with the household id as associated data: a blob copied onto another household does not decrypt,
    and a flipped byte is detected rather than read as garbage."""
    import uuid

    record, _ = hh
    store = node.catalogue["households"].spec.private_store
    hid = uuid.UUID(record["id"])
    with node.db.engine.connect() as conn:
        blob = bytes(conn.execute(text("SELECT ciphertext FROM household_personal_data")).scalar_one())
    assert store.decrypt(hid, blob)["head_name"] == NAME
    assert "_error" in store.decrypt(uuid.uuid4(), blob)
    tampered = blob[:-1] + bytes([blob[-1] ^ 1])
    assert "_error" in store.decrypt(hid, tampered)
