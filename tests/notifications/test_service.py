"""queue_message, notify_role and dispatch_pending on real databases (SQLite and PostgreSQL)."""

from __future__ import annotations

import datetime as dt
import threading
import uuid

import pytest
from sqlalchemy import select

from jaldpi.core.errors import ValidationFailed
from jaldpi.notifications import service
from jaldpi.notifications.addresses import AddressBox
from jaldpi.notifications.channels import ChannelError, register_backend
from jaldpi.notifications.models import NotificationOutbox
from jaldpi.notifications.testing import sent_messages
from tests.conftest import test_settings
from tests.helpers import ROOT

PATH_A1 = "/S28/D745/B4001/G200001/V500001/"
T0 = dt.datetime(2026, 12, 1, 6, 0, tzinfo=dt.UTC)


def queue(node, settings, address="9876543221", channel="sms", language="en", **kw) -> uuid.UUID:
    with node.db.unit_of_work() as session:
        return service.queue_message(session, settings, channel=channel, address=address,
                                     template="notifications_test", context={"node": "GRV-7K3M9Q2XWZ4P"},
                                     language=language, **kw)


def outbox(node) -> list[NotificationOutbox]:
    with node.db.unit_of_work(write=False) as session:
        rows = list(session.execute(select(NotificationOutbox).order_by(NotificationOutbox.id)).scalars())
        session.expunge_all()  # keep the loaded values: the read-only unit of work rolls back (and would expire)
        return rows


def test_queue_stores_the_rendered_message_with_the_address_encrypted(node, nsettings):
    message_id = queue(node, nsettings, subject_type="grievances", subject_id="GRV-7K3M9Q2XWZ4P", lgd_path=PATH_A1)
    [row] = outbox(node)
    assert row.id == message_id and row.status == "queued" and row.attempts == 0
    assert row.address_masked == "98******21" and b"9876543221" not in row.address_ciphertext
    assert AddressBox.from_settings(nsettings).open(row.id, row.address_ciphertext) == "+919876543221"
    assert row.subject == "jaldpi test message from GRV-7K3M9Q2XWZ4P"
    assert "GRV-7K3M9Q2XWZ4P" in row.body and "9876543221" not in row.body
    assert (row.subject_type, row.subject_id, row.lgd_path) == ("grievances", "GRV-7K3M9Q2XWZ4P", PATH_A1)


def test_a_rolled_back_unit_of_work_queues_nothing(node, nsettings):
    with pytest.raises(RuntimeError, match="caller failed"):
        with node.db.unit_of_work() as session:
            service.queue_message(session, nsettings, channel="sms", address="9876543221",
                                  template="notifications_test", context={"node": "x"})
            raise RuntimeError("caller failed")
    assert outbox(node) == []


def test_queue_refuses_a_read_only_unit_of_work(node, nsettings):
    with node.db.unit_of_work(write=False) as session, pytest.raises(RuntimeError, match="writing unit of work"):
        service.queue_message(session, nsettings, channel="sms", address="9876543221",
                              template="notifications_test", context={"node": "x"})


@pytest.mark.parametrize(("kwargs", "field"), [
    ({"channel": "pigeon"}, "channel"),
    ({"address": "12345"}, "address"),
    ({"template": "missing_template"}, "template"),
    ({"context": {}}, "context"),
    ({"context": {"node": "ring 98765 43210"}}, "context"),  # a phone number in the body
    ({"lgd_path": "S28/D745"}, "lgd_path"),
])
def test_bad_messages_are_refused_and_nothing_is_queued(node, nsettings, kwargs, field):
    args = {"channel": "sms", "address": "9876543221", "template": "notifications_test",
            "context": {"node": "x"}} | kwargs
    with pytest.raises(ValidationFailed) as caught, node.db.unit_of_work() as session:
        service.queue_message(session, nsettings, **args)
    assert caught.value.details[0]["field"] == field
    assert outbox(node) == []


def test_dispatch_sends_through_the_file_backend_once(node, nsettings):
    first = queue(node, nsettings)
    second = queue(node, nsettings, channel="email", address="ravi@example.org", language="hi")
    assert service.dispatch_pending(node.db, nsettings, now=T0) == {"claimed": 2, "sent": 2, "failed": 0, "dead": 0}
    [sms] = sent_messages(nsettings, "sms")
    [email] = sent_messages(nsettings, "email")
    assert (sms["id"], sms["to"], sms["template"]) == (str(first), "+919876543221", "notifications_test")
    assert (email["id"], email["to"], email["language"]) == (str(second), "ravi@example.org", "hi")
    assert "परीक्षण" in email["subject"]
    rows = {r.id: r for r in outbox(node)}
    assert rows[first].status == "sent" and rows[first].provider_message_id == f"file:{first}"
    assert rows[first].attempts == 1 and rows[first].sent_at is not None
    # nothing is due any more: a second pass sends nothing
    assert service.dispatch_pending(node.db, nsettings, now=T0)["claimed"] == 0
    assert len(sent_messages(nsettings, "sms")) == 1


class Flaky:
    """A backend that fails the first ``fail`` sends (transiently, or permanently) and records every attempt."""

    attempts: list[str] = []
    fail = 0
    permanent = False

    def __init__(self, settings) -> None:
        pass

    def send(self, message) -> str:
        Flaky.attempts.append(message.address)
        if len(Flaky.attempts) <= Flaky.fail:
            raise ChannelError(f"gateway down for {message.address}", permanent=Flaky.permanent)
        return "provider-1"


register_backend("test_flaky", Flaky)


@pytest.fixture
def flaky(database, tmp_path):
    Flaky.attempts, Flaky.fail, Flaky.permanent = [], 0, False
    return test_settings(database, notification_channels={"sms": "test_flaky"}, notification_max_attempts=3,
                         notifications_dir=tmp_path)


def test_failures_back_off_exponentially_then_go_dead(node, flaky):
    Flaky.fail = 10
    message_id = queue(node, flaky)
    assert service.dispatch_pending(node.db, flaky, now=T0)["failed"] == 1
    [row] = outbox(node)
    assert row.status == "failed" and row.attempts == 1
    assert "gateway down for 98******21" in row.last_error and "9876543221" not in row.last_error
    assert service._aware(row.next_attempt_at) == T0 + dt.timedelta(seconds=60)
    # not due before the backoff ends
    assert service.dispatch_pending(node.db, flaky, now=T0 + dt.timedelta(seconds=59))["claimed"] == 0
    assert service.dispatch_pending(node.db, flaky, now=T0 + dt.timedelta(seconds=60))["failed"] == 1
    [row] = outbox(node)
    assert service._aware(row.next_attempt_at) == T0 + dt.timedelta(seconds=60 + 120)  # doubled
    assert service.dispatch_pending(node.db, flaky, now=T0 + dt.timedelta(hours=1))["dead"] == 1
    [row] = outbox(node)
    assert (row.id, row.status, row.attempts) == (message_id, "dead", 3)
    assert service.dispatch_pending(node.db, flaky, now=T0 + dt.timedelta(days=1))["claimed"] == 0
    assert len(Flaky.attempts) == 3


def test_a_permanent_refusal_is_dead_at_once_and_a_retry_sends_it(node, flaky):
    Flaky.fail, Flaky.permanent = 1, True
    message_id = queue(node, flaky, lgd_path=PATH_A1)
    assert service.dispatch_pending(node.db, flaky, now=T0)["dead"] == 1
    with node.db.unit_of_work() as session:
        out = service.retry_message(session, ROOT, str(message_id), now=T0)
    assert out["status"] == "queued" and out["attempts"] == 0 and out["last_error"]
    assert service.dispatch_pending(node.db, flaky, now=T0)["sent"] == 1
    [row] = outbox(node)
    assert row.status == "sent" and row.provider_message_id == "provider-1" and row.attempts == 1


def test_a_crashed_dispatchers_claim_expires_and_its_late_outcome_is_ignored(node, nsettings):
    message_id = queue(node, nsettings)
    [claimed] = service._claim(node.db, nsettings, 5, T0, set(), "dead-dispatcher")
    assert claimed.id == message_id
    assert service.dispatch_pending(node.db, nsettings, now=T0 + dt.timedelta(seconds=10))["claimed"] == 0
    later = T0 + dt.timedelta(seconds=nsettings.notification_lease_seconds)
    assert service.dispatch_pending(node.db, nsettings, now=later)["sent"] == 1
    # the first dispatcher wakes up and reports a failure: its claim is gone, the sent status stays
    Flaky.attempts, Flaky.fail, Flaky.permanent = [], 1, False
    assert service._send_one(node.db, test_settings(node.db, notification_channels={"sms": "test_flaky"}),
                             AddressBox.from_settings(nsettings), {}, claimed, "dead-dispatcher", later) == "failed"
    [row] = outbox(node)
    assert row.status == "sent" and row.attempts == 2 and row.claim_token is None


def test_two_dispatchers_at_once_send_every_message_exactly_once(node, nsettings):
    with node.db.unit_of_work() as session:
        for i in range(40):
            service.queue_message(session, nsettings, channel="sms", address=f"98765{i:05d}",
                                  template="notifications_test", context={"node": f"n{i}"})
    results: list[dict] = []
    barrier = threading.Barrier(2)

    def run() -> None:
        barrier.wait()
        results.append(service.dispatch_pending(node.db, nsettings, now=T0))

    threads = [threading.Thread(target=run) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sum(r["sent"] for r in results) == 40
    ids = [m["id"] for m in sent_messages(nsettings, "sms")]
    assert len(ids) == len(set(ids)) == 40
    assert {r.status for r in outbox(node)} == {"sent"}


def test_a_misconfigured_backend_fails_messages_without_losing_them(node, database, tmp_path):
    broken = test_settings(database, notification_channels={"sms": "no_such_backend"}, notifications_dir=tmp_path)
    queue(node, broken)
    assert service.dispatch_pending(node.db, broken, now=T0) == {"claimed": 1, "sent": 0, "failed": 1, "dead": 0}
    [row] = outbox(node)
    assert row.status == "failed" and "unknown notification backend 'no_such_backend'" in row.last_error


def test_the_file_backend_is_refused_in_production(node, database, tmp_path):
    production = test_settings(database, notifications_dir=tmp_path).model_copy(update={"env": "production"})
    queue(node, production)
    service.dispatch_pending(node.db, production, now=T0)
    [row] = outbox(node)
    assert row.status == "failed" and "refused when JALDPI_ENV=production" in row.last_error
    assert sent_messages(production, "sms") == []
    allowed = production.model_copy(update={"notifications_file_in_production": True})
    assert service.dispatch_pending(node.db, allowed, now=T0 + dt.timedelta(hours=1))["sent"] == 1
