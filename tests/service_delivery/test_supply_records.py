"""Supply records: create, bulk (JSON and CSV), idempotent re-send by scheme+village+date, validation, jurisdiction."""

from __future__ import annotations

from tests.helpers import error_of, login_as
from tests.service_delivery.sd_world import build_sd, record

URL = "/api/v1/supply_records"


def test_create_derives_hours_schedule_and_offsets(client, node):
    schemes = build_sd(node)
    h = login_as(client, node, "op1", "vwsc_operator", "/S28/D745/B4001/G200001/")
    r = client.post(URL, json=record(schemes[500001], 500001, "2026-10-01", start_time="06:20", end_time="07:56",
                                     volume_supplied_kl=1.2, tail_end_residual_chlorine_mg_l=0.4), headers=h)
    assert r.status_code == 201, r.text
    rec = r.json()
    assert rec["lgd_path"] == "/S28/D745/B4001/G200001/V500001/"
    assert rec["hours_of_supply"] == 1.6  # 96 minutes
    assert (rec["scheduled_start"], rec["scheduled_end"], rec["schedule_source"]) == ("06:00:00", "08:00:00",
                                                                                      "scheme")
    assert rec["start_offset_minutes"] == 20
    assert rec["duration_share"] == 0.8  # 96 / 120
    assert rec["chlorinated"] is True and rec["source"] == "operator"
    assert rec["code"].startswith("SUP-")


def test_supply_across_midnight_and_own_schedule(client, node):
    schemes = build_sd(node)
    h = login_as(client, node, "op1", "vwsc_operator", "/S28/D745/B4001/G200001/")
    r = client.post(URL, json=record(schemes[500001], 500001, "2026-10-02", start_time="22:00", end_time="02:00",
                                     scheduled_start="23:50", scheduled_end="01:50", volume_supplied_kl=2),
                    headers=h)
    assert r.status_code == 201, r.text
    rec = r.json()
    assert rec["hours_of_supply"] == 4.0
    assert rec["schedule_source"] == "record"
    assert rec["start_offset_minutes"] == -110  # 22:00 is 110 minutes before 23:50
    assert rec["duration_share"] == 2.0


def test_validation_errors(client, node):
    schemes = build_sd(node)
    h = login_as(client, node, "op1", "vwsc_operator", "/S28/D745/B4001/G200001/")
    s1 = schemes[500001]
    cases = [
        (record(s1, 500002, "2026-10-01"), 422, "does not serve village 500002"),  # village not served
        (record(s1, 500001, "2026-10-01", volume_supplied_kl=-1), 422, "greater than or equal to 0"),
        (record(s1, 500001, "2026-10-01", supplied=False, start_time=None, end_time=None), 422,
         "reason_no_supply is required"),
        (record(s1, 500001, "2026-10-01", reason_no_supply="power_cut"), 422, "only for days without supply"),
        (record(s1, 500001, "2026-10-01", end_time="06:00"), 422, "equals start_time"),
        (record(s1, 500001, "2026-10-01", end_time=None), 422, "both start_time and end_time"),
        (record(s1, 500001, "2026-10-01", start_time=None, end_time=None), 422, "hours_of_supply"),
        (record(s1, 500001, "2026-10-01", supplied=False, start_time=None, end_time=None,
                reason_no_supply="monsoon"), 422, "reason_no_supply"),
    ]
    for body, status, text in cases:
        r = client.post(URL, json=body, headers=h)
        assert r.status_code == status, (body, r.text)
        err = error_of(r)
        assert text in (err["message"] + " ".join(d["problem"] for d in err["details"])), (text, err)
    r = client.post(URL, json=record(s1, 500001, "2026-10-03", supplied=False, start_time=None, end_time=None,
                                     reason_no_supply="power_cut"), headers=h)
    assert r.status_code == 201, r.text
    assert r.json()["hours_of_supply"] == 0 and r.json()["reason_no_supply"] == "power_cut"
    r = client.post(URL, json=record(s1, 500001, "2026-10-04", start_time=None, end_time=None, hours_of_supply=2.5),
                    headers=h)
    assert r.status_code == 201, r.text
    assert r.json()["hours_of_supply"] == 2.5 and r.json()["start_offset_minutes"] is None


def test_bulk_and_idempotent_resend(client, node):
    schemes = build_sd(node)
    h = login_as(client, node, "partner", "partner_system", "/S28/", kind="system", source_system="scada")
    rows = [record(schemes[500001], 500001, f"2026-10-{d:02d}", volume_supplied_kl=1.2) for d in (1, 2, 3)]
    r = client.post(f"{URL}/bulk", json=rows, headers=h)
    assert r.status_code == 200, r.text
    assert r.json()["stats"]["created"] == 3
    # the same payload again: nothing changes
    r = client.post(f"{URL}/bulk", json=rows, headers=h)
    assert r.json()["stats"] == {"created": 0, "updated": 0, "deleted": 0, "ignored": 3, "errors": 0, "total": 3}
    # a re-send with a new value for one day (scheme by id, village by object): updates, does not duplicate
    scheme_id = client.get(f"/api/v1/schemes/{schemes[500001]}", headers=h).json()["id"]
    changed = rows[1] | {"scheme": scheme_id, "village": {"lgd_code": 500001}, "volume_supplied_kl": 1.5}
    r = client.post(f"{URL}/bulk?report=full", json=[changed], headers=h)
    assert r.json()["stats"]["updated"] == 1, r.text
    listed = client.get(URL, params={"total": "true"}, headers=h).json()
    assert listed["total"] == 3
    day2 = [x for x in listed["items"] if x["supply_date"] == "2026-10-02"]
    assert len(day2) == 1 and day2[0]["volume_supplied_kl"] == 1.5 and day2[0]["version"] == 2
    # a single create for a day that exists is a conflict
    r = client.post(URL, json=rows[0], headers=h)
    assert r.status_code == 409 and error_of(r)["code"] == "already_exists"
    # two rows for the same scheme, village and day in one payload
    r = client.post(f"{URL}/bulk", json=[rows[0] | {"supply_date": "2026-10-09"},
                                         rows[0] | {"supply_date": "2026-10-09", "volume_supplied_kl": 2}], headers=h)
    assert r.status_code == 422
    assert r.json()["rows"][0]["errors"][0]["code"] == "duplicate_in_payload"
    # CSV, the operator's spreadsheet
    csv = ("scheme,village,supply_date,supplied,start_time,end_time,volume_supplied_kl,reason_no_supply\n"
           f"{schemes[500002]},500002,2026-10-01,true,06:00,08:00,0.9,\n"
           f"{schemes[500002]},500002,2026-10-02,false,,,,pump_failure\n")
    r = client.post(f"{URL}/bulk", content=csv, headers=h | {"Content-Type": "text/csv"})
    assert r.status_code == 200, r.text
    assert r.json()["stats"]["created"] == 2
    r = client.post(f"{URL}/bulk", content=csv, headers=h | {"Content-Type": "text/csv"})
    assert r.json()["stats"]["ignored"] == 2, r.text


def test_jurisdiction(client, node):
    schemes = build_sd(node)
    op1 = login_as(client, node, "op1", "vwsc_operator", "/S28/D745/B4001/G200001/")
    other = login_as(client, node, "other", "district_official", "/S28/D746/")
    r = client.post(URL, json=record(schemes[500001], 500001, "2026-10-01", volume_supplied_kl=1), headers=op1)
    assert r.status_code == 201
    rec = r.json()
    # another GP's village: the operator of GP 200001 cannot write it
    r = client.post(URL, json=record(schemes[500004], 500004, "2026-10-01"), headers=op1)
    assert r.status_code in (403, 422), r.text
    assert {d["type"] for d in error_of(r)["details"]} & {"reference_not_found", "out_of_jurisdiction"}
    district = login_as(client, node, "d745", "district_official", "/S28/D745/")
    r = client.post(URL, json=record(schemes[500004], 500004, "2026-10-01"), headers=district)
    assert r.status_code == 201
    other_rec = r.json()
    r = client.post(f"{URL}/bulk", json=[other_rec | {"volume_supplied_kl": 9}], headers=op1)
    assert r.json()["rows"][0]["errors"][0]["code"] == "out_of_jurisdiction"
    assert client.get(f"{URL}/{other_rec['id']}", headers=op1).status_code == 404
    # another district's official sees none of it
    assert client.get(f"{URL}/{rec['id']}", headers=other).status_code == 404
    assert client.get(URL, headers=other).json()["items"] == []
    r = client.post(URL, json=record(schemes[500001], 500001, "2026-10-05"), headers=other)
    assert r.status_code in (403, 422)
    # a lab analyst has no supply-record permission
    lab = login_as(client, node, "lab", "lab_analyst", "/S28/D745/")
    assert client.get(f"{URL}/{rec['id']}", headers=lab).status_code == 404
