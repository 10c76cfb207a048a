"""MQTT ingest: the SensorThings MQTT convention on a real broker, through the same ingest service as HTTP.

Topics (QoS 1):

* ``v1.1/Datastreams(<uuid>)/Observations``: one JSON Observation ``{"phenomenonTime", "result", "resultTime"?,
  "parameters"?}`` (a JSON array of them is accepted too);
* ``v1.1/CreateObservations``: the dataArray body of the HTTP ``CreateObservations`` request.

The subscriber connects with a fixed client id and ``clean_session=False``, so the broker keeps the subscription
and queues QoS 1 messages while it is away. Messages are acknowledged manually, only after the batch that holds
them has been committed: a crash before the commit means the broker delivers them again, and the unique
(datastream, phenomenon time) makes that replay harmless. Messages are buffered and written in batches bounded by
size (``batch_size``) and time (``max_wait`` seconds).

Trust model: the broker is the gate. Broker authentication and topic ACLs decide who may publish; the node ingests
as one system principal (``system:mqtt``, role ``partner_system`` over ``telemetry_mqtt_scope``), and a message
counts only for a datastream that exists in that scope. Unknown datastreams, malformed payloads and bad rows are
logged and counted, never raised: the loop keeps running.
"""

from __future__ import annotations

import logging
import queue
import re
import threading
import time
from collections import Counter
from dataclasses import dataclass
from typing import Any

import orjson
import paho.mqtt.client as mqtt

from jaldpi.core.db import Database
from jaldpi.core.security import Grant, Principal
from jaldpi.standard.codelists import role_permissions
from jaldpi.telemetry.ingest import ObservationIn, TelemetryConfig, ingest

log = logging.getLogger("jaldpi.telemetry.mqtt")

TOPICS = ("v1.1/+/Observations", "v1.1/CreateObservations")
_DS_TOPIC = re.compile(r"^v1\.1/Datastreams\('?([0-9a-fA-F-]{32,36})'?\)/Observations$")


def mqtt_principal(scope: str = "/") -> Principal:
    return Principal("system:mqtt", "system", (Grant("partner_system", scope),), role_permissions(),
                     source_system="mqtt")


def parse_message(topic: str, payload: bytes) -> list[ObservationIn]:
    """Observations in one message; ValueError when the topic or payload is not understood."""
    try:
        body = orjson.loads(payload)
    except orjson.JSONDecodeError as exc:
        raise ValueError(f"payload is not JSON: {exc}") from None
    if topic == "v1.1/CreateObservations":
        from jaldpi.telemetry.router import data_array_rows

        try:
            rows, errors = data_array_rows(body)
        except Exception as exc:  # ValidationFailed: a malformed batch
            raise ValueError(str(exc)) from None
        return [r for r, e in zip(rows, errors, strict=True) if e is None]
    m = _DS_TOPIC.match(topic)
    if not m:
        raise ValueError(f"unsupported topic {topic}")
    items = body if isinstance(body, list) else [body]
    out = []
    for item in items:
        if not isinstance(item, dict):
            raise ValueError("expected an Observation object")
        out.append(ObservationIn(m.group(1), item.get("phenomenonTime"), item.get("result"), item.get("resultTime"),
                                 item.get("parameters")))
    return out


@dataclass
class _Msg:
    topic: str
    payload: bytes
    mid: int
    qos: int


class MqttIngestor:
    """Subscribe, buffer, ingest in batches, acknowledge after commit. ``start()`` / ``stop()``; ``stats``."""

    def __init__(self, db: Database, *, host: str = "127.0.0.1", port: int = 1883,
                 client_id: str = "jaldpi-telemetry", batch_size: int = 5000, max_wait: float = 0.5,
                 quiet_gap: float = 0.05,
                 config: TelemetryConfig | None = None, principal: Principal | None = None,
                 username: str | None = None, password: str | None = None) -> None:
        self.db = db
        self.host, self.port = host, port
        self.batch_size, self.max_wait = batch_size, max_wait
        # A batch also ends when no message arrived for quiet_gap seconds: the broker stops sending once its
        # in-flight window of unacknowledged QoS 1 messages is full (Mosquitto: max_inflight_messages plus
        # max_queued_messages, about 1,020 by default), and we acknowledge only after the batch commits.
        self.quiet_gap = quiet_gap
        self.config = config or TelemetryConfig()
        self.principal = principal or mqtt_principal()
        self.stats: Counter[str] = Counter()
        self.subscribed = threading.Event()
        self._queue: queue.Queue[_Msg] = queue.Queue()
        self._stop = threading.Event()
        self._worker: threading.Thread | None = None
        self.client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=client_id, clean_session=False,
                                  manual_ack=True)
        if username:
            self.client.username_pw_set(username, password)
        self.client.on_connect = self._on_connect
        self.client.on_message = self._on_message
        self.client.on_subscribe = lambda *_a, **_k: self.subscribed.set()

    # paho callbacks (network thread): only enqueue
    def _on_connect(self, client, _userdata, _flags, reason_code, _properties) -> None:
        if reason_code.is_failure:
            log.error("MQTT connect refused: %s", reason_code)
            return
        client.subscribe([(t, 1) for t in TOPICS])

    def _on_message(self, _client, _userdata, message) -> None:
        self._queue.put(_Msg(message.topic, bytes(message.payload), message.mid, message.qos))

    def start(self) -> MqttIngestor:
        self.client.connect(self.host, self.port, keepalive=30)
        self.client.loop_start()
        self._worker = threading.Thread(target=self._run, name="jaldpi-mqtt-ingest", daemon=True)
        self._worker.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        if self._worker:
            self._worker.join(timeout=10)
        self.client.disconnect()
        self.client.loop_stop()

    def _run(self) -> None:
        while not self._stop.is_set():
            batch = self._collect()
            if batch:
                self._process(batch)
        rest = self._collect(block=False)
        if rest:
            self._process(rest)

    def _collect(self, block: bool = True) -> list[_Msg]:
        batch: list[_Msg] = []
        try:
            batch.append(self._queue.get(timeout=0.1) if block else self._queue.get_nowait())
        except queue.Empty:
            return batch
        deadline = time.monotonic() + self.max_wait
        while len(batch) < self.batch_size:
            left = deadline - time.monotonic()
            if left <= 0:
                break
            try:
                batch.append(self._queue.get(timeout=min(left, self.quiet_gap)))
            except queue.Empty:
                break
        return batch

    def _process(self, batch: list[_Msg]) -> None:
        rows: list[ObservationIn] = []
        for msg in batch:
            try:
                rows.extend(parse_message(msg.topic, msg.payload))
                self.stats["messages"] += 1
            except ValueError as exc:
                self.stats["invalid_messages"] += 1
                log.warning("MQTT message on %s refused: %s", msg.topic, exc)
        try:
            self._ingest(rows)
        except Exception:  # the database failed: retry one message at a time so one poison message stays alone
            log.exception("MQTT batch of %d observations failed; retrying message by message", len(rows))
            self.stats["failed_batches"] += 1
            for msg in batch:
                try:
                    self._ingest(parse_message(msg.topic, msg.payload))
                except Exception:
                    self.stats["failed_messages"] += 1
                    log.exception("MQTT message on %s dropped", msg.topic)
        for msg in batch:
            if msg.qos > 0:
                self.client.ack(msg.mid, msg.qos)

    def _ingest(self, rows: list[ObservationIn]) -> None:
        if not rows:
            return
        with self.db.unit_of_work() as session:
            summary = ingest(session, self.principal, rows, config=self.config)
        for row in summary.rows:
            self.stats[row.status] += 1
            if row.status == "error":
                if "not found" in (row.error or ""):
                    self.stats["unknown_datastream"] += 1
                log.warning("MQTT observation refused: %s", row.error)
        self.stats["batches"] += 1

    def snapshot(self) -> dict[str, Any]:
        return dict(self.stats)
