"""`jaldpi documents ...` commands."""

from __future__ import annotations

import typer

app = typer.Typer(help="Documents: content-hashed files (photos, videos, resolutions, certificates, receipts) with their metadata as a registry.", no_args_is_help=True)
