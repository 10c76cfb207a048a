"""End-to-end import of the real CGWB groundwater-quality workbook into a fresh PostgreSQL database.

    .venv/bin/python bench/wq_cgwb_import.py
    .venv/bin/python bench/wq_cgwb_import.py --admin-url postgresql+psycopg://postgres@127.0.0.1:5432/postgres \\
        --file ../shared/data/cgwb/nhs_groundwater_quality_pre_monsoon_2023.xlsx --batch-size 5000

Creates ``jaldpi_bench_cgwb_<hex>``, migrates it (``jaldpi.core.migrate.upgrade``), loads the LGD states and
districts (``../shared/data/lgd``), imports the workbook through ``jaldpi.water_quality.importers.import_cgwb`` (name
matching, sampling points and samples through ``Registry.import_records``, IS 10500 evaluation on write, the
exceedance read-back), re-imports it (idempotent: everything ignored), and drops the database. Prints one JSON
object: seconds and rows/s of the import (and of the re-import), matched / unmatched / skipped, exceedances.

``--without-workflow-hooks`` leaves out the samples' ``on_written`` hook (the remedial-action workflow); use it to
measure the importer alone, or while the workflow cannot place cases for district-level sampling points.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))
SHARED = ROOT.parent / "shared" / "data"

from sqlalchemy import create_engine, text  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--admin-url", default="postgresql+psycopg://postgres@127.0.0.1:5432/postgres")
    ap.add_argument("--file", type=Path, default=SHARED / "cgwb" / "nhs_groundwater_quality_pre_monsoon_2023.xlsx")
    ap.add_argument("--lgd", type=Path, default=SHARED / "lgd")
    ap.add_argument("--batch-size", type=int, default=5000)
    ap.add_argument("--keep", action="store_true", help="do not drop the database")
    ap.add_argument("--without-workflow-hooks", action="store_true")
    args = ap.parse_args()

    from jaldpi.admin_units.lgd_import import load
    from jaldpi.config import Settings
    from jaldpi.core.db import Database
    from jaldpi.core.migrate import upgrade
    from jaldpi.registries import all_models, build_catalogue
    from jaldpi.water_quality.importers import import_cgwb

    all_models()
    name = f"jaldpi_bench_cgwb_{uuid.uuid4().hex[:8]}"
    admin = create_engine(args.admin_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    url = args.admin_url.rsplit("/", 1)[0] + f"/{name}"
    db = Database(url)
    out: dict = {"database": "postgresql", "file": str(args.file), "batch_size": args.batch_size,
                 "workflow_hooks": not args.without_workflow_hooks}
    try:
        upgrade(db)
        settings = Settings(env="test", database_url=url, node_id="bench")
        catalogue = build_catalogue(settings)
        if args.without_workflow_hooks:
            catalogue["samples"].spec.on_written = None
        t = time.perf_counter()
        load(db, catalogue["admin_units"], [args.lgd / "1-state.csv", args.lgd / "2-district.csv"])
        out["lgd_seconds"] = round(time.perf_counter() - t, 2)

        report = import_cgwb(db, catalogue, args.file, batch_size=args.batch_size)
        d = report.to_dict()
        out.update({
            "seconds": round(report.seconds, 2), "rows_read": d["rows_read"],
            "rows_per_second": round(d["rows_read"] / report.seconds, 1),
            "matched": d["matched"], "unmatched": d["unmatched"]["rows"], "skipped": d["skipped"]["rows"],
            "written": d["written"], "exceedances": {k: v["samples"] for k, v in d["exceedances"].items()},
        })
        again = import_cgwb(db, catalogue, args.file, batch_size=args.batch_size)
        out["reimport"] = {"seconds": round(again.seconds, 2), "written": again.to_dict()["written"]}
    finally:
        db.dispose()
        if not args.keep:
            with admin.connect() as conn:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()
    print(json.dumps(out, indent=1))


if __name__ == "__main__":
    main()
