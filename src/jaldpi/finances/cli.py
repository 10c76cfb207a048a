"""`jaldpi finances ...` commands."""

from __future__ import annotations

import typer

app = typer.Typer(help="Village water committee finances: tariff plans, monthly demand, collections and receipts, arrears, expenditure, cost recovery, community contribution.", no_args_is_help=True)
