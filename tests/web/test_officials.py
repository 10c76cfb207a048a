"""Officials' pages through the test client, on every backend: sign-in (success, failure, cookie flags, CSRF),
the dashboard scoped by the official's grants, and sign-out."""

from __future__ import annotations

import re

from fastapi.testclient import TestClient

from jaldpi.config import Settings
from jaldpi.core.registry import Strategy
from jaldpi.web.officials import CSRF_COOKIE, SESSION_COOKIE
from tests.helpers import ROOT, error_of, make_account
from tests.water_quality.wq_world import build_wq

AS_OF = "2030-03-10"  # the water-quality world's samples are taken on 2030-03-01


def csrf_of(page: str) -> str:
    match = re.search(r'name="csrf_token" value="([^"]+)"', page)
    assert match, "the form carries no CSRF token"
    return match.group(1)


def sign_in(client: TestClient, username: str, password: str = "password-123", **extra) -> object:
    form = client.get("/officials/login")
    assert form.status_code == 200
    return client.post("/officials/login", data={"username": username, "password": password,
                                                 "csrf_token": csrf_of(form.text), **extra},
                       follow_redirects=False)


def set_cookie_headers(response, name: str) -> list[str]:
    return [h for h in response.headers.get_list("set-cookie") if h.startswith(f"{name}=")]


def households(node, rows: list[tuple[int, bool]]) -> None:
    with node.db.unit_of_work() as session:
        summary = node.catalogue["households"].import_records(
            session, ROOT, [{"village": v, "members_count": 4, "has_tap_connection": tap, "head_name": "Sita Devi"}
                            for v, tap in rows], strategy=Strategy.create)
        assert summary.status == "ok", summary.to_dict()


def world(client, node):
    """The water-quality world, households in three villages and an unsafe lab result in each district."""
    w = build_wq(client, node)
    households(node, [(500001, True), (500001, True), (500002, False), (500003, True)])
    w.sample("analyst", w.point("block", 500001), {"fluoride": "1.8"})
    w.sample("other_analyst", w.point("other", 500003), {"fluoride": "2.0"}, lab=w.lab_b)
    return w


def test_login_form_is_labelled_and_sets_a_signed_csrf_cookie(client):
    page = client.get("/officials/login")
    assert page.status_code == 200
    assert '<label for="username">' in page.text and '<label for="password">' in page.text
    assert 'autocomplete="current-password"' in page.text
    [cookie] = set_cookie_headers(page, CSRF_COOKIE)
    assert "HttpOnly" in cookie and "SameSite=strict" in cookie
    token = csrf_of(page.text)
    assert client.cookies.get(CSRF_COOKIE) == token and "." in token
    assert "no-store" in page.headers["cache-control"]


def test_sign_in_issues_an_httponly_lax_session_cookie(client, node):
    world(client, node)
    response = sign_in(client, "block")
    assert response.status_code == 303 and response.headers["location"] == "/officials/"
    [cookie] = set_cookie_headers(response, SESSION_COOKIE)
    assert "HttpOnly" in cookie and "SameSite=lax" in cookie and "Path=/" in cookie
    assert "Secure" not in cookie  # not in production: the test server is plain http
    page = client.get("/officials/", params={"as_of": AS_OF})
    assert page.status_code == 200
    assert "Signed in as block" in page.text and "Alpha Block" in page.text
    # the API's Bearer path does not take the cookie: the page session is not an API credential
    assert error_of(client.get("/api/v1/households"))["code"] == "unauthenticated"


def test_wrong_password_and_missing_fields_are_shown_in_the_page(client, node):
    make_account(node, "official", "block_official", "/")
    wrong = sign_in(client, "official", "not-the-password")
    assert wrong.status_code == 401
    assert "Wrong username or password." in wrong.text and 'role="alert"' in wrong.text
    assert set_cookie_headers(wrong, SESSION_COOKIE) == []
    assert 'value="official"' in wrong.text  # the username is kept, the password is not
    missing = sign_in(client, "official", "")
    assert missing.status_code == 422
    assert "Password is required." in missing.text and 'aria-invalid="true"' in missing.text
    unknown = sign_in(client, "nobody", "password-123")
    assert unknown.status_code == 401 and "Wrong username or password." in unknown.text


def test_system_accounts_cannot_sign_in_on_the_web(client, node):
    make_account(node, "state-system", "partner_system", "/", kind="system")
    assert sign_in(client, "state-system").status_code == 401


def test_csrf_token_is_required_and_checked(client, node):
    make_account(node, "official", "block_official", "/")
    client.get("/officials/login")
    no_token = client.post("/officials/login", data={"username": "official", "password": "password-123"},
                           follow_redirects=False)
    assert no_token.status_code == 403 and "did not come from this site" in no_token.text
    assert set_cookie_headers(no_token, SESSION_COOKIE) == []
    forged = client.post("/officials/login", data={"username": "official", "password": "password-123",
                                                   "csrf_token": "forged.0000"}, follow_redirects=False)
    assert forged.status_code == 403
    # a token that matches its cookie but is not signed by this node (cookie injected by an attacker)
    client.cookies.set(CSRF_COOKIE, "attacker.abcdef", path="/officials")
    injected = client.post("/officials/login", data={"username": "official", "password": "password-123",
                                                     "csrf_token": "attacker.abcdef"}, follow_redirects=False)
    assert injected.status_code == 403
    client.cookies.clear()
    page = client.get("/officials/login")
    cross = client.post("/officials/login", data={"username": "official", "password": "password-123",
                                                  "csrf_token": csrf_of(page.text)},
                        headers={"Origin": "https://evil.example"}, follow_redirects=False)
    assert cross.status_code == 403 and "sent from another site" in cross.text
    same = client.post("/officials/login", data={"username": "official", "password": "password-123",
                                                 "csrf_token": csrf_of(page.text)},
                       headers={"Origin": "http://testserver"}, follow_redirects=False)
    assert same.status_code == 303


def test_secure_cookie_in_production(database):
    from jaldpi.app import create_app

    settings = Settings(env="production", database_url=database.url, node_id="prod-node",
                        secret_key="a-real-secret-for-this-test-only-0123456789",
                        pii_encryption_key="MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=",
                        identity_hash_key="a-real-identity-hash-key", password_hash_time_cost=1,
                        password_hash_memory_kib=1024, rate_limit_per_minute=0, anonymous_rate_limit_per_minute=0)
    app = create_app(settings, database)
    make_account(app.state.node, "official", "state_official", "/")
    with TestClient(app, base_url="https://node.example") as client:
        page = client.get("/officials/login")
        assert "Secure" in set_cookie_headers(page, CSRF_COOKIE)[0]
        response = sign_in(client, "official")
        assert response.status_code == 303
        [cookie] = set_cookie_headers(response, SESSION_COOKIE)
        assert "Secure" in cookie and "HttpOnly" in cookie and "SameSite=lax" in cookie


def test_dashboard_needs_a_valid_session(client, node):
    response = client.get("/officials/?as_of=2030-03-10", follow_redirects=False)
    assert response.status_code == 303
    assert response.headers["location"] == "/officials/login?next=%2Fofficials%2F%3Fas_of%3D2030-03-10"
    client.cookies.set(SESSION_COOKIE, "not-a-token")
    assert client.get("/officials/", follow_redirects=False).status_code == 303


def test_next_never_leaves_the_officials_pages(client, node):
    make_account(node, "official", "block_official", "/")
    for target in ("https://evil.example/", "//evil.example/officials/", "/api/v1/accounts"):
        response = sign_in(client, "official", next=target)
        assert response.headers["location"] == "/officials/", target
    assert sign_in(client, "official", next="/officials/?within=district:745").headers["location"] == \
        "/officials/?within=district:745"


def test_block_official_sees_only_their_block(client, node):
    w = world(client, node)
    assert sign_in(client, "block").status_code == 303
    page = client.get("/officials/", params={"as_of": AS_OF}).text
    # coverage: the block's 3 households (2 with a tap); village 500001 is Har Ghar Jal, 500002 is not
    coverage = section(page, "panel-coverage")
    assert "<b>3</b> households" in coverage and "<b>2</b> households with a tap" in coverage
    assert "<b>1</b> Har Ghar Jal villages" in coverage
    assert "Alpha One" in section(page, "panel-water-quality") and "Beta One" not in page
    assert "fluoride" in page
    [case] = w.cases("block", workflow="wq_remedial_action")
    [other_case] = w.cases("other", workflow="wq_remedial_action")
    remedial = section(page, "panel-remedial-actions")
    assert case["code"] in remedial and other_case["code"] not in page
    assert "<b>1</b> open cases" in remedial
    for api in ("/api/v1/water-quality/village-status", "/api/v1/cases?workflow=wq_remedial_action",
                "/api/v1/water-quality/surveillance", "/api/v1/service-levels", "/api/v1/households"):
        assert f'href="{api}' in page, api
    assert "Sita" not in page  # no personal data on the dashboard
    # another block's place: a clear message and no figures
    outside = client.get("/officials/", params={"within": "district:746", "as_of": AS_OF})
    assert outside.status_code == 403
    assert "You have no grant covering Beta" in outside.text and "panel-coverage" not in outside.text
    # narrowing to a place inside the block
    inside = client.get("/officials/", params={"within": "village:500002", "as_of": AS_OF}).text
    assert "Showing Alpha Two only." in inside and "Alpha One" not in section(inside, "panel-water-quality")


def test_state_official_sees_the_whole_state(client, node):
    world(client, node)
    sign_in(client, "state")
    page = client.get("/officials/", params={"as_of": AS_OF}).text
    assert "<b>4</b> households" in section(page, "panel-coverage")
    water = section(page, "panel-water-quality")
    assert "Alpha One" in water and "Beta One" in water and "<b>2</b> villages contaminated" in water


def test_account_without_a_dashboard_grant_gets_a_clear_message(client, node):
    world(client, node)
    make_account(node, "resident", "citizen", "/")
    sign_in(client, "resident")
    page = client.get("/officials/")
    assert page.status_code == 200
    assert "None of your grants gives access to these dashboards" in page.text
    assert "panel-coverage" not in page.text and "Alpha One" not in page.text
    # a lab analyst sees the water-quality panels, not coverage
    sign_in(client, "analyst")
    page = client.get("/officials/", params={"as_of": AS_OF}).text
    assert "Alpha One" in section(page, "panel-water-quality")
    assert "Your roles do not give access to this panel here." in section(page, "panel-coverage")


def test_bad_within_and_as_of_name_the_problem(client, node):
    world(client, node)
    sign_in(client, "block")
    err = error_of(client.get("/officials/", params={"as_of": "March"}))
    assert err["details"] == [{"field": "as_of", "problem": "expected YYYY-MM-DD"}]
    err = error_of(client.get("/officials/", params={"within": "district:999"}))
    assert err["details"][0]["field"] == "within"


def test_dashboard_in_hindi(client, node):
    world(client, node)
    sign_in(client, "district")
    page = client.get("/officials/", params={"as_of": AS_OF, "lang": "hi"}).text
    assert '<html lang="hi">' in page and "अधिकारियों का डैशबोर्ड" in page and "दूषित गाँव" in page
    assert "Officials' dashboard" not in page


def test_sign_out_needs_the_csrf_token_and_ends_the_session(client, node):
    world(client, node)
    sign_in(client, "block")
    page = client.get("/officials/")
    refused = client.post("/officials/logout", data={"csrf_token": "forged.0"}, follow_redirects=False)
    assert refused.status_code == 403
    assert client.get("/officials/", follow_redirects=False).status_code == 200  # still signed in
    confirm = client.get("/officials/logout")
    assert confirm.status_code == 200 and "Signed in as block" in confirm.text
    out = client.post("/officials/logout", data={"csrf_token": csrf_of(page.text)}, follow_redirects=False)
    assert out.status_code == 303 and out.headers["location"] == "/officials/login?signed_out=1"
    [cookie] = set_cookie_headers(out, SESSION_COOKIE)
    assert "Max-Age=0" in cookie or "expires=Thu, 01 Jan 1970" in cookie.lower()
    assert client.get("/officials/", follow_redirects=False).status_code == 303
    assert "You have signed out." in client.get("/officials/login?signed_out=1").text


def section(page: str, element_id: str) -> str:
    """The HTML of the <section id=element_id> of a page."""
    start = page.index(f'id="{element_id}"')
    return page[start:page.index("</section>", start)]
