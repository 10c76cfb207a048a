"""A village goes from reported to certified with its documents; returns, guards, jurisdiction, public views."""

from __future__ import annotations

import datetime as dt

from tests.certification.conftest import report, step, upload
from tests.helpers import build_records, error_of

TODAY = dt.date.today()


def _uploaded(client, people, village: int = 500001, by: str = "vwsc") -> dict[str, str]:
    return {"resolution_document": upload(client, people[by], "gram_sabha_resolution", village)["id"],
            "video_document": upload(client, people[by], "video", village)["id"],
            "gram_sabha_date": TODAY.isoformat()}


def _reported(client, people, village: int = 500001) -> tuple[dict, dict]:
    certificate = upload(client, people["block"], "completion_certificate", village)
    response = report(client, people["block"], certificate, village, reported_on=TODAY.isoformat())
    assert response.status_code == 201, response.text
    return response.json(), certificate


def test_village_goes_from_reported_to_certified_with_its_documents(hgj_client, people):
    body, certificate = _reported(hgj_client, people)
    case = body["case"]
    assert case["state"] == "reported" and case["assigned_level"] == "block"
    assert [e["transition"] for e in case["events"]] == ["open", "report"]
    record = body["certification"]
    assert record["status"] == "reported" and record["reported_on"] == TODAY.isoformat()
    assert record["completion_certificate_id"] == certificate["id"]
    assert record["tap_check"] == "no_records" and record["created_by"] == "block-4001"

    # the public sees the status, but no document before certification
    public = hgj_client.get("/public/v1/hgj/villages/500001").json()
    assert public["status"] == "reported" and public["documents"] == []
    assert hgj_client.get(f"/public/v1/documents/{certificate['id']}/content").status_code == 404

    # the Gram Panchayat (VWSC operator of the village) uploads the resolution and the video
    payload = _uploaded(hgj_client, people)
    moved = step(hgj_client, people["vwsc"], case["id"], "upload_resolution", **payload)
    assert moved.status_code == 200, moved.text
    assert moved.json()["state"] == "resolution_uploaded" and moved.json()["assigned_level"] == "district"
    record = hgj_client.get(f"/api/v1/hgj_certifications/{record['id']}", headers=people["district"]).json()
    assert record["status"] == "resolution_uploaded" and record["updated_by"] == "vwsc-500001"
    assert record["video_document_id"] == payload["video_document"]
    assert hgj_client.get("/public/v1/hgj/villages/500001").json()["documents"] == []

    # the district certifies: the village is certified and its evidence public
    done = step(hgj_client, people["district"], case["id"], "certify")
    assert done.status_code == 200, done.text
    assert done.json()["state"] == "certified" and done.json()["closed_at"]
    public = hgj_client.get("/public/v1/hgj/villages/500001")
    assert public.headers["cache-control"].startswith("public")
    public = public.json()
    assert public["status"] == "certified" and public["certified_at"] == public["reported_at"] == TODAY.isoformat()
    assert public["village"]["name"] == "Alpha One"
    assert sorted(d["document_type"] for d in public["documents"]) == ["completion_certificate",
                                                                        "gram_sabha_resolution", "video"]
    for doc in public["documents"]:
        content = hgj_client.get(doc["url"])
        assert content.status_code == 200 and len(content.content) > 0

    # the record's history is in the change log, one version per step
    history = hgj_client.get(f"/api/v1/hgj_certifications/{record['id']}/history", headers=people["district"])
    assert [h["version"] for h in history.json()["items"]] == [1, 2, 3]
    view = hgj_client.get("/api/v1/hgj/villages/500001", headers=people["block"]).json()
    assert [e["transition"] for e in view["case"]["events"]] == ["open", "report", "upload_resolution", "certify"]

    # the national-dashboard figures
    summary = hgj_client.get("/public/v1/hgj/summary", params={"within": "state:28"}).json()
    by_code = {i["district"]["lgd_code"]: i for i in summary["items"]}
    assert (by_code[745]["villages"], by_code[745]["reported"], by_code[745]["certified"]) == (3, 1, 1)
    assert (by_code[746]["villages"], by_code[746]["reported"], by_code[746]["certified"]) == (1, 0, 0)
    assert summary["totals"] == {"villages": 4, "reported": 1, "certified": 1}


def test_returned_with_reasons_and_uploaded_again(hgj_client, people):
    case = _reported(hgj_client, people)[0]["case"]
    assert step(hgj_client, people["vwsc"], case["id"], "upload_resolution",
                **_uploaded(hgj_client, people)).status_code == 200

    refused = step(hgj_client, people["district"], case["id"], "return")
    assert refused.status_code == 422 and error_of(refused)["code"] == "missing_fields"
    refused = step(hgj_client, people["district"], case["id"], "return", reasons=["looks_wrong"])
    assert refused.status_code == 409 and "unknown reasons" in error_of(refused)["message"]
    refused = step(hgj_client, people["district"], case["id"], "return", reasons=["other"])
    assert refused.status_code == 409 and "note" in error_of(refused)["message"]

    back = step(hgj_client, people["district"], case["id"], "return", reasons=["video_not_of_gram_sabha"],
                note="the video shows a school function")
    assert back.status_code == 200, back.text
    assert back.json()["state"] == "returned" and back.json()["assigned_level"] == "block"
    record = hgj_client.get("/api/v1/hgj/villages/500001", headers=people["vwsc"]).json()["certification"]
    assert record["status"] == "returned" and record["return_reasons"] == ["video_not_of_gram_sabha"]
    assert hgj_client.get("/public/v1/hgj/villages/500001").json()["status"] == "returned"

    # a certify now is not allowed; the GP uploads a new video and the district certifies
    assert error_of(step(hgj_client, people["district"], case["id"], "certify"))["code"] == "transition_not_allowed"
    again = step(hgj_client, people["vwsc"], case["id"], "upload_resolution", **_uploaded(hgj_client, people))
    assert again.status_code == 200, again.text
    assert step(hgj_client, people["district"], case["id"], "certify").json()["state"] == "certified"
    record = hgj_client.get("/api/v1/hgj/villages/500001", headers=people["vwsc"]).json()["certification"]
    assert record["status"] == "certified" and record["returned_on"] == TODAY.isoformat()


def test_guards_refuse_wrong_documents(hgj_client, people):
    certificate = upload(hgj_client, people["block"], "completion_certificate")
    photo = upload(hgj_client, people["block"], "photo")
    refused = report(hgj_client, people["block"], photo)
    assert refused.status_code == 409 and "not a completion_certificate" in error_of(refused)["message"]
    other = upload(hgj_client, people["block"], "completion_certificate", 500002)
    refused = report(hgj_client, people["block"], other)
    assert refused.status_code == 409 and "another village" in error_of(refused)["message"]
    assert hgj_client.get("/public/v1/hgj/villages/500001").json()["status"] == "not_reported"  # nothing written

    case = report(hgj_client, people["block"], certificate).json()["case"]
    again = report(hgj_client, people["block"], certificate)
    assert again.status_code == 409 and error_of(again)["code"] == "already_reported"

    good = _uploaded(hgj_client, people)
    wrong_type = good | {"video_document": upload(hgj_client, people["vwsc"], "gram_sabha_resolution")["id"]}
    refused = step(hgj_client, people["vwsc"], case["id"], "upload_resolution", **wrong_type)
    assert refused.status_code == 409 and "not a video" in error_of(refused)["message"]
    elsewhere = good | {"resolution_document": upload(hgj_client, people["block"], "gram_sabha_resolution",
                                                      500002)["id"]}
    refused = step(hgj_client, people["vwsc"], case["id"], "upload_resolution", **elsewhere)
    assert refused.status_code == 409 and "another village" in error_of(refused)["message"]
    missing_video = {k: v for k, v in good.items() if k != "video_document"}
    refused = step(hgj_client, people["vwsc"], case["id"], "upload_resolution", **missing_video)
    assert refused.status_code == 422
    assert [d["field"] for d in error_of(refused)["details"]] == ["video_document"]
    early = good | {"gram_sabha_date": (TODAY - dt.timedelta(days=400)).isoformat()}
    refused = step(hgj_client, people["vwsc"], case["id"], "upload_resolution", **early)
    assert refused.status_code == 409 and "before the village was reported" in error_of(refused)["message"]
    not_a_date = good | {"gram_sabha_date": "last Tuesday"}
    assert "YYYY-MM-DD" in error_of(step(hgj_client, people["vwsc"], case["id"], "upload_resolution",
                                         **not_a_date))["message"]
    case_now = hgj_client.get(f"/api/v1/cases/{case['id']}", headers=people["block"]).json()
    assert case_now["state"] == "reported" and case_now["version"] == 2  # every refusal wrote nothing


def test_jurisdiction_and_roles(hgj_client, people):
    certificate = upload(hgj_client, people["block"], "completion_certificate")
    refused = report(hgj_client, people["other_district"], certificate)
    assert refused.status_code == 403 and error_of(refused)["code"] == "out_of_jurisdiction"
    refused = report(hgj_client, people["vwsc"], certificate)
    assert refused.status_code == 403 and error_of(refused)["code"] == "role_not_allowed"
    body = report(hgj_client, people["block"], certificate).json()
    case, record = body["case"], body["certification"]
    assert step(hgj_client, people["vwsc"], case["id"], "upload_resolution",
                **_uploaded(hgj_client, people)).status_code == 200

    # another district neither sees nor certifies; the GP may not certify; nobody edits the record directly
    assert step(hgj_client, people["other_district"], case["id"], "certify").status_code == 404
    assert hgj_client.get(f"/api/v1/hgj_certifications/{record['id']}",
                          headers=people["other_district"]).status_code == 404
    assert hgj_client.get("/api/v1/hgj/villages/500001", headers=people["other_district"]).status_code == 404
    refused = step(hgj_client, people["vwsc"], case["id"], "certify")
    assert refused.status_code == 403 and error_of(refused)["code"] == "role_not_allowed"
    patch = hgj_client.patch(f"/api/v1/hgj_certifications/{record['id']}", headers=people["district"],
                             json={"status": "certified", "certified_on": TODAY.isoformat()})
    assert patch.status_code == 403
    listing = hgj_client.get("/api/v1/hgj/villages", headers=people["other_district"]).json()
    assert listing["items"] == []
    assert hgj_client.get("/api/v1/hgj/villages", headers=people["district"]).json()["counts"] == {
        "resolution_uploaded": 1}


def test_public_views_carry_no_personal_data(hgj_client, hgj_node, people):
    build_records(hgj_node, {"a1": 500001}, registries=("households",))  # head_name "Kamala A1 Devi", a phone
    certificate = upload(hgj_client, people["block"], "completion_certificate")
    case = report(hgj_client, people["block"], certificate).json()["case"]
    step(hgj_client, people["vwsc"], case["id"], "upload_resolution", **_uploaded(hgj_client, people))
    step(hgj_client, people["district"], case["id"], "certify")
    for url in ("/public/v1/hgj/villages/500001", "/public/v1/hgj/summary"):
        text = hgj_client.get(url).text
        assert "Kamala" not in text and "98765" not in text and "vwsc-500001" not in text
    public = hgj_client.get("/public/v1/hgj/villages/500001").json()
    assert set(public) == {"village", "status", "reported_at", "resolution_at", "certified_at", "gram_sabha_date",
                           "documents"}
    assert all(set(d) == {"document_type", "title", "url"} for d in public["documents"])
    assert hgj_client.get("/public/v1/hgj/villages/999999").status_code == 404


def test_escalation_moves_an_overdue_case_to_the_district_then_the_state(hgj_client, hgj_node, people):
    case = _reported(hgj_client, people)[0]["case"]
    engine = hgj_node.extras["workflows"]
    later = dt.datetime.now(dt.UTC) + dt.timedelta(days=31)
    with hgj_node.db.unit_of_work() as session:
        moved = engine.escalate_overdue(session, later)
    assert [(m["code"], m["to_level"]) for m in moved] == [(case["code"], "district")]
    with hgj_node.db.unit_of_work() as session:
        moved = engine.escalate_overdue(session, later + dt.timedelta(days=31))
    assert moved[0]["to_level"] == "state"
    # escalation changes who answers, not the village's status
    assert hgj_client.get("/public/v1/hgj/villages/500001").json()["status"] == "reported"


def test_the_district_and_the_gram_panchayat_are_notified(hgj_client, hgj_node, people):
    from jaldpi.notifications import service as notifications
    from jaldpi.notifications.testing import clear_sent_messages, sent_messages
    from tests.helpers import ROOT

    settings = hgj_node.settings
    clear_sent_messages(settings)
    with hgj_node.db.unit_of_work() as session:
        notifications.add_contact(session, settings, ROOT, account="district-745", channel="sms",
                                  address="9876500745", language="hi")
        notifications.add_contact(session, settings, ROOT, account="vwsc-500001", channel="sms",
                                  address="9876500001", language="en")
    case = _reported(hgj_client, people)[0]["case"]
    step(hgj_client, people["vwsc"], case["id"], "upload_resolution", **_uploaded(hgj_client, people))
    step(hgj_client, people["district"], case["id"], "return", reasons=["video_missing"])
    notifications.dispatch_pending(hgj_node.db, settings)
    sent = {m["to"]: m for m in sent_messages(settings, "sms")}
    assert sent["+919876500745"]["template"] == "certification_upload_resolution"
    assert "Alpha One" in sent["+919876500745"]["body"] and "ग्राम सभा" in sent["+919876500745"]["body"]
    assert sent["+919876500001"]["template"] == "certification_return"
    assert "Video of the Gram Sabha missing" in sent["+919876500001"]["body"] and case["code"] in \
        sent["+919876500001"]["body"]


def test_a_withdrawn_report_can_be_made_again(hgj_client, people):
    body, certificate = _reported(hgj_client, people)
    case = body["case"]
    refused = step(hgj_client, people["block"], case["id"], "withdraw", reasons=["households_left_out"])
    assert refused.status_code == 403 and error_of(refused)["code"] == "role_not_allowed"
    gone = step(hgj_client, people["district"], case["id"], "withdraw", reasons=["households_left_out"])
    assert gone.status_code == 200 and gone.json()["state"] == "withdrawn"
    assert hgj_client.get("/public/v1/hgj/villages/500001").json()["status"] == "withdrawn"
    summary = hgj_client.get("/public/v1/hgj/summary").json()["totals"]
    assert summary["reported"] == 0  # a withdrawn report does not count as reported

    again = report(hgj_client, people["block"], certificate)
    assert again.status_code == 201, again.text
    assert again.json()["certification"]["id"] == body["certification"]["id"]  # one record per village
    assert again.json()["case"]["id"] != case["id"] and again.json()["certification"]["withdrawn_on"] is None
    assert hgj_client.get("/public/v1/hgj/summary").json()["totals"]["reported"] == 1
