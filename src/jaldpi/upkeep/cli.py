"""`jaldpi upkeep ...` commands."""

from __future__ import annotations

import typer

app = typer.Typer(help="Asset upkeep: preventive maintenance schedules, breakdown tickets, repairs, condition, downtime and mean time to repair.", no_args_is_help=True)
