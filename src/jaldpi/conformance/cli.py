"""`jaldpi conformance run | list`: check an implementation of data standard v1 and its API over HTTP.

Exit codes of `run`: 0 every MUST requirement checked passed; 1 some MUST failed (or could not be checked);
2 usage error or unreachable target.
"""

from __future__ import annotations

import json
from pathlib import Path

import typer
from rich.console import Console
from rich.markup import escape

app = typer.Typer(help="Conformance kit: check any implementation of data standard v1 and its API (a jaldpi node "
                  "or a state's own system) and report pass/fail per requirement.", no_args_is_help=True)


def _credential(kind: str, identifier: str | None, secret: str | None, flags: tuple[str, str]):
    from jaldpi.conformance.context import Credential

    if identifier is None and secret is None:
        return None
    if not identifier or not secret:
        raise typer.BadParameter(f"{flags[0]} and {flags[1]} go together")
    return Credential(kind, identifier, secret)  # type: ignore[arg-type]


def _one_of(client, person, what: str):
    if client and person:
        raise typer.BadParameter(f"give the {what} either as a client (id and secret) or as a user (username and "
                                 "password), not both")
    return client or person


@app.command("run")
def run_command(
    target: str = typer.Option(..., "--target", help="Base URL of the system under test, e.g. "
                               "https://sandbox.example.gov.in"),
    client_id: str = typer.Option(None, help="Partner-system client id (client_credentials grant)"),
    client_secret: str = typer.Option(None, envvar="JALDPI_CONFORMANCE_CLIENT_SECRET",
                                      help="Its secret (or the environment variable)"),
    username: str = typer.Option(None, help="A person's username (password grant), instead of a client"),
    password: str = typer.Option(None, envvar="JALDPI_CONFORMANCE_PASSWORD", help="Their password"),
    narrow_client_id: str = typer.Option(None, help="A second client bound to a smaller subtree (a district), for "
                                         "the jurisdiction checks"),
    narrow_client_secret: str = typer.Option(None, envvar="JALDPI_CONFORMANCE_NARROW_CLIENT_SECRET"),
    narrow_username: str = typer.Option(None, help="Or a person bound to a smaller subtree"),
    narrow_password: str = typer.Option(None, envvar="JALDPI_CONFORMANCE_NARROW_PASSWORD"),
    village_lgd: int = typer.Option(None, help="LGD code of the village to write test records in (default: the "
                                    "first village inside the credential's jurisdiction)"),
    read_only: bool = typer.Option(False, "--read-only", help="Write nothing: checks that write are skipped"),
    only: str = typer.Option(None, help="Comma-separated requirement ids to check (default: all)"),
    json_out: Path = typer.Option(None, "--json", help="Also write the report as JSON to this file"),
    timeout: float = typer.Option(30.0, help="Seconds to wait for each answer"),
) -> None:
    """Check TARGET and print one line per requirement; exit 0 if every MUST passes, 1 if not, 2 on usage errors."""
    from jaldpi.conformance.context import RunOptions
    from jaldpi.conformance.runner import TargetUnreachable, UsageError, run

    errors = Console(stderr=True)
    main = _one_of(_credential("client_credentials", client_id, client_secret, ("--client-id", "--client-secret")),
                   _credential("password", username, password, ("--username", "--password")), "credential")
    narrow = _one_of(_credential("client_credentials", narrow_client_id, narrow_client_secret,
                                 ("--narrow-client-id", "--narrow-client-secret")),
                     _credential("password", narrow_username, narrow_password,
                                 ("--narrow-username", "--narrow-password")), "narrow credential")
    options = RunOptions(target=target, credential=main, narrow=narrow, village_lgd=village_lgd, read_only=read_only,
                         only=tuple((only or "").split(",")) if only else (), timeout_s=timeout)
    try:
        report = run(options)
    except UsageError as exc:
        errors.print(f"[red]error:[/] {escape(str(exc))}", soft_wrap=True, highlight=False)
        raise typer.Exit(2) from exc
    except TargetUnreachable as exc:
        errors.print(f"[red]error:[/] cannot reach {escape(target)} ({escape(str(exc))})", soft_wrap=True,
                     highlight=False)
        raise typer.Exit(2) from exc
    report.render(Console())
    if json_out is not None:
        json_out.write_text(json.dumps(report.to_dict(), indent=1, ensure_ascii=False), encoding="utf-8")
    raise typer.Exit(report.exit_code)


@app.command("list")
def list_command(markdown: bool = typer.Option(False, "--markdown", help="Print the Markdown table of "
                                               "docs/conformance.md instead")) -> None:
    """Print the catalogue of requirements: id, level, statement, documentation section, what a check needs."""
    from jaldpi.conformance.report import catalogue_markdown, catalogue_table

    if markdown:
        typer.echo(catalogue_markdown(), nl=False)
    else:
        catalogue_table(Console())
