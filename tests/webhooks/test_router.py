"""The subscriptions API: validation with clear errors, who sees and changes what, secrets shown once and stored
encrypted, the delivery log, and the operator CLI."""

from __future__ import annotations

import json
import uuid

import pytest
from sqlalchemy import select
from typer.testing import CliRunner

from jaldpi.webhooks.models import WebhookSubscription
from jaldpi.webhooks.service import check_url
from tests.helpers import error_of, login_as
from tests.webhooks.conftest import households, subscribe

URL = "/api/v1/webhooks"
HOOK = "http://127.0.0.1:9/hook"  # never called in these tests


def test_create_returns_the_secret_once_and_stores_it_encrypted(client, node, world):
    sub = subscribe(client, world.partner, HOOK, event_types=["households.create", "samples.*"],
                    description="state MIS")
    assert sub["within"] == "/S28/D745/" and sub["lgd"] == {"state": 28, "district": 745}  # the partner's scope
    assert sub["owner"] == "partner745" and sub["active"] is True and sub["event_types"] == ["households.create",
                                                                                             "samples.*"]
    assert len(sub["secret"]) == 43  # 32 random bytes, base64url
    read = client.get(f"{URL}/{sub['id']}", headers=world.partner)
    assert read.status_code == 200 and "secret" not in read.json()
    assert read.json()["deliveries"] == {"delivered": 0, "failed": 0, "dead": 0, "cancelled": 0}
    with node.db.unit_of_work(write=False) as session:
        stored = session.execute(select(WebhookSubscription.secret_ciphertext)).scalar_one()
    assert sub["secret"].encode() not in stored
    assert client.get(URL, headers=world.partner).json()["items"][0]["id"] == sub["id"]
    assert client.post(URL, json={"url": HOOK, "event_types": ["*"]}, headers=world.partner).json()["secret"] \
        != sub["secret"]


@pytest.mark.parametrize(("body", "status", "field", "words"), [
    ({"url": "ftp://example.org/x", "event_types": ["*"]}, 422, "url", "http"),
    ({"url": "https:///nohost", "event_types": ["*"]}, 422, "url", "no host"),
    ({"event_types": ["*"]}, 422, "url", "required"),
    ({"url": HOOK, "event_types": ["nonsense.create"]}, 422, "event_types.0", "nonsense"),
    ({"url": HOOK, "event_types": ["households.burn"]}, 422, "event_types.0", "burn"),
    ({"url": HOOK, "event_types": ["households"]}, 422, "event_types.0", "households.*"),
    ({"url": HOOK, "event_types": []}, 422, "event_types", "non-empty"),
    ({"url": HOOK, "event_types": ["*"], "within": "district:746"}, 403, "within", "outside"),
    ({"url": HOOK, "event_types": ["*"], "within": "district:999"}, 422, "within", "999"),
    ({"url": HOOK, "event_types": ["*"], "secret": "short"}, 422, "secret", "16"),
    ({"url": HOOK, "event_types": ["*"], "start": "yesterday"}, 422, "start", "cursor"),
    ({"url": HOOK, "event_types": ["*"], "colour": "blue"}, 422, "colour", "unknown"),
])
def test_validation_errors_name_the_problem(client, world, body, status, field, words):
    response = client.post(URL, json=body, headers=world.partner)
    assert response.status_code == status, response.text
    err = error_of(response)
    assert err["details"][0]["field"] == field
    assert words in err["message"] + " ".join(d["problem"] for d in err["details"])


def test_who_may_subscribe_and_see(client, node, world):
    assert client.post(URL, json={"url": HOOK, "event_types": ["*"]}).status_code == 401
    official = login_as(client, node, "d745", "district_official", "district:745")
    response = client.post(URL, json={"url": HOOK, "event_types": ["*"]}, headers=official)
    assert response.status_code == 403 and error_of(response)["code"] == "forbidden"

    mine = subscribe(client, world.partner, HOOK)
    theirs = subscribe(client, world.partner746, HOOK)
    # another partner: 404, exactly like a subscription that does not exist
    for method, path in (("get", ""), ("patch", ""), ("delete", ""), ("post", "/ping"), ("get", "/deliveries")):
        kwargs = {"json": {"active": False}} if method == "patch" else {}
        response = getattr(client, method)(f"{URL}/{mine['id']}{path}", headers=world.partner746, **kwargs)
        assert response.status_code == 404, (method, path, response.text)
    assert client.get(f"{URL}/{uuid.uuid4()}", headers=world.partner).status_code == 404
    assert [s["id"] for s in client.get(URL, headers=world.partner).json()["items"]] == [mine["id"]]
    # a node administrator sees every subscription in their jurisdiction
    assert {s["id"] for s in client.get(URL, headers=world.admin).json()["items"]} == {mine["id"], theirs["id"]}
    state_admin = login_as(client, node, "admin746", "node_admin", "district:746")
    assert [s["id"] for s in client.get(URL, headers=state_admin).json()["items"]] == [theirs["id"]]


def test_patch_delete_and_deliveries_filter(client, world):
    sub = subscribe(client, world.partner, HOOK)
    response = client.patch(f"{URL}/{sub['id']}", json={"active": False, "event_types": ["schemes.update"],
                                                        "description": "paused for maintenance"},
                            headers=world.partner)
    assert response.status_code == 200, response.text
    assert response.json()["active"] is False and response.json()["event_types"] == ["schemes.update"]
    bad = client.patch(f"{URL}/{sub['id']}", json={"url": "gopher://x", "secret": "x"}, headers=world.partner)
    assert bad.status_code == 422 and {d["field"] for d in error_of(bad)["details"]} == {"secret"}
    bad = client.get(f"{URL}/{sub['id']}/deliveries", params={"status": "lost"}, headers=world.partner)
    assert bad.status_code == 422 and error_of(bad)["details"][0]["field"] == "status"
    missing = client.post(f"{URL}/{sub['id']}/deliveries/{uuid.uuid4()}/retry", headers=world.partner)
    assert missing.status_code == 404
    bad = client.post(f"{URL}/{sub['id']}/replay", json={"cursor": "nope"}, headers=world.partner)
    assert bad.status_code == 422 and error_of(bad)["details"][0]["field"] == "cursor"
    assert client.delete(f"{URL}/{sub['id']}", headers=world.partner).status_code == 204
    assert client.get(f"{URL}/{sub['id']}", headers=world.partner).status_code == 404


def test_private_targets_are_refused_when_not_allowed():
    from jaldpi.core.errors import ValidationFailed

    for url in ("http://127.0.0.1/x", "http://10.1.2.3/x", "http://[::1]/x", "http://169.254.169.254/latest",
                "http://internal.example/x"):
        with pytest.raises(ValidationFailed, match="private|reserved"):
            check_url(url, allow_private=False,
                      resolve=lambda host: ["192.168.1.5"] if host == "internal.example" else [host.strip("[]")])
    assert check_url("https://partner.example/hook", allow_private=False,
                     resolve=lambda _host: ["8.8.8.8"]) == "https://partner.example/hook"
    assert check_url("http://127.0.0.1:8080/x", allow_private=True) == "http://127.0.0.1:8080/x"


def test_production_defaults_refuse_private_targets(database):
    from tests.conftest import test_settings

    assert test_settings(database).webhook_private_targets_allowed is True
    production = test_settings(database, env="production", secret_key="s" * 40, identity_hash_key="k" * 40,
                               pii_encryption_key="cHJvZHVjdGlvbi1waWkta2V5LTAxMjM0NTY3ODlhYmM=")
    assert production.webhook_private_targets_allowed is False
    assert test_settings(database, webhook_allow_private_targets=False).webhook_private_targets_allowed is False


def test_cli_dispatch_once_and_list(client, node, world, database, monkeypatch):
    from jaldpi.cli import app
    from jaldpi.config import get_settings
    from tests.webhooks.receiver import receiver

    monkeypatch.setenv("JALDPI_DATABASE_URL", database.url)
    monkeypatch.setenv("JALDPI_NODE_ID", "cli-node")
    get_settings.cache_clear()
    try:
        with receiver() as hook:
            sub = subscribe(client, world.partner, hook.url)
            households(node, 500001)
            result = CliRunner().invoke(app, ["webhooks", "dispatch", "--once"])
            assert result.exit_code == 0, (result.output, result.exception)
            assert json.loads(result.output)["delivered"] == 1
            assert hook.events()[0]["id"].startswith("cli-node:")
        listed = CliRunner().invoke(app, ["webhooks", "list"])
        assert listed.exit_code == 0
        [row] = json.loads(listed.output)
        assert row["id"] == sub["id"] and row["deliveries"]["delivered"] == 1 and "secret" not in row
    finally:
        get_settings.cache_clear()
