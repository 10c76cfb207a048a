"""Time to build every open dataset (`build_release`) for a state of 1 crore households. Prints JSON.

Seeding (not timed) writes straight into the tables, bypassing the write path (no change log; this measures the
build, not imports): an LGD tree of ``--districts`` x ``--blocks`` x ``--gps`` x ``--villages`` (default 30 x 10 x
50 x 3: 300 blocks, 15,000 GPs, 45,000 villages, each with a centroid), ``--households`` households spread over the
villages (PostgreSQL: one ``INSERT ... SELECT generate_series`` joined to the village list, faster than COPY from
Python; SQLite: executemany), one commissioned single-village scheme per GP serving its villages with one tap
component per village, one sampling point and ``--samples`` lab samples per village (judged, with parameter
results), and a supply record on every day of the ``--service-months`` published months for ``--supply-villages``
villages (a documented subset: all 45,000 villages x 90 days would be 4 million rows; the per-village judgement
walks every village and day either way). Only the build is timed, end to end (SQL, disclosure control,
DP, CSV, Parquet, GeoJSON, datapackage, atomic switch).

    .venv/bin/python bench/opendata_build.py                                  # PostgreSQL, 1 crore households
    .venv/bin/python bench/opendata_build.py --households 200000 --backend sqlite --districts 3
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import random
import sys
import tempfile
import time
import uuid
from pathlib import Path

from sqlalchemy import create_engine, insert, text

sys.path.insert(0, str(Path(__file__).resolve().parent))
import benchlib  # noqa: E402

from jaldpi.admin_units.models import AdminUnit  # noqa: E402
from jaldpi.assets.models import Component, Scheme  # noqa: E402
from jaldpi.core.db import Database  # noqa: E402
from jaldpi.opendata.build import build_release  # noqa: E402
from jaldpi.people.models import Household  # noqa: E402
from jaldpi.service_delivery.models import SupplyRecord  # noqa: E402
from jaldpi.water_quality.models import Sample, SamplingPoint  # noqa: E402

STATE = 28


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def _common(code: str, path: str, now: dt.datetime) -> dict:
    return {"id": uuid.uuid4(), "code": code, "version": 1, "lgd_path": path, "created_at": now, "updated_at": now,
            "created_by": "bench", "updated_by": "bench", "source_system": "bench"}


def seed(url: str, args: argparse.Namespace) -> dict:
    rng = random.Random(args.seed)
    now = dt.datetime.now(dt.UTC)
    engine = create_engine(url)
    units, villages = [], []
    state = {**_common(f"LGD-S{STATE}", f"/S{STATE}/", now), "level": "state", "lgd_code": STATE, "name": "Bench State",
             "attributes": {}}
    units.append(state)
    block_code, gp_code, village_code = 5000, 200000, 600000
    for d in range(args.districts):
        dpath = f"/S{STATE}/D{700 + d}/"
        district = {**_common(f"LGD-D{700 + d}", dpath, now), "level": "district", "lgd_code": 700 + d,
                    "name": f"District {d}", "parent_id": state["id"], "attributes": {}}
        units.append(district)
        for _ in range(args.blocks):
            block_code += 1
            bpath = f"{dpath}B{block_code}/"
            block = {**_common(f"LGD-B{block_code}", bpath, now), "level": "block", "lgd_code": block_code,
                     "name": f"Block {block_code}", "parent_id": district["id"], "attributes": {}}
            units.append(block)
            for _ in range(args.gps):
                gp_code += 1
                gpath = f"{bpath}G{gp_code}/"
                gp = {**_common(f"LGD-G{gp_code}", gpath, now), "level": "gram_panchayat", "lgd_code": gp_code,
                      "name": f"GP {gp_code}", "parent_id": block["id"], "attributes": {}}
                units.append(gp)
                for _ in range(args.villages):
                    village_code += 1
                    lon, lat = 77 + rng.random() * 4, 15 + rng.random() * 4
                    village = {**_common(f"LGD-V{village_code}", f"{gpath}V{village_code}/", now),
                               "level": "village", "lgd_code": village_code, "name": f"Village {village_code}",
                               "parent_id": gp["id"], "attributes": {"centroid": [round(lon, 5), round(lat, 5)]}}
                    units.append(village)
                    villages.append((village, gp, lon, lat))
    log(f"seeding {len(units)} units ...")
    with engine.begin() as conn:
        for i in range(0, len(units), 5000):
            conn.execute(insert(AdminUnit.__table__), units[i:i + 5000])

    log(f"seeding {args.households} households ...")
    t0 = time.perf_counter()
    with engine.begin() as conn:
        if url.startswith("postgresql"):
            conn.execute(text("CREATE TEMP TABLE bench_villages (idx int PRIMARY KEY, id uuid, path text, "
                              "tap_pct int)"))
            conn.execute(text("INSERT INTO bench_villages VALUES (:idx, :id, :path, :tap)"),
                         [{"idx": i, "id": v["id"], "path": v["lgd_path"], "tap": rng.choice((0, 40, 75, 100, 100))}
                          for i, (v, _, _, _) in enumerate(villages)])
            conn.execute(text(
                "INSERT INTO households (id, code, version, lgd_path, created_at, updated_at, created_by, "
                "source_system, village_id, members_count, social_category, has_tap_connection, is_exempted) "
                "SELECT gen_random_uuid(), 'HH-' || g, 1, v.path, now(), now(), 'bench', 'bench', v.id, "
                "1 + (g % 7), (ARRAY['sc','st','obc','general','other'])[1 + (g % 5)], "
                "((g::bigint * 7919) % 100) < v.tap_pct, false "
                "FROM generate_series(0, :n - 1) AS g JOIN bench_villages v ON v.idx = g % :nv"),
                {"n": args.households, "nv": len(villages)})
            conn.execute(text("ANALYZE households"))
        else:
            taps = [rng.choice((0, 40, 75, 100, 100)) for _ in villages]
            categories = ("sc", "st", "obc", "general", "other")
            batch = []
            for g in range(args.households):
                idx = g % len(villages)
                v = villages[idx][0]
                batch.append({**_common(f"HH-{g}", v["lgd_path"], now), "village_id": v["id"],
                              "members_count": 1 + g % 7, "social_category": categories[g % 5],
                              "has_tap_connection": (g * 7919) % 100 < taps[idx], "is_exempted": False})
                if len(batch) == 20000:
                    conn.execute(insert(Household.__table__), batch)
                    batch = []
            if batch:
                conn.execute(insert(Household.__table__), batch)
    household_seconds = time.perf_counter() - t0

    log("seeding schemes, components, sampling points, samples, supply records ...")
    schemes, components, points, samples, supply = [], [], [], [], []
    by_gp: dict = {}
    for village, gp, lon, lat in villages:
        by_gp.setdefault(gp["id"], (gp, []))[1].append((village, lon, lat))
    today = dt.date.today()
    for gp, members in by_gp.values():
        scheme = {**_common(f"SCH-{gp['lgd_code']}", gp["lgd_path"], now), "name": "Scheme", "scheme_type": "svs",
                  "village_ids": [str(v["id"]) for v, _, _ in members], "habitation_ids": [],
                  "lifecycle_status": "commissioned", "is_functional": True, "design_lpcd": 55, "attributes": {}}
        schemes.append(scheme)
        for village, lon, lat in members:
            components.append({**_common(f"CMP-{village['lgd_code']}", village["lgd_path"], now),
                               "scheme_id": scheme["id"], "component_type": "fhtc", "village_id": village["id"],
                               "upstream_ids": [], "longitude": lon, "latitude": lat, "is_functional": True,
                               "attributes": {}})
            point = {**_common(f"SP-{village['lgd_code']}", village["lgd_path"], now), "point_type": "source",
                     "admin_unit_id": village["id"], "attributes": {}}
            points.append(point)
            for s in range(args.samples):
                unsafe = rng.random() < 0.08
                results = [{"parameter": p, "verdict": "exceeds" if unsafe and p == "fluoride" else
                            "within_acceptable"} for p in ("ph", "fluoride", "arsenic", "nitrate", "iron")]
                samples.append({**_common(f"SMP-{village['lgd_code']}-{s}", village["lgd_path"], now),
                                "sampling_point_id": point["id"], "test_kind": "lab",
                                "collected_at": now - dt.timedelta(days=rng.randint(0, 700)),
                                "season": "pre_monsoon", "verdict": "unsafe" if unsafe else "safe",
                                "contaminants": ["fluoride"] if unsafe else [], "results": [],
                                "evaluation": {"results": results}, "attributes": {}})
    supplied_villages = [v for v, _, _, _ in villages[:args.supply_villages]]
    scheme_of = {}
    for scheme in schemes:
        for vid in scheme["village_ids"]:
            scheme_of[vid] = scheme["id"]
    # every day of the published months (the current month up to today, and the full months before it)
    first = today.replace(day=1)
    for _ in range(args.service_months - 1):
        first = (first - dt.timedelta(days=1)).replace(day=1)
    days = [first + dt.timedelta(days=i) for i in range((today - first).days + 1)]
    for village in supplied_villages:
        for date in days:
            supply.append({**_common(f"SUP-{village['lgd_code']}-{date.isoformat()}", village["lgd_path"], now),
                           "scheme_id": scheme_of[str(village["id"])], "village_id": village["id"],
                           "supply_date": date, "supplied": rng.random() < 0.9, "volume_supplied_kl": 40.0,
                           "source": "operator", "chlorinated": False, "attributes": {}})
    with engine.begin() as conn:
        for table, rows in ((Scheme.__table__, schemes), (Component.__table__, components),
                            (SamplingPoint.__table__, points), (Sample.__table__, samples),
                            (SupplyRecord.__table__, supply)):
            for i in range(0, len(rows), 5000):
                conn.execute(insert(table), rows[i:i + 5000])
        if url.startswith("postgresql"):
            conn.execute(text("ANALYZE"))
    engine.dispose()
    return {"units": len(units), "villages": len(villages), "households": args.households,
            "household_seed_seconds": round(household_seconds, 1), "schemes": len(schemes),
            "components": len(components), "samples": len(samples), "supply_records": len(supply)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--backend", choices=("postgresql", "sqlite"), default="postgresql")
    parser.add_argument("--pg-base", default=benchlib.DEFAULT_PG)
    parser.add_argument("--households", type=int, default=10_000_000)
    parser.add_argument("--districts", type=int, default=30)
    parser.add_argument("--blocks", type=int, default=10, help="blocks per district")
    parser.add_argument("--gps", type=int, default=50, help="gram panchayats per block")
    parser.add_argument("--villages", type=int, default=3, help="villages per gram panchayat")
    parser.add_argument("--samples", type=int, default=2, help="lab samples per village (over the last ~2 years)")
    parser.add_argument("--supply-villages", type=int, default=4500,
                        help="villages with a supply record on every day of the published months")
    parser.add_argument("--service-months", type=int, default=3, help="opendata_service_months (the node's default)")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--keep", action="store_true", help="keep the database")
    args = parser.parse_args()

    with benchlib.bench_database(args.backend, "opendata", pg_base=args.pg_base, keep=args.keep) as bdb:
        seeded = seed(bdb.url, args)
        with tempfile.TemporaryDirectory(prefix="jaldpi_opendata_bench_") as out:
            settings = benchlib.settings_for(bdb.url).model_copy(update={
                "opendata_dir": Path(out), "opendata_service_months": args.service_months})
            db = Database(bdb.url)
            log("building ...")
            t0 = time.perf_counter()
            release = build_release(db, settings, force=True)
            seconds = time.perf_counter() - t0
            db.dispose()
            per_dataset = {name: {"rows": e["rows"], "seconds": e["seconds"],
                                  "suppressed_cells": e["suppressed_cells"]}
                           for name, e in release.manifest["datasets"].items()}
            sizes = {p.name: p.stat().st_size for p in Path(release.directory).rglob("*") if p.is_file()}
            log(f"build: {seconds:.1f} s {json.dumps(per_dataset)}")
        machine = benchlib.machine(bdb.url if args.backend == "postgresql" else None)  # before the drop
    print(json.dumps({"benchmark": "opendata_build", "backend": args.backend, "seeded": seeded,
                      "build_seconds": round(seconds, 2), "goal_seconds": 60, "met": seconds < 60,
                      "datasets": per_dataset, "bytes": sum(sizes.values()),
                      "machine": machine}, indent=1))


if __name__ == "__main__":
    main()
