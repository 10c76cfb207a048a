"""``jaldpi federation ...``: register peers, push and pull, watch the state of the sync, settle conflicts."""

from __future__ import annotations

import json
import signal
import threading
import time
from pathlib import Path

import orjson
import typer
from rich.console import Console
from rich.table import Table

app = typer.Typer(help="Node-to-node federation: peers, push, pull, sync, status, conflicts.", no_args_is_help=True)
peer_app = typer.Typer(help="Peer nodes and their public keys.", no_args_is_help=True)
app.add_typer(peer_app, name="peer")
console = Console(stderr=True)


def _federation():
    from jaldpi.cli import database
    from jaldpi.config import get_settings
    from jaldpi.federation.service import build_federation
    from jaldpi.registries import build_catalogue

    settings = get_settings()
    db = database()
    return build_federation(settings, db, build_catalogue(settings))


def _print(data) -> None:
    print(orjson.dumps(data, option=orjson.OPT_INDENT_2).decode())


def _fail(message: str) -> None:
    console.print(f"[red]error:[/red] {message}")
    raise typer.Exit(1)


def _guard(action):
    from jaldpi.core.errors import JaldpiError
    from jaldpi.federation.service import SyncError

    try:
        return action()
    except (JaldpiError, SyncError, ValueError) as exc:
        _fail(getattr(exc, "message", None) or str(exc))


@app.command("describe")
def describe() -> None:
    """Print this node's id, role, jurisdiction and public keys (give this to the peer that registers you)."""
    _print(_federation().describe())


@peer_app.command("add")
def peer_add(node_id: str = typer.Argument(..., help="the peer's node id (its JALDPI_NODE_ID)"),
             role: str = typer.Option(None, help="national | state (read from --url when omitted)"),
             url: str = typer.Option(None, help="the peer's base URL, e.g. https://jjm-national.example/"),
             jurisdiction: str = typer.Option(None, help="a state peer's jurisdiction, e.g. S28"),
             jwks_file: Path = typer.Option(None, exists=True, dir_okay=False,
                                            help="the peer's public keys (JWKS JSON, e.g. from its "
                                                 "`jaldpi federation describe`)"),
             fetch: bool = typer.Option(False, help="read role, jurisdiction and keys from the peer's "
                                        "/federation/v1/node (check the key id with its operator)"),
             ) -> None:
    """Register (or update) a peer node."""
    fed = _federation()

    def run():
        keys = json.loads(jwks_file.read_text()) if jwks_file else None
        described = fed.fetch_peer_description(url) if fetch else {}
        if fetch and described.get("node_id") != node_id:
            raise ValueError(f"{url} says it is node '{described.get('node_id')}', not '{node_id}'")
        jwks_doc = keys or described.get("jwks")
        if jwks_doc is None:
            raise ValueError("give the peer's keys with --jwks-file, or --fetch them from --url")
        return fed.add_peer(node_id, role or described.get("role"), jwks_doc, base_url=url,
                            jurisdiction=jurisdiction or described.get("jurisdiction"))

    _print(_guard(run))


@peer_app.command("list")
def peer_list() -> None:
    """List registered peers."""
    table = Table("node", "role", "jurisdiction", "url", "active", "keys")
    for p in _federation().peers():
        table.add_row(p["node_id"], p["role"], p["jurisdiction"], p["base_url"] or "", str(p["active"]),
                      ", ".join(p["keys"]))
    Console().print(table)


@peer_app.command("remove")
def peer_remove(node_id: str) -> None:
    """Deactivate a peer (its messages are refused from now on; history stays)."""
    _guard(lambda: _federation().remove_peer(node_id))
    console.print(f"peer {node_id} deactivated")


@app.command("push")
def push(peer: str = typer.Option(None, help="peer node id (default: the national node)"),
         max_messages: int = typer.Option(None, help="stop after this many messages")) -> None:
    """Send this node's changes to a peer until caught up."""
    _print(_guard(lambda: _federation().push(peer, max_messages=max_messages).to_dict()))


@app.command("pull")
def pull(peer: str = typer.Option(None, help="peer node id (default: the national node)"),
         max_messages: int = typer.Option(None, help="stop after this many messages")) -> None:
    """Fetch what a peer owns and this node should hold (LGD directory, code lists)."""
    _print(_guard(lambda: _federation().pull(peer, max_messages=max_messages).to_dict()))


@app.command("sync")
def sync(peer: str = typer.Option(None, help="peer node id (default: the national node)"),
         loop: bool = typer.Option(False, help="keep syncing until stopped (SIGTERM/Ctrl-C)"),
         interval: float = typer.Option(None, help="seconds between rounds (default JALDPI_FEDERATION_RETRY_SECONDS)")
         ) -> None:
    """Pull, then push; with --loop, forever. A failed round is reported and retried after the interval."""
    from jaldpi.federation.service import SyncError

    fed = _federation()
    pause = interval if interval is not None else fed.settings.federation_retry_seconds
    stop = threading.Event()
    if loop:
        for sig in (signal.SIGTERM, signal.SIGINT):
            signal.signal(sig, lambda *_: stop.set())
    while True:
        try:
            reports = [fed.pull(peer).to_dict(), fed.push(peer).to_dict()]
            print(orjson.dumps({"at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), "rounds": reports})
                  .decode(), flush=True)
        except SyncError as exc:
            if not loop:
                _fail(str(exc))
            console.print(f"[yellow]sync round failed, retrying in {pause} s:[/yellow] {exc}")
        if not loop or stop.wait(pause):
            break


@app.command("status")
def status() -> None:
    """Peers, cursors, changes still to send, last errors, open conflicts."""
    _print(_federation().status())


@app.command("conflicts")
def conflicts(status: str = typer.Option("open", help="open | kept_local | took_incoming | all")) -> None:
    """List changes from peers that met a different local history."""
    _print(_federation().conflicts(None if status == "all" else status))


@app.command("resolve")
def resolve(conflict_id: str, keep: str = typer.Option(..., help="incoming (the owner's version) | local")) -> None:
    """Settle a conflict."""
    _print(_guard(lambda: _federation().resolve(conflict_id, keep, "cli:operator")))
