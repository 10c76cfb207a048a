"""Telemetry ingest into PostgreSQL: HTTP dataArray bulk and MQTT (real broker, real subscriber process), next to a
raw COPY of equivalent rows into the same table and indexes.

    .venv/bin/python bench/telemetry_ingest.py                          # 300,000 obs over HTTP and MQTT, 300 streams
    .venv/bin/python bench/telemetry_ingest.py --observations 100000 --batch-size 5000
    .venv/bin/python bench/telemetry_ingest.py --skip-mqtt               # HTTP + COPY only

Prints one JSON object on stdout (progress goes to stderr). See bench/README.md.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import random
import signal
import subprocess
import sys
import tempfile
import time
import uuid
import zoneinfo
from pathlib import Path

import httpx
import orjson
import paho.mqtt.client as mqtt
import psycopg

sys.path.insert(0, str(Path(__file__).resolve().parent))

import benchlib  # noqa: E402

from jaldpi.core.db import Database  # noqa: E402
from jaldpi.core.registry import Strategy  # noqa: E402
from jaldpi.registries import build_catalogue  # noqa: E402
from jaldpi.telemetry import service as tservice  # noqa: E402

GOAL_HTTP = 100_000
GOAL_MQTT = 30_000
TZ = zoneinfo.ZoneInfo("Asia/Kolkata")
PROPS = ("flow_rate", "pressure", "residual_chlorine")  # one of each per thing
RANGES = {"flow_rate": (0.0, 120.0), "pressure": (0.2, 4.0), "residual_chlorine": (0.05, 1.2)}


def log(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


def pg_dsn(url: str) -> str:
    return url.replace("postgresql+psycopg://", "postgresql://")


# ------------------------------------------------------------------------------------------------ world

def build_telemetry_world(url: str, things: int, username: str) -> list[tuple[str, str]]:
    """Admin units (benchlib), one commissioned scheme, ``things`` sensor components in the block's villages, one
    Thing per component and len(PROPS) datastreams per Thing, all through the registries / telemetry service.
    Returns [(datastream id, observed property)]."""
    villages = max(1, min(things, 50))
    benchlib.build_world(url, villages, username=username, role="partner_system")
    settings = benchlib.settings_for(url)
    db = Database(url)
    catalogue = build_catalogue(settings)
    codes = benchlib.village_codes(villages)
    out: list[tuple[str, str]] = []
    try:
        with db.unit_of_work() as session:
            s = catalogue["schemes"].import_records(session, benchlib.ROOT, [{
                "name": "Bench MVS", "scheme_type": "mvs", "villages": codes,
                "lifecycle_status": "commissioned"}], strategy=Strategy.create)
            if s.status != "ok":
                raise SystemExit(f"scheme set-up failed: {s.to_dict()}")
            scheme_code = s.rows[0].code
            comps = [{"scheme": scheme_code, "component_type": "sensor", "name": f"sensor {i}",
                      "village": codes[i % villages]} for i in range(things)]
            c = catalogue["components"].import_records(session, benchlib.ROOT, comps, strategy=Strategy.create)
            if c.status != "ok":
                raise SystemExit(f"component set-up failed: {c.to_dict()}")
            comp_ids = [str(r.id) for r in c.rows]
        with db.unit_of_work() as session:
            sensor = tservice.create_sensor(session, benchlib.ROOT, {"name": "bench sensor", "metadata": "bench"})
            for i, comp in enumerate(comp_ids):
                thing = tservice.create_thing(session, benchlib.ROOT, {
                    "name": f"bench thing {i}", "properties": {"component_id": comp}})
                for prop in PROPS:
                    ds = tservice.create_datastream(session, benchlib.ROOT, {
                        "name": f"{prop} {i}", "Thing": {"@iot.id": str(thing.id)},
                        "Sensor": {"@iot.id": str(sensor.id)}, "ObservedProperty": {"@iot.id": prop},
                        "properties": {"expectedIntervalSeconds": 60}})
                    out.append((str(ds.id), prop))
    finally:
        db.dispose()
    return out


# ------------------------------------------------------------------------------------------------ data

class Phase:
    """``n`` observations over ``streams``, time-sliced: slot k holds one reading of every stream at base + k*step,
    so a batch (consecutive slots) holds recent readings of many sensors, as a gateway would send them."""

    def __init__(self, name: str, streams: list[tuple[str, str]], n: int, base: dt.datetime, seed: int):
        self.name, self.streams, self.n, self.base = name, streams, n, base
        per_stream = -(-n // len(streams))
        self.step = max(1, 20 * 3600 // per_stream)  # the phase spans at most ~20 hours
        self.rng = random.Random(seed)

    def rows(self):
        """(datastream id, prop, phenomenon time, value), in slot order, exactly ``n`` rows."""
        i = 0
        k = 0
        while i < self.n:
            t = self.base + dt.timedelta(seconds=k * self.step)
            for ds, prop in self.streams:
                if i >= self.n:
                    break
                lo, hi = RANGES[prop]
                yield ds, prop, t, round(self.rng.uniform(lo, hi), 3)
                i += 1
            k += 1

    def days(self) -> tuple[dt.date, dt.date]:
        end = self.base + dt.timedelta(seconds=(-(-self.n // len(self.streams))) * self.step)
        return self.base.astimezone(TZ).date(), end.astimezone(TZ).date()

    def span(self) -> tuple[dt.datetime, dt.datetime]:
        return self.base, self.base + dt.timedelta(days=1, hours=1)


def iso(t: dt.datetime) -> str:
    return t.strftime("%Y-%m-%dT%H:%M:%SZ")


def data_array_bodies(rows, batch_size: int) -> list[tuple[bytes, int]]:
    """dataArray CreateObservations bodies of ``batch_size`` rows (one group per datastream present in the batch)."""
    out = []
    batch: dict[str, list] = {}
    count = 0

    def flush():
        nonlocal batch, count
        body = [{"Datastream": {"@iot.id": ds}, "components": ["phenomenonTime", "result"], "dataArray": arr}
                for ds, arr in batch.items()]
        out.append((orjson.dumps(body), count))
        batch, count = {}, 0

    for ds, _prop, t, v in rows:
        batch.setdefault(ds, []).append([iso(t), v])
        count += 1
        if count >= batch_size:
            flush()
    if count:
        flush()
    return out


# ------------------------------------------------------------------------------------------------ counting

def count_rows(dsn: str, phase: Phase) -> int:
    a, b = phase.span()
    with psycopg.connect(dsn) as conn:
        return conn.execute("SELECT count(*) FROM telemetry_observations WHERE phenomenon_time >= %s "
                            "AND phenomenon_time < %s", (a, b)).fetchone()[0]


def rollup_count(conn, phase: Phase) -> int:
    """Sum of the daily rollup counts over the phase's days: maintained in the ingest transaction and tiny to read,
    so polling it does not load the machine the way count(*) over the observations would."""
    d0, d1 = phase.days()
    return conn.execute("SELECT coalesce(sum(count), 0) FROM telemetry_daily_rollups WHERE day >= %s AND day <= %s",
                        (d0, d1)).fetchone()[0]


def derived_ok(dsn: str, phase: Phase) -> dict:
    a, b = phase.span()
    d0, d1 = phase.days()
    with psycopg.connect(dsn) as conn:
        obs = conn.execute("SELECT count(*), count(DISTINCT datastream_id) FROM telemetry_observations "
                           "WHERE phenomenon_time >= %s AND phenomenon_time < %s", (a, b)).fetchone()
        roll = conn.execute("SELECT coalesce(sum(count), 0) FROM telemetry_daily_rollups WHERE day >= %s "
                            "AND day <= %s", (d0, d1)).fetchone()[0]
    return {"observations": obs[0], "datastreams": obs[1], "rollup_count_sum": int(roll)}


# ------------------------------------------------------------------------------------------------ HTTP

def run_http(base: str, headers: dict, bodies: list[tuple[bytes, int]], timeout: float) -> dict:
    statuses: dict[str, int] = {}
    row_errors = 0
    per_request = []
    hdrs = {**headers, "Content-Type": "application/json"}
    with httpx.Client(timeout=timeout) as client:
        t0 = time.perf_counter()
        for body, n in bodies:
            r0 = time.perf_counter()
            r = client.post(base + "/sta/v1.1/CreateObservations", content=body, headers=hdrs)
            per_request.append(time.perf_counter() - r0)
            statuses[str(r.status_code)] = statuses.get(str(r.status_code), 0) + 1
            if r.status_code == 201:
                answer = r.json()
                row_errors += sum(1 for a in answer if a.startswith("error")) + abs(len(answer) - n)
            else:
                log(f"HTTP {r.status_code}: {r.text[:300]}")
        seconds = time.perf_counter() - t0
    per_request.sort()
    return {"seconds": round(seconds, 3), "requests": len(bodies), "statuses": statuses, "row_errors": row_errors,
            "request_seconds_p50": round(benchlib.percentile(per_request, 50), 3),
            "request_seconds_max": round(per_request[-1], 3)}


# ------------------------------------------------------------------------------------------------ MQTT

class Subscriber:
    """``jaldpi telemetry mqtt`` as a subprocess against the bench database, with a fresh persistent client id."""

    def __init__(self, url: str, host: str, port: int, batch_size: int, max_wait: float):
        self.client_id = f"jaldpi-bench-{uuid.uuid4().hex[:8]}"
        self.host, self.port = host, port
        env = {k: v for k, v in os.environ.items() if not k.startswith("JALDPI_")}
        env.update({"JALDPI_DATABASE_URL": url, "JALDPI_ENV": "development", "JALDPI_NODE_ID": "bench-node"})
        self.cwd = tempfile.TemporaryDirectory(prefix="jaldpi_bench_cwd_")
        self.log = tempfile.TemporaryFile()
        jaldpi = str(Path(sys.executable).parent / "jaldpi")
        self.proc = subprocess.Popen([jaldpi, "telemetry", "mqtt", "--host", host, "--port", str(port),
                                      "--client-id", self.client_id, "--batch-size", str(batch_size),
                                      "--max-wait", str(max_wait)], env=env, cwd=self.cwd.name,
                                     stdout=self.log, stderr=subprocess.STDOUT)

    def output(self) -> str:
        self.log.seek(0)
        return self.log.read().decode(errors="replace")

    def stop(self) -> dict | None:
        stats = None
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=40)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=10)
        for line in reversed(self.output().splitlines()):
            if line.startswith("{"):
                try:
                    stats = json.loads(line)
                except ValueError:
                    pass
                break
        # remove the persistent session this run left on the broker
        c = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=self.client_id, clean_session=True)
        try:
            c.connect(self.host, self.port, keepalive=10)
            c.loop_start()
            time.sleep(0.3)
            c.disconnect()
            c.loop_stop()
        except OSError:
            pass
        self.log.close()
        self.cwd.cleanup()
        return stats


def publisher(host: str, port: int) -> mqtt.Client:
    c = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=f"jaldpi-bench-pub-{uuid.uuid4().hex[:8]}",
                    clean_session=True)
    c.max_inflight_messages_set(200)
    c.max_queued_messages_set(0)
    c.connect(host, port, keepalive=60)
    c.loop_start()
    return c


def wait_rows(dsn: str, phase: Phase, want: int, timeout: float, sub: Subscriber, poll: float = 0.1
              ) -> tuple[int, float, float]:
    """Poll the rollup sums until ``want`` rows are there; (rows, time of the last check, time of the last change).
    Gives up after ``timeout`` or when nothing moved for 30 s (dropped messages never come)."""
    t0 = time.perf_counter()
    last, last_change = -1, t0
    with psycopg.connect(dsn, autocommit=True) as conn:
        while True:
            n = rollup_count(conn, phase)
            now = time.perf_counter()
            if n != last:
                last, last_change = n, now
            if n >= want or now - t0 > timeout or sub.proc.poll() is not None or now - last_change > 30:
                return n, now, last_change
            time.sleep(poll)


def run_mqtt(dsn: str, host: str, port: int, sub: Subscriber, phase: Phase, messages: list[tuple[str, bytes, int]],
             timeout: float, window: int = 0) -> dict:
    """Publish at QoS 1, time from the first publish until the rows are stored. ``window`` > 0: do not get more than
    that many messages ahead of what is stored (the broker's per-client queue is bounded: mosquitto's default
    max_queued_messages is 1000, beyond which it drops QoS 1 messages for that client)."""
    pub = publisher(host, port)
    try:
        infos = []
        stored = 0
        pauses = 0
        rows_per_msg = max(1, messages[0][2]) if messages else 1
        with psycopg.connect(dsn, autocommit=True) as conn:
            t0 = time.perf_counter()
            for i, (topic, payload, _n) in enumerate(messages):
                if window and i - stored // rows_per_msg >= window:
                    pause_deadline = time.monotonic() + timeout
                    while i - stored // rows_per_msg >= window and time.monotonic() < pause_deadline:
                        time.sleep(0.01)
                        stored = rollup_count(conn, phase)
                    pauses += 1
                infos.append(pub.publish(topic, payload, qos=1))
        deadline = time.monotonic() + timeout
        for info in infos:
            info.wait_for_publish(timeout=max(0.1, deadline - time.monotonic()))
        published = time.perf_counter() - t0
        unacked = sum(1 for i in infos if not i.is_published())
        rows, t_end, t_last = wait_rows(dsn, phase, phase.n, timeout, sub)
        complete = rows >= phase.n
        seconds = (t_end if complete else t_last) - t0
    finally:
        pub.disconnect()
        pub.loop_stop()
    return {"messages": len(messages), "publish_window_messages": window or None, "publisher_pauses": pauses,
            "publish_seconds": round(published, 3), "unacked_by_broker": unacked, "seconds": round(seconds, 3),
            "rows_seen": rows, "complete": complete,
            "note": None if complete else "not all rows arrived: seconds is up to the last row that did"}


def warm_up(dsn: str, host: str, port: int, sub: Subscriber, ds: str, timeout: float = 60) -> float:
    """One message on a far-away timestamp; wait until it is stored (the subscriber is then subscribed and warm)."""
    t = dt.datetime.now(dt.UTC).replace(microsecond=0) - dt.timedelta(days=300)
    pub = publisher(host, port)
    t0 = time.perf_counter()
    try:
        pub.publish(f"v1.1/Datastreams({ds})/Observations",
                    orjson.dumps({"phenomenonTime": iso(t), "result": 1.0}), qos=1).wait_for_publish(timeout=10)
        with psycopg.connect(dsn, autocommit=True) as conn:
            while time.perf_counter() - t0 < timeout:
                if sub.proc.poll() is not None:
                    raise SystemExit(f"subscriber exited:\n{sub.output()}")
                if conn.execute("SELECT 1 FROM telemetry_observations WHERE datastream_id = %s "
                                "AND phenomenon_time = %s", (ds, t)).fetchone():
                    return time.perf_counter() - t0
                time.sleep(0.1)
                # the subscription may have been made after the first publish (not queued yet): publish again
                if int((time.perf_counter() - t0) * 10) % 20 == 0:
                    pub.publish(f"v1.1/Datastreams({ds})/Observations",
                                orjson.dumps({"phenomenonTime": iso(t), "result": 1.0}), qos=1)
    finally:
        pub.disconnect()
        pub.loop_stop()
    raise SystemExit(f"subscriber did not ingest the warm-up message in {timeout}s:\n{sub.output()}")


# ------------------------------------------------------------------------------------------------ COPY

def run_copy(dsn: str, phase: Phase, batch_size: int) -> dict:
    """Equivalent observation rows (same columns and value shapes as the ingest writes: quality 0, no parameters,
    local_day in IST, received_at now) COPYed into telemetry_observations, one transaction per ``batch_size``."""
    p0 = time.perf_counter()
    now = dt.datetime.now(dt.UTC)
    rows = [(ds, t, None, v, 0, None, t.astimezone(TZ).date(), now) for ds, _p, t, v in phase.rows()]
    prep = time.perf_counter() - p0
    cols = "datastream_id, phenomenon_time, result_time, result, quality, parameters, local_day, received_at"
    with psycopg.connect(dsn) as conn:
        t0 = time.perf_counter()
        for i in range(0, len(rows), batch_size):
            with conn.cursor() as cur:
                with cur.copy(f"COPY telemetry_observations ({cols}) FROM STDIN") as cp:
                    for r in rows[i:i + batch_size]:
                        cp.write_row(r)
            conn.commit()
        seconds = time.perf_counter() - t0
    return {"seconds": round(seconds, 3), "copy_prep_seconds": round(prep, 3), "transactions":
            -(-len(rows) // batch_size),
            "what": "COPY into telemetry_observations only (its unique (datastream, time) index, the (datastream, "
                    "local_day) index, the id sequence and FK); no stage table, no ON CONFLICT, no latest value, no "
                    "daily rollups, no per-row validation"}


# ------------------------------------------------------------------------------------------------ main

def rate(n: int, seconds: float | None) -> float | None:
    return round(n / seconds, 1) if seconds else None


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--observations", type=int, default=300_000, help="R: observations over HTTP, MQTT batches, COPY")
    p.add_argument("--batch-size", type=int, default=10_000, help="B: rows per HTTP request and per COPY transaction")
    p.add_argument("--things", type=int, default=100, help="things (3 datastreams each)")
    p.add_argument("--mqtt-message-rows", type=int, default=1000, help="rows per v1.1/CreateObservations message")
    p.add_argument("--mqtt-single", type=int, default=10_000,
                   help="observations published one per message on v1.1/Datastreams(id)/Observations (0: skip)")
    p.add_argument("--mqtt-window", type=int, default=800,
                   help="publisher stays at most this many messages ahead of the stored rows (0: publish flat out; "
                        "mosquitto's default per-client queue of 1000 then drops the excess)")
    p.add_argument("--mqtt-host", default="127.0.0.1")
    p.add_argument("--mqtt-port", type=int, default=1883)
    p.add_argument("--sub-batch-size", type=int, default=5000, help="subscriber --batch-size (messages)")
    p.add_argument("--sub-max-wait", type=float, default=0.5, help="subscriber --max-wait (seconds)")
    p.add_argument("--skip-mqtt", action="store_true")
    p.add_argument("--pg-url", default=benchlib.DEFAULT_PG)
    p.add_argument("--timeout", type=float, default=600.0, help="per phase")
    p.add_argument("--keep-db", action="store_true")
    p.add_argument("--seed", type=int, default=20260101)
    args = p.parse_args()
    R, B = args.observations, args.batch_size
    username = "bench-telemetry"
    ok = True
    out: dict = {"benchmark": "telemetry_ingest", "date": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
                 "observations": R, "batch_size": B, "goal_http_obs_per_s": GOAL_HTTP, "goal_mqtt_obs_per_s": GOAL_MQTT}
    with benchlib.bench_database("postgresql", "telemetry", pg_base=args.pg_url, keep=args.keep_db) as bdb:
        dsn = pg_dsn(bdb.url)
        out["machine"] = benchlib.machine(bdb.url)
        log("world ...")
        streams = build_telemetry_world(bdb.url, args.things, username)
        out["world"] = {"things": args.things, "datastreams": len(streams), "properties": list(PROPS),
                        "how": "admin units, scheme and components through the registries; sensor, things and "
                               "datastreams through jaldpi.telemetry.service (in-process, untimed)"}
        day0 = dt.datetime.now(dt.UTC).replace(hour=0, minute=0, second=0, microsecond=0)
        phases = {
            "http": Phase("http", streams, R, day0 - dt.timedelta(days=20), args.seed),
            "mqtt_batch": Phase("mqtt_batch", streams, R, day0 - dt.timedelta(days=16), args.seed + 1),
            "mqtt_single": Phase("mqtt_single", streams, max(args.mqtt_single, 1), day0 - dt.timedelta(days=12),
                                 args.seed + 2),
            "copy": Phase("copy", streams, R, day0 - dt.timedelta(days=8), args.seed + 3),
        }
        out["layout"] = (f"time-sliced: each slot has one reading of each of the {len(streams)} datastreams, so a "
                         f"{B}-row request holds ~{B // len(streams)} readings of every stream; timestamps at "
                         f"{phases['http'].step}s steps, within the last 400 days (no clock_skew flags), values "
                         "inside the valid range")

        # (a) HTTP
        bodies = data_array_bodies(phases["http"].rows(), B)
        out["http_body_mb"] = round(sum(len(b) for b, _ in bodies) / 1e6, 1)
        sinfo: dict = {}
        with benchlib.server(bdb.url, info=sinfo) as base:
            headers = benchlib.token(base, username)
            log(f"HTTP: {len(bodies)} requests ...")
            cpu0 = benchlib.process_cpu_seconds(sinfo["pid"])
            http = run_http(base, headers, bodies, args.timeout)
            http["server_cpu_seconds"] = round(benchlib.process_cpu_seconds(sinfo["pid"]) - cpu0, 2)
        del bodies
        check = derived_ok(dsn, phases["http"])
        http["stored"] = check
        http["ok"] = (http["statuses"] == {"201": http["requests"]} and http["row_errors"] == 0
                      and check["observations"] == R and check["rollup_count_sum"] == R)
        http["obs_per_s"] = rate(R, http["seconds"])
        ok &= http["ok"]
        out["http"] = http
        log(f"HTTP: {http['obs_per_s']} obs/s ok={http['ok']}")

        # (b) MQTT
        if not args.skip_mqtt:
            log("MQTT: starting the subscriber ...")
            sub = Subscriber(bdb.url, args.mqtt_host, args.mqtt_port, args.sub_batch_size, args.sub_max_wait)
            mq: dict = {"subscriber": f"jaldpi telemetry mqtt --batch-size {args.sub_batch_size} --max-wait "
                                      f"{args.sub_max_wait} (subprocess, fresh persistent client id)",
                        "broker": f"mosquitto at {args.mqtt_host}:{args.mqtt_port} as configured (QoS 1)"}
            try:
                mq["warm_up_seconds"] = round(warm_up(dsn, args.mqtt_host, args.mqtt_port, sub, streams[0][0]), 2)
                ph = phases["mqtt_batch"]
                msgs = [("v1.1/CreateObservations", body, n)
                        for body, n in data_array_bodies(ph.rows(), args.mqtt_message_rows)]
                log(f"MQTT batches: {len(msgs)} messages of {args.mqtt_message_rows} rows ...")
                res = run_mqtt(dsn, args.mqtt_host, args.mqtt_port, sub, ph, msgs, args.timeout, args.mqtt_window)
                res["rows_per_message"] = args.mqtt_message_rows
                res["stored"] = derived_ok(dsn, ph)
                res["ok"] = res["stored"]["observations"] == ph.n and res["unacked_by_broker"] == 0
                res["obs_per_s"] = rate(res["stored"]["observations"], res["seconds"])
                mq["data_array"] = res
                ok &= res["ok"]
                log(f"MQTT batches: {res['obs_per_s']} obs/s ok={res['ok']}")
                if args.mqtt_single:
                    ph = phases["mqtt_single"]
                    msgs = [(f"v1.1/Datastreams({ds})/Observations",
                             orjson.dumps({"phenomenonTime": iso(t), "result": v}), 1)
                            for ds, _p, t, v in ph.rows()]
                    log(f"MQTT single: {len(msgs)} messages ...")
                    res = run_mqtt(dsn, args.mqtt_host, args.mqtt_port, sub, ph, msgs, args.timeout,
                                   args.mqtt_window)
                    res["rows_per_message"] = 1
                    res["stored"] = derived_ok(dsn, ph)
                    res["ok"] = res["stored"]["observations"] == ph.n and res["unacked_by_broker"] == 0
                    res["obs_per_s"] = rate(res["stored"]["observations"], res["seconds"])
                    mq["single"] = res
                    ok &= res["ok"]
                    log(f"MQTT single: {res['obs_per_s']} obs/s ok={res['ok']}")
            finally:
                mq["subscriber_stats"] = sub.stop()
            out["mqtt"] = mq

        # (c) COPY baseline
        log("COPY ...")
        cp = run_copy(dsn, phases["copy"], B)
        cp["stored"] = derived_ok(dsn, phases["copy"])
        cp["ok"] = cp["stored"]["observations"] == R
        cp["obs_per_s"] = rate(R, cp["seconds"])
        ok &= cp["ok"]
        out["copy"] = cp
        with psycopg.connect(dsn) as conn:
            out["table_rows_at_end"] = conn.execute("SELECT count(*) FROM telemetry_observations").fetchone()[0]

        copy_rate = cp["obs_per_s"]
        ratios = {"http_over_copy": round(http["obs_per_s"] / copy_rate, 4)}
        if "mqtt" in out and "data_array" in out["mqtt"]:
            ratios["mqtt_data_array_over_copy"] = round(out["mqtt"]["data_array"]["obs_per_s"] / copy_rate, 4)
        if "mqtt" in out and "single" in out["mqtt"]:
            ratios["mqtt_single_over_copy"] = round(out["mqtt"]["single"]["obs_per_s"] / copy_rate, 4)
        out["ratios"] = ratios
        out["summary_obs_per_s"] = {
            "http": http["obs_per_s"],
            "mqtt_data_array": out.get("mqtt", {}).get("data_array", {}).get("obs_per_s"),
            "mqtt_single": out.get("mqtt", {}).get("single", {}).get("obs_per_s"),
            "copy": copy_rate}
        out["ok"] = ok
        out["machine"]["loadavg_1m_5m_15m_at_end"] = [round(x, 2) for x in os.getloadavg()]
    print(json.dumps(out, indent=2))
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
