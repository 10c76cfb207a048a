"""Validation of progress updates (photos, percent, quantities, workflow fields, kinds) and funding-share warnings."""

from __future__ import annotations

import datetime as dt

from tests.helpers import error_of
from tests.progress.conftest import PDF_BYTES, UPDATES, financial, photo, physical


def _problems(response) -> dict[str, str]:
    assert response.status_code == 422, response.text
    return {d["field"]: d["problem"] for d in error_of(response)["details"]}


def test_physical_update_rules(client, node, world, estimates, people):
    est = estimates["a1"]
    good = photo(node)
    # photos: required (default: at least one), of type photo, taken no later than as_of + 1 day
    assert "photos" in _problems(client.post(UPDATES, json=physical(est, "10", []), headers=people["block"]))
    pdf = photo(node, document_type="inspection_report", media_type="application/pdf", content=PDF_BYTES,
                filename="report.pdf", lon=None, lat=None)
    problems = _problems(client.post(UPDATES, json=physical(est, "10", [pdf]), headers=people["block"]))
    assert "not a photo" in problems["photos.0"]
    late = photo(node, taken=dt.datetime(2026, 11, 5, 8, tzinfo=dt.UTC))
    problems = _problems(client.post(UPDATES, json=physical(est, "10", [good, late]), headers=people["block"]))
    assert "after the update's as_of" in problems["photos.1"]
    # above the estimate only with a reason
    problems = _problems(client.post(UPDATES, json=physical(est, "104", [good]), headers=people["block"]))
    assert "104.00%" in problems["quantity_done"] and "give a reason" in problems["quantity_done"]
    over = client.post(UPDATES, json=physical(est, "104", [good], reason="extra 4 KL approved in revised DPR"),
                       headers=people["block"])
    assert over.status_code == 201 and over.json()["percent_complete"] == "104.00"
    assert client.post(f"{UPDATES}/{over.json()['code']}/approve", json={}, headers=people["district"]
                       ).status_code == 200
    # never below the last approved quantity without a reason
    problems = _problems(client.post(UPDATES, json=physical(est, "90", [good], as_of=dt.date(2026, 11, 1)),
                                     headers=people["block"]))
    assert "below the last approved quantity 104" in problems["quantity_done"]
    # the workflow's fields are not the maker's
    problems = _problems(client.post(UPDATES, json=physical(est, "10", [good], status="approved"),
                                     headers=people["block"]))
    assert "progress_approval workflow" in problems["status"]
    # kinds carry their own fields; dates are not in the future
    problems = _problems(client.post(UPDATES, json=physical(est, "10", [good], expenditure_inr="5"),
                                     headers=people["block"]))
    assert any("does not carry expenditure_inr" in p for p in problems.values())
    future = (dt.date.today() + dt.timedelta(days=10))
    problems = _problems(client.post(UPDATES, json=physical(est, "10", [good], as_of=future),
                                     headers=people["block"]))
    assert problems["as_of"] == "as_of is in the future"
    # the scheme, when named, must be the work item's
    other = world.records["schemes"]["a4"]["id"]
    problems = _problems(client.post(UPDATES, json=physical(est, "10", [good], scheme=other),
                                     headers=people["district"]))
    assert "another scheme" in problems["scheme"]
    # nothing of the refused rows was written: one update and one case
    listed = client.get(UPDATES, params={"total": "true"}, headers=people["district"]).json()
    assert listed["total"] == 1


def test_photo_and_funding_rules_follow_the_settings(settings):
    from decimal import Decimal

    from jaldpi.progress.registry import photo_problems, share_warnings

    as_of = dt.date(2026, 10, 31)
    assert photo_problems(settings, as_of, []) == [
        ("photos", "a physical update carries at least 1 geotagged photo(s) (documents of type photo)")]
    relaxed = settings.model_copy(update={"progress_min_photos_physical": 0, "progress_photo_days_after_as_of": 5})
    late = {"code": "DOC-1", "document_type": "photo", "lon": 78.4, "lat": 17.3,
            "captured_at": dt.datetime(2026, 11, 4, 23, tzinfo=dt.UTC)}
    assert photo_problems(relaxed, as_of, []) == [] and photo_problems(relaxed, as_of, [late]) == []
    assert [f for f, _ in photo_problems(settings, as_of, [late])] == ["photos.0"]
    ninety_ten = {"released_central_inr": Decimal("450.00"), "released_state_inr": Decimal("50.00")}
    # Sikkim (11) is 90:10 by default, state 28 falls to 50:50 unless configured
    assert share_warnings(settings, ninety_ten, "/S11/D1/") == []
    assert [w["code"] for w in share_warnings(settings, ninety_ten, "/S28/D745/")] == ["funding_share"]
    configured = settings.model_copy(update={"progress_central_share_pct_by_state": {28: 90.0}})
    assert share_warnings(configured, ninety_ten, "/S28/D745/") == []
    ut = {"released_central_inr": Decimal("100.00"), "released_state_inr": Decimal("0.00")}
    assert share_warnings(settings, ut, "/S35/") == []  # Andaman & Nicobar: 100:0


def test_financial_rules_and_funding_share_warning(client, node, world, estimates, people):
    scheme = world.records["schemes"]["a1"]["id"]
    # releases above the sanction, and spending above releases, need a reason
    problems = _problems(client.post(UPDATES, json=financial(scheme, sanctioned="100.00", central="90.00",
                                                             state="20.00", spent="10.00"), headers=people["block"]))
    assert "exceed the sanctioned" in problems["released_central_inr"]
    problems = _problems(client.post(UPDATES, json=financial(scheme, sanctioned="100.00", central="50.00",
                                                             state="50.00", spent="100.50"), headers=people["block"]))
    assert "exceeds releases" in problems["expenditure_inr"]
    problems = _problems(client.post(UPDATES, json={"kind": "financial", "scheme": scheme, "as_of": "2026-10-31"},
                                     headers=people["block"]))
    assert any("needs sanctioned_inr, expenditure_inr" in p for p in problems.values())
    # state 28 is 50:50 by default: a 90:10 entry is stored as entered, with a warning (never a refusal)
    response = client.post(UPDATES, json=financial(scheme, sanctioned="1000.00", central="450.00", state="50.00",
                                                   spent="100.00"), headers=people["block"])
    assert response.status_code == 201, response.text
    body = response.json()
    assert body["released_central_inr"] == "450.00" and body["released_state_inr"] == "50.00"
    assert [w["code"] for w in body["warnings"]] == ["funding_share"]
    assert "90.00%" in body["warnings"][0]["message"] and "50:50" in body["warnings"][0]["message"]
    # within the tolerance: no warning
    response = client.post(UPDATES, json=financial(scheme, sanctioned="1000.00", central="250.50", state="249.50",
                                                   spent="100.00", as_of=dt.date(2026, 10, 1)), headers=people["block"])
    assert response.status_code == 201 and response.json()["warnings"] == []
