"""Delivery of webhook events to a real HTTP receiver: signed, in order, scoped like the feed, retried with backoff,
dead-lettered, re-queued, replayed; one dispatcher per subscription at a time."""

from __future__ import annotations

import datetime as dt
import threading

from jaldpi.core.registry import Strategy
from jaldpi.webhooks.signing import verify_signature
from tests.webhooks.conftest import households, subscribe, write
from tests.webhooks.receiver import receiver

HOURS = dt.timedelta(hours=1)


def _deliveries(client, headers, sub_id: str, status: str | None = None) -> list[dict]:
    params = {"status": status} if status else {}
    response = client.get(f"/api/v1/webhooks/{sub_id}/deliveries", params=params, headers=headers)
    assert response.status_code == 200, response.text
    return response.json()["items"]


def test_events_are_signed_ordered_and_shaped(client, node, world, make_dispatcher):
    with receiver() as hook:
        sub = subscribe(client, world.partner, hook.url, event_types=["households.*"])
        ids = households(node, 500001, 500004)
        write(node, "households", [{"id": ids[0], "members_count": 7}], Strategy.update)
        report = make_dispatcher().run_once()
        assert report.delivered == 3 and report.failed == 0 and report.errors == []
        assert len(hook.requests) == 3
        for request in hook.requests:
            # the signature covers the exact bytes received, with the secret returned once at creation
            verify_signature(sub["secret"], request.headers["x-jaldpi-signature"], request.raw)
            assert request.headers["content-type"] == "application/json"
            assert request.headers["x-jaldpi-event"] == request.body["type"]
        events = hook.events()
        assert [e["type"] for e in events] == ["households.create", "households.create", "households.update"]
        seqs = [e["data"]["seq"] for e in events]
        assert seqs == sorted(seqs)
        first = events[0]
        assert first["id"] == f"test-node:{first['data']['seq']}" and first["subscription_id"] == sub["id"]
        assert first["created_at"].endswith("Z")
        assert first["data"]["record_id"] == ids[0] and first["data"]["lgd"]["village"] == 500001
        # the delivery header names the delivery row
        log = _deliveries(client, world.partner, sub["id"], "delivered")
        assert [d["id"] for d in log] == [r.headers["x-jaldpi-delivery"] for r in hook.requests]
        assert all(d["attempts"] == 1 and d["last_status_code"] == 200 for d in log)
        # caught up: a second pass sends nothing
        assert make_dispatcher().run_once().delivered == 0 and len(hook.requests) == 3
        state = client.get(f"/api/v1/webhooks/{sub['id']}", headers=world.partner).json()
        assert state["cursor"] == events[-1]["data"]["cursor"] and state["deliveries"]["delivered"] == 3


def test_type_and_jurisdiction_filters(client, node, world, make_dispatcher):
    with receiver() as all_745, receiver() as creates, receiver() as all_746, receiver() as block:
        subscribe(client, world.partner, all_745.url, event_types=["*"])
        subscribe(client, world.partner, creates.url, event_types=["households.create", "schemes.*"])
        subscribe(client, world.partner746, all_746.url, event_types=["*"])
        subscribe(client, world.admin, block.url, event_types=["*.create"], within="block:4001")
        ids = households(node, 500001, 500003, 500004)
        write(node, "households", [{"id": ids[0], "members_count": 2}, {"id": ids[1], "members_count": 2}],
              Strategy.update)
        make_dispatcher().run_once()
        # a district-scoped partner never receives the other district's events
        assert {e["data"]["lgd"]["district"] for e in all_745.events()} == {745}
        assert [e["type"] for e in all_745.events()] == ["households.create"] * 2 + ["households.update"]
        assert {e["data"]["record_id"] for e in all_746.events()} == {ids[1]}
        assert [e["type"] for e in creates.events()] == ["households.create"] * 2
        assert [e["data"]["record_id"] for e in block.events()] == [ids[0]]


def test_deletes_are_events(client, node, world, make_dispatcher):
    ids = households(node, 500001)
    with receiver() as hook:
        subscribe(client, world.partner, hook.url, event_types=["households.delete"])
        write(node, "households", [{"id": ids[0]}], Strategy.delete)
        make_dispatcher().run_once()
    [event] = hook.events()
    assert event["type"] == "households.delete" and event["data"]["record"] is None
    assert event["data"]["record_id"] == ids[0]


def test_start_beginning_and_cursor(client, node, world, make_dispatcher):
    ids = households(node, 500001, 500002)
    feed = client.get("/api/v1/changes", params={"types": "households"}, headers=world.partner).json()["items"]
    with receiver() as from_start, receiver() as from_cursor, receiver() as from_now:
        subscribe(client, world.partner, from_start.url, event_types=["households.*"], start="beginning")
        subscribe(client, world.partner, from_cursor.url, event_types=["households.*"], start=feed[0]["cursor"])
        subscribe(client, world.partner, from_now.url, event_types=["households.*"])
        make_dispatcher().run_once()
    assert [e["data"]["record_id"] for e in from_start.events()] == ids
    assert [e["data"]["record_id"] for e in from_cursor.events()] == ids[1:]
    assert from_now.requests == []


def test_retries_with_backoff_until_the_receiver_recovers(client, node, world, make_dispatcher):
    # zero backoff: all attempts happen in one pass
    with receiver(lambda _r, n: 500 if n <= 2 else 200) as hook:
        sub = subscribe(client, world.partner, hook.url)
        households(node, 500001)
        report = make_dispatcher(webhook_backoff_base_seconds=0).run_once()
        assert (report.failed, report.delivered) == (2, 1)
        assert [r.raw for r in hook.requests] == [hook.requests[0].raw] * 3  # the same event, byte for byte
        assert len({r.body["id"] for r in hook.requests}) == 1
        [delivery] = _deliveries(client, world.partner, sub["id"])
        assert delivery["status"] == "delivered" and delivery["attempts"] == 3


def test_a_failing_event_holds_back_later_ones_until_its_retry_is_due(client, node, world, make_dispatcher):
    t0 = dt.datetime(2030, 1, 1, tzinfo=dt.UTC)
    with receiver(lambda _r, n: 503 if n == 1 else 200) as hook:
        sub = subscribe(client, world.partner, hook.url)
        ids = households(node, 500001, 500002)
        dispatcher = make_dispatcher(webhook_backoff_base_seconds=2)
        assert dispatcher.run_once(now=t0).failed == 1
        [failed] = _deliveries(client, world.partner, sub["id"], "failed")
        # full jitter fixed at 1.0: the first retry waits the base, 2 s
        assert failed["next_attempt_at"] == "2030-01-01T00:00:02Z" and failed["last_status_code"] == 503
        assert dispatcher.run_once(now=t0 + dt.timedelta(seconds=1)).delivered == 0  # not due: nothing moves
        assert len(hook.requests) == 1
        assert dispatcher.run_once(now=t0 + dt.timedelta(seconds=2)).delivered == 2
    assert [e["data"]["record_id"] for e in hook.events()] == ids  # still in order


def test_backoff_grows_exponentially_and_is_capped(make_dispatcher):
    dispatcher = make_dispatcher(webhook_backoff_base_seconds=2, webhook_backoff_max_seconds=60)
    assert [dispatcher.backoff_seconds(n) for n in range(1, 8)] == [2, 4, 8, 16, 32, 60, 60]


def test_dead_letter_then_the_subscription_moves_on_and_the_letter_can_be_retried(client, node, world,
                                                                                   make_dispatcher):
    poison: set[str] = set()
    with receiver(lambda r, _n: 500 if r.body["data"]["record_id"] in poison else 200) as hook:
        sub = subscribe(client, world.partner, hook.url)
        ids = households(node, 500001, 500002)
        poison.add(ids[0])
        dispatcher = make_dispatcher(webhook_backoff_base_seconds=0, webhook_max_attempts=3)
        report = dispatcher.run_once()
        assert (report.failed, report.dead, report.delivered) == (2, 1, 1)
        # one poison event does not block the partner: the next event went through
        assert [e["data"]["record_id"] for e in hook.events()] == [ids[1]]
        [dead] = _deliveries(client, world.partner, sub["id"], "dead")
        assert dead["attempts"] == 3 and dead["last_status_code"] == 500 and dead["next_attempt_at"] is None
        assert client.get(f"/api/v1/webhooks/{sub['id']}", headers=world.partner).json()["deliveries"]["dead"] == 1

        poison.clear()  # the partner fixed its endpoint
        response = client.post(f"/api/v1/webhooks/{sub['id']}/deliveries/{dead['id']}/retry", headers=world.partner)
        assert response.status_code == 200 and response.json()["status"] == "failed"
        assert dispatcher.run_once().delivered == 1
        assert [e["data"]["record_id"] for e in hook.events()] == [ids[1], ids[0]]
        [again] = [d for d in _deliveries(client, world.partner, sub["id"]) if d["id"] == dead["id"]]
        assert again["status"] == "delivered" and again["attempts"] == 1
        # only dead letters can be re-queued
        response = client.post(f"/api/v1/webhooks/{sub['id']}/deliveries/{dead['id']}/retry", headers=world.partner)
        assert response.status_code == 409


def test_replay_from_a_cursor_redelivers_in_order(client, node, world, make_dispatcher):
    with receiver() as hook:
        sub = subscribe(client, world.partner, hook.url)
        ids = households(node, 500001, 500002, 500004)
        dispatcher = make_dispatcher()
        dispatcher.run_once()
        first = hook.events()[0]
        response = client.post(f"/api/v1/webhooks/{sub['id']}/replay", json={"cursor": first["data"]["cursor"]},
                               headers=world.partner)
        assert response.status_code == 200 and response.json()["cursor"] == first["data"]["cursor"]
        dispatcher.run_once()
    replayed = [e["data"]["record_id"] for e in hook.events()]
    assert replayed == ids + ids[1:]
    assert [e["id"] for e in hook.events()[3:]] == [e["id"] for e in hook.events()[1:3]]  # same event ids


def test_an_inactive_owner_pauses_the_subscription(client, node, world, make_dispatcher):
    from sqlalchemy import update

    from jaldpi.accounts.models import Account

    def set_active(flag: bool) -> None:
        with node.db.unit_of_work() as session:
            session.execute(update(Account).where(Account.username == "partner745").values(active=flag))

    with receiver() as hook:
        sub = subscribe(client, world.partner, hook.url)
        households(node, 500001)
        set_active(False)
        assert make_dispatcher().run_once().paused == 1 and hook.requests == []
        with node.db.unit_of_work(write=False) as session:
            from jaldpi.webhooks.models import WebhookSubscription

            assert session.get(WebhookSubscription, __import__("uuid").UUID(sub["id"])).paused_reason
        set_active(True)
        assert make_dispatcher().run_once().delivered == 1
    state = client.get(f"/api/v1/webhooks/{sub['id']}", headers=world.partner).json()
    assert state["paused_reason"] is None


def test_owner_scope_is_read_at_delivery_time(client, node, world, make_dispatcher):
    """A subscription covers what its owner may read now: a narrowed grant narrows the events."""
    from sqlalchemy import update

    from jaldpi.accounts.models import AccountGrant

    with receiver() as hook:
        subscribe(client, world.partner, hook.url)  # within district 745
        with node.db.unit_of_work() as session:
            session.execute(update(AccountGrant).where(AccountGrant.lgd_path == "/S28/D745/")
                            .values(lgd_path="/S28/D745/B4003/"))
        ids = households(node, 500001, 500004)  # blocks 4001 and 4003
        make_dispatcher().run_once()
    assert [e["data"]["record_id"] for e in hook.events()] == [ids[1]]


def test_ping(client, node, world):
    with receiver() as hook:
        sub = subscribe(client, world.partner, hook.url, secret="a-secret-of-my-own-choosing")
        assert "secret" not in client.get(f"/api/v1/webhooks/{sub['id']}", headers=world.partner).json()
        response = client.post(f"/api/v1/webhooks/{sub['id']}/ping", headers=world.partner)
        assert response.status_code == 200, response.text
        result = response.json()
        assert result["status"] == "delivered" and result["kind"] == "ping" and result["last_status_code"] == 200
        [request] = hook.requests
        verify_signature("a-secret-of-my-own-choosing", request.headers["x-jaldpi-signature"], request.raw)
        assert request.body["type"] == "ping" and request.body["subscription_id"] == sub["id"]
        assert request.headers["x-jaldpi-delivery"] == result["id"]
    # a ping to an endpoint that is gone is reported, not raised
    response = client.post(f"/api/v1/webhooks/{sub['id']}/ping", headers=world.partner)
    assert response.status_code == 200 and response.json()["status"] == "failed"
    assert response.json()["last_error"]


def test_concurrent_dispatchers_deliver_each_event_once(client, node, world, make_dispatcher):
    with receiver() as one, receiver() as two:
        subscribe(client, world.partner, one.url)
        subscribe(client, world.admin, two.url, within="state:28")
        ids = households(node, *([500001, 500002, 500004] * 10))
        dispatchers = [make_dispatcher(webhook_batch_size=5) for _ in range(3)]
        barrier = threading.Barrier(len(dispatchers))

        errors: list[str] = []

        def run(dispatcher) -> None:
            barrier.wait()
            for _ in range(10):
                errors.extend(dispatcher.run_once().errors)

        threads = [threading.Thread(target=run, args=(d,)) for d in dispatchers]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=120)
        make_dispatcher().run_once()  # whatever a lease hand-over left for the next pass
        assert errors == []
    for hook in (one, two):
        received = [e["data"]["record_id"] for e in hook.events()]
        assert received == ids  # each exactly once, in order
