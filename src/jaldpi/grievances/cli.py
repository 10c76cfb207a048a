"""`jaldpi grievances ...` commands."""

from __future__ import annotations

import typer

app = typer.Typer(help="Grievances from citizens (web, SMS, staff-entered calls): routing by village and asset, SLA and escalation, tracking, Open311 GeoReport v2.", no_args_is_help=True)
