"""The approval path: field entry -> approval -> report; return with reasons -> resubmit -> approve; maker-checker;
jurisdiction; escalation."""

from __future__ import annotations

import datetime as dt

from jaldpi.core.models import utcnow
from tests.helpers import error_of
from tests.progress.conftest import UPDATES, financial, photo, physical


def _submit(client, headers, body) -> dict:
    response = client.post(UPDATES, json=body, headers=headers)
    assert response.status_code == 201, response.text
    return response.json()


def _report(client, headers, level="district", **params) -> dict:
    response = client.get(f"/api/v1/progress/reports/{level}", params=params, headers=headers)
    assert response.status_code == 200, response.text
    return {g["lgd_path"]: g for g in response.json()["items"]}


def test_field_entry_goes_to_approval_and_into_the_district_report(client, node, world, estimates, people):
    schemes = world.records["schemes"]
    update = _submit(client, people["block"], physical(estimates["a1"], "40", [photo(node)]))
    assert update["status"] == "submitted" and update["percent_complete"] == "40.00" and not update["is_current"]
    money = _submit(client, people["block"], financial(schemes["a1"]["id"], sanctioned="5000000.00",
                                                       central="1000000.00", state="1000000.00",
                                                       community="100000.00", spent="1575000.00"))
    # submitted figures are pending, not progress
    before = _report(client, people["state"])["/S28/D745/"]
    assert before["pending_approvals"] == 2 and before["physical_progress_pct"] == "0.00"
    assert before["released_inr"]["total"] == "0.00" and before["oldest_pending_days"] is not None

    # the case waits at the district (next level up from the block maker)
    case = client.get("/api/v1/cases", params={"workflow": "progress_approval", "subject_id": update["id"]},
                      headers=people["district"]).json()["items"][0]
    assert (case["state"], case["assigned_level"], case["assigned_path"]) == ("submitted", "district", "/S28/D745/")

    for code in (update["code"], money["code"]):
        response = client.post(f"{UPDATES}/{code}/approve", json={"note": "checked on site"},
                               headers=people["district"])
        assert response.status_code == 200, response.text
        assert response.json()["update"]["status"] == "approved" and response.json()["case"]["state"] == "approved"

    report = _report(client, people["state"])
    alpha, beta = report["/S28/D745/"], report["/S28/D746/"]
    # hand-computed: items a1 (Rs 40 lakh, 40%) and a4 (Rs 10 lakh, no approved progress): 40e5*40 / 50e5 = 32%
    assert alpha["name"] == "Alpha" and alpha["schemes"] == 2 and alpha["components"] == 2
    assert alpha["components_with_progress"] == 1 and alpha["components_complete"] == 0
    assert alpha["estimated_cost_inr"] == "5000000.00" and alpha["physical_progress_pct"] == "32.00"
    assert alpha["sanctioned_inr"] == "5000000.00" and alpha["expenditure_inr"] == "1575000.00"
    assert alpha["released_inr"] == {"central": "1000000.00", "state": "1000000.00", "community": "100000.00",
                                     "total": "2100000.00"}
    assert alpha["utilisation_pct"] == "75.00"  # 15.75 lakh / 21 lakh
    assert alpha["pending_approvals"] == 0 and alpha["oldest_pending_days"] is None
    assert beta["physical_progress_pct"] == "0.00" and beta["components"] == 1

    # block level and the scheme's own view agree
    block = _report(client, people["state"], "block", within="district:745")
    assert set(block) == {"/S28/D745/B4001/", "/S28/D745/B4003/"}
    assert block["/S28/D745/B4001/"]["physical_progress_pct"] == "40.00"
    view = client.get(f"/api/v1/progress/schemes/{schemes['a1']['code']}", headers=people["district"]).json()
    assert view["physical"]["physical_progress_pct"] == "40.00"
    assert view["financial"]["utilisation_pct"] == "75.00" and view["financial"]["update"] == money["code"]
    assert [h["code"] for h in view["history"]] == [update["code"], money["code"]]  # in order of approval
    assert view["pending_approvals"] == 0


def test_a_newer_approved_update_replaces_the_current_one(client, node, world, estimates, people):
    first = _submit(client, people["block"], physical(estimates["a1"], "40", [photo(node)]))
    client.post(f"{UPDATES}/{first['code']}/approve", json={}, headers=people["district"])
    later = dt.date(2026, 11, 15)
    second = _submit(client, people["block"], physical(estimates["a1"], "100", [photo(
        node, taken=dt.datetime(2026, 11, 14, 9, tzinfo=dt.UTC))], as_of=later))
    assert client.post(f"{UPDATES}/{second['code']}/approve", json={}, headers=people["district"]).status_code == 200
    current = client.get(UPDATES, params={"estimate_id": estimates["a1"]["id"], "is_current": "true"},
                         headers=people["district"]).json()["items"]
    assert [u["code"] for u in current] == [second["code"]]
    alpha = _report(client, people["state"])["/S28/D745/"]
    assert alpha["components_complete"] == 1 and alpha["physical_progress_pct"] == "80.00"  # 40e5*100/50e5


def test_return_with_reasons_then_resubmit_then_approve(client, node, world, estimates, people):
    from sqlalchemy import select

    from jaldpi.notifications.models import NotificationOutbox
    from jaldpi.notifications.service import add_contact
    from tests.helpers import ROOT

    with node.db.unit_of_work() as session:  # the block's engineer is told when an update comes back
        add_contact(session, node.settings, ROOT, channel="email", address="block.engineer@example.org",
                    account="block-maker")
    update = _submit(client, people["block"], physical(estimates["a1"], "60", [photo(node)]))
    # reasons are required and must say something
    response = client.post(f"{UPDATES}/{update['code']}/return", json={"reasons": []}, headers=people["district"])
    assert response.status_code in (409, 422) and error_of(response)["code"] in ("missing_fields", "guard_failed")
    response = client.post(f"{UPDATES}/{update['code']}/return", json={"reasons": [{"field": "quantity_done"}]},
                           headers=people["district"])
    assert response.status_code == 409 and error_of(response)["code"] == "guard_failed"
    # while under review the maker cannot change the figures
    response = client.patch(f"{UPDATES}/{update['code']}", json={"quantity_done": "55"}, headers=people["block"])
    assert response.status_code == 422 and "awaiting approval" in error_of(response)["message"]

    reasons = [{"field": "quantity_done", "problem": "the site shows 55 KL of shuttering, not 60"}]
    response = client.post(f"{UPDATES}/{update['code']}/return", json={"reasons": reasons, "note": "see photo"},
                           headers=people["district"])
    assert response.status_code == 200, response.text
    returned = response.json()["update"]
    assert returned["status"] == "returned" and returned["return_reasons"] == reasons
    assert response.json()["case"]["state"] == "returned"
    with node.db.unit_of_work(write=False) as session:
        sent = session.execute(select(NotificationOutbox.template, NotificationOutbox.subject,
                                      NotificationOutbox.lgd_path)).all()
    assert [(m.template, m.lgd_path) for m in sent] == [("progress_returned", "/S28/D745/B4001/")]
    assert update["code"] in sent[0].subject
    # a returned update never touches the figures
    assert _report(client, people["state"])["/S28/D745/"]["physical_progress_pct"] == "0.00"
    # the maker reads why, corrects and resubmits in one call
    response = client.post(f"{UPDATES}/{update['code']}/resubmit", json={"changes": {"quantity_done": "55"}},
                           headers=people["block"])
    assert response.status_code == 200, response.text
    again = response.json()["update"]
    assert again["status"] == "submitted" and again["quantity_done"] == "55.000"
    assert again["percent_complete"] == "55.00"
    response = client.post(f"{UPDATES}/{update['code']}/approve", json={}, headers=people["district"])
    assert response.status_code == 200, response.text
    events = [e["transition"] for e in response.json()["case"]["events"]]
    assert events == ["open", "return", "resubmit", "approve"]
    assert _report(client, people["state"])["/S28/D745/"]["physical_progress_pct"] == "44.00"  # 40e5*55/50e5
    # approved is final
    response = client.patch(f"{UPDATES}/{update['code']}", json={"quantity_done": "56"}, headers=people["block"])
    assert response.status_code == 422 and "final" in error_of(response)["message"]


def test_maker_checker(client, node, world, estimates, people):
    # the same person, holding both the block and the district grant, cannot approve what they entered
    mine = _submit(client, people["two_hats"], physical(estimates["a1"], "10", [photo(node)]))
    case = client.get("/api/v1/cases", params={"subject_id": mine["id"]}, headers=people["district"]).json()
    assert case["items"][0]["assigned_path"] == "/S28/"  # their widest grant is the district: checked at the state
    response = client.post(f"{UPDATES}/{mine['code']}/approve", json={}, headers=people["two_hats"])
    assert response.status_code == 403 and error_of(response)["code"] == "maker_checker"
    # ... not through the generic case route either
    response = client.post(f"/api/v1/cases/{case['items'][0]['id']}/transitions/approve", json={},
                           headers=people["two_hats"])
    assert response.status_code == 403 and error_of(response)["code"] == "maker_checker"

    # a district maker's update is not approved at the district (same level), but at the state
    district_made = _submit(client, people["district_2"], physical(estimates["a4"], "5", [photo(node, 500004)]))
    response = client.post(f"{UPDATES}/{district_made['code']}/approve", json={}, headers=people["district"])
    assert response.status_code == 403 and error_of(response)["code"] == "maker_checker"
    assert "state level" in error_of(response)["message"]
    # the block official below cannot take the decision at all
    response = client.post(f"{UPDATES}/{district_made['code']}/return", json={"reasons": "no"},
                           headers=people["block_east"])
    assert response.status_code == 403
    response = client.post(f"{UPDATES}/{district_made['code']}/approve", json={}, headers=people["state"])
    assert response.status_code == 200, response.text

    # nothing half-written by the refusals: the two-hats update is still submitted, at version 1
    update = client.get(f"{UPDATES}/{mine['code']}", headers=people["district"]).json()
    assert update["status"] == "submitted" and update["version"] == 1
    # a payload cannot rewrite what the case recorded about its checker
    response = client.post(f"/api/v1/cases/{case['items'][0]['id']}/transitions/approve",
                           json={"checker_path": "/S28/D745/B4001/"}, headers=people["state"])
    assert response.status_code == 409 and error_of(response)["code"] == "guard_failed"


def test_out_of_jurisdiction(client, node, world, estimates, people):
    update = _submit(client, people["block"], physical(estimates["a1"], "10", [photo(node)]))
    # another district's official sees nothing and decides nothing
    assert client.get(f"{UPDATES}/{update['code']}", headers=people["district_b"]).status_code == 404
    response = client.post(f"{UPDATES}/{update['code']}/approve", json={}, headers=people["district_b"])
    assert response.status_code == 404 and error_of(response)["code"] == "not_found"
    # a block official cannot report on another block's work item (not visible: reference not found)
    response = client.post(UPDATES, json=physical(estimates["a4"], "1", [photo(node, 500004)]),
                           headers=people["block"])
    assert response.status_code == 422 and error_of(response)["details"][0]["field"] == "estimate"
    # reports are scoped: district 746 sees only itself, a national official reads everything but decides nothing
    assert set(_report(client, people["district_b"])) == {"/S28/D746/"}
    assert set(_report(client, people["national"])) == {"/S28/D745/", "/S28/D746/"}
    response = client.post(f"{UPDATES}/{update['code']}/approve", json={}, headers=people["national"])
    assert response.status_code == 403
    assert client.get("/api/v1/progress/reports/district").status_code == 401


def test_overdue_approval_escalates_to_the_state(client, node, world, estimates, people):
    update = _submit(client, people["block"], physical(estimates["a1"], "10", [photo(node)]))
    engine = node.extras["workflows"]
    with node.db.unit_of_work() as session:
        moved = engine.escalate_overdue(session, utcnow() + dt.timedelta(hours=169))  # SLA 168 h at the district
    assert [(m["from_level"], m["to_level"]) for m in moved] == [("district", "state")]
    response = client.post(f"{UPDATES}/{update['code']}/approve", json={}, headers=people["state"])
    assert response.status_code == 200, response.text
    assert response.json()["update"]["is_current"] is True
