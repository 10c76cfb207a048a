"""`jaldpi notifications ...` commands."""

from __future__ import annotations

import typer

app = typer.Typer(help="Notifications: an outbox written in the caller's unit of work, pluggable channels (SMS gateway, WhatsApp Business, email, file), EN/HI templates.", no_args_is_help=True)
