"""The water-quality workflow end to end through the HTTP API, with accounts of the real roles: a field-kit test
at a village -> lab confirmation by the serving district lab -> remedial action by the block -> re-test; SLA
escalation; jurisdiction; input validation; nothing written when a request fails."""

from __future__ import annotations

import datetime as dt

from jaldpi.core.workflow import ESCALATION_ACTOR
from tests.helpers import count_rows, error_of
from tests.water_quality.wq_world import V1, WQ, build_wq

TABLES = ("samples", "sampling_points", "workflow_cases", "workflow_events", "change_log")


def counts(node) -> dict[str, int]:
    return {t: count_rows(node, t) for t in TABLES}


def kit_positive(w: WQ, point: dict, reading: dict | None = None) -> dict:
    return w.sample("tester", point, reading or {"fluoride": "1.5-2.0"}, kind="field_kit",
                    collected_at="2030-03-01T07:00:00+00:00")


def confirmation_case(w: WQ, kit: dict) -> dict:
    items = w.cases("analyst", workflow="wq_lab_confirmation", subject_id=kit["id"])
    assert len(items) == 1, items
    return items[0]


def remedial_cases(w: WQ, who: str, point: dict, **params) -> list[dict]:
    return w.cases(who, workflow="wq_remedial_action", subject_id=point["id"], **params)


def test_field_kit_positive_opens_a_lab_confirmation_for_the_serving_lab(client, node):
    w = build_wq(client, node)
    point = w.point("block", 500001)
    kit = kit_positive(w, point)
    assert kit["verdict"] == "unsafe"
    assert kit["contaminants"] == ["fluoride"]
    assert kit["evaluation"]["screening"] is True
    assert kit["evaluation"]["requires_lab_confirmation"] is True
    assert kit["source_rejected"] is False and kit["lgd_path"] == V1

    case = confirmation_case(w, kit)
    assert case["state"] == "awaiting_lab"
    assert case["subject_type"] == "samples"
    assert case["lgd_path"] == V1
    assert case["assigned_path"] == "/S28/D745/"
    assert case["data"]["lab_code"] == w.lab["code"]
    assert case["data"]["contaminants"] == ["fluoride"]
    # the tester, the block and the district see it; the other district does not
    for who in ("tester", "block", "district"):
        assert [c["id"] for c in w.cases(who, workflow="wq_lab_confirmation")] == [case["id"]]
    assert w.cases("other") == [] and w.cases("other_analyst") == []
    w.case("other", case["id"], 404)
    events = w.case("analyst", case["id"])["events"]
    assert [(e["transition"], e["actor"]) for e in events] == [("open", "tester")]

    # h2s vial present: also adverse
    kit2 = kit_positive(w, point, {"h2s_vial": "present"})
    assert kit2["verdict"] == "unsafe" and kit2["bacteriological_positive"] is True
    assert confirmation_case(w, kit2)["state"] == "awaiting_lab"


def test_field_kit_sample_registered_by_the_tester(client, node):
    """A field tester may not register sampling points (no sampling_points:write): an official does."""
    w = build_wq(client, node)
    before = counts(node)
    r = client.post("/api/v1/sampling_points", json={"point_type": "source", "admin_unit": 500001},
                    headers=w.h["tester"])
    assert r.status_code == 403, r.text
    assert counts(node) == before
    point = w.point("block", 500001)
    safe = w.sample("tester", point, {"fluoride": "0.5-1.0", "h2s_vial": "absent"}, kind="field_kit")
    assert safe["verdict"] == "safe"
    assert w.cases("block") == []


def test_lab_confirmation_confirms_and_opens_remedial_action(client, node):
    w = build_wq(client, node)
    point = w.point("block", 500001)
    kit = kit_positive(w, point)
    lab = w.sample("analyst", point, {"fluoride": {"value": "1.8", "unit": "mg/L"}}, purpose="confirmation",
                   related_sample=kit["id"], collected_at="2030-03-02T08:00:00+00:00")
    assert lab["verdict"] == "unsafe" and lab["contaminants"] == ["fluoride"]
    assert lab["source_rejected"] is True  # 1.8 > permissible 1.5

    case = w.case("analyst", confirmation_case(w, kit)["id"])
    assert case["state"] == "confirmed_unsafe" and case["closed_at"] is not None
    assert [(e["transition"], e["actor"], e["to_state"]) for e in case["events"]] == [
        ("open", "tester", "awaiting_lab"), ("confirm", "analyst", "confirmed_unsafe")]
    assert case["data"]["confirmation_sample"] == lab["id"]

    [remedial] = remedial_cases(w, "block", point)
    assert remedial["state"] == "action_required"
    assert remedial["assigned_level"] == "block" and remedial["assigned_path"] == "/S28/D745/B4001/"
    assert remedial["data"]["contaminated_sample_id"] == lab["id"]
    assert remedial["data"]["repeat_required"] is False
    assert remedial_cases(w, "other", point) == []


def test_confirmation_that_comes_back_safe_closes_without_remedial_case(client, node):
    w = build_wq(client, node)
    point = w.point("block", 500001)
    kit = kit_positive(w, point)
    lab = w.sample("analyst", point, {"fluoride": "0.9"}, purpose="confirmation", related_sample=kit["id"],
                   collected_at="2030-03-02T08:00:00+00:00")
    assert lab["verdict"] == "safe"
    case = w.case("analyst", confirmation_case(w, kit)["id"])
    assert case["state"] == "not_confirmed" and case["closed_at"] is not None
    assert remedial_cases(w, "block", point) == []
    assert w.cases("block", workflow="wq_remedial_action") == []


def contaminated(w: WQ, point: dict, results: dict | None = None) -> tuple[dict, dict]:
    kit = kit_positive(w, point)
    lab = w.sample("analyst", point, results or {"fluoride": "1.8"}, purpose="confirmation",
                   related_sample=kit["id"], collected_at="2030-03-02T08:00:00+00:00")
    [case] = remedial_cases(w, "block", point)
    return lab, case


def transition(w: WQ, who: str, case: dict, name: str, body: dict, status: int = 200) -> dict:
    r = w.client.post(f"/api/v1/cases/{case['id']}/transitions/{name}", json=body, headers=w.h[who])
    assert r.status_code == status, r.text
    return r.json()


def test_remedial_action_retest_loop_and_history(client, node):
    w = build_wq(client, node)
    point = w.point("block", 500001)
    lab, case = contaminated(w, point)

    # unknown action codes are refused, naming them; nothing changes
    before = counts(node)
    err = error_of(w.client.post(f"/api/v1/cases/{case['id']}/transitions/record_action",
                                 json={"actions": ["chlorination", "prayer", "magic"]}, headers=w.h["block"]))
    assert err["code"] == "guard_failed"
    assert err["message"].startswith("unknown remedial actions ['prayer', 'magic']")
    assert counts(node) == before
    # a field tester may not record actions
    assert error_of(w.client.post(f"/api/v1/cases/{case['id']}/transitions/record_action",
                                  json={"actions": ["advisory"]}, headers=w.h["tester"]))["code"] == \
        "role_not_allowed"

    out = transition(w, "block", case, "record_action", {"actions": ["chlorination", "advisory"],
                                                         "note": "chlorinated the OHT"})
    assert out["state"] == "retest_due" and out["data"]["actions"] == ["chlorination", "advisory"]

    # close without a re-test: refused
    before = counts(node)
    err = error_of(w.client.post(f"/api/v1/cases/{case['id']}/transitions/close", json={}, headers=w.h["block"]))
    assert err["code"] == "missing_fields"
    err = error_of(w.client.post(f"/api/v1/cases/{case['id']}/transitions/close",
                                 json={"retest_sample": lab["id"]}, headers=w.h["block"]))
    assert err["code"] == "guard_failed"
    # the contaminated sample itself is not a re-test
    assert "re-test" in err["message"]
    assert counts(node) == before

    # a failing re-test sends the case back
    fail = w.sample("analyst", point, {"fluoride": "1.7"}, purpose="retest", related_sample=lab["id"],
                    collected_at="2030-03-10T08:00:00+00:00")
    assert fail["verdict"] == "unsafe"
    assert w.case("block", case["id"])["state"] == "action_required"
    # a failing re-test never opens a second remedial case
    assert len(remedial_cases(w, "block", point)) == 1

    # close refused while the only re-test failed
    transition(w, "block", case, "record_action", {"actions": ["alternate_source"]})
    err = error_of(w.client.post(f"/api/v1/cases/{case['id']}/transitions/close",
                                 json={"retest_sample": fail["id"]}, headers=w.h["block"]))
    assert err["code"] == "guard_failed" and "closes only after a passing re-test" in err["message"]

    ok = w.sample("analyst", point, {"fluoride": "0.8"}, purpose="retest", related_sample=lab["id"],
                  collected_at="2030-03-20T08:00:00+00:00")
    assert ok["verdict"] == "safe"
    closed = w.case("block", case["id"])
    assert closed["state"] == "closed" and closed["closed_at"] is not None
    assert [(e["transition"], e["actor"], e["from_state"], e["to_state"]) for e in closed["events"]] == [
        ("open", "analyst", None, "action_required"),
        ("record_action", "block", "action_required", "retest_due"),
        ("retest_failed", "analyst", "retest_due", "action_required"),
        ("record_action", "block", "action_required", "retest_due"),
        ("close", "analyst", "retest_due", "closed"),
    ]
    assert closed["events"][1]["note"] == "chlorinated the OHT"
    assert closed["events"][1]["actor_role"] == "block_official"
    assert closed["data"]["retest_sample"] == ok["id"]
    # a correction of the contaminated sample (still unsafe) does not re-open the closed case
    r = w.client.patch(f"/api/v1/samples/{lab['id']}", json={"attributes": {"sheet": "corrected"}},
                       headers=w.h["analyst"])
    assert r.status_code == 200, r.text
    assert [c["state"] for c in remedial_cases(w, "block", point)] == ["closed"]


def test_passing_retest_before_actions_are_recorded_does_not_close(client, node):
    """A passing re-test while actions are still due is kept; the case closes when it is named on close."""
    w = build_wq(client, node)
    point = w.point("block", 500001)
    lab, case = contaminated(w, point)
    ok = w.sample("analyst", point, {"fluoride": "0.8"}, purpose="retest", related_sample=lab["id"],
                  collected_at="2030-03-20T08:00:00+00:00")
    assert w.case("block", case["id"])["state"] == "action_required"
    transition(w, "block", case, "record_action", {"actions": ["treatment_unit"]})
    out = transition(w, "block", case, "close", {"retest_sample": ok["id"]})
    assert out["state"] == "closed"


def test_bacteriological_positive_needs_a_bacteriological_repeat(client, node):
    w = build_wq(client, node)
    point = w.point("block", 500001, "household_tap")
    kit = kit_positive(w, point, {"h2s_vial": "present"})
    lab = w.sample("analyst", point, {"e_coli": {"value": "detected", "unit": "per 100 mL"}},
                   purpose="confirmation", related_sample=kit["id"], collected_at="2030-03-02T08:00:00+00:00")
    assert lab["verdict"] == "unsafe" and lab["bacteriological_positive"] is True
    assert lab["requires_repeat_sample"] is True and lab["contaminants"] == ["e_coli"]
    [case] = remedial_cases(w, "block", point)
    assert case["data"]["repeat_required"] is True
    transition(w, "block", case, "record_action", {"actions": ["chlorination", "flushing"]})

    chem = w.sample("analyst", point, {"fluoride": "0.5", "nitrate": "12"}, purpose="retest",
                    related_sample=lab["id"], collected_at="2030-03-05T08:00:00+00:00")
    assert chem["verdict"] == "safe" and chem["bacteriological_tested"] is False
    assert w.case("block", case["id"])["state"] == "retest_due"
    err = error_of(w.client.post(f"/api/v1/cases/{case['id']}/transitions/close",
                                 json={"retest_sample": chem["id"]}, headers=w.h["block"]))
    assert err["code"] == "guard_failed" and "bacteriological repeat" in err["message"]

    repeat = w.sample("analyst", point, {"e_coli": "absent", "total_coliform": "<1"}, purpose="repeat",
                      related_sample=lab["id"], collected_at="2030-03-06T08:00:00+00:00")
    assert repeat["verdict"] == "safe" and repeat["bacteriological_tested"] is True
    assert w.case("block", case["id"])["state"] == "closed"


def test_sla_escalation_block_district_state(client, node):
    w = build_wq(client, node)
    point = w.point("block", 500001)
    _lab, case = contaminated(w, point)
    engine = node.extras["workflows"]
    due = dt.datetime.fromisoformat(case["due_at"])
    assert due - dt.datetime.fromisoformat(case["opened_at"]) == dt.timedelta(hours=48)

    with node.db.unit_of_work() as session:
        assert engine.escalate_overdue(session, now=due - dt.timedelta(minutes=1)) == []
    with node.db.unit_of_work() as session:
        moved = engine.escalate_overdue(session, now=due + dt.timedelta(minutes=1))
    assert [(m["code"], m["from_level"], m["to_level"]) for m in moved] == [(case["code"], "block", "district")]
    c = w.case("district", case["id"])
    assert c["assigned_level"] == "district" and c["assigned_path"] == "/S28/D745/"
    assert c["overdue"] is False and c["escalation_count"] == 1
    # the block still sees it (it is their place), the other district never
    assert [x["id"] for x in w.cases("block", workflow="wq_remedial_action", assigned_level="district")] == [
        case["id"]]
    assert w.cases("other") == []

    later = due + dt.timedelta(hours=49)
    with node.db.unit_of_work() as session:
        moved = engine.escalate_overdue(session, now=later)
    assert [(m["from_level"], m["to_level"]) for m in moved] == [("district", "state")]
    with node.db.unit_of_work() as session:
        moved = engine.escalate_overdue(session, now=later + dt.timedelta(hours=49))
    assert [m["exhausted"] for m in moved] == [True]
    c = w.case("state", case["id"])
    assert c["assigned_level"] == "state" and c["escalation_exhausted"] is True
    assert [(e["transition"], e["actor"]) for e in c["events"]][1:] == [
        ("escalate", ESCALATION_ACTOR), ("escalate", ESCALATION_ACTOR),
        ("escalation_exhausted", ESCALATION_ACTOR)]

    # the district official can act on the escalated case
    out = transition(w, "district", case, "record_action", {"actions": ["isolate_source"]})
    assert out["state"] == "retest_due" and out["escalation_exhausted"] is False
    assert out["events"][-1]["actor"] == "district" and out["events"][-1]["actor_role"] == "district_official"
    # ... and so can the state official
    assert transition(w, "state", case, "record_action", {"actions": ["advisory"]})["state"] == "retest_due"


def test_other_district_sees_nothing(client, node):
    w = build_wq(client, node)
    point = w.point("block", 500001)
    lab, case = contaminated(w, point)
    kit_case = w.cases("analyst", workflow="wq_lab_confirmation")[0]
    for url in (f"/api/v1/samples/{lab['id']}", f"/api/v1/samples/{lab['code']}",
                f"/api/v1/sampling_points/{point['id']}", f"/api/v1/cases/{case['id']}",
                f"/api/v1/cases/{kit_case['code']}", f"/api/v1/entities/{w.lab['id']}"):
        assert w.client.get(url, headers=w.h["other"]).status_code == 404, url
        assert w.client.get(url, headers=w.h["district"]).status_code == 200, url
    assert w.get("other", "/api/v1/samples")["items"] == []
    assert w.get("other", "/api/v1/sampling_points")["items"] == []
    assert w.get("other", "/api/v1/cases", total="true") == {"items": [], "next_cursor": None, "total": 0}
    # nor can it act on the case
    err = error_of(w.client.post(f"/api/v1/cases/{case['id']}/transitions/record_action",
                                 json={"actions": ["advisory"]}, headers=w.h["other"]))
    assert err["code"] == "not_found"
    assert len(w.get("district", "/api/v1/samples")["items"]) == 2


def test_jurisdiction_of_sample_writes(client, node):
    w = build_wq(client, node)
    p1 = w.point("block", 500001)
    p2 = w.point("block", 500002)
    p3 = w.point("other", 500003)
    before = counts(node)
    # a field tester of village 500001 cannot write (a lab or kit sample) in 500002
    for kind in ("lab", "field_kit"):
        r = w.client.post("/api/v1/samples", json={
            "sampling_point": p2["id"], "test_kind": kind, "collected_at": "2030-03-01T08:00:00+00:00",
            "results": [{"parameter": "fluoride", "value": "0.5"}]}, headers=w.h["tester"])
        # the point of another village is not even visible to the tester: an unresolved reference
        assert r.status_code == 422, r.text
        assert [d["field"] for d in error_of(r)["details"]] == ["sampling_point"]
    # the lab analyst of district 745 cannot write at a point of district 746 (not even see it)
    r = w.client.post("/api/v1/samples", json={
        "sampling_point": p3["id"], "test_kind": "lab", "lab": w.lab["id"],
        "collected_at": "2030-03-01T08:00:00+00:00", "results": [{"parameter": "fluoride", "value": "0.5"}]},
        headers=w.h["analyst"])
    assert r.status_code == 422 and error_of(r)["details"][0]["field"] == "sampling_point", r.text
    # a tester of village 500001 and a point of 500001, but a sample claimed for the point of 500002: refused
    r = w.client.patch(f"/api/v1/sampling_points/{p1['id']}", json={"admin_unit": 500002},
                       headers=w.h["tester"])
    assert r.status_code in (403, 404), r.text
    assert counts(node) == before
    # but the tester can at home
    assert w.sample("tester", p1, {"fluoride": "0.5"}, kind="field_kit")["verdict"] == "safe"


def test_unknown_parameter_or_unit_is_refused_and_nothing_written(client, node):
    w = build_wq(client, node)
    point = w.point("block", 500001)
    before = counts(node)
    r = w.client.post("/api/v1/samples", json={
        "sampling_point": point["id"], "test_kind": "lab", "lab": w.lab["id"],
        "collected_at": "2030-03-01T08:00:00+00:00",
        "results": [{"parameter": "fluoride", "value": "0.5"}, {"parameter": "unobtainium", "value": "3"}]},
        headers=w.h["analyst"])
    assert r.status_code == 422, r.text
    err = error_of(r)
    fields = {d["field"]: d["problem"] for d in err["details"]}
    assert "results.unobtainium" in fields and "/api/v1/water-quality/ruleset" in fields["results.unobtainium"]
    r = w.client.post("/api/v1/samples", json={
        "sampling_point": point["id"], "test_kind": "lab", "lab": w.lab["id"],
        "collected_at": "2030-03-01T08:00:00+00:00",
        "results": [{"parameter": "arsenic", "value": "0.5", "unit": "furlongs"}]}, headers=w.h["analyst"])
    assert r.status_code == 422, r.text
    fields = {d["field"]: d["problem"] for d in error_of(r)["details"]}
    assert "results.arsenic" in fields and "furlongs" in fields["results.arsenic"]
    # a field-kit reading with an unknown unit too
    r = w.client.post("/api/v1/samples", json={
        "sampling_point": point["id"], "test_kind": "field_kit", "collected_at": "2030-03-01T08:00:00+00:00",
        "results": [{"parameter": "fluoride", "value": "1.5-2.0", "unit": "spoons"}]}, headers=w.h["tester"])
    assert r.status_code == 422, r.text
    assert "results.fluoride" in {d["field"] for d in error_of(r)["details"]}
    assert counts(node) == before
    # the published rule set the message points to
    rs = client.get("/api/v1/water-quality/ruleset").json()
    assert rs["version"] == "IS10500:2012"
    assert "unobtainium" not in {p["code"] for p in rs["parameters"]}


def test_censored_and_missing_values_are_kept_as_reported(client, node):
    w = build_wq(client, node)
    point = w.point("block", 500001)
    s = w.sample("analyst", point, {"fluoride": "BDL", "nitrate": "<0.1", "arsenic": "-"})
    assert [(r["parameter"], r["value"]) for r in s["results"]] == [
        ("fluoride", "BDL"), ("nitrate", "<0.1"), ("arsenic", "-")]
    judged = {r["parameter"]: r for r in s["evaluation"]["results"]}
    assert judged["fluoride"]["verdict"] == "within_acceptable"
    assert judged["nitrate"]["verdict"] == "within_acceptable"
    assert judged["arsenic"]["verdict"] == "not_evaluable"
    assert judged["fluoride"]["value_kind"] == "censored" and judged["arsenic"]["value_kind"] == "missing"
    assert s["verdict"] == "incomplete"  # arsenic was reported but not tested: not "safe"
    assert w.cases("block") == []
    stored = w.get("district", f"/api/v1/samples/{s['id']}")
    assert [r["value"] for r in stored["results"]] == ["BDL", "<0.1", "-"]
    # <0.05 arsenic cannot show compliance with 0.01: not evaluable, never 0
    s2 = w.sample("analyst", point, {"arsenic": "<0.05"})
    assert s2["verdict"] == "incomplete"
    assert s2["evaluation"]["results"][0]["verdict"] == "not_evaluable"


def test_failed_requests_write_nothing(client, node):
    w = build_wq(client, node)
    point = w.point("block", 500001)
    kit = kit_positive(w, point)
    before = counts(node)
    bad = [
        # a confirmation must be a lab test
        {"sampling_point": point["id"], "test_kind": "field_kit", "purpose": "confirmation",
         "related_sample": kit["id"], "collected_at": "2030-03-02T08:00:00+00:00", "results": []},
        # a confirmation names its lab
        {"sampling_point": point["id"], "test_kind": "lab", "purpose": "confirmation", "related_sample": kit["id"],
         "collected_at": "2030-03-02T08:00:00+00:00", "results": [{"parameter": "fluoride", "value": "2"}]},
        # a re-test names its related sample
        {"sampling_point": point["id"], "test_kind": "lab", "purpose": "retest", "lab": w.lab["id"],
         "collected_at": "2030-03-02T08:00:00+00:00", "results": [{"parameter": "fluoride", "value": "2"}]},
        # tested before collected
        {"sampling_point": point["id"], "test_kind": "lab", "lab": w.lab["id"],
         "collected_at": "2030-03-02T08:00:00+00:00", "tested_at": "2030-03-01T08:00:00+00:00",
         "results": [{"parameter": "fluoride", "value": "2"}]},
        # a good adverse confirmation plus an unknown parameter: the case must not move either
        {"sampling_point": point["id"], "test_kind": "lab", "purpose": "confirmation", "lab": w.lab["id"],
         "related_sample": kit["id"], "collected_at": "2030-03-02T08:00:00+00:00",
         "results": [{"parameter": "fluoride", "value": "2"}, {"parameter": "kryptonite", "value": "1"}]},
    ]
    for body in bad:
        r = w.client.post("/api/v1/samples", json=body, headers=w.h["analyst"])
        assert r.status_code == 422, (body, r.text)
    # a bulk import whose second record is bad writes neither (atomic)
    r = w.client.post("/api/v1/samples/bulk", json=[
        {"sampling_point": point["id"], "test_kind": "lab", "purpose": "confirmation", "lab": w.lab["id"],
         "related_sample": kit["id"], "collected_at": "2030-03-02T08:00:00+00:00",
         "results": [{"parameter": "fluoride", "value": "2"}]},
        {"sampling_point": point["id"], "test_kind": "lab", "lab": w.lab["id"],
         "collected_at": "2030-03-02T08:00:00+00:00",
         "results": [{"parameter": "fluoride", "value": "x", "unit": "?"}]},
    ], headers=w.h["analyst"])
    assert r.status_code == 422, r.text
    assert counts(node) == before
    assert confirmation_case(w, kit)["state"] == "awaiting_lab"
    # the transition endpoint: a refused guard writes nothing either
    w.sample("analyst", point, {"fluoride": "2"}, purpose="confirmation", related_sample=kit["id"])
    [case] = remedial_cases(w, "block", point)
    before = counts(node)
    for body in ({"actions": []}, {"actions": ["bogus"]}, {"actions": "chlorination"}):
        r = w.client.post(f"/api/v1/cases/{case['id']}/transitions/record_action", json=body, headers=w.h["block"])
        assert r.status_code in (409, 422), r.text
    assert counts(node) == before


def test_retest_must_cover_every_contaminant(client, node):
    """A mixed contamination (fluoride and E. coli) is cleared only by re-tests that judged both."""
    w = build_wq(client, node)
    point = w.point("block", 500001, "household_tap")
    lab, case = contaminated(w, point, {"fluoride": "1.8", "e_coli": "3"})
    assert case["data"]["contaminants"] == ["fluoride", "e_coli"] and case["data"]["repeat_required"] is True
    transition(w, "block", case, "record_action", {"actions": ["chlorination", "alternate_source"]})
    bact = w.sample("analyst", point, {"e_coli": "absent"}, purpose="repeat", related_sample=lab["id"],
                    collected_at="2030-03-05T08:00:00+00:00")
    assert bact["verdict"] == "safe"
    assert w.case("block", case["id"])["state"] == "retest_due"
    err = error_of(w.client.post(f"/api/v1/cases/{case['id']}/transitions/close",
                                 json={"retest_sample": bact["id"]}, headers=w.h["block"]))
    assert err["code"] == "guard_failed" and err["message"].endswith("did not test fluoride")
    both = w.sample("analyst", point, {"e_coli": "absent", "fluoride": "0.7"}, purpose="retest",
                    related_sample=lab["id"], collected_at="2030-03-06T08:00:00+00:00")
    assert both["verdict"] == "safe"
    assert w.case("block", case["id"])["state"] == "closed"


def test_automatic_steps_by_roles_that_may_not_take_them(client, node):
    """A block official enters the lab's confirmation and a field tester a re-test result: the write was allowed,
    so the case moves, taken by the system on their behalf (the event says so)."""
    w = build_wq(client, node)
    block_lab = w.post("block", "/api/v1/entities", {
        "entity_type": "water_quality_lab", "name": "Block lab", "admin_unit": {"code": "LGD-B4001"},
        "lab_level": "block", "serves": [{"code": "LGD-B4001"}]})
    point = w.point("block", 500001)
    kit = kit_positive(w, point)
    case = confirmation_case(w, kit)  # both labs serve the block: the lower level first
    assert (case["assigned_level"], case["assigned_path"]) == ("block", "/S28/D745/B4001/")
    assert case["data"]["lab_code"] == block_lab["code"]
    lab = w.sample("block", point, {"fluoride": "1.8"}, purpose="confirmation", related_sample=kit["id"],
                   collected_at="2030-03-02T08:00:00+00:00", lab=block_lab)
    case = w.case("block", case["id"])
    assert case["state"] == "confirmed_unsafe"
    assert (case["events"][-1]["actor"], case["events"][-1]["note"]) == (
        "system:water_quality", "automatic, on the sample written by block")
    [remedial] = remedial_cases(w, "block", point)
    assert remedial["opened_by"] == "block"
    transition(w, "block", remedial, "record_action", {"actions": ["advisory"]})
    # the tester has no entities:read, so enters the lab's re-test without naming the lab
    ok = w.sample("tester", point, {"fluoride": "0.6"}, purpose="retest", related_sample=lab["id"], lab=False,
                  collected_at="2030-03-09T08:00:00+00:00")
    closed = w.case("block", remedial["id"])
    assert closed["state"] == "closed" and closed["data"]["retest_sample"] == ok["id"]
    assert closed["events"][-1]["actor"] == "system:water_quality"


def test_a_retest_taken_before_the_contamination_moves_nothing(client, node):
    w = build_wq(client, node)
    point = w.point("block", 500001)
    lab, case = contaminated(w, point)
    transition(w, "block", case, "record_action", {"actions": ["advisory"]})
    old = w.sample("analyst", point, {"fluoride": "1.9"}, purpose="retest", related_sample=lab["id"],
                   collected_at="2030-02-01T08:00:00+00:00")
    assert old["verdict"] == "unsafe"
    assert w.case("block", case["id"])["state"] == "retest_due"
    err = error_of(w.client.post(f"/api/v1/cases/{case['id']}/transitions/retest_failed",
                                 json={"retest_sample": old["id"]}, headers=w.h["block"]))
    assert err["code"] == "guard_failed" and "before the contamination" in err["message"]


def test_field_kit_results_come_from_registered_testers(client, node):
    """A tester enters their own readings; an official may enter them on a tester's behalf by naming a registered
    tester of that village; anyone else's name, or none, is refused naming collected_by; nothing is written."""
    w = build_wq(client, node)
    point = w.point("block", 500001, "household_tap", is_chlorinated=True)
    own = w.sample("tester", point, {"fluoride": "0.5"}, kind="field_kit")
    assert own["collected_by"] is None and own["created_by"] == "tester"
    on_behalf = w.sample("block", point, {"fluoride": "0.5"}, kind="field_kit", collected_by="tester")
    assert on_behalf["collected_by"] == "tester"
    for who, extra in (("block", {}), ("block", {"collected_by": "tester2"}), ("block", {"collected_by": "nobody"})):
        before = count_rows(node, "samples")
        body = w.sample(who, point, {"fluoride": "0.5"}, kind="field_kit", status=422, **extra)
        assert body["error"]["details"][0]["field"] == "collected_by", body
        assert count_rows(node, "samples") == before
    # a tester of another village does not even see this sampling point
    body = w.sample("tester2", point, {"fluoride": "0.5"}, kind="field_kit", status=422)
    assert body["error"]["details"][0]["type"] == "reference_not_found"


def test_operator_takes_a_transition_from_the_cli(client, node, database, monkeypatch):
    """``jaldpi workflow transition`` records an action as the node operator; a refused guard exits 1 with the error
    shape and writes nothing."""
    import json

    from typer.testing import CliRunner

    from jaldpi.cli import app
    from jaldpi.config import get_settings

    w = build_wq(client, node)
    point = w.point("block", 500001)
    w.sample("analyst", point, {"fluoride": "2"})
    [case] = remedial_cases(w, "block", point)
    monkeypatch.setenv("JALDPI_DATABASE_URL", database.url)
    get_settings.cache_clear()
    try:
        runner = CliRunner()
        bad = runner.invoke(app, ["workflow", "transition", case["code"], "record_action", "--payload",
                                  '{"actions": ["magic"]}'])
        assert bad.exit_code == 1 and "guard_failed" in bad.output
        assert w.case("block", case["id"])["state"] == "action_required"
        ok = runner.invoke(app, ["workflow", "transition", case["code"], "record_action", "--payload",
                                 '{"actions": ["chlorination", "advisory"]}', "--json"])
        assert ok.exit_code == 0, ok.output
        assert json.loads(ok.output) == {"case": case["code"], "state": "retest_due"}
    finally:
        get_settings.cache_clear()
    events = w.case("block", case["id"])["events"]
    assert events[-1]["actor"] == "cli:operator" and events[-1]["transition"] == "record_action"
