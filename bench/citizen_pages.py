"""Citizen Corner: village page requests/s through a real server, and the weight of every kind of public page.

    .venv/bin/python bench/citizen_pages.py                          # PostgreSQL, 8 client threads
    .venv/bin/python bench/citizen_pages.py --backend sqlite --duration 20 --telemetry-days 30

Sets up a sandbox node (`jaldpi sandbox generate`, one block on the real LGD hierarchy of the seed state, plus
`--telemetry-days` of sandbox telemetry so that villages have their last 30 days of supply) and builds an open-data
release, then starts a real uvicorn process and lets `--workers` client threads (keep-alive) GET random village
pages `/citizen/village/{lgd_code}` (English and Hindi) for `--duration` seconds after a warm-up. It also fetches
every kind of public page once (home, search, village, district, state, open data list and a dataset page) and
reports its size in bytes, uncompressed, against the 200 KB budget of issue 6. Prints one JSON object on stdout.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent))

import benchlib  # noqa: E402
from read_single import hammer  # noqa: E402

BUDGET_BYTES = 200 * 1024


def log(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


def setup(url: str, opendata_dir: Path, telemetry_days: int) -> tuple[list[int], dict]:
    from sqlalchemy import select

    from jaldpi.admin_units.models import AdminUnit
    from jaldpi.core.db import Database
    from jaldpi.opendata.build import build_release
    from jaldpi.registries import build_catalogue
    from jaldpi.sandbox.generate import generate

    settings = benchlib.settings_for(url).model_copy(update={"opendata_dir": opendata_dir})
    db = Database(url)
    catalogue = build_catalogue(settings)
    result = generate(db, catalogue, seed=7, scale="block")
    if telemetry_days:
        from jaldpi.sandbox.telemetry import generate_telemetry

        generate_telemetry(db, catalogue, seed=7, days=telemetry_days)
    release = build_release(db, settings)
    with db.unit_of_work(write=False) as session:
        villages = list(session.execute(select(AdminUnit.lgd_code).where(
            AdminUnit.level == "village", AdminUnit.lgd_path.contains(f"/B{result.sample['block']}/"))).scalars())
        district = result.sample.get("district")
        state = session.execute(select(AdminUnit.lgd_code).where(AdminUnit.level == "state")).scalars().first()
    db.dispose()
    return villages, {"release": release.id, "district": district, "state": state, "sample": result.sample}


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--backend", default="postgresql", choices=["postgresql", "sqlite"])
    p.add_argument("--workers", type=int, default=8)
    p.add_argument("--duration", type=float, default=30.0)
    p.add_argument("--requests", type=int, default=100_000)
    p.add_argument("--telemetry-days", type=int, default=30)
    p.add_argument("--server-workers", type=int, default=1)
    args = p.parse_args()

    with benchlib.bench_database(args.backend, "citizen") as bdb, \
            tempfile.TemporaryDirectory(prefix="jaldpi_opendata_") as od:
        facts_machine = benchlib.machine(bdb.url if args.backend == "postgresql" else None)
        log("setting up the sandbox and the open-data release ...")
        villages, facts = setup(bdb.url, Path(od), args.telemetry_days)
        with benchlib.server(bdb.url, workers=args.server_workers,
                             extra_env={"JALDPI_OPENDATA_DIR": od}) as base:
            pages = {
                "home": "/citizen/", "search": f"/citizen/villages?q={str(villages[0])[:4]}",
                "village_en": f"/citizen/village/{villages[0]}",
                "village_hi": f"/citizen/village/{villages[0]}?lang=hi",
                "district": f"/citizen/district/{facts['district']}", "state": f"/citizen/state/{facts['state']}",
                "data": "/citizen/data/", "dataset": "/citizen/data/tap_coverage",
            }
            sizes = {}
            for name, path in pages.items():
                r = httpx.get(base + path, timeout=60)
                sizes[name] = {"status": r.status_code, "bytes": len(r.content)}
            paths = [f"/citizen/village/{v}" for v in villages] + [f"/citizen/village/{v}?lang=hi" for v in villages]
            log(f"{len(villages)} villages; warming up ...")
            hammer(base, {}, paths, workers=args.workers, max_requests=500, max_seconds=30, seed=1)
            log("measuring ...")
            result = hammer(base, {}, paths, workers=args.workers, max_requests=args.requests,
                            max_seconds=args.duration, seed=2)
    out = {
        "benchmark": "citizen_pages", "backend": args.backend, "villages": len(villages),
        "telemetry_days": args.telemetry_days, "client_threads": args.workers, "server_workers": args.server_workers,
        "village_page": result,
        "page_bytes": sizes, "largest_page_bytes": max(v["bytes"] for v in sizes.values()),
        "all_pages_under_200kb": all(v["bytes"] < BUDGET_BYTES and v["status"] == 200 for v in sizes.values()),
        "machine": facts_machine,
    }
    print(json.dumps(out, indent=2))
    sys.exit(0 if out["all_pages_under_200kb"] and result["errors"] == 0 else 1)


if __name__ == "__main__":
    os.environ.setdefault("PYTHONHASHSEED", "0")
    main()
