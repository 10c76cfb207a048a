"""Routing, the citizen's PIN and number checks, the SMS grammar and gateway, Hindi replies, staff calls, privacy."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select, text

from jaldpi.grievances import service
from jaldpi.grievances import sms as grammar
from jaldpi.grievances.models import Grievance, GrievanceContact
from jaldpi.grievances.registry import normalise_reference
from tests.grievances.conftest import (
    BLOCK_4001,
    BLOCK_PHONE,
    CITIZEN,
    GATEWAY_TOKEN,
    OPERATOR_PHONE,
    V1,
    sent,
    sms,
    staff,
)
from tests.helpers import error_of, token

PUBLIC = "/api/v1/public/grievances"


def submit(client, **overrides):
    body = {"village": 500001, "category": "no_water", "description": "No water in ward 3 since Monday",
            "phone": CITIZEN, "name": "Kamala Devi", "language": "en"} | overrides
    r = client.post(PUBLIC, json=body)
    assert r.status_code == 201, r.text
    return r.json()


def resolve(node, engine, principal, reference):
    with node.db.unit_of_work() as session:
        service.take_transition(session, node.settings, principal, reference, "resolve",
                                {"resolution_note": "pipe joint fixed"}, engine=engine)


def test_routing_follows_the_table_and_skips_levels_nobody_holds(gclient, gnode, operator, block):
    at_village = submit(gclient)
    assert (at_village["status"], at_village["pin"].isdigit(), len(at_village["pin"])) == ("assigned", True, 6)
    no_operator = submit(gclient, village=500002, phone=None)  # nobody holds vwsc_operator at 500002
    dirty = submit(gclient, category="dirty_water", phone=None)  # dirty water starts at the block
    nobody = submit(gclient, village=500004, phone=None)  # block 4003 has no official either: the district...
    with gnode.db.unit_of_work(write=False) as session:
        rows = {r.code: r for r in session.execute(select(Grievance.__table__)).all()}
    got = {ref: (rows[ref].routed_to_role, rows[ref].routed_to_path) for ref in
           (at_village["reference"], no_operator["reference"], dirty["reference"], nobody["reference"])}
    assert got == {at_village["reference"]: ("vwsc_operator", V1),
                   no_operator["reference"]: ("block_official", BLOCK_4001),
                   dirty["reference"]: ("block_official", BLOCK_4001),
                   nobody["reference"]: ("state_official", "/S28/")}  # ...and the state, which is always kept
    templates = [m["template"] for m in sent(gnode, OPERATOR_PHONE)]
    assert templates == ["grievances_assigned"]  # only the grievance routed to the operator
    assert [m["template"] for m in sent(gnode, BLOCK_PHONE)] == ["grievances_assigned"] * 2
    with gnode.db.unit_of_work(write=False) as session:
        counts = service.open_counts_by_village(session, [rows[no_operator["reference"]].village_id,
                                                          rows[at_village["reference"]].village_id])
    assert sorted(counts.values()) == [1, 2]


def test_wrong_pin_is_refused_then_locked_and_the_right_pin_confirms(gclient, gnode, engine, operator):
    g = submit(gclient)
    ref = g["reference"]
    r = gclient.post(f"{PUBLIC}/{ref}/confirm", json={"pin": g["pin"]})
    assert r.status_code == 409 and error_of(r)["code"] == "not_resolved"  # nothing to confirm yet
    resolve(gnode, engine, operator, ref)
    wrong = "000000" if g["pin"] != "000000" else "111111"
    r = gclient.post(f"{PUBLIC}/{ref}/confirm", json={"pin": wrong})
    assert r.status_code == 403 and error_of(r)["code"] == "wrong_pin"
    assert gclient.get(f"{PUBLIC}/{ref}").json()["status"] == "resolved"  # nothing moved
    r = gclient.post(f"{PUBLIC}/{ref}/reopen", json={"pin": g["pin"], "reason": "still dry in ward 3"})
    assert r.status_code == 200 and r.json()["status"] == "reopened" and r.json()["reopen_count"] == 1
    assert [m["template"] for m in sent(gnode, OPERATOR_PHONE)][-1] == "grievances_reopened"
    resolve(gnode, engine, operator, ref)
    for _ in range(gnode.settings.grievance_pin_max_attempts - 1):
        assert gclient.post(f"{PUBLIC}/{ref}/confirm", json={"pin": wrong}).status_code == 403
    r = gclient.post(f"{PUBLIC}/{ref}/confirm", json={"pin": g["pin"]})
    assert r.status_code == 403 and error_of(r)["code"] == "pin_locked"  # the failures were counted
    r = sms(gclient, f"JAL OK {ref}", message_id="ok-after-lock")  # the complainant's number still works
    assert r.json()["outcome"] == "confirmed"
    assert gclient.get(f"{PUBLIC}/{ref}").json()["status"] == "closed"


def test_a_strangers_number_cannot_confirm_or_reopen(gclient, gnode, engine, operator):
    ref = sms(gclient, "JAL 500001 LEAK pipe burst near school", message_id="s-1").json()["reference"]
    resolve(gnode, engine, operator, ref)
    stranger = "9123456780"
    assert sms(gclient, f"JAL OK {ref}", sender=stranger, message_id="s-2").json()["outcome"] == "not_complainant"
    assert sms(gclient, f"JAL REOPEN {ref} not fixed", sender=stranger,
               message_id="s-3").json()["outcome"] == "not_complainant"
    assert gclient.get(f"{PUBLIC}/{ref}").json()["status"] == "resolved"
    refusal = sent(gnode, stranger)
    assert [m["template"] for m in refusal] == ["grievances_sms_error"] * 2 and ref in refusal[0]["body"]
    assert sms(gclient, f"JAL REOPEN {ref}", message_id="s-4").json()["outcome"] == "reason_missing"
    r = sms(gclient, f"jal reopen {ref[4:9]} {ref[9:]}  water still leaking", message_id="s-5")
    assert r.json()["outcome"] == "reopened"  # the reference typed with a space and without GRV-


def test_duplicate_message_id_is_answered_once(gclient, gnode, operator):
    first = sms(gclient, "JAL 500001 TAP tap broken", message_id="dup-1").json()
    again = sms(gclient, "JAL 500001 TAP tap broken", message_id="dup-1").json()
    assert first["duplicate"] is False and again == {"message_id": "dup-1", "duplicate": True,
                                                     "outcome": "submitted"}
    with gnode.db.unit_of_work(write=False) as session:
        assert session.execute(select(Grievance.id)).all().__len__() == 1
    assert [m["template"] for m in sent(gnode, CITIZEN)] == ["grievances_received"]


def test_gibberish_gets_the_help_in_english_and_hindi(gclient, gnode):
    assert sms(gclient, "hello is anyone there", message_id="h-1").json()["outcome"] == "help"
    assert sms(gclient, "JAL 500001 FLOOD", message_id="h-2").json()["outcome"] == "help"  # unknown problem
    helps = sent(gnode, CITIZEN)
    assert [m["template"] for m in helps] == ["grievances_help"] * 2
    assert "JAL STATUS" in helps[0]["body"] and "शिकायत" in helps[0]["body"] and "NOWATER" in helps[0]["body"]
    r = sms(gclient, "JAL 999999 NOWATER", message_id="h-3")
    assert r.json()["outcome"] == "unknown_village"
    assert "999999" in sent(gnode, CITIZEN)[-1]["body"]


def test_hindi_complainant_gets_hindi_replies(gclient, gnode, engine, operator):
    ref = sms(gclient, "जल 500001 PAANINAHI दो दिन से पानी नहीं", message_id="hi-1").json()["reference"]
    ack = sent(gnode, CITIZEN)[-1]
    assert ack["language"] == "hi" and "संदर्भ संख्या" in ack["body"] and ref in ack["body"]
    sms(gclient, f"JAL STATUS {ref}", sender="9123456780", message_id="hi-2")  # anyone may ask; answered in Hindi
    status = sent(gnode, "9123456780")[-1]
    assert status["template"] == "grievances_status" and "दर्ज और सौंपी गई" in status["body"]
    resolve(gnode, engine, operator, ref)
    assert "JAL OK" in sent(gnode, CITIZEN)[-1]["body"] and sent(gnode, CITIZEN)[-1]["language"] == "hi"


def test_gateway_must_prove_itself_and_accepts_form_and_signed_json(gclient, gnode, world):
    body = {"from": CITIZEN, "text": "JAL HELP", "message_id": "g-1"}
    r = gclient.post("/sms/v1/inbound", json=body)
    assert r.status_code == 401 and error_of(r)["code"] == "bad_gateway_credentials"
    r = gclient.post("/sms/v1/inbound", json=body, headers={"X-Gateway-Token": GATEWAY_TOKEN + "x"})
    assert r.status_code == 401
    assert sms(gclient, "JAL HELP", message_id="g-2", sign=True).json()["outcome"] == "help"
    assert sms(gclient, "JAL HELP", message_id="g-3", form=True).json()["outcome"] == "help"
    r = gclient.post("/sms/v1/inbound", json={"from": CITIZEN, "text": "JAL HELP"},
                     headers={"X-Gateway-Token": GATEWAY_TOKEN})
    assert r.status_code == 422 and error_of(r)["details"][0]["field"] == "message_id"


def test_staff_call_keeps_the_callers_phone_apart_and_masked(gclient, gnode, world, operator):
    staff(gnode, "district-745", "district_official", "/S28/D745/")
    headers = token(gclient, "vwsc-500001")
    r = gclient.post("/api/v1/grievances", headers=headers, json={
        "village": 500001, "category": "broken_tap", "description": "Caller says the tap at house 12 is broken",
        "phone": "+91 98765 00002", "name": "Ramesh Kumar"})
    assert r.status_code == 201, r.text
    created = r.json()
    assert created["channel"] == "staff_call" and created["pin"].isdigit()
    assert created["complainant_phone"] == "XXXXXXXX02" and created["complainant_name"] == "R***** K****"
    clear = gclient.get(f"/api/v1/grievances/{created['reference']}", headers=token(gclient, "district-745")).json()
    assert clear["complainant_phone"] == "9876500002" and clear["complainant_name"] == "Ramesh Kumar"
    r = gclient.post("/api/v1/grievances", headers=headers, json={
        "village": 500004, "category": "broken_tap", "description": "outside my village"})
    assert r.status_code == 403  # an operator enters calls for their own village only
    r = gclient.patch(f"/api/v1/grievances/{created['reference']}", headers=headers, json={"status": "closed"})
    assert r.status_code == 422 and error_of(r)["details"][0]["field"] == "status"
    r = gclient.patch(f"/api/v1/grievances/{created['reference']}", headers=headers,
                      json={"description": "Tap at house 12 broken, leaking"})
    assert r.status_code == 200 and r.json()["version"] == 2
    assert gclient.delete(f"/api/v1/grievances/{created['reference']}", headers=headers).status_code == 409
    queue = gclient.get("/api/v1/grievances/queue", headers=headers).json()["items"]
    assert [q["reference"] for q in queue] == [created["reference"]]
    r = gclient.post(f"/api/v1/grievances/{created['reference']}/transitions/reject", headers=headers, json={})
    assert r.status_code == 422 and error_of(r)["code"] == "missing_fields"


def test_no_phone_number_or_name_in_the_record_change_log_or_public_view(gclient, gnode, operator):
    g = submit(gclient, phone="9876500077", name="Sunita Bai")
    ref = g["reference"]
    sms(gclient, "JAL 500001 DIRTY muddy water", sender="9876500088", message_id="p-1")
    with gnode.db.engine.connect() as conn:
        dumped = " ".join(str(row) for table in ("grievances", "change_log", "workflow_cases", "workflow_events",
                                                 "grievance_inbound_messages")
                          for row in conn.execute(text(f"SELECT * FROM {table}")))
    for secret in ("9876500077", "98765 00077", "Sunita", "9876500088", g["pin"]):
        assert secret not in dumped
    public = str(gclient.get(f"{PUBLIC}/{ref}").json())
    assert "9876500077" not in public and "Sunita" not in public and "ward 3" not in public  # no description
    assert "9876500077" not in gclient.get("/open311/v2/requests.json").text
    with gnode.db.unit_of_work(write=False) as session:
        contact = session.execute(select(GrievanceContact.__table__)).first()
    assert contact.ciphertext and b"9876500077" not in contact.ciphertext and len(contact.phone_hash) == 64


def test_auto_close_after_the_citizen_does_not_answer(gnode, engine, gclient, operator):
    g = submit(gclient, phone=None)
    resolve(gnode, engine, operator, g["reference"])
    days = gnode.settings.grievance_auto_close_days
    with gnode.db.unit_of_work() as session:
        assert service.auto_close(session, gnode.settings, engine=engine,
                                  now=dt.datetime.now(dt.UTC) + dt.timedelta(days=days - 1)) == []
        closed = service.auto_close(session, gnode.settings, engine=engine,
                                    now=dt.datetime.now(dt.UTC) + dt.timedelta(days=days, minutes=1))
    assert closed == [g["reference"]]
    view = gclient.get(f"{PUBLIC}/{g['reference']}").json()
    assert view["status"] == "closed" and view["confirmed_at"] is None and view["history"][-1]["event"] == "auto_close"


def test_bad_public_input_is_named(gclient, world):
    r = gclient.post(PUBLIC, json={"village": 500001, "category": "flood", "description": "x" * 20})
    assert r.status_code == 422 and error_of(r)["details"][0]["field"] == "category"
    r = gclient.post(PUBLIC, json={"village": 999999, "category": "no_water", "description": "no water at all"})
    assert r.status_code == 422 and error_of(r)["details"][0]["field"] == "village"
    r = gclient.post(PUBLIC, json={"village": 500001, "category": "no_water", "description": "no water at all",
                                   "phone": "12345"})
    assert r.status_code == 422 and error_of(r)["details"][0]["field"] == "phone"
    assert gclient.get(f"{PUBLIC}/GRV-0000000000").status_code == 404


def test_sms_grammar_and_references():
    p = grammar.parse("  jal   500001   pressure   very  low  ")
    assert (p.command, p.village, p.category, p.text, p.language) == ("new", 500001, "low_pressure", "very low", "en")
    assert grammar.parse("JAL 500001 GANDA").language == "hi"
    assert grammar.parse("JAL STATUS grv-7k3m-9q2x-wz").reference == "GRV-7K3M9Q2XWZ"
    assert grammar.parse("JAL OK 7K3M9Q2XWZ").command == "confirm"
    assert grammar.parse("JAL").command == "help" and grammar.parse("STATUS GRV-7K3M9Q2XWZ").command == "help"
    assert normalise_reference("grv-0o1il-23456") == "GRV-00111" + "23456"
    assert normalise_reference("GRV-123") is None


def test_routing_by_asset_sends_a_multi_village_schemes_bulk_works_to_the_block(gclient, gnode, operator, block):
    """routing.json `assets`: a leak at an MVS treatment plant is the block engineer's, not the village operator's;
    the same scheme's other grievances, and an SVS's treatment plant, stay with the village."""
    from jaldpi.core.registry import Strategy
    from tests.helpers import ROOT

    with gnode.db.unit_of_work() as session:
        schemes = gnode.catalogue["schemes"].import_records(session, ROOT, [
            {"code": "SCH-MVS", "name": "Two-village scheme", "scheme_type": "mvs", "villages": [500001, 500002]},
            {"code": "SCH-SVS", "name": "One-village scheme", "scheme_type": "svs", "villages": [500001]}],
            strategy=Strategy.create)
        assert schemes.status == "ok", schemes.to_dict()
        components = gnode.catalogue["components"].import_records(session, ROOT, [
            {"code": "CMP-MVS-WTP", "scheme": {"code": "SCH-MVS"}, "component_type": "treatment_plant",
             "name": "WTP"},
            {"code": "CMP-SVS-WTP", "scheme": {"code": "SCH-SVS"}, "component_type": "treatment_plant",
             "name": "Village filter"}], strategy=Strategy.create)
        assert components.status == "ok", components.to_dict()
    headers = token(gclient, "block-4001")  # staff entering calls name the asset (the public form does not)

    def call(**fields):
        body = {"village": 500001, "description": "reported by phone", "channel": "staff_call"} | fields
        r = gclient.post("/api/v1/grievances", json=body, headers=headers)
        assert r.status_code == 201, r.text
        return r.json()

    mvs_plant = call(category="leak_burst", component="CMP-MVS-WTP")
    mvs_other = call(category="low_pressure", scheme="SCH-MVS")
    svs_plant = call(category="leak_burst", component="CMP-SVS-WTP")
    with gnode.db.unit_of_work(write=False) as session:
        rows = {r.code: r for r in session.execute(select(Grievance.__table__)).all()}
    assert {k: (rows[g["reference"]].routed_to_role, rows[g["reference"]].routed_to_path)
            for k, g in (("mvs_plant", mvs_plant), ("mvs_other", mvs_other), ("svs_plant", svs_plant))} == {
        "mvs_plant": ("block_official", BLOCK_4001), "mvs_other": ("vwsc_operator", V1),
        "svs_plant": ("vwsc_operator", V1)}
    history = gclient.get(f"{PUBLIC}/{mvs_plant['reference']}").json()
    assert history["status"] == "assigned"


def test_a_routing_table_with_a_bad_asset_rule_is_refused():
    import json

    import pytest

    from jaldpi.grievances import routing

    data = json.loads(routing.PACKAGED.read_text(encoding="utf-8"))
    data["assets"] = [{"scheme_types": ["mega"], "component_types": ["treatment_plant"], "level": "ward"}]
    with pytest.raises(routing.RoutingError) as err:
        routing.parse(data, "test")
    assert "assets[0]: level 'ward' is not in the chain" in str(err.value)
    assert "assets[0].scheme_types: unknown codes ['mega']" in str(err.value)
