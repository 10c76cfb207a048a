"""``jaldpi hgj status | summary``: Har Ghar Jal certification from the node's database.

Both run as the node's operator (whole-node scope); ``--within`` narrows them to a unit (``district:745`` or a
path such as ``/S28/D745/``).
"""

from __future__ import annotations

import json

import typer
from rich.console import Console
from rich.table import Table

from jaldpi.admin_units.cli import within_option

app = typer.Typer(help="Har Ghar Jal certification (reported -> Gram Sabha resolution and video -> certified) and "
                  "Village Action Plans.", no_args_is_help=True)
out = Console()


def _operator():
    from jaldpi.core.security import Grant, Principal
    from jaldpi.standard.codelists import role_permissions

    return Principal("cli:operator", "system", (Grant("node_admin", "/"),), role_permissions())


@app.command("status")
def status(within: str = typer.Option(None, "--within", help="district:745, block:4001 or a path"),
           only: str = typer.Option(None, "--status", help="only this status (code list hgj_statuses)"),
           as_json: bool = typer.Option(False, "--json", help="print JSON")) -> None:
    """Villages with a Har Ghar Jal certification record: status and dates."""
    from jaldpi.certification.service import village_statuses
    from jaldpi.cli import database

    db = database()
    with db.unit_of_work(write=False) as session:
        items = village_statuses(session, _operator(), (within_option(session, within) or "/"), status=only)
    if as_json:
        print(json.dumps(items, indent=1, ensure_ascii=False))
        return
    table = Table("village", "LGD", "status", "reported", "resolution", "certified", "taps")
    for i in items:
        table.add_row(i["village"]["name"], str(i["village"]["lgd_code"]), i["status"], i["reported_on"] or "",
                      i["resolution_uploaded_on"] or "", i["certified_on"] or "", i["tap_check"] or "")
    out.print(table)
    out.print(f"{len(items)} villages")


@app.command("summary")
def summary(within: str = typer.Option(None, "--within", help="state:28, district:745 or a path"),
            as_json: bool = typer.Option(False, "--json", help="print JSON")) -> None:
    """Villages reported and certified Har Ghar Jal, per district (as on the national dashboard)."""
    from jaldpi.certification.service import status_counts
    from jaldpi.cli import database

    db = database()
    with db.unit_of_work(write=False) as session:
        items = status_counts(session, (within_option(session, within) or "/"))
    if as_json:
        print(json.dumps(items, indent=1, ensure_ascii=False))
        return
    table = Table("district", "LGD", "villages", "reported", "certified")
    for i in items:
        table.add_row(i["district"]["name"], str(i["district"]["lgd_code"]), f"{i['villages']:,}",
                      f"{i['reported']:,}", f"{i['certified']:,}")
    table.add_row("total", "", *(f"{sum(i[k] for i in items):,}" for k in ("villages", "reported", "certified")))
    out.print(table)
