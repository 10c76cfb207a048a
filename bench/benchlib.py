"""Shared set-up for the benchmark scripts in bench/ (not a test module; nothing here is timed by itself).

* a fresh PostgreSQL database (``jaldpi_bench_<purpose>_<hex>``) or SQLite file, migrated with the shipped migrations;
* a small world: state 28 > district 745 > block 4001 > GP 200001 > N villages (LGD codes 600001...);
* an account with one grant, created in-process (no HTTP);
* a real ``uvicorn`` server process on a free loopback port, started with ``--factory jaldpi.app:create_app``;
* machine facts for the JSON output.

Loopback only; every wait is bounded.
"""

from __future__ import annotations

import contextlib
import os
import platform
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx
from sqlalchemy import create_engine, text

from jaldpi.accounts.service import GrantSpec, create_account
from jaldpi.config import Settings
from jaldpi.core.db import Database
from jaldpi.core.migrate import upgrade
from jaldpi.core.registry import Strategy
from jaldpi.core.security import Grant, Passwords, Principal
from jaldpi.registries import all_models, build_catalogue
from jaldpi.standard.codelists import role_permissions

ROOT_DIR = Path(__file__).resolve().parents[1]
DEFAULT_PG = os.environ.get("JALDPI_BENCH_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/")
SECRET = "bench-secret-123"
STATE, DISTRICT, BLOCK, GP = 28, 745, 4001, 200001
VILLAGE_BASE = 600001

ROOT = Principal("bench-root", "person", (Grant("node_admin", "/"),), role_permissions())


# ------------------------------------------------------------------------------------------------ databases

def _admin_url(base: str) -> str:
    return base.rstrip("/") + "/postgres"


def create_pg_database(base: str, purpose: str) -> tuple[str, str]:
    name = f"jaldpi_bench_{purpose}_{uuid.uuid4().hex[:8]}"
    admin = create_engine(_admin_url(base), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    return name, base.rstrip("/") + f"/{name}"


def drop_pg_database(base: str, name: str) -> None:
    admin = create_engine(_admin_url(base), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


@dataclass
class BenchDB:
    backend: str
    url: str
    name: str | None = None  # PostgreSQL database name
    tmpdir: tempfile.TemporaryDirectory | None = None
    extra: dict = field(default_factory=dict)


@contextlib.contextmanager
def bench_database(backend: str, purpose: str, *, pg_base: str = DEFAULT_PG, keep: bool = False
                   ) -> Iterator[BenchDB]:
    """A fresh, migrated database; dropped (PostgreSQL) or deleted (SQLite) afterwards unless ``keep``."""
    all_models()
    if backend == "postgresql":
        name, url = create_pg_database(pg_base, purpose)
        bdb = BenchDB("postgresql", url, name=name)
    elif backend == "sqlite":
        tmp = tempfile.TemporaryDirectory(prefix="jaldpi_bench_")
        bdb = BenchDB("sqlite", f"sqlite:///{tmp.name}/bench.db", tmpdir=tmp)
    else:
        raise SystemExit(f"unknown backend {backend}")
    try:
        db = Database(bdb.url)
        upgrade(db)
        db.dispose()
        yield bdb
    finally:
        if not keep:
            if bdb.backend == "postgresql":
                drop_pg_database(pg_base, bdb.name)
            elif bdb.tmpdir is not None:
                bdb.tmpdir.cleanup()
        else:
            print(f"kept database: {bdb.url}", file=sys.stderr)


def settings_for(url: str) -> Settings:
    return Settings(env="development", database_url=url, node_id="bench-node", password_hash_time_cost=1,
                    password_hash_memory_kib=1024, rate_limit_per_minute=0, anonymous_rate_limit_per_minute=0)


# ------------------------------------------------------------------------------------------------ world

def world_units(villages: int) -> list[dict]:
    units = [
        {"level": "state", "lgd_code": STATE, "name": "Bench State", "census2011_code": str(STATE)},
        {"level": "district", "lgd_code": DISTRICT, "name": "Bench District", "parent": STATE},
        {"level": "block", "lgd_code": BLOCK, "name": "Bench Block", "parent": {"code": f"LGD-D{DISTRICT}"}},
        {"level": "gram_panchayat", "lgd_code": GP, "name": "Bench GP", "parent": {"code": f"LGD-B{BLOCK}"}},
    ]
    units += [{"level": "village", "lgd_code": VILLAGE_BASE + i, "name": f"Bench Village {i + 1}",
               "parent": {"code": f"LGD-G{GP}"}} for i in range(villages)]
    return units


def build_world(url: str, villages: int, *, username: str, role: str, kind: str = "system") -> dict:
    """Admin units and one account (grant over the state). Returns ids of the units by code."""
    settings = settings_for(url)
    db = Database(url)
    catalogue = build_catalogue(settings)
    ids: dict[str, str] = {}
    try:
        with db.unit_of_work() as session:
            summary = catalogue["admin_units"].import_records(session, ROOT, world_units(villages),
                                                              strategy=Strategy.create)
            if summary.status != "ok":
                raise SystemExit(f"world set-up failed: {summary.to_dict()}")
            ids = {r.code: str(r.id) for r in summary.rows}
        with db.unit_of_work() as session:
            create_account(session, Passwords(1, 1024), username=username, secret=SECRET, kind=kind,
                           display_name=username, grants=[GrantSpec(role, f"state:{STATE}")],
                           source_system="bench-state-mis" if kind == "system" else None)
    finally:
        db.dispose()
    return ids


def village_codes(villages: int) -> list[int]:
    return [VILLAGE_BASE + i for i in range(villages)]


# ------------------------------------------------------------------------------------------------ server

def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def server(url: str, *, workers: int = 1, max_body_bytes: int = 2 * 1024 ** 3, startup_timeout: float = 60.0,
           extra_env: dict[str, str] | None = None, info: dict | None = None) -> Iterator[str]:
    """A real uvicorn process serving ``jaldpi.app:create_app`` on 127.0.0.1:<free port>; yields its base URL."""
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("JALDPI_")}
    env.update({
        "JALDPI_DATABASE_URL": url, "JALDPI_ENV": "development", "JALDPI_NODE_ID": "bench-node",
        "JALDPI_RATE_LIMIT_PER_MINUTE": "0", "JALDPI_ANONYMOUS_RATE_LIMIT_PER_MINUTE": "0",
        "JALDPI_MAX_BODY_BYTES": str(max_body_bytes), "JALDPI_PASSWORD_HASH_TIME_COST": "1",
        "JALDPI_PASSWORD_HASH_MEMORY_KIB": "1024",
    })
    env.update(extra_env or {})
    cmd = [sys.executable, "-m", "uvicorn", "jaldpi.app:create_app", "--factory", "--host", "127.0.0.1",
           "--port", str(port), "--log-level", "warning", "--no-access-log", "--workers", str(workers)]
    log = tempfile.TemporaryFile()
    # cwd: an empty temporary folder, so that no stray .env file changes the settings
    with tempfile.TemporaryDirectory(prefix="jaldpi_bench_cwd_") as cwd:
        proc = subprocess.Popen(cmd, env=env, cwd=cwd, stdout=log, stderr=subprocess.STDOUT)
        base = f"http://127.0.0.1:{port}"
        if info is not None:
            info["pid"] = proc.pid
        try:
            deadline = time.monotonic() + startup_timeout
            while True:
                if proc.poll() is not None:
                    log.seek(0)
                    raise SystemExit(f"server exited with {proc.returncode}:\n{log.read().decode(errors='replace')}")
                try:
                    if httpx.get(base + "/health", timeout=2.0).status_code == 200:
                        break
                except httpx.HTTPError:
                    pass
                if time.monotonic() > deadline:
                    raise SystemExit("server did not become healthy in time")
                time.sleep(0.2)
            yield base
        finally:
            proc.terminate()
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=15)
            log.close()


def token(base: str, username: str, kind: str = "system") -> dict[str, str]:
    if kind == "system":
        form = {"grant_type": "client_credentials", "client_id": username, "client_secret": SECRET}
    else:
        form = {"grant_type": "password", "username": username, "password": SECRET}
    r = httpx.post(base + "/api/v1/auth/token", data=form, timeout=30.0)
    r.raise_for_status()
    return {"Authorization": f"Bearer {r.json()['access_token']}"}


# ------------------------------------------------------------------------------------------------ facts

def machine(url: str | None = None) -> dict:
    facts = {"cores": os.cpu_count(), "python": platform.python_version(), "platform": platform.platform(),
             "loadavg_1m_5m_15m_at_start": [round(x, 2) for x in os.getloadavg()]}
    try:
        facts["cpu"] = next((line.split(":", 1)[1].strip() for line in open("/proc/cpuinfo")
                             if line.startswith("model name")), None)
    except OSError:
        pass
    if url and url.startswith("postgresql"):
        engine = create_engine(url)
        with engine.connect() as conn:
            facts["postgres"] = conn.execute(text("SHOW server_version")).scalar_one()
            facts["postgres_settings"] = {
                k: conn.execute(text(f"SHOW {k}")).scalar_one()
                for k in ("shared_buffers", "synchronous_commit", "fsync", "wal_level", "max_wal_size")
            }
        engine.dispose()
    return facts


def percentile(sorted_values: list[float], p: float) -> float | None:
    if not sorted_values:
        return None
    k = (len(sorted_values) - 1) * p / 100.0
    lo = int(k)
    hi = min(lo + 1, len(sorted_values) - 1)
    return sorted_values[lo] + (sorted_values[hi] - sorted_values[lo]) * (k - lo)


def process_cpu_seconds(pid: int) -> float:
    """User+system CPU seconds of a process and its live children (uvicorn workers), from /proc."""
    tick = os.sysconf("SC_CLK_TCK")
    total = 0.0
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        this, ppid = int(entry.name), int(fields[1])
        if this == pid or ppid == pid:
            total += (int(fields[11]) + int(fields[12])) / tick
    return total
