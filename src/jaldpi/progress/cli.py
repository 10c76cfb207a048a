"""`jaldpi progress ...` commands."""

from __future__ import annotations

import typer

app = typer.Typer(help="Scheme physical and financial progress, approved maker-checker through the workflow engine; district and state reports.", no_args_is_help=True)
