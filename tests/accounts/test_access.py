"""OAuth2 token endpoint, identity, account creation within jurisdiction, rate and body-size limits."""

from __future__ import annotations

import base64
import datetime as dt

import jwt
import pytest
from fastapi.testclient import TestClient

from jaldpi.core.security import Grant, issue_token
from tests.conftest import test_settings
from tests.helpers import build_world, count_rows, error_of, login_as, make_account


@pytest.fixture
def world(node):
    return build_world(node)


def test_password_grant_and_me(client, node, world):
    make_account(node, "d745", "district_official", "district:745")
    r = client.post("/api/v1/auth/token", data={"grant_type": "password", "username": "d745",
                                                "password": "password-123"})
    assert r.status_code == 200 and r.headers["cache-control"] == "no-store"
    body = r.json()
    assert body["token_type"] == "bearer" and body["expires_in"] == 3600
    assert body["grants"] == [{"role": "district_official", "path": "/S28/D745/"}]
    me = client.get("/api/v1/auth/me", headers={"Authorization": f"Bearer {body['access_token']}"}).json()
    assert me["subject"] == "d745" and me["kind"] == "person"
    assert me["permissions"]["pii:read"] == ["/S28/D745/"]
    assert "admin_units:write" not in me["permissions"]


def test_client_credentials_by_form_and_basic(client, node, world):
    make_account(node, "mis", "partner_system", "state:28", kind="system", source_system="mis")
    r = client.post("/api/v1/auth/token", data={"grant_type": "client_credentials", "client_id": "mis",
                                                "client_secret": "password-123"})
    assert r.status_code == 200
    basic = base64.b64encode(b"mis:password-123").decode()
    r = client.post("/api/v1/auth/token", data={"grant_type": "client_credentials"},
                    headers={"Authorization": f"Basic {basic}"})
    assert r.status_code == 200, r.text
    claims = jwt.decode(r.json()["access_token"], options={"verify_signature": False})
    assert claims["sub"] == "mis" and claims["kind"] == "system" and claims["src"] == "mis"
    # a system cannot use the password grant, nor a person client credentials
    r = client.post("/api/v1/auth/token", data={"grant_type": "password", "username": "mis",
                                                "password": "password-123"})
    assert r.status_code == 401 and error_of(r)["code"] == "invalid_grant"


@pytest.mark.parametrize("form", [
    {"grant_type": "password", "username": "d745", "password": "wrong-password"},
    {"grant_type": "password", "username": "nobody", "password": "password-123"},
    {"grant_type": "client_credentials", "client_id": "d745", "client_secret": "password-123"},
])
def test_bad_credentials(client, node, world, form):
    make_account(node, "d745", "district_official", "district:745")
    r = client.post("/api/v1/auth/token", data=form)
    assert r.status_code == 401 and error_of(r)["code"] == "invalid_grant"


def test_bad_token_requests(client, node, world):
    r = client.post("/api/v1/auth/token", data={"grant_type": "implicit"})
    assert r.status_code == 422 and error_of(r)["code"] == "unsupported_grant_type"
    r = client.post("/api/v1/auth/token", data={"grant_type": "password", "username": "x"})
    assert r.status_code == 422 and error_of(r)["code"] == "invalid_request"


def test_expired_and_forged_tokens(client, node, world):
    s = node.settings
    grants = [Grant("national_official", "/")]
    good, _ = issue_token(secret=s.secret_key, issuer=s.node_id, subject="x", kind="person", grants=grants, minutes=5)
    assert client.get("/api/v1/entities", headers={"Authorization": f"Bearer {good}"}).status_code == 200
    past = dt.datetime.now(dt.UTC) - dt.timedelta(hours=2)
    expired = jwt.encode({"iss": s.node_id, "sub": "x", "iat": past, "exp": past + dt.timedelta(minutes=5),
                          "grants": [{"role": "national_official", "path": "/"}]}, s.secret_key, algorithm="HS256")
    forged, _ = issue_token(secret="another-secret-of-sufficient-length-123", issuer=s.node_id, subject="x",
                            kind="person", grants=grants, minutes=5)
    other_issuer, _ = issue_token(secret=s.secret_key, issuer="another-node", subject="x", kind="person",
                                  grants=grants, minutes=5)
    unsigned = jwt.encode({"iss": s.node_id, "sub": "x", "iat": past, "exp": past + dt.timedelta(days=1)}, None,
                          algorithm="none")
    for tok, code in ((expired, "token_expired"), (forged, "invalid_token"), (other_issuer, "invalid_token"),
                      (unsigned, "invalid_token"), ("garbage", "invalid_token")):
        r = client.get("/api/v1/entities", headers={"Authorization": f"Bearer {tok}"})
        assert r.status_code == 401 and error_of(r)["code"] == code
        assert client.get("/api/v1/auth/me", headers={"Authorization": f"Bearer {tok}"}).status_code == 401


def test_accounts_can_be_created_only_within_the_creators_jurisdiction(client, node, world):
    state = login_as(client, node, "s28", "state_official", "state:28")
    body = {"username": "new-d745", "password": "password-123", "display_name": "New",
            "grants": [{"role": "district_official", "within": "district:745"}]}
    r = client.post("/api/v1/accounts", json=body, headers=state)
    assert r.status_code == 201 and r.json()["grants"] == [{"role": "district_official", "path": "/S28/D745/"}]
    accounts, log = count_rows(node, "accounts"), count_rows(node, "change_log")
    for grants in ([{"role": "national_official", "within": "/"}], [{"role": "node_admin", "within": "state:28"}],
                   [{"role": "district_official", "within": "/S29/"}],
                   [{"role": "block_official", "within": "block:4001"}, {"role": "citizen", "within": "/"}]):
        r = client.post("/api/v1/accounts", json={**body, "username": "x-user", "grants": grants}, headers=state)
        assert r.status_code == 403 and error_of(r)["code"] == "out_of_jurisdiction", r.text
    d745 = login_as(client, node, "d745", "district_official", "district:745")
    r = client.post("/api/v1/accounts", json={**body, "username": "y-user"}, headers=d745)
    assert r.status_code == 403 and error_of(r)["code"] == "forbidden"
    r = client.post("/api/v1/accounts", json={**body, "username": "z-user"})
    assert r.status_code == 401
    r = client.post("/api/v1/accounts", json={**body, "username": "new-d745"}, headers=state)
    assert r.status_code == 409
    r = client.post("/api/v1/accounts", json={**body, "username": "w-user", "grants": [{"role": "king",
                                                                                       "within": "state:28"}]},
                    headers=state)
    assert r.status_code == 422
    assert (count_rows(node, "accounts"), count_rows(node, "change_log")) == (accounts + 1, log + 1)
    # the new account works and sees only its district
    r = client.post("/api/v1/auth/token", data={"grant_type": "password", "username": "new-d745",
                                                "password": "password-123"})
    assert r.json()["grants"] == [{"role": "district_official", "path": "/S28/D745/"}]


def _custom_client(database, **overrides) -> TestClient:
    from jaldpi.app import create_app

    return TestClient(create_app(test_settings(database, **overrides), database))


def test_rate_limits(database, node):
    with _custom_client(database, rate_limit_per_minute=3, anonymous_rate_limit_per_minute=2) as c:
        anon = [c.get("/api/v1/admin_units") for _ in range(3)]
        assert [r.status_code for r in anon] == [200, 200, 429]
        err = error_of(anon[-1])
        assert err["code"] == "rate_limited" and int(anon[-1].headers["retry-after"]) >= 1
        build_world(c.app.state.node)
        make_account(c.app.state.node, "u", "citizen", "/")
        # the token request is an anonymous request too: a fresh client for the signed-in budget
    with _custom_client(database, rate_limit_per_minute=3, anonymous_rate_limit_per_minute=5) as c:
        from tests.helpers import token

        h = token(c, "u")
        signed = [c.get("/api/v1/admin_units", headers=h) for _ in range(4)]
        assert [r.status_code for r in signed] == [200, 200, 200, 429]
        assert int(signed[-1].headers["retry-after"]) >= 1 and error_of(signed[-1])["code"] == "rate_limited"


def test_body_size_limit(database, node):
    build_world(node)
    make_account(node, "d745", "district_official", "district:745")
    with _custom_client(database, max_body_bytes=2000) as c:
        from tests.helpers import token

        h = token(c, "d745")
        big = [{"entity_type": "vwsc", "name": f"E{i}", "admin_unit": 500001} for i in range(60)]
        r = c.post("/api/v1/entities/bulk", json=big, headers=h)
        assert r.status_code == 413 and error_of(r)["code"] == "payload_too_large"
        # a chunked upload (no Content-Length) is counted while it streams
        payload = __import__("orjson").dumps(big)

        def chunks():
            for i in range(0, len(payload), 500):
                yield payload[i:i + 500]

        r = c.post("/api/v1/entities/bulk", content=chunks(), headers={**h, "Content-Type": "application/json"})
        assert r.status_code == 413 and error_of(r)["code"] == "payload_too_large"
        small = c.post("/api/v1/entities/bulk", json=big[:2], headers=h)
        assert small.status_code == 200
    assert count_rows(node, "entities") == 2
