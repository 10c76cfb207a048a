"""Signing in: password and client-credentials grants, fixed tokens, renewal of expired tokens, anonymous reads."""

from __future__ import annotations

import datetime as dt

import jwt
import pytest

from jaldpi.client import Household, JaldpiClient, Unauthenticated, ValidationError


def test_client_credentials_sign_in_and_identity(live, partner):
    me = partner.me()
    assert (me.subject, me.kind) == ("state-mis", "system")
    assert [(g.role, g.path) for g in me.grants] == [("partner_system", "/S28/")]
    assert me.permissions["households:write"] == ["/S28/"]
    created = partner.households.create({"village": 500001, "members_count": 3})
    assert isinstance(created, Household)
    assert (created.created_by, created.source_system) == ("state-mis", "state-mis")


def test_password_sign_in(live, official):
    me = official.me()
    assert (me.subject, me.kind) == ("d745", "person")
    assert me.permissions["households:read"] == ["/S28/D745/"]
    assert official.health()["status"] == "ok"


def test_wrong_secret_is_unauthenticated(live):
    with JaldpiClient(live.url, client_id="state-mis", client_secret="not-the-secret") as client:
        with pytest.raises(Unauthenticated) as caught:
            client.households.list()
    assert caught.value.status_code == 401 and caught.value.code
    with JaldpiClient(live.url, username="nobody", password="whatever-123") as client:
        with pytest.raises(Unauthenticated):
            client.me()


def test_anonymous_reads_public_registries_only(live):
    with JaldpiClient(live.url) as client:
        villages = client.admin_units.list(level="village")
        assert sorted(v.lgd_code for v in villages.items) == [500001, 500002, 500003, 500004]
        assert client.me().kind == "anonymous"
        with pytest.raises(Unauthenticated) as caught:
            client.households.list()
        assert caught.value.code == "unauthenticated"


def _expired_token(live, subject: str, kind: str, grants: list[dict]) -> str:
    settings = live.node.settings
    past = dt.datetime.now(dt.UTC) - dt.timedelta(hours=2)
    claims = {"iss": settings.node_id, "sub": subject, "kind": kind, "iat": past,
              "exp": past + dt.timedelta(minutes=5), "grants": grants}
    return jwt.encode(claims, settings.secret_key, algorithm="HS256")


def test_expired_token_is_renewed_once_and_the_request_resent(live, partner, caplog):
    partner.me()  # signed in
    expired = _expired_token(live, "state-mis", "system", [{"role": "partner_system", "path": "/S28/"}])
    partner.auth._token = expired  # the node will refuse the held token as expired
    with caplog.at_level("INFO", logger="jaldpi.client"):
        created = partner.households.create({"village": 500002, "members_count": 2})
    assert created.version == 1
    assert partner.auth.token != expired
    assert any("token_expired" in r.getMessage() and "signed in again" in r.getMessage() for r in caplog.records)
    # the create was sent again after signing in, and applied once
    assert [h.id for h in partner.households.iterate()] == [created.id]


def test_token_is_renewed_before_it_expires(live, partner):
    partner.me()
    partner.auth._expires_at = 0.0  # as if the lifetime had run out: the next request signs in first
    assert partner.me().subject == "state-mis"
    assert partner.auth._expires_at > 0.0  # set again by the new sign-in (3600 s ahead)


def test_a_fixed_token_cannot_be_renewed(live):
    expired = _expired_token(live, "state-mis", "system", [{"role": "partner_system", "path": "/S28/"}])
    with JaldpiClient(live.url, token=expired) as client:
        with pytest.raises(Unauthenticated) as caught:
            client.households.list()
    assert caught.value.code == "token_expired"


def test_a_fixed_valid_token_is_used_as_given(live, partner):
    token = partner.access_token
    with JaldpiClient(live.url, token=token) as client:
        assert client.me().subject == "state-mis"


def test_credentials_are_checked_before_any_request(live):
    with pytest.raises(ValueError, match="one way to sign in"):
        JaldpiClient(live.url, username="a", password="b", token="t")
    with pytest.raises(ValueError, match="go together"):
        JaldpiClient(live.url, client_id="state-mis")
    with pytest.raises(ValueError, match="http"):
        JaldpiClient("node.example.gov.in")


def test_token_endpoint_errors_keep_the_error_shape(live):
    with JaldpiClient(live.url, username="d745", password="") as client:
        with pytest.raises(ValidationError) as caught:
            client.me()
    assert caught.value.code == "invalid_request" and caught.value.details[0].field == "username"
