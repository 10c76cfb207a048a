"""MQTT ingest against the real Mosquitto broker at 127.0.0.1:1883 (QoS 1, persistent session); the broker must be
running (`mosquitto -d -c /etc/mosquitto/mosquitto.conf`)."""

from __future__ import annotations

import datetime as dt
import time
import uuid

import orjson
import paho.mqtt.client as mqtt
from sqlalchemy import func, select

from jaldpi.telemetry.models import DailyRollup, LatestValue, Observation
from jaldpi.telemetry.mqtt import MqttIngestor
from tests.telemetry.world import build_telemetry

HOST, PORT = "127.0.0.1", 1883


def publish(messages: list[tuple[str, bytes]]) -> None:
    client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=f"pub-{uuid.uuid4().hex[:8]}")
    client.connect(HOST, PORT)
    client.loop_start()
    try:
        infos = [client.publish(topic, payload, qos=1) for topic, payload in messages]
        for info in infos:
            info.wait_for_publish(timeout=5)
            assert info.is_published()
    finally:
        client.disconnect()
        client.loop_stop()


def wait_for(predicate, timeout: float = 10.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError("condition not met in time")


def count(node, model) -> int:
    with node.db.unit_of_work(write=False) as s:
        return s.execute(select(func.count()).select_from(model)).scalar_one()


def start(node, client_id: str) -> MqttIngestor:
    ingestor = MqttIngestor(node.db, host=HOST, port=PORT, client_id=client_id, max_wait=0.1).start()
    assert ingestor.subscribed.wait(5)
    return ingestor


def test_published_observations_reach_latest_and_rollups_and_replays_do_not_duplicate(node):
    w = build_telemetry(node)
    flow, cl = w.ids["flow_rate_a1"], w.ids["residual_chlorine_a1"]
    now = dt.datetime.now(dt.UTC).replace(microsecond=0)
    t1, t2 = (now - dt.timedelta(minutes=20)).isoformat(), (now - dt.timedelta(minutes=5)).isoformat()
    one = orjson.dumps({"phenomenonTime": t1, "result": 11.5})
    ingestor = start(node, f"jaldpi-test-{uuid.uuid4().hex[:8]}")
    try:
        publish([(f"v1.1/Datastreams({flow})/Observations", one),
                 (f"v1.1/Datastreams({flow})/Observations", one),  # replay
                 (f"v1.1/Datastreams({flow})/Observations", orjson.dumps({"phenomenonTime": t2, "result": 14.0})),
                 ("v1.1/CreateObservations", orjson.dumps([{"Datastream": {"@iot.id": cl},
                                                            "components": ["phenomenonTime", "result"],
                                                            "dataArray": [[t1, 0.3], [t2, 0.25]]}])),
                 (f"v1.1/Datastreams({uuid.uuid4()})/Observations", one),  # unknown datastream
                 ("v1.1/Datastreams(nope)/Observations", b"{not json")])
        wait_for(lambda: ingestor.stats["created"] + ingestor.stats["duplicate"] >= 5
                 and ingestor.stats["unknown_datastream"] >= 1 and ingestor.stats["invalid_messages"] >= 1)
        assert ingestor.stats["created"] == 4 and ingestor.stats["duplicate"] == 1
        assert count(node, Observation) == 4
        with node.db.unit_of_work(write=False) as s:
            latest = {str(lv.datastream_id): lv.result for lv in s.scalars(select(LatestValue))}
            rolls = {(str(r.datastream_id), r.day): (r.count, r.sum) for r in s.scalars(select(DailyRollup))}
        assert latest == {flow: 14.0, cl: 0.25}
        assert sum(c for (ds, _), (c, _s) in rolls.items() if ds == flow) == 2
        assert sum(sm for (ds, _), (_c, sm) in rolls.items() if ds == flow) == 25.5
    finally:
        ingestor.stop()


def test_messages_published_while_the_subscriber_is_away_are_delivered_on_return(node):
    w = build_telemetry(node)
    flow = w.ids["flow_rate_a1"]
    client_id = f"jaldpi-test-{uuid.uuid4().hex[:8]}"
    start(node, client_id).stop()  # the broker now keeps this persistent session's subscription
    now = dt.datetime.now(dt.UTC).replace(microsecond=0)
    publish([(f"v1.1/Datastreams({flow})/Observations",
              orjson.dumps({"phenomenonTime": (now - dt.timedelta(minutes=m)).isoformat(), "result": float(m)}))
             for m in range(1, 4)])
    ingestor = start(node, client_id)
    try:
        wait_for(lambda: count(node, Observation) == 3)
    finally:
        ingestor.stop()
