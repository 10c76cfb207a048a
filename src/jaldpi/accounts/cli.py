from __future__ import annotations

import typer
from rich.console import Console

app = typer.Typer(help="Accounts of people and partner systems.", no_args_is_help=True)
console = Console(stderr=True)


@app.command("create")
def create(username: str, role: str = typer.Option(..., help="code list roles"),
           within: str = typer.Option("/", help="'/' or level:code, e.g. district:745"),
           password: str = typer.Option(..., prompt=True, hide_input=True),
           kind: str = typer.Option("person", help="person | system"),
           display_name: str = typer.Option(None),
           source_system: str = typer.Option(None, help="system accounts: the name recorded as the source system "
                                             "of their writes, e.g. ap-jjm-mis")) -> None:
    """Create an account with one grant (more grants through the API)."""
    from jaldpi.accounts.service import GrantSpec, create_account
    from jaldpi.cli import database
    from jaldpi.config import get_settings
    from jaldpi.core.security import Passwords

    settings = get_settings()
    db = database()
    with db.unit_of_work() as session:
        create_account(session, Passwords(settings.password_hash_time_cost, settings.password_hash_memory_kib),
                       username=username, secret=password, kind=kind, display_name=display_name or username,
                       grants=[GrantSpec(role, within)], source_system=source_system)
    console.print(f"[green]created {kind} {username}[/] as {role} over {within}")
