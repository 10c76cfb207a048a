"""The ``breakdown_ticket`` workflow, declared as data (``breakdown_ticket.json``) and run by the core engine.

reported -> assigned -> in_repair -> restored -> closed (verified), with ``reopen`` (restored -> in_repair, the
verification found it still not working) and ``cancel`` (duplicate or not a breakdown). SLA hours per state and the
escalation chain block -> district -> state are in the JSON.

A ticket opens its case on write (``registry.open_cases``; the case has the ticket's id). Every transition writes the
ticket's workflow-owned fields through the one write path, as ``system:upkeep``: ``state``; ``restored_at`` on
``restore`` (the payload's ``restored_at``, when the asset really worked again, default the transition time; it ends
the downtime) and cleared on ``reopen``; ``closed_at`` when the case closes. Other domains hook the definition after
it is registered here (grievances: ``enter:restored``).
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from jaldpi.core.models import utcnow
from jaldpi.core.registry import Strategy
from jaldpi.core.workflow import cut_path
from jaldpi.upkeep.models import BreakdownTicket
from jaldpi.upkeep.registry import CLOCK_TOLERANCE, as_utc

HERE = Path(__file__).parent
WORKFLOW = "breakdown_ticket"


def definition() -> dict[str, Any]:
    return json.loads((HERE / f"{WORKFLOW}.json").read_text(encoding="utf-8"))


def parse_instant(value: Any) -> dt.datetime | None:
    """An ISO 8601 instant (naive = UTC) or None; ValueError when malformed."""
    if value in (None, ""):
        return None
    when = value if isinstance(value, dt.datetime) else dt.datetime.fromisoformat(str(value))
    return as_utc(when)


def _restored_at_valid(session: Session, case, payload: dict[str, Any]) -> str | None:
    try:
        restored = parse_instant(payload.get("restored_at"))
    except ValueError:
        return "restored_at is not an ISO 8601 date-time"
    if restored is None:
        return None
    failed = session.execute(select(BreakdownTicket.failed_at).where(
        BreakdownTicket.id == case.id)).scalar_one_or_none()
    if failed is not None and restored < as_utc(failed):
        return "restored_at is before the ticket's failed_at"
    if restored > utcnow() + CLOCK_TOLERANCE:
        return "restored_at is in the future"
    return None


def _sync_ticket(ctx) -> None:
    """Write the case's state (and restored_at / closed_at) onto the ticket, in the transition's unit of work."""
    from jaldpi.upkeep.service import system_principal, ticket_registry

    values: dict[str, Any] = {"id": ctx.case.subject_id, "state": ctx.case.state}
    name = ctx.event.transition
    if name == "restore":
        values["restored_at"] = (parse_instant(ctx.payload.get("restored_at")) or ctx.now).isoformat()
    elif name == "reopen":
        values["restored_at"] = None
    if ctx.case.closed_at is not None:
        values["closed_at"] = as_utc(ctx.case.closed_at).isoformat()
    registry = ticket_registry(ctx.engine)
    # A grant over the ticket's state, not its village: the write re-resolves the ticket's scheme, and a scheme
    # serving several villages sits above any one of them (the workflow already checked who may take the step).
    state = cut_path(ctx.case.lgd_path, ctx.engine.level_letters.get("state", "S")) or ctx.case.lgd_path
    registry.write_one(ctx.session, system_principal(state), values, Strategy.update)


def register(engine) -> None:
    """Register the breakdown_ticket workflow, its guard and the hook that keeps tickets in step with cases."""
    engine.register(definition(), guards={"upkeep_restored_at_valid": _restored_at_valid},
                    hooks={"transition:*": _sync_ticket})


__all__ = ["WORKFLOW", "definition", "parse_instant", "register"]
