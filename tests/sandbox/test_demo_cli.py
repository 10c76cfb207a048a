"""``jaldpi demo --no-serve`` end to end, as a newcomer runs it, on a temporary SQLite file."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from sqlalchemy import create_engine, text

JALDPI = Path(sys.executable).parent / "jaldpi"


def run(args: list[str], cwd: Path, db: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "JALDPI_DATABASE_URL": f"sqlite:///{db}", "COLUMNS": "160",
           "JALDPI_PASSWORD_HASH_TIME_COST": "1", "JALDPI_PASSWORD_HASH_MEMORY_KIB": "1024"}
    return subprocess.run([str(JALDPI), *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=120)


def test_demo_no_serve_on_fresh_sqlite(tmp_path):
    db = tmp_path / "demo.db"
    # the README's command with fewer telemetry days than its default of 30 (the same code, a shorter test)
    first = run(["demo", "--no-serve", "--telemetry-days", "3"], tmp_path, db)
    assert first.returncode == 0, first.stdout + first.stderr
    out = first.stdout
    for expected in ("http://127.0.0.1:8000/docs", "/standard/v1/", "/api/v1/admin_units/LGD-V9000000",
                     "demo-district_official", "partner_system", "grant_type=password", "sandbox",
                     "http://127.0.0.1:8000/citizen/village/9000000", "/citizen/data/", "open data release",
                     "tap_coverage"):
        assert expected in out, expected
    engine = create_engine(f"sqlite:///{db}")
    with engine.connect() as conn:
        households = conn.execute(text("SELECT count(*) FROM households")).scalar_one()
        accounts = conn.execute(text("SELECT count(*) FROM accounts")).scalar_one()
        supply = conn.execute(text("SELECT count(*) FROM supply_records")).scalar_one()
    engine.dispose()
    assert households > 1000 and accounts == 10 and supply > 0
    assert (tmp_path / "var" / "opendata" / "LATEST").is_file()  # the open-data release the Citizen Corner reads
    second = run(["demo", "--no-serve", "--telemetry-days", "0"], tmp_path, db)  # fast: the sandbox is there
    assert second.returncode == 0, second.stdout + second.stderr
    assert "already present" in second.stdout and "exists" in second.stdout


def test_generate_refuses_unknown_scale(tmp_path):
    r = run(["sandbox", "generate", "--scale", "galaxy"], tmp_path, tmp_path / "x.db")
    assert r.returncode == 2 and "unknown scale" in r.stderr
