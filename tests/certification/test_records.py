"""The certification record as a registry: state-system imports replay the workflow, the tap-connection
pre-condition, and the rules on direct writes."""

from __future__ import annotations

import datetime as dt

from tests.certification.conftest import make_app, report, upload
from tests.helpers import ROOT, error_of, login_as

TODAY = dt.date.today()


def _household(node, village: int, has_tap: bool) -> None:
    with node.db.unit_of_work() as session:
        summary = node.catalogue["households"].import_records(
            session, ROOT, [{"village": village, "members_count": 4, "has_tap_connection": has_tap}])
        assert summary.status == "ok", summary.to_dict()


def test_tap_check_warns_by_default_and_refuses_when_configured(hgj_client, hgj_node, people, database, tmp_path):
    _household(hgj_node, 500001, True)
    _household(hgj_node, 500001, False)
    certificate = upload(hgj_client, people["block"], "completion_certificate")
    record = report(hgj_client, people["block"], certificate).json()["certification"]
    assert (record["tap_check"], record["households_total"], record["households_with_tap"]) == ("incomplete", 2, 1)

    strict = make_app(database, tmp_path, hgj_tap_check="refuse")
    from fastapi.testclient import TestClient

    with TestClient(strict) as client:
        headers = login_as(client, strict.state.node, "district-745-b", "district_official", "district:745")
        _household(strict.state.node, 500002, False)
        other = upload(client, headers, "completion_certificate", 500002)
        refused = report(client, headers, other, 500002)
        assert refused.status_code == 409 and error_of(refused)["code"] == "households_without_tap"
        assert "1 of 1 households" in error_of(refused)["message"]
        # a village without household records is not refused (the registry may be incomplete)
        third = upload(client, headers, "completion_certificate", 500004)
        assert report(client, headers, third, 500004).status_code == 201


def _imported(client, headers, village: int, status: str, docs: dict[str, str]) -> dict:
    row = {"village": village, "status": status, "reported_on": (TODAY - dt.timedelta(days=60)).isoformat(),
           "completion_certificate_id": docs["completion_certificate"], "external_ids": {"imis": f"HGJ-{village}"}}
    if status in ("resolution_uploaded", "certified"):
        row |= {"gram_sabha_date": (TODAY - dt.timedelta(days=30)).isoformat(),
                "resolution_document_id": docs["gram_sabha_resolution"], "video_document_id": docs["video"]}
    if status == "certified":
        row["certified_on"] = (TODAY - dt.timedelta(days=10)).isoformat()
    return row


def test_state_system_import_replays_the_workflow(hgj_client, hgj_node, people):
    system = login_as(hgj_client, hgj_node, "state-mis", "partner_system", "state:28", kind="system")
    docs = {t: upload(hgj_client, people["block"], t)["id"]
            for t in ("completion_certificate", "gram_sabha_resolution", "video")}
    response = hgj_client.post("/api/v1/hgj_certifications/bulk", headers=system,
                               json=[_imported(hgj_client, system, 500001, "certified", docs)])
    assert response.status_code == 200, response.text

    view = hgj_client.get("/api/v1/hgj/villages/500001", headers=people["district"]).json()
    assert view["certification"]["certified_on"] == (TODAY - dt.timedelta(days=10)).isoformat()  # kept as imported
    case = view["case"]
    assert case["state"] == "certified"
    assert [(e["transition"], e["actor"]) for e in case["events"][1:]] == [
        ("report", "system:certification"), ("upload_resolution", "system:certification"),
        ("certify", "system:certification")]
    public = hgj_client.get("/public/v1/hgj/villages/500001").json()
    assert public["status"] == "certified" and len(public["documents"]) == 3  # the evidence was published

    # re-sending the same row changes nothing; a backward move or a workflow decision is refused
    again = hgj_client.post("/api/v1/hgj_certifications/bulk", headers=system,
                            json=[_imported(hgj_client, system, 500001, "certified", docs)])
    assert again.json()["stats"]["ignored"] == 1
    back = hgj_client.post("/api/v1/hgj_certifications/bulk", headers=system,
                           json=[_imported(hgj_client, system, 500001, "reported", docs)])
    assert back.status_code == 422 and "forward only" in back.text
    returned = _imported(hgj_client, system, 500002, "reported", docs) | {"status": "returned"}
    refused = hgj_client.post("/api/v1/hgj_certifications/bulk", headers=system, json=[returned])
    assert refused.status_code == 422 and "decided in the workflow" in refused.text


def test_direct_write_rules_name_the_problem(hgj_client, hgj_node, people):
    system = login_as(hgj_client, hgj_node, "state-mis", "partner_system", "state:28", kind="system")
    photo = upload(hgj_client, people["block"], "photo")["id"]
    other = upload(hgj_client, people["block"], "completion_certificate", 500002)["id"]
    rows = [
        {"village": 500001, "status": "reported"},  # no evidence
        {"village": 500001, "status": "reported", "reported_on": TODAY.isoformat(), "completion_certificate_id": photo},
        {"village": 500001, "status": "reported", "reported_on": TODAY.isoformat(), "completion_certificate_id": other},
        {"village": 745, "status": "reported"},
    ]
    problems = []
    for row in rows:
        response = hgj_client.post("/api/v1/hgj_certifications", headers=system, json=row)
        assert response.status_code == 422, response.text
        problems.append({d["field"]: d["problem"] for d in error_of(response)["details"]})
    assert set(problems[0]) == {"reported_on", "completion_certificate_id"}
    assert "not a completion_certificate" in problems[1]["completion_certificate_id"]
    assert "another village" in problems[2]["completion_certificate_id"]
    assert "village" in problems[3]


def test_workflow_without_a_built_catalogue_says_so(database):
    """The hooks need the node's settings and catalogue: an engine used without registries.build_catalogue fails
    clearly, and building the catalogue binds the very catalogue the node serves with."""
    import pytest

    from jaldpi.registries import build_catalogue, build_workflows
    from tests.conftest import test_settings

    engine = build_workflows()
    with pytest.raises(RuntimeError, match="build_catalogue"):
        engine.catalogue  # noqa: B018  (the property raises)
    settings = test_settings(database)
    catalogue = build_catalogue(settings, engine)
    assert engine.catalogue is catalogue and engine.settings is settings
    assert "hgj_certifications" in catalogue.registries

