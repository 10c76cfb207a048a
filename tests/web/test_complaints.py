"""Citizen Corner complaints through the test client, on every backend: the report form (success, CSRF and origin
refusals, validation errors re-rendered, Hindi), tracking, confirm / reopen with a right and a wrong PIN, the
village page's complaints and certification blocks, the home page's tracking box and the node's rate limit."""

from __future__ import annotations

import re
from html import unescape

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from jaldpi.grievances.models import Grievance
from jaldpi.grievances.service import take_transition
from jaldpi.web.officials import CSRF_COOKIE
from tests.certification.conftest import make_app, report, upload
from tests.helpers import ROOT, build_world, login_as
from tests.web.test_citizen_pages import Page

PHONE, NAME = "98765 43210", "Rameshwari Testname"
DESCRIPTION = "No water at the tap near the school since Monday"


@pytest.fixture
def web(client, node):
    build_world(node)
    return client


@pytest.fixture
def web_with_documents(database, tmp_path):
    app = make_app(database, tmp_path)  # the certification's evidence goes to a temporary document store
    build_world(app.state.node)
    with TestClient(app) as client:
        yield client


def csrf_of(page: str) -> str:
    match = re.search(r'name="csrf_token" value="([^"]+)"', page)
    assert match, "the form carries no CSRF token"
    return unescape(match.group(1))


def file_report(client: TestClient, village: int = 500001, lang: str = "en", **fields):
    form = client.get(f"/citizen/village/{village}/report", params={"lang": lang})
    assert form.status_code == 200, form.text
    data = {"csrf_token": csrf_of(form.text), "category": "no_water", "description": DESCRIPTION, **fields}
    return client.post(f"/citizen/village/{village}/report?lang={lang}", data=data)


def reference_and_pin(page: str) -> tuple[str, str]:
    reference = re.search(r'<b id="grievance-reference">([^<]+)</b>', page).group(1)
    pin = re.search(r'<b id="grievance-pin">(\d{6})</b>', page).group(1)
    return reference, pin


def grievances(client: TestClient) -> list:
    node = client.app.state.node
    with node.db.unit_of_work(write=False) as session:
        return list(session.execute(select(Grievance.code, Grievance.channel, Grievance.language,
                                           Grievance.category, Grievance.description)))


def test_the_form_is_labelled_and_files_a_complaint_with_a_reference_and_a_pin(web):
    form = web.get("/citizen/village/500001/report")
    assert form.status_code == 200 and "no-store" in form.headers["cache-control"]
    page = Page(form.text)
    assert page.h1 == ["Report a problem: Alpha One"]
    assert set(page.inputs) == {"report-category", "report-description", "report-phone", "report-name"}
    assert set(page.inputs) <= page.labels  # every control has its label
    assert '<option value="no_water">' in form.text and '<option value="billing">' in form.text
    assert web.cookies.get(CSRF_COOKIE) == csrf_of(form.text)
    [cookie] = [h for h in form.headers.get_list("set-cookie") if h.startswith(f"{CSRF_COOKIE}=")]
    assert "Path=/citizen" in cookie and "HttpOnly" in cookie
    done = file_report(web, phone=PHONE, name=NAME)
    assert done.status_code == 201, done.text
    assert "no-store" in done.headers["cache-control"]
    reference, pin = reference_and_pin(done.text)
    assert "Keep this PIN to confirm or reopen" in done.text and "SMS updates" in done.text
    assert PHONE not in done.text and "9876543210" not in done.text and NAME not in done.text
    [row] = grievances(web)
    assert (row.code, row.channel, row.language, row.category, row.description) == (
        reference, "web", "en", "no_water", DESCRIPTION)
    assert pin not in reference
    # the village page now counts it, links the form and the tracking page
    village = web.get("/citizen/village/500001").text
    assert "Open complaints about this village: 1" in village
    assert 'href="/citizen/village/500001/report"' in village and 'href="/citizen/grievances/track"' in village
    assert "No complaint about this village is open." in web.get("/citizen/village/500002").text


def test_a_post_without_the_csrf_token_or_from_another_site_writes_nothing(web):
    web.get("/citizen/village/500001/report")
    refused = web.post("/citizen/village/500001/report", data={"category": "no_water", "description": DESCRIPTION})
    assert refused.status_code == 403
    assert "The form expired or was not sent from this site" in refused.text
    assert DESCRIPTION in refused.text  # re-filled: nothing typed is lost
    token = csrf_of(refused.text)
    forged = web.post("/citizen/village/500001/report", data={"csrf_token": "forged.abc", "category": "no_water",
                                                              "description": DESCRIPTION})
    assert forged.status_code == 403
    other = web.post("/citizen/village/500001/report", headers={"Origin": "https://evil.example"},
                     data={"csrf_token": token, "category": "no_water", "description": DESCRIPTION})
    assert other.status_code == 403 and "sent from another website" in other.text
    assert grievances(web) == []
    assert web.post("/citizen/village/999999/report", data={}).status_code == 404


def test_bad_input_is_listed_and_the_form_comes_back_filled(web):
    response = file_report(web, category="", description="short", phone="12345", name="Asha")
    assert response.status_code == 422
    page = response.text
    assert 'role="alert"' in page
    for message in ("What is the problem?: choose one of the categories",
                    "Describe the problem: write a little more (at least 10 characters)",
                    "Mobile number: enter a 10-digit mobile number, or leave it empty"):
        assert message in page
    assert page.count('aria-invalid="true"') == 3
    assert 'value="12345"' in page and ">short</textarea>" in page and 'value="Asha"' in page
    too_long = file_report(web, description="x" * 2001)
    assert too_long.status_code == 422 and "too long: shorten it" in too_long.text
    assert grievances(web) == []


def test_the_form_in_hindi_files_a_hindi_complaint(web):
    form = web.get("/citizen/village/500001/report", params={"lang": "hi"})
    assert Page(form.text).lang == "hi" and "समस्या दर्ज करें" in form.text
    assert ">पानी नहीं" in form.text or "पानी" in form.text  # the category labels of the code list, in Hindi
    done = file_report(web, lang="hi", description="स्कूल के पास वाले नल में सोमवार से पानी नहीं आ रहा है")
    assert done.status_code == 201, done.text
    assert "आपकी शिकायत दर्ज हो गई है" in done.text and "पिन" in done.text
    [row] = grievances(web)
    assert row.language == "hi"
    bad = file_report(web, lang="hi", category="")
    assert bad.status_code == 422 and "कोई एक श्रेणी चुनें" in bad.text


def resolve(client: TestClient, reference: str) -> None:
    node = client.app.state.node
    with node.db.unit_of_work() as session:
        take_transition(session, node.settings, ROOT, reference, "resolve", {"resolution_note": "valve replaced"},
                        engine=node.extras["workflows"])


def test_tracking_shows_the_public_view_and_no_personal_data(web):
    reference, _ = reference_and_pin(file_report(web, phone=PHONE, name=NAME).text)
    box = web.get("/citizen/grievances/track")
    assert box.status_code == 200 and 'id="track-ref"' in box.text
    page = web.get("/citizen/grievances/track", params={"ref": f"  {reference.lower()} "})
    assert page.status_code == 200, page.text
    html = page.text
    assert Page(html).h1 == [f"Complaint {reference}"]
    assert "Received, with the officials" in html and "No water" in html and "Alpha One" in html
    assert "Complaint received and sent to the officials" in html  # the public history
    assert "To be resolved by" in html
    for secret in (PHONE, "9876543210", NAME, DESCRIPTION):
        assert secret not in html
    assert 'id="confirm-pin"' not in html  # nothing to confirm before it is resolved
    missing = web.get("/citizen/grievances/track", params={"ref": "GRV-NOPE"})
    assert missing.status_code == 404 and "We found no complaint with this reference number" in missing.text
    assert 'value="GRV-NOPE"' in missing.text


def test_confirm_with_a_wrong_then_the_right_pin(web):
    reference, pin = reference_and_pin(file_report(web).text)
    early = web.post(f"/citizen/grievances/{reference}/confirm",
                     data={"csrf_token": web.cookies.get(CSRF_COOKIE), "pin": pin})
    assert early.status_code == 409 and "not waiting for your confirmation" in early.text
    resolve(web, reference)
    page = web.get("/citizen/grievances/track", params={"ref": reference})
    assert "Resolved: awaiting your confirmation" in page.text
    assert 'id="confirm-pin"' in page.text and 'id="reopen-pin"' in page.text
    token = csrf_of(page.text)
    wrong = "000000" if pin != "000000" else "111111"
    refused = web.post(f"/citizen/grievances/{reference}/confirm", data={"csrf_token": token, "pin": wrong})
    assert refused.status_code == 403 and "This PIN is not right for this complaint." in refused.text
    malformed = web.post(f"/citizen/grievances/{reference}/confirm", data={"csrf_token": token, "pin": "12"})
    assert malformed.status_code == 422 and "Enter the 6-digit PIN." in malformed.text
    forged = web.post(f"/citizen/grievances/{reference}/confirm", data={"csrf_token": "forged.abc", "pin": pin})
    assert forged.status_code == 403 and "The form expired" in forged.text
    ok = web.post(f"/citizen/grievances/{reference}/confirm", data={"csrf_token": token, "pin": pin},
                  follow_redirects=False)
    assert ok.status_code == 303 and ok.headers["location"].endswith(f"ref={reference}&done=confirmed&lang=en")
    closed = web.get(ok.headers["location"])
    assert "you confirmed that the problem is solved" in closed.text and ">Closed</span>" in closed.text
    assert "Resolution confirmed by the complainant" in closed.text
    assert "No complaint about this village is open." in web.get("/citizen/village/500001").text


def test_reopen_needs_the_pin_and_a_reason(web):
    reference, pin = reference_and_pin(file_report(web, lang="hi").text)
    resolve(web, reference)
    token = csrf_of(web.get("/citizen/grievances/track", params={"ref": reference, "lang": "en"}).text)
    no_reason = web.post(f"/citizen/grievances/{reference}/reopen", data={"csrf_token": token, "pin": pin})
    assert no_reason.status_code == 422 and "Say why the problem is not solved." in no_reason.text
    ok = web.post(f"/citizen/grievances/{reference}/reopen?lang=hi",
                  data={"csrf_token": token, "pin": pin, "reason": "The tap is still dry"})
    assert ok.status_code == 200 and "आपकी शिकायत फिर से खुल गई है" in ok.text  # followed the redirect
    assert "दोबारा खोली गई" in ok.text and 'id="confirm-pin"' not in ok.text
    assert "Open complaints about this village: 1" in web.get("/citizen/village/500001?lang=en").text


def test_village_page_shows_the_har_ghar_jal_certification(web_with_documents):
    web = web_with_documents
    page = web.get("/citizen/village/500001")
    assert "Har Ghar Jal certification" in page.text and ">Not reported</span>" in page.text
    node = web.app.state.node
    headers = login_as(web, node, "block-4001", "block_official", "block:4001")
    certificate = upload(web, headers, "completion_certificate")
    assert report(web, headers, certificate, reported_on="2025-01-15").status_code in (200, 201)
    page = web.get("/citizen/village/500001")
    assert ">Reported</span>" in page.text and "Reported Har Ghar Jal on 15 Jan 2025" in page.text
    hindi = web.get("/citizen/village/500001", params={"lang": "hi"})
    assert "हर घर जल प्रमाणन" in hindi.text and "15 जनवरी 2025 को हर घर जल घोषित" in hindi.text


def test_home_page_has_a_tracking_box(web):
    home = web.get("/citizen/")
    assert 'action="/citizen/grievances/track"' in home.text and '<label for="track-ref">' in home.text
    assert "Track your complaint" in home.text
    assert "अपनी शिकायत की स्थिति देखें" in web.get("/citizen/", params={"lang": "hi"}).text


def test_the_form_is_behind_the_nodes_rate_limit(database, tmp_path):
    app = make_app(database, tmp_path, anonymous_rate_limit_per_minute=2)
    build_world(app.state.node)
    with TestClient(app) as client:
        statuses = [client.get("/citizen/village/500001/report").status_code for _ in range(3)]
        assert statuses[:2] == [200, 200] and statuses[2] == 429
        limited = client.post("/citizen/village/500001/report", data={"description": DESCRIPTION})
        assert limited.status_code == 429 and limited.headers["retry-after"]
    with app.state.node.db.unit_of_work(write=False) as session:
        assert session.execute(select(func.count()).select_from(Grievance)).scalar_one() == 0


def test_too_many_wrong_pins_lock_the_web_route(web):
    reference, pin = reference_and_pin(file_report(web).text)
    resolve(web, reference)
    token = csrf_of(web.get("/citizen/grievances/track", params={"ref": reference}).text)
    wrong = "000000" if pin != "000000" else "111111"
    limit = web.app.state.node.settings.grievance_pin_max_attempts
    for _ in range(limit):
        assert web.post(f"/citizen/grievances/{reference}/confirm",
                        data={"csrf_token": token, "pin": wrong}).status_code == 403
    locked = web.post(f"/citizen/grievances/{reference}/confirm", data={"csrf_token": token, "pin": pin})
    assert locked.status_code == 403 and "Too many wrong PINs" in locked.text
    assert "Resolved: awaiting your confirmation" in locked.text  # nothing changed
