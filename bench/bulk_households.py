"""Bulk household import through the HTTP API into PostgreSQL, next to a raw COPY of equivalent rows.

    .venv/bin/python bench/bulk_households.py                       # 100,000 records, 10,000 per request
    .venv/bin/python bench/bulk_households.py --records 20000 --batch-size 5000
    .venv/bin/python bench/bulk_households.py --profile --records 20000   # in-process, under cProfile

Prints one JSON object on stdout (progress goes to stderr). See bench/README.md.
"""

from __future__ import annotations

import argparse
import cProfile
import datetime as dt
import io
import json
import os
import pstats
import random
import sys
import threading
import time
from pathlib import Path

import httpx
import orjson
import psycopg

sys.path.insert(0, str(Path(__file__).resolve().parent))

import benchlib  # noqa: E402

from jaldpi.core import changelog  # noqa: E402
from jaldpi.core.ids import mint_code, new_id  # noqa: E402
from jaldpi.core.registry import _jsonable, _snapshot  # noqa: E402
from jaldpi.people.personal_data import HouseholdPersonalStore  # noqa: E402

GOAL = 25_000
FIRST = ["Ramesh", "Sita", "Lakshmi", "Venkata", "Anil", "Padma", "Suresh", "Kavita", "Ravi", "Meena", "Srinivas",
         "Durga", "Prakash", "Anjali", "Naresh", "Jyothi"]
LAST = ["Reddy", "Naidu", "Rao", "Kumar", "Devi", "Sharma", "Chowdary", "Babu", "Yadav", "Prasad"]
CATEGORIES = ["sc", "st", "obc", "general", "other"]


def log(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


# ------------------------------------------------------------------------------------------------ data

def make_records(n: int, villages: list[int], *, seed: int, external_ids: bool) -> list[dict]:
    rng = random.Random(seed)
    out = []
    for i in range(n):
        tap = rng.random() < 0.8
        rec = {
            "village": rng.choice(villages),
            "members_count": rng.randint(1, 12),
            "social_category": rng.choice(CATEGORIES),
            "has_tap_connection": tap,
            "head_name": f"{rng.choice(FIRST)} {rng.choice(LAST)}",
            "phone": f"{rng.choice('6789')}{rng.randrange(10 ** 9):09d}",
        }
        if tap:
            rec["connected_on"] = (dt.date(2019, 8, 15) + dt.timedelta(days=rng.randrange(2000))).isoformat()
        if external_ids:
            rec["external_ids"] = {"state_mis": f"MIS-{seed}-{i:08d}"}
        out.append(rec)
    return out


def ndjson(records: list[dict]) -> bytes:
    return b"".join(orjson.dumps(r) + b"\n" for r in records)


# ------------------------------------------------------------------------------------------------ API run

def run_api(base: str, headers: dict[str, str], bodies: list[bytes], batch_sizes: list[int], *, strategy: str,
            concurrency: int, timeout: float) -> dict:
    results: list[dict | None] = [None] * len(bodies)
    next_index = iter(range(len(bodies)))
    lock = threading.Lock()

    def worker() -> None:
        with httpx.Client(base_url=base, headers={**headers, "Content-Type": "application/x-ndjson"},
                          timeout=timeout) as client:
            while True:
                with lock:
                    i = next(next_index, None)
                if i is None:
                    return
                t0 = time.perf_counter()
                try:
                    r = client.post("/api/v1/households/bulk", params={"strategy": strategy}, content=bodies[i])
                    body = r.json() if r.headers.get("content-type", "").startswith("application/json") else {}
                    results[i] = {"status": r.status_code, "seconds": time.perf_counter() - t0,
                                  "created": body.get("stats", {}).get("created", 0),
                                  "errors": body.get("stats", {}).get("errors"),
                                  "first_error": (body.get("rows") or [None])[0] or body.get("error")}
                except httpx.HTTPError as exc:
                    results[i] = {"status": None, "seconds": time.perf_counter() - t0, "created": 0,
                                  "errors": batch_sizes[i], "first_error": repr(exc)}
                log(f"  batch {i + 1}/{len(bodies)}: HTTP {results[i]['status']} in {results[i]['seconds']:.2f} s")

    t0 = time.perf_counter()
    threads = [threading.Thread(target=worker) for _ in range(max(1, concurrency))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    wall = time.perf_counter() - t0
    done = [r for r in results if r is not None]
    failed = [r for r in done if r["status"] != 200]
    return {
        "seconds": wall,
        "requests": len(done),
        "failed_requests": len(failed),
        "first_failure": failed[0] if failed else None,
        "created_reported": sum(r["created"] for r in done),
        "request_seconds": sorted(round(r["seconds"], 3) for r in done),
    }


def db_counts(url: str, actor: str) -> dict:
    with psycopg.connect(libpq(url)) as conn:
        q = lambda sql: conn.execute(sql, (actor,) if "%s" in sql else None).fetchone()[0]  # noqa: E731
        return {
            "households": q("SELECT count(*) FROM households WHERE created_by = %s"),
            "change_log": q("SELECT count(*) FROM change_log WHERE record_type = 'households' AND actor = %s"),
            "household_personal_data": q("SELECT count(*) FROM household_personal_data p JOIN households h "
                                         "ON h.id = p.household_id WHERE h.created_by = %s"),
            "external_ids": q("SELECT count(*) FROM external_ids e JOIN households h ON h.id = e.record_id "
                              "WHERE e.record_type = 'households' AND h.created_by = %s"),
        }


def libpq(url: str) -> str:
    return "postgresql://" + url.split("://", 1)[1]


# ------------------------------------------------------------------------------------------------ COPY baseline

HH_COLS = ("id", "code", "version", "lgd_path", "created_at", "updated_at", "created_by", "updated_by",
           "source_system", "deleted_at", "village_id", "habitation_id", "members_count", "social_category",
           "has_tap_connection", "connected_on", "is_exempted")
CL_COLS = ("record_type", "record_id", "operation", "version", "actor", "source_system", "occurred_at", "lgd_path",
           "payload", "prev_hash", "hash")
PD_COLS = ("household_id", "ciphertext", "identity_hash", "updated_at")
EX_COLS = ("record_type", "record_id", "system", "value")


def baseline_rows(records: list[dict], village_rows: dict[int, tuple], pii_key: str, actor: str, source: str
                  ) -> dict[str, list[tuple]]:
    """Rows equivalent to what the API writes for ``records``: same columns, same value shapes and sizes (change-log
    payloads in the same canonical JSON, personal data AES-GCM-encrypted with the node's key), new ids and codes."""
    store = HouseholdPersonalStore(pii_key, "bench-identity-key")
    now = dt.datetime.now(dt.UTC)
    hh, cl, pd, ex = [], [], [], []
    prev = "f" * 64
    for r in records:
        rid = new_id()
        code = mint_code("HHB", rid)
        vid, path = village_rows[r["village"]]
        connected = dt.date.fromisoformat(r["connected_on"]) if r.get("connected_on") else None
        row = dict(zip(HH_COLS, (rid, code, 1, path, now, now, actor, actor, source, None, vid, None,
                                 r["members_count"], r["social_category"], r["has_tap_connection"], connected,
                                 False), strict=True))
        hh.append(tuple(row.values()))
        data = {k: v for k, v in row.items() if k in ("village_id", "members_count", "social_category",
                                                      "has_tap_connection", "connected_on", "is_exempted",
                                                      "habitation_id") and v is not None}
        change = changelog.PendingChange("households", rid, "create", 1, actor, source, now, path, _snapshot(row),
                                         {k: [None, _jsonable(v)] for k, v in data.items()}
                                         | {"personal_data": ["head_name", "phone"]})
        payload = changelog.payload_of(change)
        digest = changelog.chain_hash(prev, payload)
        cl.append(("households", rid, "create", 1, actor, source, now, path, payload, prev, digest))
        prev = digest
        pd.append((rid, store.encrypt(rid, {"head_name": r["head_name"], "phone": r["phone"]}), None, now))
        if r.get("external_ids"):
            for system, value in r["external_ids"].items():
                ex.append(("households", rid, system, value + "-B"))
    return {"households": hh, "change_log": cl, "household_personal_data": pd, "external_ids": ex}


def run_copy(url: str, rows: dict[str, list[tuple]], batch_size: int) -> tuple[float, dict[str, float]]:
    """COPY the rows in batches of ``batch_size`` records, one transaction per batch (as the API commits per request);
    the timed part is only the COPYs and commits."""
    cols = {"households": HH_COLS, "change_log": CL_COLS, "household_personal_data": PD_COLS,
            "external_ids": EX_COLS}
    n = len(rows["households"])
    ex_by_batch: list[list[tuple]] = [[] for _ in range(0, n, batch_size)]
    pos = {r[0]: i // batch_size for i, r in enumerate(rows["households"])}
    for e in rows["external_ids"]:
        ex_by_batch[pos[e[1]]].append(e)
    per_table = {t: 0.0 for t in (*cols, "commit")}
    with psycopg.connect(libpq(url)) as conn:
        t0 = time.perf_counter()
        for b, start in enumerate(range(0, n, batch_size)):
            with conn.cursor() as cur:
                for table in ("households", "household_personal_data", "external_ids", "change_log"):
                    chunk = ex_by_batch[b] if table == "external_ids" else rows[table][start:start + batch_size]
                    if not chunk:
                        continue
                    t1 = time.perf_counter()
                    col_sql = ", ".join(f'"{c}"' for c in cols[table])
                    with cur.copy(f'COPY "{table}" ({col_sql}) FROM STDIN') as copy:
                        for row in chunk:
                            copy.write_row(row)
                    per_table[table] += time.perf_counter() - t1
            t1 = time.perf_counter()
            conn.commit()
            per_table["commit"] += time.perf_counter() - t1
        return time.perf_counter() - t0, {k: round(v, 3) for k, v in per_table.items()}


def village_map(url: str) -> dict[int, tuple]:
    with psycopg.connect(libpq(url)) as conn:
        return {code: (vid, path) for code, vid, path in conn.execute(
            "SELECT lgd_code, id, lgd_path FROM admin_units WHERE level = 'village'")}


# ------------------------------------------------------------------------------------------------ profile

def run_profile(args, bdb: benchlib.BenchDB, records: list[dict], top: int) -> dict:
    """The endpoint's work, in-process and in one thread (so that cProfile sees all of it): parse the NDJSON body,
    import_records inside a unit of work (seal + commit), render the summary. Starlette/uvicorn are not included."""
    from jaldpi.app import create_app
    from jaldpi.core.api import _bulk_in_uow
    from jaldpi.core.bulkparse import parse_body
    from jaldpi.core.registry import Strategy
    from jaldpi.core.security import Grant, Principal

    app = create_app(benchlib.settings_for(bdb.url))
    node = app.state.node
    registry = node.catalogue["households"]
    principal = Principal(args.username, "system", (Grant(args.role, f"/S{benchlib.STATE}/"),),
                          node.role_permissions, source_system="bench-state-mis")
    bodies = [ndjson(records[i:i + args.batch_size]) for i in range(0, len(records), args.batch_size)]

    def one_batch(raw: bytes) -> int:
        items = parse_body("application/x-ndjson", raw, registry.spec.schema)
        summary = _bulk_in_uow(node, registry, principal, items, Strategy(args.strategy), True, False)
        orjson.dumps(summary.to_dict())
        return summary.stats()["created"]

    # 1. phases without a profiler: wall-clock timers around the few coarse steps (called a few times per batch,
    #    so the timers cost nothing measurable). The same bodies are imported again in step 2 (new ids each time).
    one_batch(bodies[0])  # warm-up: imports, statement caches, first connection (not counted)
    phases, created_plain, plain_wall = _timed_phases(lambda: [one_batch(raw) for raw in bodies],
                                                      registry.spec.schema)
    log(f"phases (no profiler): {len(records) / plain_wall:.0f} records/s in-process")
    if args.phases_only:
        node.db.dispose()
        return {"benchmark": "bulk_households_phases", "records": len(records), "batch_size": args.batch_size,
                "unprofiled_seconds": round(plain_wall, 3),
                "unprofiled_records_per_s": round(len(records) / plain_wall, 1),
                "unprofiled_created": sum(created_plain), "phases_unprofiled": phases}

    profiler = cProfile.Profile()
    created = 0
    t0 = time.perf_counter()
    profiler.enable()
    for raw in bodies:
        created += one_batch(raw)
    profiler.disable()
    wall = time.perf_counter() - t0
    node.db.dispose()
    if args.profile_out:
        profiler.dump_stats(args.profile_out)
    stats = pstats.Stats(profiler)
    total = stats.total_tt  # type: ignore[attr-defined]

    def rows(key: str) -> list[dict]:
        entries = []
        for (file, line, fn), (_cc, nc, tt, ct, _callers) in stats.stats.items():  # type: ignore[attr-defined]
            entries.append({"function": f"{_short(file)}:{line}({fn})", "calls": nc, "tottime_s": round(tt, 3),
                            "cumtime_s": round(ct, 3), "cum_share": round(ct / wall, 3),
                            "tot_share": round(tt / wall, 3)})
        entries.sort(key=lambda e: e[key], reverse=True)
        return entries[:top]

    buf = io.StringIO()
    pstats.Stats(profiler, stream=buf).sort_stats("cumulative").print_stats(top)
    log(buf.getvalue())
    return {
        "benchmark": "bulk_households_profile",
        "records": len(records), "created": created, "batch_size": args.batch_size,
        "unprofiled_seconds": round(plain_wall, 3),
        "unprofiled_records_per_s": round(len(records) / plain_wall, 1),
        "unprofiled_created": sum(created_plain),
        "phases_unprofiled": phases,
        "profiled_seconds": round(wall, 3), "records_per_s_under_profiler": round(len(records) / wall, 1),
        "profiler_total_tt": round(total, 3),
        "note": "in-process, one thread, cProfile overhead included; excludes HTTP/uvicorn; shares are of wall time",
        "top_cumulative": rows("cumtime_s"),
        "top_self": rows("tottime_s"),
    }


def _timed_phases(run, schema=None) -> tuple[dict, object, float]:
    """Run ``run()`` with wall-clock timers patched around the coarse steps of a bulk import; returns
    ({phase: {seconds, share}}, run's result, wall seconds). Nested phases are reported exclusive of their children."""
    from sqlalchemy.orm import Session

    from jaldpi.core import api as api_mod
    from jaldpi.core import bulkparse
    from jaldpi.core import changelog as cl_mod
    from jaldpi.core import registry as reg_mod
    from jaldpi.people import personal_data as pd_mod

    totals: dict[str, float] = {}
    stack: list[list] = []  # [name, start, child_time]

    def timed(name_of, fn):
        def wrapper(*a, **kw):
            name = name_of(a, kw)
            stack.append([name, time.perf_counter(), 0.0])
            try:
                return fn(*a, **kw)
            finally:
                n, t0, child = stack.pop()
                spent = time.perf_counter() - t0
                totals[n] = totals.get(n, 0.0) + spent - child
                if stack:
                    stack[-1][2] += spent
        return wrapper

    patches = []

    def patch(obj, attr, name_of):
        orig = getattr(obj, attr)
        patches.append((obj, attr, orig))
        setattr(obj, attr, timed(name_of if callable(name_of) else (lambda a, kw, n=name_of: n), orig))

    bulk_name = lambda a, kw: f"COPY {a[1].name}"  # noqa: E731
    for mod in (reg_mod, cl_mod, pd_mod):
        patch(mod, "bulk_insert", bulk_name)
    patch(api_mod, "_bulk_in_uow", "unit of work: other (begin, savepoint, close)")
    patch(bulkparse, "parse_ndjson", "parse NDJSON body")
    patch(reg_mod.Registry, "import_records", "import_records: other Python (normalise, dedupe, savepoint)")
    patch(reg_mod.Registry, "_import_pass", "_import_pass: other Python (plan, rows, change records)")
    patch(reg_mod.Registry, "_existing", "match existing (_existing)")
    patch(reg_mod.Registry, "resolve", "resolve references")
    patch(reg_mod, "_snapshot", "change-log snapshot (_snapshot)")
    patch(pd_mod.HouseholdPersonalStore, "write", "personal data: other (lookup of existing rows)")
    patch(pd_mod.HouseholdPersonalStore, "encrypt", "personal data: AES-GCM encrypt")
    patch(cl_mod, "seal", "seal: other (head lock, payload JSON, sha256)")
    patch(Session, "commit", "commit")
    if schema is not None:  # a classmethod: patch with a staticmethod around the bound original, restore after
        bound = schema.model_validate
        schema.model_validate = staticmethod(timed(lambda a, kw: "schema validation (pydantic)", bound))
        patches.append((schema, "model_validate", None))
    patch(reg_mod.ImportSummary, "to_dict", "summary to_dict")
    import gc

    gc_time = [0.0, 0, None]  # seconds, collections, start

    def on_gc(phase, info):
        if phase == "start":
            gc_time[2] = time.perf_counter()
        elif gc_time[2] is not None:
            gc_time[0] += time.perf_counter() - gc_time[2]
            gc_time[1] += 1

    gc.callbacks.append(on_gc)
    cpu0 = time.process_time()
    t0 = time.perf_counter()
    try:
        result = run()
    finally:
        gc.callbacks.remove(on_gc)
        for obj, attr, orig in reversed(patches):
            if orig is None:
                delattr(obj, attr)  # back to the inherited classmethod
            else:
                setattr(obj, attr, orig)
    wall = time.perf_counter() - t0
    cpu = time.process_time() - cpu0
    totals["not in a timed phase (model_validate etc. are inside _import_pass)"] = wall - sum(totals.values())
    out = {k: {"seconds": round(v, 3), "share": round(v / wall, 3)}
           for k, v in sorted(totals.items(), key=lambda kv: -kv[1])}
    out["(overlapping: cyclic GC pauses, counted inside the phases above)"] = {
        "seconds": round(gc_time[0], 3), "share": round(gc_time[0] / wall, 3), "collections": gc_time[1]}
    out["(this process's CPU seconds: Python side only, PostgreSQL's own CPU excluded)"] = {
        "seconds": round(cpu, 3), "share": round(cpu / wall, 3)}
    return out, result, wall


def _short(file: str) -> str:
    for marker in ("site-packages/", "src/", "lib/python3"):
        if marker in file:
            return file.split(marker, 1)[1]
    return file


# ------------------------------------------------------------------------------------------------ main

def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--records", type=int, default=100_000)
    p.add_argument("--batch-size", type=int, default=10_000, help="records per request (NDJSON body)")
    p.add_argument("--villages", type=int, default=50)
    p.add_argument("--concurrency", type=int, default=1, help="requests in flight at once (default 1: one pusher)")
    p.add_argument("--server-workers", type=int, default=1, help="uvicorn worker processes")
    p.add_argument("--strategy", default="create_and_update", choices=["create", "create_and_update"])
    p.add_argument("--external-ids", action="store_true", help="give each household an external id (state_mis)")
    p.add_argument("--no-copy", action="store_true", help="skip the COPY baseline")
    p.add_argument("--verify-chain", action="store_true", help="also verify the change-log hash chain afterwards")
    p.add_argument("--role", default="partner_system", choices=["partner_system", "state_official"])
    p.add_argument("--username", default="bench-state-mis")
    p.add_argument("--pg-url", default=benchlib.DEFAULT_PG, help="server URL without database name")
    p.add_argument("--request-timeout", type=float, default=600.0)
    p.add_argument("--keep-db", action="store_true")
    p.add_argument("--seed", type=int, default=20190815)
    p.add_argument("--profile", action="store_true", help="run the import in-process under cProfile instead")
    p.add_argument("--profile-top", type=int, default=40)
    p.add_argument("--phases-only", action="store_true", help="with --profile: only the timed phases, no cProfile")
    p.add_argument("--profile-out", help="also write the pstats file here (open with snakeviz, pstats, ...)")
    args = p.parse_args()
    if args.records < 1 or args.batch_size < 1:
        raise SystemExit("--records and --batch-size must be positive")

    kind = "system" if args.role == "partner_system" else "person"
    records = make_records(args.records, benchlib.village_codes(args.villages), seed=args.seed,
                           external_ids=args.external_ids)
    with benchlib.bench_database("postgresql", "bulk", pg_base=args.pg_url, keep=args.keep_db) as bdb:
        log(f"database {bdb.name}: migrated")
        benchlib.build_world(bdb.url, args.villages, username=args.username, role=args.role, kind=kind)
        facts = benchlib.machine(bdb.url)
        if args.profile:
            out = run_profile(args, bdb, records, args.profile_top)
            out["machine"] = facts
            out["machine"]["loadavg_1m_5m_15m_at_end"] = [round(x, 2) for x in os.getloadavg()]
            print(json.dumps(out, indent=2))
            return

        batches = [records[i:i + args.batch_size] for i in range(0, len(records), args.batch_size)]
        bodies = [ndjson(b) for b in batches]
        with benchlib.server(bdb.url, workers=args.server_workers) as base:
            headers = benchlib.token(base, args.username, kind)
            log(f"server {base}: posting {len(bodies)} request(s) of up to {args.batch_size} records")
            api = run_api(base, headers, bodies, [len(b) for b in batches], strategy=args.strategy,
                          concurrency=args.concurrency, timeout=args.request_timeout)
        counts = db_counts(bdb.url, args.username)
        expected_ext = args.records if args.external_ids else 0
        ok = (api["failed_requests"] == 0 and counts["households"] == args.records
              and counts["change_log"] == args.records and counts["household_personal_data"] == args.records
              and counts["external_ids"] == expected_ext)
        chain = None
        if args.verify_chain:
            from jaldpi.core.db import Database
            db = Database(bdb.url)
            with db.unit_of_work(write=False) as session:
                report = changelog.verify(session)
            db.dispose()
            chain = {"ok": report.ok, "entries": report.entries, "problems": report.problems[:5]}
            ok = ok and report.ok

        copy = None
        if not args.no_copy:
            t0 = time.perf_counter()
            rows = baseline_rows(records, village_map(bdb.url), benchlib.settings_for(bdb.url).pii_encryption_key,
                                 "bench-copy", "bench-state-mis")
            prep = time.perf_counter() - t0
            log(f"COPY baseline: {sum(len(v) for v in rows.values())} rows prepared in {prep:.2f} s")
            seconds, per_table = run_copy(bdb.url, rows, args.batch_size)
            copied = db_counts(bdb.url, "bench-copy")
            copy = {"seconds": seconds, "per_table": per_table, "prep_seconds": prep, "counts": copied,
                    "rows": {k: len(v) for k, v in rows.items()}}

    api_rps = args.records / api["seconds"] if api["seconds"] else None
    out = {
        "benchmark": "bulk_households",
        "records": args.records,
        "batch_size": args.batch_size,
        "requests": api["requests"],
        "concurrency": args.concurrency,
        "server_workers": args.server_workers,
        "strategy": args.strategy,
        "body_format": "application/x-ndjson",
        "fields": sorted({k for r in records[:100] for k in r}),
        "api_seconds": round(api["seconds"], 3),
        "api_records_per_s": round(api_rps, 1) if api_rps else None,
        "api_request_seconds": api["request_seconds"],
        "api_ok": ok,
        "api_failed_requests": api["failed_requests"],
        "api_first_failure": api["first_failure"],
        "api_created_reported": api["created_reported"],
        "db_counts_after_api": counts,
        "change_log_chain": chain,
        "goal_records_per_s": GOAL,
        "goal_met": bool(ok and api_rps and api_rps >= GOAL),
        "machine": facts,
    }
    if copy:
        copy_rps = args.records / copy["seconds"]
        out.update({
            "copy_seconds": round(copy["seconds"], 3),
            "copy_records_per_s": round(copy_rps, 1),
            "ratio_api_over_copy": round(api_rps / copy_rps, 4) if api_rps else None,
            "api_slowdown_vs_copy": round(copy_rps / api_rps, 1) if api_rps else None,
            "copy_baseline": {
                "what": "psycopg COPY ... FROM STDIN (write_row) into the same tables of the same database, after "
                        "the API run, one transaction per batch_size records: households + household_personal_data "
                        "(AES-GCM ciphertext) + change_log (canonical JSON payload and chained hash)"
                        + (" + external_ids" if args.external_ids else "")
                        + ". Rows are built before timing: copy_seconds is the COPYs and commits only; "
                          "copy_prep_seconds is the Python time to build them (JSON, sha256, AES-GCM), not timed.",
                "rows_copied": copy["rows"],
                "copy_seconds_by_table": copy["per_table"],
                "db_counts_after_copy": copy["counts"],
                "copy_prep_seconds": round(copy["prep_seconds"], 3),
            },
        })
    else:
        out.update({"copy_seconds": None, "copy_records_per_s": None, "ratio_api_over_copy": None})
    out["machine"]["loadavg_1m_5m_15m_at_end"] = [round(x, 2) for x in os.getloadavg()]
    print(json.dumps(out, indent=2))
    if not ok:
        sys.exit(1)


if __name__ == "__main__":
    main()
