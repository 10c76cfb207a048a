"""`jaldpi hgj ...` commands."""

from __future__ import annotations

import typer

app = typer.Typer(help="Har Ghar Jal certification (reported -> Gram Sabha resolution and video -> certified) and Village Action Plans.", no_args_is_help=True)
