"""Federation: end-to-end lag from a write on a state node to its arrival on the national node, and sync throughput.

    .venv/bin/python bench/federation_lag.py                         # both nodes on SQLite
    .venv/bin/python bench/federation_lag.py --database-url postgresql+psycopg://postgres@127.0.0.1:5432/
    .venv/bin/python bench/federation_lag.py --rate 20 --seconds 30 --interval 0.5 --bulk 20000

Two real node processes (``jaldpi serve``) on fresh databases — the national node on PostgreSQL when
``--database-url`` is given, the state node (S28) on SQLite — plus the state's sync worker
(``jaldpi federation sync --loop --interval``), exactly as in production, on this one machine.

1. **Lag**: for ``--seconds`` the client creates households on the state node through its API at ``--rate`` per
   second (one POST each). Lag of a change = its ingestion time on the national node minus its event time on the
   state node, both read from the national node's change log (the replicated entry keeps the origin's event time),
   so no polling error enters the figure. Reported: p50, p95, p99, max in seconds.
2. **Throughput**: one bulk POST of ``--bulk`` households on the state node; the clock runs from the bulk's response
   (committed on the state node) to the moment the national node's change log holds all of them (polled in SQL
   every 0.1 s); changes/s = bulk / seconds.

The run is clean only if every write arrived exactly once (counted in SQL on the national node); otherwise exit 1.
Prints one JSON object on stdout.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import sys
import tempfile
import time
from pathlib import Path

import httpx
import orjson
from sqlalchemy import create_engine, text

sys.path.insert(0, str(Path(__file__).resolve().parent))

import benchlib  # noqa: E402
from bulk_households import make_records  # noqa: E402

from jaldpi.federation.localnet import LocalNode, register_peers  # noqa: E402


def log(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


def arrived(engine) -> int:
    with engine.connect() as conn:
        return conn.execute(text("SELECT COUNT(*) FROM change_log WHERE origin_node = 'state-28' "
                                 "AND record_type = 'households'")).scalar_one()


def lags(engine, since_seq: int) -> list[float]:
    out = []
    with engine.connect() as conn:
        for (payload,) in conn.execute(text(
                "SELECT payload FROM change_log WHERE origin_node = 'state-28' "
                "AND record_type = 'households' AND seq > :s"), {"s": since_seq}):
            body = orjson.loads(payload)  # the hashed payload: ingestion time and the origin's event time
            ingested = dt.datetime.fromisoformat(body["occurred_at"])
            out.append((ingested - dt.datetime.fromisoformat(body["origin"]["event_time"])).total_seconds())
    return sorted(out)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--database-url", help="PostgreSQL server URL for the national node (default: SQLite)")
    parser.add_argument("--rate", type=float, default=20.0, help="single writes per second on the state node")
    parser.add_argument("--seconds", type=float, default=30.0, help="duration of the lag phase")
    parser.add_argument("--interval", type=float, default=0.5, help="sync worker pause between rounds (s)")
    parser.add_argument("--bulk", type=int, default=20_000, help="households in the throughput phase")
    parser.add_argument("--batch", type=int, default=500, help="changes per signed message")
    parser.add_argument("--villages", type=int, default=50)
    args = parser.parse_args()

    backend = "postgresql" if args.database_url else "sqlite"
    pg_base = args.database_url or benchlib.DEFAULT_PG
    with benchlib.bench_database(backend, "fed_national", pg_base=pg_base) as national_db, \
            benchlib.bench_database("sqlite", "fed_state") as state_db, \
            tempfile.TemporaryDirectory(prefix="jaldpi_fedbench_") as work:
        env = {"JALDPI_FEDERATION_BATCH_SIZE": str(args.batch), "JALDPI_GC_FIRST_THRESHOLD": "50000"}
        national = LocalNode("national", "national", national_db.url, Path(work) / "national", extra_env=env)
        state = LocalNode("state-28", "state", state_db.url, Path(work) / "s28", jurisdiction="S28",
                          extra_env=env)
        facts = benchlib.machine(national_db.url)
        try:
            for node in (national, state):
                node.prepare()
                node.start_server(wait=False)
            for node in (national, state):
                node.wait_until_serving()
            register_peers(national, state)
            r = national.api("POST", "/api/v1/admin_units/bulk", json=benchlib.world_units(args.villages))
            r.raise_for_status()
            state.start_worker(interval=args.interval)
            deadline = time.monotonic() + 120
            while state.api("GET", "/api/v1/admin_units", params={"level": "village", "total": "true",
                                                                  "limit": 1}).json()["total"] < args.villages:
                if time.monotonic() > deadline:
                    raise SystemExit("the state node did not pull the LGD units within 120 s")
                time.sleep(0.2)
            nat = create_engine(national_db.url)
            villages = benchlib.village_codes(args.villages)

            # 1. lag of single writes at a steady rate
            log(f"lag phase: {args.rate}/s for {args.seconds} s")
            records = make_records(int(args.rate * args.seconds), villages, seed=5, external_ids=False)
            with httpx.Client(base_url=state.url, headers=state.headers(), timeout=60) as client:
                start = time.monotonic()
                for i, record in enumerate(records):
                    wait = start + i / args.rate - time.monotonic()
                    if wait > 0:
                        time.sleep(wait)
                    client.post("/api/v1/households", json=record).raise_for_status()
            deadline = time.monotonic() + 120
            while arrived(nat) < len(records) and time.monotonic() < deadline:
                time.sleep(0.1)
            single = lags(nat, 0)
            if len(single) != len(records):
                log(f"lag phase: {len(single)} of {len(records)} arrived")
                return 1
            with nat.connect() as conn:
                head = conn.execute(text("SELECT MAX(seq) FROM change_log")).scalar_one()

            # 2. throughput of a bulk push
            log(f"throughput phase: {args.bulk} households in one bulk import on the state node")
            bulk = make_records(args.bulk, villages, seed=6, external_ids=False)
            r = state.api("POST", "/api/v1/households/bulk", json=bulk, params={"strategy": "create"})
            r.raise_for_status()
            t0 = time.monotonic()
            expected = len(records) + args.bulk
            deadline = t0 + 600
            while arrived(nat) < expected and time.monotonic() < deadline:
                time.sleep(0.1)
            seconds = time.monotonic() - t0
            total = arrived(nat)
            bulk_lags = lags(nat, head)
            nat.dispose()
        finally:
            national.stop()
            state.stop()
    clean = total == expected
    result = {
        "benchmark": "federation_lag", "national_backend": backend, "state_backend": "sqlite",
        "sync_interval_s": args.interval, "batch": args.batch,
        "lag": {"writes": len(records), "rate_per_s": args.rate,
                "p50_s": round(benchlib.percentile(single, 50), 3), "p95_s": round(benchlib.percentile(single, 95), 3),
                "p99_s": round(benchlib.percentile(single, 99), 3), "max_s": round(single[-1], 3)},
        "bulk": {"changes": args.bulk, "seconds_to_arrive": round(seconds, 2),
                 "changes_per_s": round(args.bulk / seconds, 1),
                 "lag_p50_s": round(benchlib.percentile(bulk_lags, 50), 2),
                 "lag_max_s": round(bulk_lags[-1], 2) if bulk_lags else None},
        "arrived_exactly_once": clean, "machine": facts,
    }
    print(json.dumps(result, indent=2))
    return 0 if clean else 1


if __name__ == "__main__":
    raise SystemExit(main())
