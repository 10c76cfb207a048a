"""Change-feed read throughput: the whole feed through ``GET /api/v1/changes`` over real HTTP, page by page.

    .venv/bin/python bench/feed_throughput.py                                   # SQLite, 50,000 households
    .venv/bin/python bench/feed_throughput.py --database-url postgresql+psycopg://postgres@127.0.0.1:5432/
    .venv/bin/python bench/feed_throughput.py --changes 100000 --limit 500 --role node_admin
    .venv/bin/python bench/feed_throughput.py --types households              # with a type filter

Seeds ``--changes`` household creations through the one write path (``import_records``, in-process, 10,000 per unit
of work), starts a real uvicorn process, then one client (httpx, keep-alive, pages parsed with orjson) reads the
feed from the beginning to the end with ``limit`` items per page, as the account's scope allows (``partner_system``
over the state: the scoped query; ``node_admin``: everything). PostgreSQL gets an ``ANALYZE change_log`` after the
seeding, as autovacuum would. The clock runs from the first request to the last response; a first full read warms
up and is not counted. The run is clean only if every response was 200, seqs strictly increase, and the number of
items equals the number of change-log rows the reader may see (counted in SQL); otherwise the exit code is 1.
Prints one JSON object on stdout: {"changes", "seconds", "changes_per_s", "backend", ...}.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import sys
import time
from pathlib import Path

import httpx
import orjson

sys.path.insert(0, str(Path(__file__).resolve().parent))

import benchlib  # noqa: E402
from bulk_households import make_records  # noqa: E402


def log(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


def seed(url: str, villages: int, n: int) -> float:
    """Create ``n`` households through the registry's write path; returns the seconds it took."""
    from jaldpi.core.db import Database
    from jaldpi.core.registry import Strategy
    from jaldpi.registries import build_catalogue

    db = Database(url)
    catalogue = build_catalogue(benchlib.settings_for(url))
    records = make_records(n, benchlib.village_codes(villages), seed=11, external_ids=False)
    t0 = time.perf_counter()
    try:
        for start in range(0, n, 10_000):
            with db.unit_of_work() as session:
                summary = catalogue["households"].import_records(session, benchlib.ROOT,
                                                                 records[start:start + 10_000],
                                                                 strategy=Strategy.create)
                if summary.status != "ok":
                    raise SystemExit(f"seeding failed: {summary.to_dict()}")
        seconds = time.perf_counter() - t0
        if db.dialect == "postgresql":  # planner statistics, as autovacuum would gather after a bulk load
            with db.engine.connect() as conn:
                conn.exec_driver_sql("ANALYZE change_log")
                conn.commit()
    finally:
        db.dispose()
    return seconds


def expected_count(url: str, username: str, types: list[str] | None) -> int:
    """Change-log rows the reader may see, counted in SQL with the feed's own visibility rule."""
    from sqlalchemy import func, select

    from jaldpi.accounts.models import Account
    from jaldpi.core.changelog import ChangeRecord
    from jaldpi.core.db import Database
    from jaldpi.core.feed import visibility_clause
    from jaldpi.core.security import Grant, Principal
    from jaldpi.registries import build_catalogue, feed_types
    from jaldpi.standard.codelists import role_permissions

    db = Database(url)
    try:
        with db.unit_of_work(write=False) as session:
            account = session.execute(select(Account).where(Account.username == username)).scalar_one()
            reader = Principal(username, account.kind, tuple(Grant(g.role, g.lgd_path) for g in account.grants),
                               role_permissions())
            visible = visibility_clause(feed_types(build_catalogue(benchlib.settings_for(url))), reader, types)
            if visible is None:
                return 0
            return session.execute(select(func.count()).select_from(ChangeRecord).where(visible)).scalar_one()
    finally:
        db.dispose()


def read_feed(base: str, headers: dict[str, str], *, limit: int, types: str | None) -> dict:
    pages, items, size, statuses, last_seq, ordered = 0, 0, 0, {}, 0, True
    latencies: list[float] = []
    params = {"limit": str(limit)} | ({"types": types} if types else {})
    with httpx.Client(base_url=base, headers=headers, timeout=60.0) as client:
        t0 = time.perf_counter()
        after = None
        while True:
            t = time.perf_counter()
            response = client.get("/api/v1/changes", params=params | ({"after": after} if after else {}))
            latencies.append(time.perf_counter() - t)
            statuses[str(response.status_code)] = statuses.get(str(response.status_code), 0) + 1
            if response.status_code != 200:
                break
            size += len(response.content)
            page = orjson.loads(response.content)
            pages += 1
            for item in page["items"]:
                ordered = ordered and item["seq"] > last_seq
                last_seq = item["seq"]
            items += len(page["items"])
            if not page["has_more"]:
                break
            after = page["next_cursor"]
        seconds = time.perf_counter() - t0
    lat = sorted(latencies)
    ms = lambda v: round(v * 1000, 2) if v is not None else None  # noqa: E731
    return {"changes": items, "pages": pages, "seconds": round(seconds, 3),
            "changes_per_s": round(items / seconds, 1) if seconds else None, "bytes": size,
            "ordered": ordered, "status_counts": statuses,
            "page_latency_ms": {"p50": ms(benchlib.percentile(lat, 50)), "p95": ms(benchlib.percentile(lat, 95)),
                                "max": ms(lat[-1]) if lat else None}}


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--backend", default=None, choices=["sqlite", "postgresql"],
                   help="default: sqlite, or postgresql when --database-url is given")
    p.add_argument("--database-url", default=None,
                   help="PostgreSQL server URL (postgresql+psycopg://user@host:port/); a fresh database "
                        "jaldpi_bench_feed_<hex> is created there and dropped afterwards")
    p.add_argument("--changes", type=int, default=50_000, help="household creations to seed")
    p.add_argument("--limit", type=int, default=500, help="page size asked for (the node caps it at 500)")
    p.add_argument("--types", default=None, help="comma-separated record types to filter on")
    p.add_argument("--role", default="partner_system", choices=["partner_system", "node_admin"])
    p.add_argument("--villages", type=int, default=50)
    p.add_argument("--keep-db", action="store_true")
    args = p.parse_args()
    if args.changes < 1 or args.limit < 1:
        raise SystemExit("--changes and --limit must be positive")
    backend = args.backend or ("postgresql" if args.database_url else "sqlite")
    pg_base = args.database_url or benchlib.DEFAULT_PG

    username, kind = "bench-feed-reader", "system" if args.role == "partner_system" else "person"
    with benchlib.bench_database(backend, "feed", pg_base=pg_base, keep=args.keep_db) as bdb:
        benchlib.build_world(bdb.url, args.villages, username=username, role=args.role, kind=kind)
        seed_seconds = seed(bdb.url, args.villages, args.changes)
        types = [t for t in args.types.split(",") if t] if args.types else None
        expected = expected_count(bdb.url, username, types)
        log(f"{backend}: {args.changes} households seeded in {seed_seconds:.1f} s; {expected} changes visible")
        facts = benchlib.machine(bdb.url)
        info: dict = {}
        with benchlib.server(bdb.url, info=info) as base:
            headers = benchlib.token(base, username, kind)
            read_feed(base, headers, limit=args.limit, types=args.types)  # warm-up: page cache, code paths
            log("measuring ...")
            server_cpu0 = benchlib.process_cpu_seconds(info["pid"])
            ru0 = resource.getrusage(resource.RUSAGE_SELF)
            result = read_feed(base, headers, limit=args.limit, types=args.types)
            ru1 = resource.getrusage(resource.RUSAGE_SELF)
            server_cpu = benchlib.process_cpu_seconds(info["pid"]) - server_cpu0
        client_cpu = (ru1.ru_utime - ru0.ru_utime) + (ru1.ru_stime - ru0.ru_stime)
        # One client asks page after page, so server and client take turns: on an idle machine the wall time
        # approaches their CPU time (plus PostgreSQL's, in its own processes). On a busy one it does not.
        result["server_cpu_seconds"] = round(server_cpu, 3)
        result["client_cpu_seconds"] = round(client_cpu, 3)
        result["changes_per_server_cpu_s"] = round(result["changes"] / server_cpu, 1) if server_cpu else None
        result["changes_per_cpu_s_server_and_client"] = (round(result["changes"] / (server_cpu + client_cpu), 1)
                                                         if server_cpu + client_cpu else None)
        log(f"  {result['changes']} changes in {result['seconds']} s: {result['changes_per_s']} changes/s")

    clean = result["changes"] == expected and result["ordered"] and set(result["status_counts"]) == {"200"}
    out = {"benchmark": "feed_throughput", "backend": backend, **result, "expected_changes": expected,
           "clean": clean, "limit": args.limit, "types": args.types, "reader_role": args.role,
           "seeded_households": args.changes, "seed_seconds": round(seed_seconds, 1),
           "client": "one httpx.Client (keep-alive), pages parsed with orjson, same machine as the server",
           "server": "uvicorn --workers 1 (httptools + uvloop), jaldpi.app:create_app --factory",
           "goal_changes_per_s": 10_000, "machine": facts}
    out["machine"]["loadavg_1m_5m_15m_at_end"] = [round(x, 2) for x in os.getloadavg()]
    print(json.dumps(out, indent=2))
    if not clean:
        sys.exit(1)


if __name__ == "__main__":
    main()
