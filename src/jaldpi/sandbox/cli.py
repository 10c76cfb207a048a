import typer

app = typer.Typer(help="Synthetic sandbox data.", no_args_is_help=True)


def demo() -> None:
    """Set up and serve a sandbox node (placeholder, replaced below)."""
    raise typer.Exit(1)
