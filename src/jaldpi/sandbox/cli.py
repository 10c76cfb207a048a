"""Sandbox commands: ``jaldpi sandbox generate``, ``jaldpi sandbox accounts`` and the newcomer's ``jaldpi demo``."""

from __future__ import annotations

import time
from pathlib import Path

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

app = typer.Typer(help="Synthetic sandbox data.", no_args_is_help=True)
console = Console()
err = Console(stderr=True)

SCALE_HELP = "block | district | state | large-state"


def _node(migrate: bool = True):
    """Settings, database (migrated) and catalogue of the configured node."""
    from jaldpi.config import get_settings
    from jaldpi.core.db import Database
    from jaldpi.core.migrate import upgrade
    from jaldpi.registries import all_models, build_catalogue

    settings = get_settings()
    all_models()
    db = Database(settings.database_url)
    if migrate:
        upgrade(db)
    return settings, db, build_catalogue(settings)


def _generate(db, catalogue, *, seed: int, scale: str, state_code: int, lgd_dir: Path | None,
              district_code: int | None = None, block_code: int | None = None, batch_size: int = 5000):
    from jaldpi.sandbox.generate import SCALES, SandboxError, generate
    from jaldpi.sandbox.lgd import LgdSourceError

    if scale not in SCALES:
        err.print(f"[red]unknown scale {scale!r}[/]; use {SCALE_HELP}")
        raise typer.Exit(2)
    progress = Progress(TextColumn("[bold]sandbox[/] {task.description}"), BarColumn(), MofNCompleteColumn(),
                        TextColumn("blocks · {task.fields[records]:,} records"), TimeElapsedColumn(),
                        console=err, transient=False)
    task = None

    def on_start(blocks: int) -> None:
        nonlocal task
        task = progress.add_task(f"seed {seed}, {scale}", total=blocks, records=0)

    def on_progress(done: int, records: int) -> None:
        progress.update(task, completed=done, records=records)

    try:
        with progress:
            return generate(db, catalogue, seed=seed, scale=scale, state_code=state_code, lgd_dir=lgd_dir,
                            batch_size=batch_size, district_code=district_code, block_code=block_code,
                            on_start=on_start, on_progress=on_progress)
    except (SandboxError, LgdSourceError) as exc:
        err.print(f"[red]{exc}[/]")
        raise typer.Exit(1) from exc


def _summary(result) -> None:
    table = Table(title="sandbox " + ("(already present: skipped)" if result.skipped else "generated"))
    table.add_column("registry")
    table.add_column("created by sandbox" if not result.skipped else "sandbox records", justify="right")
    if result.totals:
        table.add_column("in database", justify="right")
    for name, n in result.counts.items():
        row = [name, f"{n:,}"]
        if result.totals:
            row.append(f"{result.totals.get(name, 0):,}")
        table.add_row(*row)
    console.print(table)
    console.print(f"seed {result.seed}, scale {result.scale}, state {result.state_code}; LGD upper hierarchy from "
                  f"{result.lgd_source} ({result.upper.get('created', 0)} units created); "
                  f"{result.seconds:.1f} s")


@app.command("generate")
def generate_cmd(
    seed: int = typer.Option(7, help="same seed, same records (ids included)"),
    scale: str = typer.Option("block", help=SCALE_HELP),
    state_code: int = typer.Option(36, help="LGD state code (the bundled seed holds 36, Telangana)"),
    lgd_dir: Path = typer.Option(None, help="directory of the official LGD CSV files; default ../shared/data/lgd "
                                 "if present, else the bundled Telangana seed"),
    district_code: int = typer.Option(None, help="district for scale block/district (default: drawn from seed)"),
    block_code: int = typer.Option(None, help="the block for scale block (default: drawn from the seed)"),
    batch_size: int = typer.Option(5000, min=100, help="records per import call"),
) -> None:
    """Generate a synthetic state on the real LGD upper hierarchy (writes through the registries)."""
    _settings, db, catalogue = _node()
    result = _generate(db, catalogue, seed=seed, scale=scale, state_code=state_code, lgd_dir=lgd_dir,
                       district_code=district_code, block_code=block_code, batch_size=batch_size)
    _summary(result)


def _telemetry(db, catalogue, *, seed: int, days: int, interval_minutes: int, schemes: int | None,
               end: str | None = None) -> None:
    import datetime as dt

    from jaldpi.sandbox.generate import SandboxError
    from jaldpi.sandbox.telemetry import generate_telemetry

    progress = Progress(TextColumn("[bold]telemetry[/] {task.description}"), BarColumn(), MofNCompleteColumn(),
                        TextColumn("days"), TimeElapsedColumn(), console=err, transient=False)
    try:
        end_day = dt.date.fromisoformat(end) if end else None
    except ValueError as exc:
        err.print("[red]--end: expected YYYY-MM-DD[/]")
        raise typer.Exit(2) from exc
    try:
        with progress:
            task = progress.add_task(f"seed {seed}, {interval_minutes} min", total=days)
            result = generate_telemetry(db, catalogue, seed=seed, days=days, interval_minutes=interval_minutes,
                                        schemes=schemes, end=end_day,
                                        on_day=lambda done, total: progress.update(task, completed=done))
    except SandboxError as exc:
        err.print(f"[red]{exc}[/]")
        raise typer.Exit(1) from exc
    table = Table(title=f"sandbox telemetry {result.first_day} .. {result.end_day - dt.timedelta(days=1)}")
    table.add_column("")
    table.add_column("count", justify="right")
    for name, n in (("schemes", result.schemes), ("datastreams", result.datastreams),
                    ("datastreams created", result.datastreams_created), ("observations sent", result.observations),
                    ("observations created", result.created), ("flagged", result.flagged),
                    ("duplicates (already stored)", result.duplicates), ("supply records", result.supply_records)):
        table.add_row(name, f"{n:,}")
    console.print(table)
    console.print("incidents and faults: " + ", ".join(f"{k} {n}" for k, n in result.event_counts().items()),
                  highlight=False)
    console.print(f"seed {result.seed}, every {result.interval_minutes} min; {result.seconds:.1f} s")


@app.command("telemetry")
def telemetry_cmd(
    days: int = typer.Option(90, min=1, max=366, help="local (IST) days of data, ending yesterday (or before --end)"),
    seed: int = typer.Option(7, help="same seed, same observations"),
    interval_minutes: int = typer.Option(15, min=1, max=1440, help="reporting interval (divides a day)"),
    schemes: int = typer.Option(None, min=1, help="only the first N serving schemes (by code); default all"),
    end: str = typer.Option(None, help="first day NOT generated (YYYY-MM-DD); default today (IST)"),
) -> None:
    """Sensor data for the sandbox's serving schemes (supply windows, breakdowns, leaks, power cuts, sensor faults)
    through the telemetry ingest, and the daily supply records derived from it."""
    _settings, db, catalogue = _node()
    _telemetry(db, catalogue, seed=seed, days=days, interval_minutes=interval_minutes, schemes=schemes, end=end)


@app.command("accounts")
def accounts_cmd(state_code: int = typer.Option(36)) -> None:
    """Create the demo accounts (one per role) for the sandbox already in the database."""
    settings, db, _catalogue = _node()
    accounts = _ensure_accounts(settings, db, state_code)
    if accounts is None:
        err.print("[red]no sandbox in this database[/]: run `jaldpi sandbox generate` first")
        raise typer.Exit(1)
    _print_accounts(accounts)


def _ensure_accounts(settings, db, state_code: int, sample: dict[str, int] | None = None):
    from jaldpi.core.security import Passwords
    from jaldpi.sandbox.accounts import demo_accounts, ensure_demo_accounts
    from jaldpi.sandbox.generate import sandbox_marker

    with db.unit_of_work() as session:
        if sample is None:
            marker = sandbox_marker(session, state_code)
            if not marker:
                return None
            sample = marker["sample"]
        accounts = demo_accounts(state_code, sample)
        status = ensure_demo_accounts(session, Passwords(settings.password_hash_time_cost,
                                                         settings.password_hash_memory_kib), accounts)
    return [(a, status[a.username]) for a in accounts]


def _print_accounts(accounts) -> None:
    console.print("[bold]Demo accounts[/] [yellow](sandbox only: these passwords are public)[/]")
    width = max(len(a.username) for a, _ in accounts)
    pw = max(len(a.password) for a, _ in accounts)
    for a, status in accounts:
        kind = "  (system: client credentials)" if a.kind == "system" else ""
        console.print(f"  {a.username:<{width}}  {a.password:<{pw}}  {a.within:<24} {status}{kind}",
                      highlight=False, soft_wrap=True)


def _operations(node, *, seed: int) -> dict[str, dict[str, int]]:
    """A little of every operations domain (issue 7) on top of the generated state: documents, staff contacts,
    progress updates, upkeep, grievances, committee finances and Har Ghar Jal certification, each written through
    its own services (``jaldpi.<domain>.sandbox.seed_demo``), in the order they depend on each other."""
    from jaldpi.registries import OPERATIONS_DOMAINS

    counts: dict[str, dict[str, int]] = {}
    for name in OPERATIONS_DOMAINS:
        module = __import__(f"jaldpi.{name}.sandbox", fromlist=["seed_demo"])
        counts[name] = module.seed_demo(node, seed=seed)
    console.print("operations: " + "; ".join(
        f"{name} " + ", ".join(f"{k} {v:,}" for k, v in c.items()) for name, c in counts.items()), highlight=False)
    return counts


@app.command("operations")
def operations_cmd(seed: int = typer.Option(7, help="sandbox seed")) -> None:
    """Add operations data (progress, grievances, upkeep, finances, HGJ certification) to a generated sandbox."""
    from jaldpi.app import create_app

    settings, db, _ = _node()
    _operations(create_app(settings, db).state.node, seed=seed)


def demo(
    host: str = typer.Option("127.0.0.1"),
    port: int = typer.Option(8000),
    seed: int = typer.Option(7, help="sandbox seed"),
    scale: str = typer.Option("block", help=SCALE_HELP),
    state_code: int = typer.Option(36, help="LGD state code"),
    lgd_dir: Path = typer.Option(None, help="official LGD CSV directory (default: ../shared/data/lgd or the seed)"),
    serve: bool = typer.Option(True, "--serve/--no-serve", help="start the API server at the end"),
    telemetry_days: int = typer.Option(30, min=0, max=366, help="days of sandbox telemetry and the daily supply "
                                       "records derived from it (`jaldpi sandbox telemetry`), so that villages show "
                                       "their last 30 days of service; 0: none (faster)"),
) -> None:
    """Set up a sandbox node and serve it: migrate, load LGD, generate synthetic data, create demo accounts."""
    started = time.perf_counter()
    settings, db, catalogue = _node()
    console.print(f"[bold]jaldpi demo[/]: database {db.engine.url.render_as_string(hide_password=True)} "
                  f"({db.dialect}), migrated")
    result = _generate(db, catalogue, seed=seed, scale=scale, state_code=state_code, lgd_dir=lgd_dir)
    _summary(result)
    if telemetry_days:
        _telemetry(db, catalogue, seed=seed, days=telemetry_days, interval_minutes=15, schemes=None)
    accounts = _ensure_accounts(settings, db, state_code, result.sample)
    _print_accounts(accounts)
    from jaldpi.app import create_app

    app = create_app(settings, db)
    _operations(app.state.node, seed=seed)
    from jaldpi.opendata.build import build_release  # open data: aggregated, small cells suppressed

    release = build_release(db, settings)
    console.print(f"open data release {release.id}: " + ", ".join(
        f"{name} {entry['rows']:,} rows" for name, entry in release.manifest["datasets"].items()), highlight=False)

    base = f"http://{host}:{port}"
    village = result.sample.get("village")
    console.print(f"""
[bold green]Ready[/] in {time.perf_counter() - started:.1f} s. [yellow]Synthetic data and public demo passwords: \
a sandbox, not for real data.[/]

  Citizen Corner (English / हिन्दी):   {base}/citizen/
  a sandbox village's water:           {base}/citizen/village/{village}
  open datasets (CSV, Parquet, ...):   {base}/citizen/data/
  officials' dashboard (sign in):      {base}/officials/
  API docs (sign in with Authorize):  {base}/docs
  data standard (schemas, code lists): {base}/standard/v1/
  a sandbox village (public):          {base}/api/v1/admin_units/LGD-V{village}
  its households (sign in):            {base}/api/v1/households?within=village:{village}
  water quality of the villages:       {base}/api/v1/water-quality/village-status
  open contamination cases:            {base}/api/v1/cases?status=open
  IS 10500 rule set (public):          {base}/api/v1/water-quality/ruleset
  report a problem in that village:    {base}/citizen/village/{village}/report
  Open311 GeoReport v2 services:       {base}/open311/v2/services.json
  Har Ghar Jal certification summary:  {base}/public/v1/hgj/summary
  progress per district (sign in):     {base}/api/v1/progress/reports/district

Get a token as the district official and list households of the district:

  TOKEN=$(curl -s -X POST {base}/api/v1/auth/token -d grant_type=password \\
      -d username=district_official -d password=demo-district_official \\
      | python3 -c 'import json,sys; print(json.load(sys.stdin)["access_token"])')
  curl -s -H "Authorization: Bearer $TOKEN" "{base}/api/v1/households?limit=5&total=true"

A partner system signs in with client credentials:

  curl -s -X POST {base}/api/v1/auth/token -d grant_type=client_credentials \\
      -d client_id=partner_system -d client_secret=demo-partner_system
""", highlight=False, soft_wrap=True)
    if not serve:
        return
    import uvicorn

    console.print(f"serving on {base} (Ctrl+C to stop)")
    uvicorn.run(app, host=host, port=port, log_level="info")
