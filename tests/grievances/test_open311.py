"""Open311 GeoReport v2: discovery, services, service definitions, POST (form-encoded) and GET of requests, tokens,
XML variants and the spec's error shape."""

from __future__ import annotations

import xml.etree.ElementTree as ET

from tests.grievances.conftest import CITIZEN, sent

BASE = "/open311/v2"


def test_open311_round_trip(gclient, gnode, operator):
    d = gclient.get(f"{BASE}/discovery.json").json()
    assert d["endpoints"][0]["specification"] == "http://wiki.open311.org/GeoReport_v2"
    services = gclient.get(f"{BASE}/services.json").json()
    assert {s["service_code"] for s in services} >= {"no_water", "leak_burst", "billing"}
    assert all(s["metadata"] is True and s["type"] == "realtime" for s in services)
    definition = gclient.get(f"{BASE}/services/leak_burst.json").json()
    assert definition["attributes"][0]["code"] == "village_lgd_code" and definition["attributes"][0]["required"]

    r = gclient.post(f"{BASE}/requests.json", data={
        "service_code": "leak_burst", "lat": "16.5", "long": "80.6", "description": "Pipe burst at the bus stand",
        "first_name": "Lakshmi", "phone": CITIZEN, "attribute[village_lgd_code]": "500001"})
    assert r.status_code == 201, r.text
    created = r.json()[0]
    ref = created["service_request_id"]
    assert ref.startswith("GRV-") and "PIN" in created["service_notice"]
    assert sent(gnode, CITIZEN)[0]["template"] == "grievances_received"

    one = gclient.get(f"{BASE}/requests/{ref}.json").json()
    assert len(one) == 1 and one[0]["status"] == "open" and one[0]["service_code"] == "leak_burst"
    assert one[0]["address_id"] == "500001" and one[0]["lat"] == 16.5 and one[0]["long"] == 80.6
    assert one[0]["description"] is None and "Lakshmi" not in str(one[0])
    listed = gclient.get(f"{BASE}/requests.json", params={"service_code": "leak_burst", "status": "open"}).json()
    assert [x["service_request_id"] for x in listed] == [ref]
    assert gclient.get(f"{BASE}/requests.json", params={"status": "closed"}).json() == []
    assert gclient.get(f"{BASE}/tokens/{ref}.json").json() == [{"token": ref, "service_request_id": ref}]

    xml = gclient.get(f"{BASE}/requests/{ref}.xml")
    assert xml.headers["content-type"].startswith("text/xml")
    root = ET.fromstring(xml.content)
    assert root.tag == "service_requests" and root.find("request/service_request_id").text == ref
    assert root.find("request/status").text == "open"
    services_xml = ET.fromstring(gclient.get(f"{BASE}/services.xml").content)
    assert services_xml.tag == "services" and services_xml.find("service/service_code") is not None


def test_open311_errors_use_the_spec_shape(gclient, world):
    r = gclient.post(f"{BASE}/requests.json", data={"service_code": "flood", "attribute[village_lgd_code]": "1"})
    assert r.status_code == 400 and r.json()[0]["code"] == 400 and "flood" in r.json()[0]["description"]
    r = gclient.post(f"{BASE}/requests.json", data={"service_code": "no_water"})
    assert r.status_code == 400 and "village_lgd_code" in r.json()[0]["description"]
    r = gclient.post(f"{BASE}/requests.json", data={"service_code": "no_water",
                                                     "attribute[village_lgd_code]": "999999"})
    assert r.status_code == 422 and "village" in r.json()[0]["description"]
    r = gclient.get(f"{BASE}/requests/GRV-0000000000.xml")
    assert r.status_code == 404 and ET.fromstring(r.content).find("error/code").text == "404"
    r = gclient.post(f"{BASE}/requests.json", data={"service_code": "no_water", "api_key": "not-a-token",
                                                     "attribute[village_lgd_code]": "500001"})
    assert r.status_code == 403
    assert gclient.get(f"{BASE}/services.json", params={"jurisdiction_id": "elsewhere"}).status_code == 404
