"""Daily service-level computation for a synthetic state (issue 4, part 7: "a state of 1 lakh villages, in seconds").

    .venv/bin/python bench/service_levels.py                         # 100,000 villages, one day of supply records
    .venv/bin/python bench/service_levels.py --villages 10000,30000,100000   # scaling: one fresh database per size
    .venv/bin/python bench/service_levels.py --days 7                # a week of records, month-to-date verdicts

The synthetic state is written **set-based in SQL** (INSERT ... SELECT generate_series, in the database), not through
the registries (the registry write path would take far longer than the measurement for 10^5 villages); the rows
follow the models: admin-unit codes and LGD paths as the registry mints them, households with members_count,
commissioned schemes with a supply schedule and ``chlorinated``, and supply records whose derived columns
(``hours_of_supply``, ``schedule_source``, ``start_offset_minutes``, ``duration_share``, ``chlorinated``) are
computed by the rules of ``jaldpi.service_delivery.registry.derive``. A sample of rows is re-derived in Python with
``derive()`` and compared (``derive_check``).

Timed: ``jaldpi.service_delivery.service.functionality`` (what ``GET .../functionality`` runs) for the whole state
at district level, as a state official, in-process (no HTTP), ``today`` = the last supply day. Prints one JSON object
on stdout (progress on stderr). See bench/README.md.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import random
import sys
import time
from pathlib import Path

from sqlalchemy import text

sys.path.insert(0, str(Path(__file__).resolve().parent))

import benchlib  # noqa: E402

from jaldpi.core.db import Database  # noqa: E402
from jaldpi.core.security import Grant, Principal  # noqa: E402
from jaldpi.service_delivery import registry as sd_registry  # noqa: E402
from jaldpi.service_delivery.service import Rules, functionality, village_verdicts  # noqa: E402
from jaldpi.standard.codelists import role_permissions  # noqa: E402

STATE = 29
SCHEDULE = ("06:00", "08:00")

# Crockford base32 code from the id's low 60 bits, as jaldpi.core.ids.mint_code does, in SQL
_CODE_SQL = """
CREATE OR REPLACE FUNCTION pg_temp.bench_code(prefix text, id uuid) RETURNS text LANGUAGE sql IMMUTABLE AS $$
  SELECT prefix || '-' || string_agg(substr('0123456789ABCDEFGHJKMNPQRSTVWXYZ',
           (((('x' || right(replace(id::text, '-', ''), 15))::bit(60)::bigint) >> (5 * (11 - i))) & 31)::int + 1, 1),
           '' ORDER BY i)
  FROM generate_series(0, 11) AS i
$$;
"""


def log(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


def build_state(db: Database, villages: int, *, districts: int, blocks_per_district: int, villages_per_gp: int,
                households_per_village: int, villages_per_scheme: int, day0: dt.date, days: int) -> dict:
    """The synthetic state, set-based. Returns counts and timings (untimed for the measurement)."""
    blocks = districts * blocks_per_district
    gps = -(-villages // villages_per_gp)
    timings = {}
    with db.engine.begin() as conn:
        conn.execute(text(_CODE_SQL))
        t0 = time.perf_counter()
        common = "'{}'::jsonb, 1, now(), now(), 'bench', 'bench', 'bench-synthetic'"
        cols = ("id, level, lgd_code, name, parent_id, attributes, version, created_at, updated_at, created_by, "
                "updated_by, source_system, code, lgd_path")
        conn.execute(text(f"""
            INSERT INTO admin_units ({cols})
            SELECT gen_random_uuid(), 'state', {STATE}, 'Bench Lakh State', NULL, {common},
                   'LGD-S{STATE}', '/S{STATE}/'"""))
        conn.execute(text(f"""
            INSERT INTO admin_units ({cols})
            SELECT gen_random_uuid(), 'district', 900 + d, 'District ' || d,
                   (SELECT id FROM admin_units WHERE code = 'LGD-S{STATE}'), {common},
                   'LGD-D' || (900 + d), '/S{STATE}/D' || (900 + d) || '/'
            FROM generate_series(1, :n) d"""), {"n": districts})
        conn.execute(text(f"""
            INSERT INTO admin_units ({cols})
            SELECT gen_random_uuid(), 'block', 9000 + b, 'Block ' || b, d.id, {common},
                   'LGD-B' || (9000 + b), d.lgd_path || 'B' || (9000 + b) || '/'
            FROM generate_series(1, :n) b
            JOIN admin_units d ON d.code = 'LGD-D' || (900 + 1 + (b - 1) / :bpd)"""),
                     {"n": blocks, "bpd": blocks_per_district})
        conn.execute(text(f"""
            INSERT INTO admin_units ({cols})
            SELECT gen_random_uuid(), 'gram_panchayat', 300000 + g, 'GP ' || g, bl.id, {common},
                   'LGD-G' || (300000 + g), bl.lgd_path || 'G' || (300000 + g) || '/'
            FROM generate_series(1, :n) g
            JOIN admin_units bl ON bl.code = 'LGD-B' || (9000 + 1 + (g - 1) % :blocks)"""),
                     {"n": gps, "blocks": blocks})
        conn.execute(text(f"""
            INSERT INTO admin_units ({cols})
            SELECT gen_random_uuid(), 'village', 700000 + v, 'Village ' || v, gp.id, {common},
                   'LGD-V' || (700000 + v), gp.lgd_path || 'V' || (700000 + v) || '/'
            FROM generate_series(1, :n) v
            JOIN admin_units gp ON gp.code = 'LGD-G' || (300000 + 1 + (v - 1) / :vpg)"""),
                     {"n": villages, "vpg": villages_per_gp})
        timings["admin_units"] = time.perf_counter() - t0

        t0 = time.perf_counter()
        # households: members 2..9 (deterministic per village and index), ~5.5 persons each
        conn.execute(text("""
            INSERT INTO households (id, village_id, members_count, social_category, has_tap_connection, connected_on,
                                    is_exempted, version, lgd_path, created_at, updated_at, created_by, updated_by,
                                    source_system, code)
            SELECT x.id, x.vid, x.m, (ARRAY['sc','st','obc','general','other'])[1 + (x.lgd + x.k) % 5],
                   true, DATE '2022-04-01', false, 1, x.path, now(), now(), 'bench', 'bench', 'bench-synthetic',
                   pg_temp.bench_code('HH', x.id)
            FROM (SELECT gen_random_uuid() AS id, v.id AS vid, v.lgd_code AS lgd, k, v.lgd_path AS path,
                         2 + (v.lgd_code * 7 + k * 3) % 8 AS m
                  FROM admin_units v CROSS JOIN generate_series(1, :k) k
                  WHERE v.level = 'village' AND v.lgd_path LIKE :state) x"""),
                     {"k": households_per_village, "state": f"/S{STATE}/%"})
        timings["households"] = time.perf_counter() - t0

        t0 = time.perf_counter()
        # schemes: one per group of villages_per_scheme consecutive villages (of one GP when it divides it),
        # commissioned, schedule 06:00-08:00, chlorinated; recorded at the GP (lowest unit containing its villages)
        conn.execute(text("""
            CREATE TEMP TABLE bench_scheme_villages AS
            SELECT (v.lgd_code - 700001) / :vps AS grp, v.id AS vid, v.lgd_code, v.lgd_path, v.parent_id
            FROM admin_units v WHERE v.level = 'village' AND v.lgd_path LIKE :state"""),
                     {"vps": villages_per_scheme, "state": f"/S{STATE}/%"})
        conn.execute(text("""
            CREATE TEMP TABLE bench_schemes AS
            SELECT grp, gen_random_uuid() AS id, jsonb_agg(vid::text ORDER BY lgd_code) AS village_ids,
                   min(lgd_path) AS first_path, count(*) AS n
            FROM bench_scheme_villages GROUP BY grp"""))
        conn.execute(text("""
            INSERT INTO schemes (id, name, scheme_type, village_ids, habitation_ids, design_lpcd, lifecycle_status,
                                 commissioned_on, attributes, version, lgd_path, created_at, updated_at, created_by,
                                 updated_by, source_system, code)
            SELECT s.id, 'Scheme ' || s.grp, CASE WHEN s.n = 1 THEN 'svs' ELSE 'mvs' END, s.village_ids, '[]'::jsonb,
                   55, 'commissioned', DATE '2023-01-01',
                   jsonb_build_object('supply_schedule',
                                      jsonb_build_object('start', CAST(:s0 AS text), 'end', CAST(:s1 AS text)),
                                      'chlorinated', true),
                   1, CASE WHEN s.n = 1 THEN s.first_path
                           ELSE regexp_replace(s.first_path, 'V[0-9]+/$', '') END,
                   now(), now(), 'bench', 'bench', 'bench-synthetic', pg_temp.bench_code('SCH', s.id)
            FROM bench_schemes s"""), {"s0": SCHEDULE[0], "s1": SCHEDULE[1]})
        timings["schemes"] = time.perf_counter() - t0

        t0 = time.perf_counter()
        # supply records: one per village and day from its scheme. Deterministic mix per (village, day):
        #   5% not supplied (hours 0, no times, a reason); else start 05:48..06:42, end 07:30..08:24 in 6-minute
        #   steps (so some late starts and short supplies; 6-minute steps keep the derived decimals exact, so the
        #   SQL numeric rounding and registry.derive's float rounding agree), volume from ~35 to ~80 lpcd of the
        #   village's population, chlorine
        #   0.05..1.25 mg/L. Derived columns by the rules of registry.derive (schedule from the scheme).
        conn.execute(text("""
            INSERT INTO supply_records (id, scheme_id, village_id, supply_date, supplied, start_time, end_time,
                scheduled_start, scheduled_end, schedule_source, volume_supplied_kl, tail_end_residual_chlorine_mg_l,
                reason_no_supply, source, hours_of_supply, start_offset_minutes, duration_share, chlorinated,
                attributes, version, lgd_path, created_at, updated_at, created_by, updated_by, source_system, code)
            SELECT r.id, r.scheme_id, r.vid, r.day, r.supplied,
                   CASE WHEN r.supplied THEN r.st END, CASE WHEN r.supplied THEN r.et END,
                   TIME '06:00', TIME '08:00', 'scheme',
                   CASE WHEN r.supplied THEN round((r.pop * (35 + r.h % 46) / 1000.0)::numeric, 3)::float8 END,
                   CASE WHEN r.supplied THEN round((0.05 + (r.h % 121) / 100.0)::numeric, 2)::float8 END,
                   CASE WHEN NOT r.supplied THEN (ARRAY['power_cut','pump_failure','pipeline_burst'])[1 + r.h % 3] END,
                   'operator',
                   CASE WHEN r.supplied
                        THEN round(((extract(epoch FROM (r.et - r.st)) / 60)::numeric / 60), 4)::float8
                        ELSE 0.0 END,
                   CASE WHEN r.supplied THEN (extract(epoch FROM (r.st - TIME '06:00')) / 60)::int END,
                   CASE WHEN r.supplied THEN round((round(((extract(epoch FROM (r.et - r.st)) / 60)::numeric / 60), 4)
                                                    * 60 / 120), 4)::float8 END,
                   true, '{}'::jsonb, 1, r.path, now(), now(), 'bench', 'bench', 'bench-synthetic',
                   pg_temp.bench_code('SUP', r.id)
            FROM (SELECT gen_random_uuid() AS id, s.id AS scheme_id, sv.vid, sv.lgd_path AS path, d.day,
                         abs(hashtext(sv.lgd_code::text || d.day::text)::bigint) AS h,
                         (abs(hashtext(sv.lgd_code::text || d.day::text)::bigint) % 20) <> 0 AS supplied,
                         TIME '05:48' + make_interval(mins => (6 * (
                           abs(hashtext(d.day::text || sv.lgd_code::text)::bigint) % 10))::int) AS st,
                         TIME '07:30' + make_interval(mins => (6 * (
                           abs(hashtext('e' || sv.lgd_code::text || d.day::text)::bigint) % 10))::int) AS et,
                         p.pop
                  FROM bench_scheme_villages sv
                  JOIN bench_schemes s ON s.grp = sv.grp
                  JOIN (SELECT village_id, sum(members_count) AS pop FROM households GROUP BY village_id) p
                    ON p.village_id = sv.vid
                  CROSS JOIN (SELECT (CAST(:day0 AS date) + g) AS day
                              FROM generate_series(0, CAST(:days AS int) - 1) g) d) r"""),
                     {"day0": day0, "days": days})
        timings["supply_records"] = time.perf_counter() - t0
        t0 = time.perf_counter()
        counts = {t: conn.execute(text(f"SELECT count(*) FROM {t}")).scalar_one()
                  for t in ("admin_units", "households", "schemes", "supply_records")}
    with db.engine.execution_options(isolation_level="AUTOCOMMIT").connect() as conn:
        conn.execute(text("VACUUM ANALYZE"))
    timings["vacuum_analyze"] = time.perf_counter() - t0
    return {"counts": counts, "districts": districts, "blocks": blocks, "gram_panchayats": gps,
            "build_seconds": {k: round(v, 2) for k, v in timings.items()}}


def derive_check(db: Database, sample: int = 200) -> dict:
    """Re-derive a sample of supply records with registry.derive and compare the derived columns."""
    mismatches = []
    with db.engine.connect() as conn:
        rows = conn.execute(text("""
            SELECT r.*, s.attributes AS s_attributes, s.code AS s_code, v.lgd_code, v.lgd_path AS v_path
            FROM supply_records r JOIN schemes s ON s.id = r.scheme_id JOIN admin_units v ON v.id = r.village_id
            ORDER BY random() LIMIT :n"""), {"n": sample}).mappings().all()
    for row in rows:
        data = {"supplied": row["supplied"], "start_time": row["start_time"], "end_time": row["end_time"]}
        resolved = {"scheme": {"attributes": row["s_attributes"], "code": row["s_code"]},
                    "village": {"lgd_code": row["lgd_code"], "lgd_path": row["v_path"]}}
        path = sd_registry.derive(data, resolved)
        for col in ("scheduled_start", "scheduled_end", "schedule_source", "hours_of_supply", "start_offset_minutes",
                    "duration_share", "chlorinated"):
            if data.get(col) != row[col]:
                mismatches.append({"code": row["code"], "column": col, "derived": str(data.get(col)),
                                   "stored": str(row[col])})
        if path != row["lgd_path"]:
            mismatches.append({"code": row["code"], "column": "lgd_path"})
    return {"sampled": len(rows), "mismatches": len(mismatches), "first_mismatches": mismatches[:5]}


def measure(db: Database, month: str, today: dt.date, repeats: int) -> dict:
    official = Principal("bench-state-official", "person", (Grant("state_official", f"/S{STATE}/"),),
                         role_permissions())
    rules = Rules()
    runs = []
    result = None
    for _ in range(repeats):
        with db.unit_of_work(write=False) as session:
            t0 = time.perf_counter()
            c0 = time.process_time()
            result = functionality(session, official, month, rules, "district", today=today)
            runs.append({"seconds": round(time.perf_counter() - t0, 3),
                         "process_cpu_seconds": round(time.process_time() - c0, 3)})
    # the same once more, split: the verdict step alone (village_verdicts), for where the time goes
    with db.unit_of_work(write=False) as session:
        t0 = time.perf_counter()
        verdicts = village_verdicts(session, official, month, rules, today=today)
        verdict_seconds = time.perf_counter() - t0
    total = result["total"]
    return {"runs": runs, "village_verdicts_seconds": round(verdict_seconds, 3), "villages_judged": len(verdicts),
            "total": {k: total[k] for k in ("villages", "functional", "not_functional", "functional_pct",
                                            "villages_with_records", "failing")},
            "districts_reported": len(result["units"])}


def one_size(args, villages: int) -> dict:
    day0 = dt.date.fromisoformat(args.day)
    last = day0 + dt.timedelta(days=args.days - 1)
    with benchlib.bench_database("postgresql", "sl", pg_base=args.pg_url, keep=args.keep_db) as bdb:
        db = Database(bdb.url)
        try:
            log(f"{villages} villages: building the state ...")
            built = build_state(db, villages, districts=args.districts, blocks_per_district=args.blocks_per_district,
                                villages_per_gp=args.villages_per_gp,
                                households_per_village=args.households_per_village,
                                villages_per_scheme=args.villages_per_scheme, day0=day0, days=args.days)
            log(f"  built: {built['counts']} in {built['build_seconds']}")
            check = derive_check(db)
            log(f"{villages} villages: timing functionality() x{args.repeats} ...")
            m = measure(db, f"{day0:%Y-%m}", last, args.repeats)
        finally:
            db.dispose()
    best = min(r["seconds"] for r in m["runs"])
    ok = m["total"]["villages"] == villages and m["villages_judged"] == villages and check["mismatches"] == 0
    return {"villages": villages, "supply_days": args.days, "seconds_best": best,
            "seconds_first": m["runs"][0]["seconds"], "villages_per_s": round(villages / best, 1),
            "village_days_per_s": round(villages * args.days / best, 1), "ok": ok, "state": built,
            "derive_check": check, **m}


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--villages", default="100000", help="comma-separated sizes; one fresh database each")
    p.add_argument("--districts", type=int, default=10)
    p.add_argument("--blocks-per-district", type=int, default=10)
    p.add_argument("--villages-per-gp", type=int, default=10)
    p.add_argument("--households-per-village", type=int, default=5)
    p.add_argument("--villages-per-scheme", type=int, default=10, help="1: single-village schemes only")
    p.add_argument("--day", default="2026-11-01", help="first supply day (today = the last supply day)")
    p.add_argument("--days", type=int, default=1, help="days of supply records per village (month-to-date)")
    p.add_argument("--repeats", type=int, default=2)
    p.add_argument("--pg-url", default=benchlib.DEFAULT_PG)
    p.add_argument("--keep-db", action="store_true")
    args = p.parse_args()
    random.seed(0)
    out: dict = {"benchmark": "service_levels", "date": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
                 "machine": benchlib.machine(args.pg_url.rstrip("/") + "/postgres"),
                 "what": "jaldpi.service_delivery.service.functionality(level='district') for the whole state as a "
                         "state official, in-process (no HTTP); today = last supply day, so the month has "
                         f"{args.days} day(s)",
                 "synthetic_state": "written set-based in SQL (INSERT ... SELECT generate_series), NOT through the "
                                    "registries; derived columns by the rules of service_delivery.registry.derive "
                                    "(sample re-derived in Python: derive_check); no water-quality samples (every "
                                    "village not_tested, which passes quality by default)",
                 "sizes": []}
    ok = True
    for n in [int(x) for x in args.villages.split(",") if x.strip()]:
        res = one_size(args, n)
        ok &= res["ok"]
        out["sizes"].append(res)
        log(f"  {n} villages: {res['seconds_best']} s ({res['villages_per_s']} villages/s) ok={res['ok']}")
    out["ok"] = ok
    out["machine"]["loadavg_1m_5m_15m_at_end"] = [round(x, 2) for x in os.getloadavg()]
    print(json.dumps(out, indent=2, default=str))
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
