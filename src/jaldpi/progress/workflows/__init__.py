"""The ``progress_approval`` workflow (progress_approval.json), its guards and hooks.

Guards keep the payload of a decision to what the transition means (``note``; ``reasons`` for a return), so that a
payload can never overwrite what the case recorded at opening (the checking unit); the hooks (service.apply_decision)
enforce maker-checker and write the update's status through the registry, in the same unit of work.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from sqlalchemy.orm import Session

from jaldpi.progress.service import WORKFLOW, apply_decision, reasons_problem

HERE = Path(__file__).parent
ALLOWED_PAYLOAD = {"approve": {"note"}, "return": {"note", "reasons"}, "resubmit": {"note"}}


def definition() -> dict[str, Any]:
    return json.loads((HERE / f"{WORKFLOW}.json").read_text(encoding="utf-8"))


def _payload_guard(transition: str):
    allowed = ALLOWED_PAYLOAD[transition]

    def guard(session: Session, case, payload: dict[str, Any]) -> str | None:
        unknown = sorted(set(payload) - allowed)
        if unknown:
            return f"'{transition}' takes only {', '.join(sorted(allowed))}; not {', '.join(unknown)}"
        if transition == "return":
            return reasons_problem(payload.get("reasons"))
        return None
    return guard


def register(engine) -> None:
    engine.register(definition(), guards={
        "progress_approve_payload": _payload_guard("approve"),
        "progress_return_payload": _payload_guard("return"),
        "progress_resubmit_payload": _payload_guard("resubmit"),
    }, hooks={"transition:*": apply_decision})


__all__ = ["ALLOWED_PAYLOAD", "definition", "register"]
