"""Monthly demand generation for a state of 1 crore households on PostgreSQL. Prints JSON.

Seeding (not timed) writes straight into the tables with ``INSERT ... SELECT generate_series`` (no change log: this
measures the demand run, not imports): an LGD tree of ``--districts`` x ``--blocks`` x ``--gps`` x ``--villages``
(default 30 x 10 x 50 x 3 = 45,000 villages), ``--households`` households spread evenly over them (``--connected-pct``
with a tap, 2% exempted, five social categories), one tariff plan per village (``--metered-pct`` of villages
metered with three slabs and a minimum charge, the rest flat between Rs 50 and Rs 150; every fourth village gives
SC/ST households a 50% concession; flat villages charge a 10% late fee on arrears), and for every household of a
metered village two meter readings (the previous month's last day and the billed month's last day).

Households and meter readings get UUIDv7-like ids (48-bit millisecond time first, increasing with the running number,
then random bits), as the node mints them for every record (``jaldpi.core.ids.new_id``): ids follow insertion
order. ``--random-ids`` seeds random (v4) ids instead, the pessimistic case for anything indexed by household id.

Timed, end to end, in one unit of work as the service runs it (``jaldpi.finances.service.generate_demand``):
the set-based INSERT ... SELECT of the demands into the month's new partition (a standalone table with no index),
the two index builds and the ATTACH, the advance-credit step, the per-village totals, the digest and the one
``demand_runs`` record through the registry write path, the change-log seal and the commit. Then:

* ``--months 2``: the next month too (arrears carried from the unpaid first month, late fees; a new partition);
* ``rerun_seconds``: the first month again (idempotent: inserts nothing into the attached partition, writes no run
  record);
* ``topup``: one more household connected, then the first month again: one row into the attached partition;
* ``baseline``: the same method with nothing of the demand statement: a bare ``INSERT ... SELECT`` of the same
  number of constant-amount rows from ``households`` into an empty, index-free copy of ``demands``, then the same
  two index builds (same ``maintenance_work_mem``) - the floor the demand statement's joins and pricing sit on.

    .venv/bin/python bench/monthly_demand.py                           # 1 crore households, 45,000 villages
    .venv/bin/python bench/monthly_demand.py --households 200000 --months 2
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

from sqlalchemy import create_engine, text

sys.path.insert(0, str(Path(__file__).resolve().parent))
import benchlib  # noqa: E402

from jaldpi.core.db import Database  # noqa: E402
from jaldpi.registries import build_catalogue  # noqa: E402

STATE = 28


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def uuid7_like(n: str) -> str:
    """SQL for a UUIDv7-shaped id from running number ``n``: 48 bits of milliseconds (now + n), version 7, variant
    10, random bits from md5(n); unique and increasing with ``n``, like ids minted one after another."""
    return (f"CAST(lpad(to_hex(CAST(extract(epoch FROM now()) * 1000 AS bigint) + {n}), 12, '0') || '7' || "
            f"substr(md5(CAST({n} AS text)), 1, 3) || '8' || substr(md5(CAST({n} AS text)), 4, 15) AS uuid)")


def seed(url: str, args: argparse.Namespace) -> dict:
    engine = create_engine(url)
    household_id = "gen_random_uuid()" if args.random_ids else uuid7_like("g")
    reading_id = "gen_random_uuid()" if args.random_ids else uuid7_like("(2 * CAST(substr(h.code, 4) AS bigint) + r.k)")
    nv = args.districts * args.blocks * args.gps * args.villages
    t0 = time.perf_counter()
    with engine.begin() as conn:
        # the LGD tree: ids and paths computed in SQL from running numbers
        common = ("gen_random_uuid(), {code}, 1, {path}, now(), now(), 'bench', 'bench', 'bench', '{{}}'::jsonb")
        cols = "(id, code, version, lgd_path, created_at, updated_at, created_by, updated_by, source_system, " \
               "attributes, level, lgd_code, name, parent_id)"
        conn.execute(text(f"INSERT INTO admin_units {cols} SELECT "
                          + common.format(code="'LGD-S28'", path="'/S28/'")
                          + ", 'state', 28, 'Bench State', NULL"))
        levels = [("district", "D", 700, args.districts, "state"),
                  ("block", "B", 5000, args.blocks, "district"),
                  ("gram_panchayat", "G", 200000, args.gps, "block"),
                  ("village", "V", 600000, args.villages, "gram_panchayat")]
        for level, letter, base, per_parent, parent in levels:
            conn.execute(text(
                f"INSERT INTO admin_units {cols} "
                f"SELECT " + common.format(code=f"'LGD-{letter}' || ({base} + rn)",
                                           path=f"p.lgd_path || '{letter}' || ({base} + rn) || '/'")
                + f", '{level}', {base} + rn, '{level} ' || ({base} + rn), p.id "
                f"FROM (SELECT p.*, (row_number() OVER (ORDER BY p.lgd_code) - 1) * {per_parent} + k AS rn "
                f"      FROM admin_units p CROSS JOIN generate_series(1, {per_parent}) k "
                f"      WHERE p.level = '{parent}') p"))
        conn.execute(text(
            "CREATE TABLE bench_villages AS SELECT (row_number() OVER (ORDER BY lgd_code) - 1)::int AS idx, id, "
            "lgd_path FROM admin_units WHERE level = 'village'"))
        conn.execute(text("ALTER TABLE bench_villages ADD PRIMARY KEY (idx)"))
        log(f"{nv} villages in {time.perf_counter() - t0:.1f}s; households ...")
        conn.execute(text(
            "INSERT INTO households (id, code, version, lgd_path, created_at, updated_at, created_by, "
            "source_system, village_id, members_count, social_category, has_tap_connection, is_exempted) "
            f"SELECT {household_id}, 'HH-' || g, 1, v.lgd_path, now(), now(), 'bench', 'bench', v.id, "
            "1 + (g % 7), (ARRAY['sc','st','obc','general','other'])[1 + (g % 5)], "
            "((g::bigint * 7919) % 100) < :connected, ((g::bigint * 104729) % 100) < 2 "
            "FROM generate_series(0, :n - 1) AS g JOIN bench_villages v ON v.idx = g % :nv"),
            {"n": args.households, "nv": nv, "connected": args.connected_pct})
        log(f"households at {time.perf_counter() - t0:.1f}s; plans ...")
        conn.execute(text(
            "INSERT INTO tariff_plans (id, code, version, lgd_path, created_at, updated_at, created_by, "
            "source_system, village_id, kind, effective_from, flat_amount, minimum_charge, slabs, "
            "exempted_pays_percent, category_pays_percent, late_fee_percent, attributes) "
            "SELECT gen_random_uuid(), 'TP-' || v.idx, 1, v.lgd_path, now(), now(), 'bench', 'bench', v.id, "
            "CASE WHEN (v.idx * 37) % 100 < :metered THEN 'metered' ELSE 'flat' END, DATE '2026-04-01', "
            "CASE WHEN (v.idx * 37) % 100 < :metered THEN NULL ELSE 50 + (v.idx % 11) * 10 END, "
            "CASE WHEN (v.idx * 37) % 100 < :metered THEN 40 ELSE 0 END, "
            "CASE WHEN (v.idx * 37) % 100 < :metered THEN '[{\"up_to_kl\": \"8\", \"rate_per_kl\": \"4\"}, "
            "{\"up_to_kl\": \"20\", \"rate_per_kl\": \"7\"}, {\"up_to_kl\": null, \"rate_per_kl\": \"12\"}]'::jsonb "
            "ELSE '[]'::jsonb END, 0, "
            "CASE WHEN v.idx % 4 = 0 THEN '{\"sc\": \"50\", \"st\": \"50\"}'::jsonb ELSE '{}'::jsonb END, "
            "CASE WHEN (v.idx * 37) % 100 < :metered THEN 0 ELSE 10 END, '{}'::jsonb FROM bench_villages v"),
            {"metered": args.metered_pct})
        # the derived tables the plan registry's hook fills on a normal write
        conn.execute(text(
            "INSERT INTO tariff_slabs (plan_id, seq, from_kl, to_kl, rate_per_kl) "
            "SELECT p.id, s.seq, s.from_kl, s.to_kl, s.rate FROM tariff_plans p CROSS JOIN (VALUES "
            "(0, 0, 8, 4), (1, 8, 20, 7), (2, 20, NULL, 12)) AS s(seq, from_kl, to_kl, rate) "
            "WHERE p.kind = 'metered'"))
        conn.execute(text(
            "INSERT INTO tariff_category_concessions (plan_id, social_category, pays_percent) "
            "SELECT p.id, c.cat, 50 FROM tariff_plans p CROSS JOIN (VALUES ('sc'), ('st')) AS c(cat) "
            "WHERE p.category_pays_percent <> '{}'::jsonb"))
        log(f"plans at {time.perf_counter() - t0:.1f}s; meter readings ...")
        month = args.month
        conn.execute(text(
            "INSERT INTO meter_readings (id, code, version, lgd_path, created_at, updated_at, created_by, "
            "source_system, household_id, read_on, reading_kl, meter_replaced, attributes) "
            "SELECT " + reading_id + ", 'MR-' || h.code || '-' || r.k, 1, h.lgd_path, now(), now(), 'bench', "
            "'bench', h.id, CASE WHEN r.k = 0 THEN CAST(:first AS date) - 1 "
            "ELSE (CAST(:first AS date) + interval '1 month' - interval '1 day')::date END, "
            "CASE WHEN r.k = 0 THEN 100 + (abs(hashtext(h.code)) % 900) "
            "ELSE 100 + (abs(hashtext(h.code)) % 900) + 3 + (abs(hashtext(h.code)) % 31) END, false, '{}'::jsonb "
            "FROM households h JOIN tariff_plans p ON p.village_id = h.village_id AND p.kind = 'metered' "
            "CROSS JOIN (VALUES (0), (1)) AS r(k) WHERE h.has_tap_connection"),
            {"first": f"{month}-01"})
        for t in ("admin_units", "households", "tariff_plans", "tariff_slabs", "meter_readings"):
            conn.execute(text(f"ANALYZE {t}"))
        counts = {t: conn.execute(text(f"SELECT count(*) FROM {t}")).scalar_one()
                  for t in ("households", "tariff_plans", "meter_readings")}
        counts["connected_households"] = conn.execute(
            text("SELECT count(*) FROM households WHERE has_tap_connection")).scalar_one()
    engine.dispose()
    counts["villages"] = nv
    counts["seed_seconds"] = round(time.perf_counter() - t0, 1)
    return counts


def run_month(db: Database, catalogue, settings, month: str) -> dict:
    from jaldpi.finances.service import generate_demand

    t0 = time.perf_counter()
    with db.unit_of_work() as session:
        result = generate_demand(session, catalogue, benchlib.ROOT, month, "/",
                                 work_mem_mb=settings.finances_demand_work_mem_mb,
                                 maintenance_work_mem_mb=settings.finances_demand_maintenance_work_mem_mb)
    seconds = time.perf_counter() - t0
    return {"month": month, "rows": result["created"], "seconds": round(seconds, 2),
            "rows_per_s": round(result["created"] / seconds) if result["created"] else 0,
            "service_seconds_before_commit": result["seconds"], "phases": result.get("phases"),
            "run_code": (result["run"] or {}).get("code"),
            "amount_total": (result["run"] or {}).get("amount_total")}


def baseline(url: str, month: str, rows: int, maintenance_work_mem_mb: int) -> dict:
    """The same method as a new month's partition, with constant rows: bare insert into an index-free table, then
    the same two index builds, in one transaction."""
    engine = create_engine(url)
    phases = {}
    t0 = time.perf_counter()
    with engine.begin() as conn:
        conn.execute(text(f"SET LOCAL maintenance_work_mem = '{int(maintenance_work_mem_mb)}MB'"))
        conn.execute(text("CREATE TABLE demands_baseline (LIKE demands INCLUDING DEFAULTS)"))
        n = conn.execute(text(
            "INSERT INTO demands_baseline (household_id, month, village_id, lgd_path, run_id, tariff_plan_id, kind, "
            "consumption_kl, charge, concession, late_fee, arrears, amount, paid) "
            "SELECT h.id, CAST(:first AS date), h.village_id, h.lgd_path, gen_random_uuid(), h.village_id, 'flat', "
            "NULL, 100, 0, 0, 0, 100, 0 FROM households h WHERE h.has_tap_connection LIMIT :rows"),
            {"first": f"{month}-01", "rows": rows}).rowcount
        phases["insert"] = round(time.perf_counter() - t0, 2)
        conn.execute(text("ALTER TABLE demands_baseline ADD PRIMARY KEY (household_id, month)"))
        phases["index_pk"] = round(time.perf_counter() - t0 - sum(phases.values()), 2)
        conn.execute(text("CREATE INDEX ON demands_baseline (month, lgd_path)"))
        phases["index_month_lgd_path"] = round(time.perf_counter() - t0 - sum(phases.values()), 2)
    seconds = time.perf_counter() - t0
    with engine.begin() as conn:
        conn.execute(text("DROP TABLE demands_baseline"))
    engine.dispose()
    return {"what": "bare INSERT ... SELECT of constant-amount rows from households into an empty, index-free copy "
                    "of demands, then the same two index builds, one transaction", "rows": n,
            "seconds": round(seconds, 2), "phases": phases, "rows_per_s": round(n / seconds) if seconds else None}


def connect_one_more(url: str) -> None:
    """A household without a tap gets connected (for the top-up run)."""
    engine = create_engine(url)
    with engine.begin() as conn:
        conn.execute(text("UPDATE households SET has_tap_connection = true WHERE id = "
                          "(SELECT id FROM households WHERE NOT has_tap_connection ORDER BY id LIMIT 1)"))
    engine.dispose()


def next_month(month: str) -> str:
    y, m = (int(p) for p in month.split("-"))
    return f"{y + m // 12}-{m % 12 + 1:02d}"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--households", type=int, default=10_000_000)
    ap.add_argument("--districts", type=int, default=30)
    ap.add_argument("--blocks", type=int, default=10, help="per district")
    ap.add_argument("--gps", type=int, default=50, help="per block")
    ap.add_argument("--villages", type=int, default=3, help="per gram panchayat")
    ap.add_argument("--connected-pct", type=int, default=90)
    ap.add_argument("--metered-pct", type=int, default=30, help="share of villages on a metered plan")
    ap.add_argument("--month", default="2026-10")
    ap.add_argument("--months", type=int, default=1, choices=(1, 2, 3))
    ap.add_argument("--random-ids", action="store_true", help="seed random (v4) household ids, not UUIDv7-like")
    ap.add_argument("--pg-url", default=benchlib.DEFAULT_PG)
    ap.add_argument("--keep-db", action="store_true")
    args = ap.parse_args()

    out: dict = {"bench": "monthly_demand", "backend": "postgresql", "args": vars(args)}
    with benchlib.bench_database("postgresql", "demand", pg_base=args.pg_url, keep=args.keep_db) as bdb:
        out["machine"] = benchlib.machine(bdb.url)
        out["seeded"] = seed(bdb.url, args)
        db = Database(bdb.url)
        settings = benchlib.settings_for(bdb.url)
        catalogue = build_catalogue(settings)
        months, month = [], args.month
        for _ in range(args.months):
            log(f"demand for {month} ...")
            months.append(run_month(db, catalogue, settings, month))
            month = next_month(month)
        out["runs"] = months
        log("re-run of the first month ...")
        again = run_month(db, catalogue, settings, args.month)
        out["rerun_seconds"], out["rerun_rows"] = again["seconds"], again["rows"]
        log("top-up of the first month ...")
        connect_one_more(bdb.url)
        topup = run_month(db, catalogue, settings, args.month)
        out["topup"] = {"rows": topup["rows"], "seconds": topup["seconds"], "phases": topup["phases"]}
        with db.engine.connect() as conn:
            stored = conn.execute(text("SELECT count(*) FROM demands WHERE month = :m"),
                                  {"m": f"{args.month}-01"}).scalar_one()
            runs = conn.execute(text("SELECT count(*) FROM demand_runs")).scalar_one()
            changes = conn.execute(text("SELECT count(*) FROM change_log WHERE record_type = 'demand_runs'")
                                   ).scalar_one()
            partitions = conn.execute(text(
                "SELECT count(*) FROM pg_inherits WHERE inhparent = CAST('demands' AS regclass)")).scalar_one()
        db.dispose()
        log("baseline ...")
        out["baseline"] = baseline(bdb.url, args.month, months[0]["rows"],
                                   settings.finances_demand_maintenance_work_mem_mb)
        first = months[0]
        out["rows"] = first["rows"]
        out["seconds"] = first["seconds"]
        out["rows_per_s"] = first["rows_per_s"]
        out["ratio_demand_over_baseline_seconds"] = (round(first["seconds"] / out["baseline"]["seconds"], 2)
                                                     if out["baseline"]["seconds"] else None)
        out["loadavg_1m_5m_15m_at_end"] = [round(x, 2) for x in os.getloadavg()]
        out["ok"] = (stored == out["seeded"]["connected_households"] + 1 == first["rows"] + 1
                     and again["rows"] == 0 and topup["rows"] == 1 and runs == changes == args.months + 1
                     and partitions == args.months)
        out["checks"] = {"demands_stored_first_month": stored, "demand_runs": runs, "demand_run_changes": changes,
                         "partitions": partitions}
    print(json.dumps(out, indent=1, default=str))
    sys.exit(0 if out["ok"] else 1)


if __name__ == "__main__":
    main()
