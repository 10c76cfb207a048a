"""The notifications API: contacts (own, or managed within users:manage) and the scoped outbox."""

from __future__ import annotations

import datetime as dt
import json

from typer.testing import CliRunner

from jaldpi.notifications import service
from jaldpi.notifications.testing import sent_messages
from tests.helpers import error_of, login_as

PATH_A1 = "/S28/D745/B4001/G200001/V500001/"
PATH_B3 = "/S28/D746/B4002/G200002/V500003/"


def test_an_account_manages_its_own_contacts_and_sees_them_masked(client, node, world):
    headers = login_as(client, node, "op-a1", "vwsc_operator", "village:500001")
    created = client.post("/api/v1/notifications/contacts", headers=headers,
                          json={"channel": "sms", "address": "+91 98765 43221", "language": "hi"})
    assert created.status_code == 201, created.text
    body = created.json()
    assert body["address_masked"] == "98******21" and body["account"] == "op-a1" and "address" not in body
    assert "9876543221" not in created.text
    again = client.post("/api/v1/notifications/contacts", headers=headers,
                        json={"channel": "sms", "address": "09876543221"})
    assert again.status_code == 409 and error_of(again)["code"] == "already_exists"
    listed = client.get("/api/v1/notifications/contacts", headers=headers).json()["items"]
    assert [c["id"] for c in listed] == [body["id"]] and listed[0]["language"] == "hi"
    assert client.delete(f"/api/v1/notifications/contacts/{body['id']}", headers=headers).status_code == 204
    assert client.get("/api/v1/notifications/contacts", headers=headers).json()["items"] == []


def test_contact_input_errors_name_the_field(client, node, world):
    headers = login_as(client, node, "op-a1", "vwsc_operator", "village:500001")
    for payload, field in (({"channel": "sms"}, "address"), ({"channel": "sms", "address": "123"}, "address"),
                           ({"channel": "fax", "address": "9876543221"}, "channel"),
                           ({"channel": "sms", "address": "9876543221", "language": "ta"}, "language"),
                           ({"channel": "sms", "address": "9876543221", "phone": "x"}, "phone")):
        response = client.post("/api/v1/notifications/contacts", headers=headers, json=payload)
        assert response.status_code == 422, payload
        assert field in [d["field"] for d in error_of(response)["details"]], payload
    assert client.get("/api/v1/notifications/contacts").status_code == 401


def test_user_managers_manage_contacts_only_within_their_jurisdiction(client, node, world):
    login_as(client, node, "op-a1", "vwsc_operator", "village:500001")
    login_as(client, node, "op-b3", "vwsc_operator", "village:500003")
    state = login_as(client, node, "state-admin", "state_official", "state:28")
    peer = login_as(client, node, "op-a4", "vwsc_operator", "village:500004")
    # a state official (users:manage over state 28) adds a contact for an operator in the state
    made = client.post("/api/v1/notifications/contacts", headers=state,
                       json={"account": "op-b3", "channel": "email", "address": "op.b3@example.org"})
    assert made.status_code == 201 and made.json()["address_masked"] == "o***@example.org"
    # another operator (no users:manage) can neither see nor change it: 404, no existence oracle
    assert client.get("/api/v1/notifications/contacts?account=op-b3", headers=peer).status_code == 404
    assert client.delete(f"/api/v1/notifications/contacts/{made.json()['id']}", headers=peer).status_code == 404
    refused = client.post("/api/v1/notifications/contacts", headers=peer,
                          json={"account": "op-a1", "channel": "sms", "address": "9876543221"})
    assert refused.status_code == 404 and error_of(refused)["details"][0]["field"] == "account"
    assert len(client.get("/api/v1/notifications/contacts?account=op-b3", headers=state).json()["items"]) == 1


def _queue(node, settings, path, template_node="GRV-1"):
    with node.db.unit_of_work() as session:
        return str(service.queue_message(session, settings, channel="sms", address="9876543221",
                                         template="notifications_test", context={"node": template_node},
                                         lgd_path=path, subject_type="grievances", subject_id=template_node))


def test_outbox_is_scoped_masked_and_paged(client, node, world, nsettings):
    ids_745 = [_queue(node, nsettings, PATH_A1, f"GRV-{i}") for i in range(3)]
    _queue(node, nsettings, PATH_B3)
    _queue(node, nsettings, None)  # national: only national operators see it
    district = login_as(client, node, "d745-admin", "node_admin", "district:745")
    first = client.get("/api/v1/notifications/outbox?limit=2", headers=district)
    assert first.status_code == 200, first.text
    page = first.json()
    assert [m["id"] for m in page["items"]] == ids_745[:2] and page["next_cursor"]
    assert page["items"][0]["address_masked"] == "98******21" and "9876543221" not in first.text
    second = client.get(f"/api/v1/notifications/outbox?limit=2&after={page['next_cursor']}",
                        headers=district).json()
    assert [m["id"] for m in second["items"]] == ids_745[2:] and second["next_cursor"] is None
    national = login_as(client, node, "root-admin", "node_admin", "/")
    assert len(client.get("/api/v1/notifications/outbox", headers=national).json()["items"]) == 5
    counts = client.get("/api/v1/notifications/outbox/counts", headers=district).json()
    assert counts == {"queued": 3, "sent": 0, "failed": 0, "dead": 0}
    filtered = client.get("/api/v1/notifications/outbox?subject_id=GRV-1&status=queued", headers=district).json()
    assert [m["id"] for m in filtered["items"]] == [ids_745[1]]
    bad = client.get("/api/v1/notifications/outbox?status=lost", headers=district)
    assert bad.status_code == 422 and error_of(bad)["details"][0]["field"] == "status"
    operator = login_as(client, node, "op-a1", "vwsc_operator", "village:500001")
    assert client.get("/api/v1/notifications/outbox", headers=operator).status_code == 403


def test_retry_requeues_a_dead_message_and_sends_it_after_the_response(client, node, world, nsettings, monkeypatch):
    monkeypatch.setattr(node, "settings", nsettings)  # the background dispatch writes under tmp_path
    message_id = _queue(node, nsettings, PATH_A1)
    district = login_as(client, node, "d745-admin", "node_admin", "district:745")
    other = login_as(client, node, "d746-admin", "node_admin", "district:746")
    assert client.post(f"/api/v1/notifications/outbox/{message_id}/retry", headers=district).status_code == 409
    from sqlalchemy import update

    from jaldpi.notifications.models import NotificationOutbox

    with node.db.unit_of_work() as session:
        session.execute(update(NotificationOutbox).values(status="dead", attempts=6, last_error="gateway down"))
    assert client.post(f"/api/v1/notifications/outbox/{message_id}/retry", headers=other).status_code == 404
    retried = client.post(f"/api/v1/notifications/outbox/{message_id}/retry", headers=district)
    assert retried.status_code == 200 and retried.json()["status"] == "queued"
    # the background task ran after the response: the message went out through the file backend
    [sent] = sent_messages(nsettings, "sms")
    assert sent["id"] == message_id
    [row] = client.get("/api/v1/notifications/outbox", headers=district).json()["items"]
    assert row["status"] == "sent" and row["attempts"] == 1 and row["last_error"] is None


def test_cli_contact_add_test_dispatch_and_outbox(node, world, database, monkeypatch, tmp_path):
    from jaldpi.cli import app
    from jaldpi.config import get_settings
    from tests.helpers import make_account

    make_account(node, "op-a1", "vwsc_operator", "village:500001")
    monkeypatch.setenv("JALDPI_DATABASE_URL", database.url)
    monkeypatch.setenv("JALDPI_NODE_ID", "cli-node")
    monkeypatch.setenv("JALDPI_NOTIFICATIONS_DIR", str(tmp_path))
    get_settings.cache_clear()
    runner = CliRunner()
    try:
        added = runner.invoke(app, ["notifications", "contact-add", "op-a1", "--channel", "sms",
                                    "--address", "9876543221", "--language", "hi"])
        assert added.exit_code == 0, added.output
        assert json.loads(added.output)["address_masked"] == "98******21"
        tested = runner.invoke(app, ["notifications", "test", "--channel", "sms", "--address", "9876543221",
                                     "--language", "hi"])
        assert tested.exit_code == 0, tested.output
        assert json.loads(tested.output)["message"]["status"] == "sent"
        [sent] = sent_messages(get_settings(), "sms")
        assert "cli-node" in sent["body"] and sent["language"] == "hi"
        with node.db.unit_of_work() as session:
            assert service.notify_role(session, get_settings(), role="vwsc_operator", lgd_path=PATH_A1,
                                       template="notifications_test", context={"node": "BRK-9"}) == 1
        dispatched = runner.invoke(app, ["notifications", "dispatch"])
        assert dispatched.exit_code == 0 and json.loads(dispatched.output)["sent"] == 1
        listed = runner.invoke(app, ["notifications", "outbox", "--status", "sent"])
        out = json.loads(listed.output)
        assert out["counts"]["sent"] == 2 and len(out["items"]) == 2 and "9876543221" not in listed.output
        bad = runner.invoke(app, ["notifications", "test", "--channel", "sms", "--address", "12"])
        assert bad.exit_code == 2
    finally:
        get_settings.cache_clear()


def test_dead_messages_wait_for_an_operator(node, world, database, tmp_path):
    from tests.conftest import test_settings

    settings = test_settings(database, notification_channels={"sms": "sms_http"}, notifications_dir=tmp_path,
                             notification_max_attempts=1)  # sms_http without a URL: a configuration failure
    _queue(node, settings, PATH_A1)
    assert service.dispatch_pending(node.db, settings)["dead"] == 1
    later = dt.datetime.now(dt.UTC) + dt.timedelta(days=30)
    assert service.dispatch_pending(node.db, settings, now=later)["claimed"] == 0
