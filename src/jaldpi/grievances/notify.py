"""Messages of the grievances domain, through the node's notifications outbox (``jaldpi.notifications``).

Templates are ``jaldpi/notifications/templates/grievances_<event>.<en|hi>.txt``. Messages to the complainant go by
SMS to the phone kept in the encrypted contact store, in the grievance's language; messages to staff go to the
contacts of the accounts holding the responsible role over the grievance's assignment (``notify_role``). They are
queued in the caller's unit of work (rolled back with it) and sent after the response or by the dispatch job.
"""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

from sqlalchemy.orm import Session

from jaldpi.standard.codelists import item

SUBJECT_TYPE = "grievances"
CITIZEN_CHANNEL = "sms"


def category_label(category: str, language: str) -> str:
    label = item("grievance_categories", category)["label"]
    return label.get(language) or label["en"]


def _when(value: dt.datetime | None, language: str) -> str:
    if value is None:
        return ""
    ist = value.astimezone(dt.timezone(dt.timedelta(hours=5, minutes=30)))  # Indian Standard Time, UTC+05:30
    return ist.strftime("%d-%m-%Y %H:%M") + " IST"


def context_of(grievance: dict[str, Any], language: str, **extra: Any) -> dict[str, Any]:
    return {"reference": grievance["code"], "category": category_label(grievance["category"], language),
            "category_en": category_label(grievance["category"], "en"),
            "category_hi": category_label(grievance["category"], "hi"),
            "village": extra.pop("village_name", ""), "due": _when(grievance.get("due_at"), language), **extra}


def to_citizen(session: Session, settings: Any, grievance: dict[str, Any], phone: str | None, template: str,
               **extra: Any) -> uuid.UUID | None:
    """Queue ``template`` for the complainant (None when they left no phone)."""
    if not phone:
        return None
    from jaldpi.notifications.service import queue_message

    language = grievance.get("language") or "en"
    extra.setdefault("keyword", settings.grievance_sms_keyword.upper())
    return queue_message(session, settings, channel=CITIZEN_CHANNEL, address=phone, template=template,
                         context=context_of(grievance, language, **extra), language=language,
                         subject_type=SUBJECT_TYPE, subject_id=str(grievance["id"]), lgd_path=grievance["lgd_path"])


def to_sender(session: Session, settings: Any, phone: str, template: str, context: dict[str, Any],
              language: str) -> uuid.UUID:
    """Queue an SMS reply to whoever sent a message (who may not be a complainant yet)."""
    from jaldpi.notifications.service import queue_message

    return queue_message(session, settings, channel=CITIZEN_CHANNEL, address=phone, template=template,
                         context=context, language=language)


def to_role(session: Session, settings: Any, grievance: dict[str, Any], role: str, path: str, template: str,
            **extra: Any) -> int:
    """Queue ``template`` for the accounts holding ``role`` nearest above ``path`` (staff read English and Hindi
    templates by their own contact's language)."""
    from jaldpi.notifications.service import notify_role

    return notify_role(session, settings, role=role, lgd_path=path, template=template,
                       context=context_of(grievance, "en", **extra), subject_type=SUBJECT_TYPE,
                       subject_id=str(grievance["id"]))
