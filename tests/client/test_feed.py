"""The change feed through the SDK: iteration across pages, and feed consumers that stop and resume from a stored
cursor without missing or repeating a change."""

from __future__ import annotations

import datetime as dt
import json
import threading

import pytest

from jaldpi.client import (
    Change,
    CursorStore,
    FeedConsumer,
    FileCursorStore,
    Household,
    MemoryCursorStore,
    SQLiteCursorStore,
)
from tests.client.conftest import households


def _write_changes(partner) -> list[str]:
    """7 household creates (5 in district 745, 2 in 746), then an update and a delete: 9 household changes."""
    rows = households(500001, 5) + households(500003, 2, tag="b")
    partner.households.bulk_push(rows).raise_for_errors()
    partner.households.update(rows[0]["id"], {"members_count": 11}, version=1)
    partner.households.delete(rows[1]["id"])
    return [r["id"] for r in rows]


def test_changes_follow_pages_in_commit_order(live, partner):
    ids = _write_changes(partner)
    changes = list(partner.changes(types=["households"], limit=3))
    assert all(isinstance(c, Change) for c in changes)
    assert [c.operation for c in changes] == ["create"] * 7 + ["update", "delete"]
    seqs = [c.seq for c in changes]
    assert seqs == sorted(set(seqs))  # increasing, no repeats across pages
    assert [str(c.record_id) for c in changes[:7]] == ids
    update, delete = changes[7], changes[8]
    assert (update.version, update.record["members_count"], update.actor) == (2, 11, "state-mis")
    assert "members_count" in update.changes
    assert delete.record is None and delete.typed_record() is None and delete.version == 2
    typed = update.typed_record()
    assert isinstance(typed, Household) and typed.members_count == 11
    assert update.dedupe_key == ("households", update.record_id, 2)
    # the administrative units of the world are in the feed too (a public type)
    everything = list(partner.changes(limit=50))
    assert len(everything) == 13 + 9 and {c.record_type for c in everything} == {"admin_units", "households"}
    # resuming after any change's cursor gives exactly the rest
    rest = list(partner.changes(after=changes[4].cursor, types="households"))
    assert [c.seq for c in rest] == seqs[5:]
    within = list(partner.changes(types=["households"], within="district:746"))
    assert [c.lgd["district"] for c in within] == [746, 746]


def test_time_filters_and_readable_types(live, partner, official):
    _write_changes(partner)
    now = dt.datetime.now(dt.UTC)
    assert list(partner.changes(types=["households"], since=now + dt.timedelta(hours=1))) == []
    assert len(list(partner.changes(types=["households"], until=now + dt.timedelta(hours=1)))) == 9
    with pytest.raises(ValueError, match="time zone"):
        list(partner.changes(since=dt.datetime(2026, 1, 1)))
    types = {t["record_type"]: t for t in official.change_types()}
    assert types["households"]["scope"] == ["/S28/D745/"] and types["admin_units"]["public"] is True
    # the district official's feed holds only district 745's households
    assert {c.lgd["district"] for c in official.changes(types=["households"])} == {745}


def test_consumer_stops_mid_way_and_resumes_from_the_stored_cursor(live, partner, tmp_path):
    _write_changes(partner)
    store = FileCursorStore(tmp_path / "cursors.json")
    seen: list[int] = []
    consumer = FeedConsumer(partner, "mis-sync", store, types=["households"], page_size=2)
    assert consumer.cursor is None
    assert consumer.poll(lambda c: seen.append(c.seq), max_changes=5) == 5
    assert json.loads((tmp_path / "cursors.json").read_text()) == {"mis-sync": consumer.cursor}
    # a new process: new client objects, same store file
    with live.partner() as other:
        again = FeedConsumer(other, "mis-sync", FileCursorStore(tmp_path / "cursors.json"), types=["households"])
        assert again.poll(lambda c: seen.append(c.seq)) == 4
        assert again.poll(lambda c: seen.append(c.seq)) == 0  # caught up
    assert seen == [c.seq for c in partner.changes(types=["households"])]
    assert list(tmp_path.iterdir()) == [tmp_path / "cursors.json"]  # no temporary files left behind


def test_a_failing_handler_keeps_the_progress_made(live, partner):
    _write_changes(partner)
    store = MemoryCursorStore()
    consumer = FeedConsumer(partner, "flaky", store, types=["households"], page_size=4)
    seen: list[int] = []

    def handler(change: Change) -> None:
        if len(seen) == 6 and not failed:
            failed.append(change.seq)
            raise RuntimeError("database down")
        seen.append(change.seq)

    failed: list[int] = []
    with pytest.raises(RuntimeError, match="database down"):
        consumer.poll(handler)
    assert len(seen) == 6  # the second page failed at its third change ...
    assert consumer.poll(handler) == 3  # ... and the next poll starts with exactly that change
    assert seen == [c.seq for c in partner.changes(types=["households"])] and failed == [seen[6]]


def test_run_in_a_thread_is_stopped_and_resumed_without_gaps_or_repeats(live, partner, tmp_path):
    _write_changes(partner)
    store = SQLiteCursorStore(tmp_path / "cursors.sqlite")
    seen: list[int] = []
    stop = threading.Event()

    def handler(change: Change) -> None:
        seen.append(change.seq)
        if len(seen) == 4:
            stop.set()  # stop mid-page (pages of 3): the consumer saves the cursor of this change

    consumer = FeedConsumer(partner, "mis-sync", store, types=["households"], page_size=3)
    worker = threading.Thread(target=consumer.run, args=(handler,), kwargs={"interval": 0.05, "stop": stop})
    worker.start()
    worker.join(timeout=30)
    assert not worker.is_alive() and len(seen) == 4
    assert store.load("mis-sync") == next(c.cursor for c in partner.changes(types=["households"]) if c.seq == seen[-1])
    # resumed by a new consumer, while new changes arrive
    expected = [c.seq for c in partner.changes(types=["households"])]
    stop = threading.Event()
    more = households(500002, 2, tag="late")

    def resumed(change: Change) -> None:
        seen.append(change.seq)
        if len(seen) == 9:
            partner.households.bulk_push(more).raise_for_errors()
        if len(seen) == 11:
            stop.set()

    again = FeedConsumer(partner, "mis-sync", SQLiteCursorStore(tmp_path / "cursors.sqlite"), types=["households"])
    worker = threading.Thread(target=again.run, args=(resumed,), kwargs={"interval": 0.05, "stop": stop})
    worker.start()
    worker.join(timeout=30)
    assert not worker.is_alive()
    late = [c.seq for c in partner.changes(types=["households"])][-2:]
    assert seen == expected + late and len(set(seen)) == 11


def test_batch_handlers_get_whole_pages(live, partner):
    _write_changes(partner)
    batches: list[list[int]] = []
    consumer = FeedConsumer(partner, "bulk", MemoryCursorStore(), types=["households"], page_size=4)
    assert consumer.poll(lambda changes: batches.append([c.seq for c in changes]), batch=True) == 9
    assert [len(b) for b in batches] == [4, 4, 1]
    consumer.reset(None)  # replay everything from the beginning
    assert consumer.poll(lambda changes: None, batch=True) == 9


def test_cursor_stores(tmp_path):
    for store in (MemoryCursorStore(), FileCursorStore(tmp_path / "a" / "c.json"),
                  SQLiteCursorStore(tmp_path / "c.sqlite")):
        assert isinstance(store, CursorStore)
        assert store.load("x") is None
        store.save("x", "c1")
        store.save("y", "c2")
        store.save("x", "c3")
        assert (store.load("x"), store.load("y")) == ("c3", "c2")
    assert FileCursorStore(tmp_path / "a" / "c.json").load("x") == "c3"
    assert SQLiteCursorStore(tmp_path / "c.sqlite").load("y") == "c2"
    (tmp_path / "bad.json").write_text("{not json")
    with pytest.raises(ValueError, match="not JSON"):
        FileCursorStore(tmp_path / "bad.json").load("x")
