import typer

app = typer.Typer(help="LGD directory.", no_args_is_help=True)
