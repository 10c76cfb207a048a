"""A small water-quality world built through the HTTP API: the two-district state of tests/helpers.py, accounts of
every role in the flow, a NABL-accredited district lab serving block 4001, and sampling points."""

from __future__ import annotations

from dataclasses import dataclass, field

from fastapi.testclient import TestClient

from tests.helpers import build_world, login_as

V1 = "/S28/D745/B4001/G200001/V500001/"
V2 = "/S28/D745/B4001/G200001/V500002/"
V4 = "/S28/D745/B4003/G200003/V500004/"
V3 = "/S28/D746/B4002/G200002/V500003/"


@dataclass
class WQ:
    client: TestClient
    node: object
    h: dict[str, dict[str, str]] = field(default_factory=dict)  # headers per account
    lab: dict | None = None
    lab_b: dict | None = None

    def post(self, who: str, url: str, body: dict, status: int = 201) -> dict:
        r = self.client.post(url, json=body, headers=self.h[who])
        assert r.status_code == status, r.text
        return r.json()

    def get(self, who: str, url: str, expect: int = 200, **params) -> dict:
        r = self.client.get(url, params=params, headers=self.h[who])
        assert r.status_code == expect, r.text
        return r.json()

    def point(self, who: str, village: int, point_type: str = "source", **extra) -> dict:
        return self.post(who, "/api/v1/sampling_points",
                         {"point_type": point_type, "admin_unit": village, "name": f"{point_type} {village}",
                          **extra})

    def sample(self, who: str, point: dict, results: dict, *, kind: str = "lab", status: int = 201,
               collected_at: str = "2030-03-01T08:00:00+00:00", lab: bool | dict = True, **extra) -> dict:
        body = {"sampling_point": point["id"], "test_kind": kind, "collected_at": collected_at,
                "results": [{"parameter": p, **(v if isinstance(v, dict) else {"value": v})}
                            for p, v in results.items()], **extra}
        if kind == "lab" and lab:
            body["lab"] = (lab if isinstance(lab, dict) else self.lab)["id"]
        return self.post(who, "/api/v1/samples", body, status)

    def cases(self, who: str, **params) -> list[dict]:
        return self.get(who, "/api/v1/cases", **params)["items"]

    def case(self, who: str, key: str, status: int = 200) -> dict:
        return self.get(who, f"/api/v1/cases/{key}", status)


def build_wq(client: TestClient, node) -> WQ:
    build_world(node)
    w = WQ(client, node)
    accounts = {
        "tester": ("field_tester", V1),
        "tester2": ("field_tester", V2),
        "analyst": ("lab_analyst", "/S28/D745/"),
        "block": ("block_official", "/S28/D745/B4001/"),
        "district": ("district_official", "/S28/D745/"),
        "state": ("state_official", "/S28/"),
        "other": ("district_official", "/S28/D746/"),
        "other_analyst": ("lab_analyst", "/S28/D746/"),
    }
    for name, (role, within) in accounts.items():
        w.h[name] = login_as(client, node, name, role, within)
    w.lab = w.post("district", "/api/v1/entities", {
        "entity_type": "water_quality_lab", "name": "District Water Testing Laboratory Alpha",
        "admin_unit": {"code": "LGD-D745"}, "lab_level": "district",
        "accreditation": {"body": "NABL", "certificate_number": "TC-1234", "valid_from": "2029-01-01",
                          "valid_until": "2031-12-31"},
        "serves": [{"code": "LGD-B4001"}]})
    w.lab_b = w.post("other", "/api/v1/entities", {
        "entity_type": "water_quality_lab", "name": "District Water Testing Laboratory Beta",
        "admin_unit": {"code": "LGD-D746"}, "lab_level": "district"})
    return w
