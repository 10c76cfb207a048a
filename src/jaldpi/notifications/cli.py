"""``jaldpi notifications dispatch | test | outbox | contact-add``: send the outbox (once, or as a long-running job),
check a channel end to end, look at the outbox, and register a staff member's contact."""

from __future__ import annotations

import json
import signal
import threading

import typer

app = typer.Typer(help="Notifications: an outbox written in the caller's unit of work, pluggable channels (SMS "
                  "gateway, WhatsApp Business, email, file), EN/HI templates.", no_args_is_help=True)

# The CLI acts for the node operator who runs it (like `jaldpi accounts`): a national node administrator.
CLI_SUBJECT = "cli"


def _cli_principal():
    from jaldpi.core.security import Grant, Principal
    from jaldpi.standard.codelists import role_permissions

    return Principal(CLI_SUBJECT, "system", (Grant("node_admin", "/"),), role_permissions())


@app.command("dispatch")
def dispatch(loop: bool = typer.Option(False, "--loop", help="keep running, one pass every --interval seconds"),
             interval: float = typer.Option(30.0, "--interval", min=0.5, help="seconds between passes with --loop"),
             limit: int = typer.Option(500, "--limit", min=1, help="messages per pass at most")) -> None:
    """Send the due messages of the outbox: one JSON line of counts per pass. Several dispatchers may run at once
    (each message is claimed by one). Stops cleanly on SIGINT/SIGTERM after the current pass."""
    from jaldpi.cli import database
    from jaldpi.config import get_settings
    from jaldpi.notifications.service import dispatch_pending

    settings = get_settings()
    db = database()
    try:
        if not loop:
            typer.echo(json.dumps(dispatch_pending(db, settings, limit=limit)))
            return
        stop = threading.Event()
        for sig in (signal.SIGINT, signal.SIGTERM):
            signal.signal(sig, lambda *_: stop.set())
        while not stop.is_set():
            typer.echo(json.dumps(dispatch_pending(db, settings, limit=limit)))
            stop.wait(interval)
    finally:
        db.dispose()


@app.command("test")
def test_message(channel: str = typer.Option(..., "--channel", help="sms | whatsapp | email | ..."),
                 address: str = typer.Option(..., "--address", help="mobile number or email address"),
                 language: str = typer.Option("en", "--language", help="en | hi")) -> None:
    """Queue the notifications_test message to one address and send it now through the configured backend;
    prints the outcome (the address masked)."""
    from jaldpi.cli import database
    from jaldpi.config import get_settings
    from jaldpi.core.errors import JaldpiError
    from jaldpi.notifications.models import NotificationOutbox
    from jaldpi.notifications.service import dispatch_pending, outbox_dict, queue_message

    settings = get_settings()
    db = database()
    try:
        try:
            with db.unit_of_work() as session:
                message_id = queue_message(session, settings, channel=channel, address=address,
                                           template="notifications_test", context={"node": settings.node_id},
                                           language=language, subject_type="notifications_test")
        except JaldpiError as exc:
            typer.echo(json.dumps(exc.to_dict(), ensure_ascii=False), err=True)
            raise typer.Exit(2) from exc
        counts = dispatch_pending(db, settings)
        with db.unit_of_work(write=False) as session:
            out = outbox_dict(session.get(NotificationOutbox, message_id))
    finally:
        db.dispose()
    typer.echo(json.dumps({"message": out, "pass": counts}, default=str, ensure_ascii=False, indent=2))
    if out["status"] != "sent":
        raise typer.Exit(1)


@app.command("outbox")
def outbox(status: str | None = typer.Option(None, "--status", help="queued | sent | failed | dead"),
           limit: int = typer.Option(50, "--limit", min=1, max=5000)) -> None:
    """The newest outbox messages (addresses masked) and the counts per status, as JSON."""
    from jaldpi.cli import database
    from jaldpi.notifications.models import NotificationOutbox
    from jaldpi.notifications.service import count_by_status, outbox_dict, outbox_query

    principal = _cli_principal()
    db = database()
    try:
        with db.unit_of_work(write=False) as session:
            stmt = outbox_query(principal, status=status).order_by(NotificationOutbox.id.desc()).limit(limit)
            items = [outbox_dict(m) for m in session.execute(stmt).scalars()]
            counts = count_by_status(session, principal)
    finally:
        db.dispose()
    typer.echo(json.dumps({"counts": counts, "items": items}, default=str, ensure_ascii=False, indent=2))


@app.command("contact-add")
def contact_add(username: str = typer.Argument(..., help="the account's username"),
                channel: str = typer.Option(..., "--channel", help="sms | whatsapp | email"),
                address: str = typer.Option(..., "--address", help="mobile number or email address"),
                language: str = typer.Option("en", "--language", help="en | hi")) -> None:
    """Register where an account gets its notifications (stored encrypted; printed masked)."""
    from jaldpi.cli import database
    from jaldpi.config import get_settings
    from jaldpi.core.errors import JaldpiError
    from jaldpi.notifications.service import add_contact

    db = database()
    try:
        with db.unit_of_work() as session:
            out = add_contact(session, get_settings(), _cli_principal(), account=username, channel=channel,
                              address=address, language=language)
    except JaldpiError as exc:
        typer.echo(json.dumps(exc.to_dict(), ensure_ascii=False), err=True)
        raise typer.Exit(2) from exc
    finally:
        db.dispose()
    typer.echo(json.dumps(out, default=str, ensure_ascii=False))
