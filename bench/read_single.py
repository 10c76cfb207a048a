"""Single-record reads against a real server process: GET /api/v1/households/{id} and /api/v1/admin_units/{id}.

    .venv/bin/python bench/read_single.py                       # PostgreSQL, 8 client threads
    .venv/bin/python bench/read_single.py --backend sqlite
    .venv/bin/python bench/read_single.py --workers 16 --requests 10000 --duration 30

Per endpoint: a warm-up, then a measured phase bounded by --requests and --duration (whichever comes first) with a
fixed number of client threads, each with its own keep-alive connection. Prints one JSON object on stdout.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import resource
import sys
import threading
import time
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent))

import benchlib  # noqa: E402
from bulk_households import make_records  # noqa: E402


def log(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


def seed_households(url: str, villages: int, n: int) -> list[str]:
    from jaldpi.core.db import Database
    from jaldpi.core.registry import Strategy
    from jaldpi.registries import build_catalogue

    db = Database(url)
    catalogue = build_catalogue(benchlib.settings_for(url))
    ids: list[str] = []
    records = make_records(n, benchlib.village_codes(villages), seed=7, external_ids=False)
    try:
        for start in range(0, n, 5000):
            with db.unit_of_work() as session:
                summary = catalogue["households"].import_records(session, benchlib.ROOT, records[start:start + 5000],
                                                                 strategy=Strategy.create)
                if summary.status != "ok":
                    raise SystemExit(f"seeding households failed: {summary.to_dict()}")
                ids += [str(r.id) for r in summary.rows]
    finally:
        db.dispose()
    return ids


def hammer(base: str, headers: dict[str, str], paths: list[str], *, workers: int, max_requests: int,
           max_seconds: float, seed: int) -> dict:
    """``workers`` threads GET random paths until ``max_requests`` were sent or ``max_seconds`` passed."""
    lock = threading.Lock()
    budget = [max_requests]
    latencies: list[float] = []
    statuses: dict[str, int] = {}
    deadline = time.perf_counter() + max_seconds

    def worker(k: int) -> None:
        rng = random.Random(seed + k)
        mine: list[float] = []
        codes: dict[str, int] = {}
        with httpx.Client(base_url=base, headers=headers, timeout=30.0) as client:
            while time.perf_counter() < deadline:
                with lock:
                    if budget[0] <= 0:
                        break
                    budget[0] -= 1
                path = rng.choice(paths)
                t0 = time.perf_counter()
                try:
                    status = str(client.get(path).status_code)
                except httpx.HTTPError as exc:
                    status = type(exc).__name__
                mine.append(time.perf_counter() - t0)
                codes[status] = codes.get(status, 0) + 1
        with lock:
            latencies.extend(mine)
            for c, n in codes.items():
                statuses[c] = statuses.get(c, 0) + n

    threads = [threading.Thread(target=worker, args=(k,)) for k in range(workers)]
    t0 = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    wall = time.perf_counter() - t0
    lat = sorted(latencies)
    ms = lambda v: round(v * 1000, 2) if v is not None else None  # noqa: E731
    ok = statuses.get("200", 0)
    return {
        "requests": len(lat), "ok": ok, "errors": len(lat) - ok, "status_counts": statuses,
        "seconds": round(wall, 3), "requests_per_s": round(len(lat) / wall, 1) if wall else None,
        "ok_per_s": round(ok / wall, 1) if wall else None,
        "latency_ms": {"p50": ms(benchlib.percentile(lat, 50)), "p95": ms(benchlib.percentile(lat, 95)),
                       "p99": ms(benchlib.percentile(lat, 99)), "mean": ms(sum(lat) / len(lat)) if lat else None,
                       "max": ms(lat[-1]) if lat else None},
    }


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--backend", default="postgresql", choices=["postgresql", "sqlite"])
    p.add_argument("--workers", type=int, default=8, help="concurrent client threads")
    p.add_argument("--requests", type=int, default=5000, help="measured requests per endpoint (upper bound)")
    p.add_argument("--duration", type=float, default=30.0, help="measured seconds per endpoint (upper bound)")
    p.add_argument("--warmup", type=int, default=300, help="warm-up requests per endpoint (not measured)")
    p.add_argument("--households", type=int, default=5000, help="households seeded to read from")
    p.add_argument("--villages", type=int, default=50)
    p.add_argument("--role", default="partner_system", choices=["partner_system", "state_official"],
                   help="state_official may read personal data in clear: every household read then writes an "
                        "access-log row in its own transaction")
    p.add_argument("--server-workers", type=int, default=1, help="uvicorn --workers")
    p.add_argument("--endpoints", default="households,admin_units")
    p.add_argument("--pg-url", default=benchlib.DEFAULT_PG)
    p.add_argument("--keep-db", action="store_true")
    args = p.parse_args()
    if args.workers < 1 or args.requests < 1 or args.duration <= 0:
        raise SystemExit("--workers, --requests and --duration must be positive")

    username = "bench-reader"
    kind = "system" if args.role == "partner_system" else "person"
    with benchlib.bench_database(args.backend, "read", pg_base=args.pg_url, keep=args.keep_db) as bdb:
        unit_ids = benchlib.build_world(bdb.url, args.villages, username=username, role=args.role, kind=kind)
        household_ids = seed_households(bdb.url, args.villages, args.households)
        log(f"{args.backend}: world of {len(unit_ids)} units and {len(household_ids)} households ready")
        facts = benchlib.machine(bdb.url)
        paths = {"households": [f"/api/v1/households/{i}" for i in household_ids],
                 "admin_units": [f"/api/v1/admin_units/{i}" for i in unit_ids.values()]}
        results = {}
        info: dict = {}
        with benchlib.server(bdb.url, workers=args.server_workers, info=info) as base:
            headers = benchlib.token(base, username, kind)
            for name in args.endpoints.split(","):
                hammer(base, headers, paths[name], workers=args.workers, max_requests=args.warmup,
                       max_seconds=30.0, seed=1)
                cpu_server0 = benchlib.process_cpu_seconds(info["pid"])
                ru0 = resource.getrusage(resource.RUSAGE_SELF)
                log(f"measuring {name} ...")
                res = hammer(base, headers, paths[name], workers=args.workers, max_requests=args.requests,
                             max_seconds=args.duration, seed=2)
                ru1 = resource.getrusage(resource.RUSAGE_SELF)
                res["server_cpu_seconds"] = round(benchlib.process_cpu_seconds(info["pid"]) - cpu_server0, 2)
                res["client_cpu_seconds"] = round((ru1.ru_utime - ru0.ru_utime) + (ru1.ru_stime - ru0.ru_stime), 2)
                res["records_in_pool"] = len(paths[name])
                results[name] = res
                log(f"  {name}: {res['requests_per_s']} req/s, p50 {res['latency_ms']['p50']} ms")
        if args.role == "state_official" and args.backend == "postgresql":
            import psycopg
            with psycopg.connect("postgresql://" + bdb.url.split("://", 1)[1]) as conn:
                facts["personal_data_access_log_rows"] = conn.execute(
                    "SELECT count(*) FROM personal_data_access_log").fetchone()[0]

    out = {
        "benchmark": "read_single",
        "backend": args.backend,
        "client_workers": args.workers,
        "client": "httpx.Client per thread (keep-alive), same machine as the server",
        "server": f"uvicorn --workers {args.server_workers} (httptools + uvloop), jaldpi.app:create_app --factory",
        "role": args.role,
        "max_requests_per_endpoint": args.requests,
        "max_seconds_per_endpoint": args.duration,
        "warmup_requests": args.warmup,
        "endpoints": {f"GET /api/v1/{k}/{{id}}": v for k, v in results.items()},
        "machine": facts,
    }
    out["machine"]["loadavg_1m_5m_15m_at_end"] = [round(x, 2) for x in os.getloadavg()]
    print(json.dumps(out, indent=2))
    if any(r["errors"] for r in results.values()):
        sys.exit(1)


if __name__ == "__main__":
    main()
