"""Signed lab test reports: issued for completed lab samples only, verifiable by anyone through the public verify
endpoint or offline against the node's JWKS (the CLI), tampering detected, scoped like the sample."""

from __future__ import annotations

import base64
import json

from tests.helpers import error_of
from tests.water_quality.wq_world import V1, build_wq


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def tamper(jws: str, change) -> str:
    header, payload, signature = jws.split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    change(claims)
    return ".".join([header, _b64(json.dumps(claims).encode()), signature])


def lab_report(client, node):
    w = build_wq(client, node)
    point = w.point("district", 500001)
    sample = w.sample("analyst", point, {"fluoride": "1.8", "arsenic": {"value": "5", "unit": "ppb"}},
                      tested_at="2030-03-02T10:00:00+05:30", collected_by="analyst")
    return w, point, sample


def test_signed_report_verifies_online_and_tampering_is_detected(client, node):
    w, point, sample = lab_report(client, node)
    body = w.get("district", f"/api/v1/samples/{sample['code']}/signed-report")
    assert body["type"] == "jaldpi/water-test-report/v1"
    report = body["report"]
    assert report["sample"]["id"] == sample["id"] and report["verdict"] == "unsafe"
    assert report["contaminants"] == ["fluoride"] and report["ruleset_version"] == "IS10500:2012"
    assert report["lgd_path"] == V1 and report["sampling_point"]["code"] == point["code"]
    assert report["lab"]["code"] == w.lab["code"]
    assert report["lab"]["accreditation"]["certificate_number"] == "TC-1234"
    assert report["lab"]["accredited_on_test_date"] is True
    assert [r["value"] for r in report["results"]] == ["1.8", "5"]

    # public verification, no token
    v = client.post("/api/v1/verify", json={"jws": body["jws"]}).json()
    assert v["valid"] is True and v["problem"] is None
    assert v["document"]["report"] == report
    assert v["document"]["iss"] == "test-node" and v["document"]["sub"] == f"samples/{sample['id']}"
    assert v["kid"] == client.get("/.well-known/jwks.json").json()["keys"][0]["kid"]

    # the verdict changed in the payload: invalid, and why
    forged = tamper(body["jws"], lambda c: c["report"].update(verdict="safe", contaminants=[]))
    v = client.post("/api/v1/verify", json={"jws": forged}).json()
    assert v["valid"] is False and v["document"] is None
    assert "signature does not match" in v["problem"]
    # an unknown key, and not a JWS at all
    header, payload, sig = body["jws"].split(".")
    other_kid = _b64(json.dumps({"alg": "EdDSA", "kid": "feedfacefeedface", "typ": "JWT"}).encode())
    v = client.post("/api/v1/verify", json={"jws": f"{other_kid}.{payload}.{sig}"}).json()
    assert v["valid"] is False and "no key 'feedfacefeedface'" in v["problem"]
    r = client.post("/api/v1/verify", json={"jws": "not-a-jws-at-all"})
    assert r.status_code == 422 and error_of(r)["code"] == "malformed_document"


def test_who_gets_a_report(client, node):
    w, point, sample = lab_report(client, node)
    # the field tester of the village sees the sample, so gets its report (the lab is named on it)
    assert w.get("tester", f"/api/v1/samples/{sample['id']}/signed-report")["report"]["lab"]["code"] == \
        w.lab["code"]
    # another district: as if it did not exist
    err = error_of(w.client.get(f"/api/v1/samples/{sample['id']}/signed-report", headers=w.h["other"]))
    assert err["code"] == "not_found"
    assert w.client.get(f"/api/v1/samples/{sample['id']}/signed-report").status_code == 401
    # a field-kit sample and a pending lab sample have no report
    kit = w.sample("tester", point, {"fluoride": "1.5-2.0"}, kind="field_kit")
    pending = w.sample("analyst", point, {})
    assert pending["verdict"] == "pending"
    for s in (kit, pending):
        r = w.client.get(f"/api/v1/samples/{s['id']}/signed-report", headers=w.h["district"])
        assert r.status_code == 409 and error_of(r)["code"] == "report_not_ready"
