"""``jaldpi webhooks dispatch | list``: run the webhook dispatcher (a long-running job, or one pass from cron) and
list subscriptions with their delivery counts."""

from __future__ import annotations

import json
import signal
import threading

import typer

app = typer.Typer(help="Webhooks: deliver change events to subscribed partners.", no_args_is_help=True)


def _dispatcher():
    from jaldpi.cli import database
    from jaldpi.config import get_settings
    from jaldpi.registries import build_catalogue, feed_types
    from jaldpi.standard.codelists import role_permissions
    from jaldpi.webhooks.dispatcher import Dispatcher

    settings = get_settings()
    db = database()
    return Dispatcher(db, settings, feed_types(build_catalogue(settings)), role_permissions())


@app.command("dispatch")
def dispatch(once: bool = typer.Option(False, "--once", help="one pass over every subscription, then exit"),
             interval: float = typer.Option(5.0, "--interval", min=0.1,
                                            help="seconds between passes when running continuously")) -> None:
    """Deliver pending events: one JSON report line per pass. Several dispatchers may run side by side (each
    subscription is leased to one at a time). Stops cleanly on SIGINT/SIGTERM after the current pass."""
    dispatcher = _dispatcher()
    try:
        if once:
            typer.echo(json.dumps(dispatcher.run_once().to_dict()))
            return
        stop = threading.Event()
        for sig in (signal.SIGINT, signal.SIGTERM):
            signal.signal(sig, lambda *_: stop.set())
        dispatcher.run_forever(interval, stop, on_report=lambda r: typer.echo(json.dumps(r.to_dict())))
    finally:
        dispatcher.close()
        dispatcher.db.dispose()


@app.command("list")
def list_subscriptions() -> None:
    """Every subscription on this node (operator view, no secrets) with delivery counts by status, as JSON."""
    from sqlalchemy import select

    from jaldpi.cli import database
    from jaldpi.config import get_settings
    from jaldpi.registries import build_catalogue, feed_types
    from jaldpi.webhooks.models import WebhookSubscription
    from jaldpi.webhooks.service import count_by_status, subscription_dict

    types = feed_types(build_catalogue(get_settings()))
    db = database()
    try:
        with db.unit_of_work(write=False) as session:
            out = []
            for sub in session.execute(select(WebhookSubscription).order_by(WebhookSubscription.id)).scalars():
                row = subscription_dict(sub, types)
                row["deliveries"] = count_by_status(session, sub.id)
                out.append(row)
    finally:
        db.dispose()
    typer.echo(json.dumps(out, indent=2, ensure_ascii=False))
