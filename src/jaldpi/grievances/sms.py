"""The SMS grammar and the inbound handler of the SMS gateway webhook.

Grammar (case-insensitive, extra spaces ignored; the first word is the node's keyword, ``JAL`` by default, also
written ``जल``)::

    JAL <village LGD code> <PROBLEM> [free text]   new grievance; reply: reference + PIN
    JAL STATUS <reference>                         reply: the grievance's status
    JAL OK <reference>                             the complainant confirms the resolution (closes it)
    JAL REOPEN <reference> <reason>                the complainant says it is not solved
    JAL HELP  (or anything else)                   reply: the formats, in English and Hindi

``PROBLEM`` is an SMS keyword of the ``grievance_categories`` code list (``NOWATER``, ``PRESSURE``, ``DIRTY``,
``SMELL``, ``LEAK``, ``TAP``, ``BILL``, ``OTHER``; Hindi transliterations such as ``PAANINAHI``, ``GANDA``, ``NAL``) or
a category code. A grievance whose keyword is a Hindi transliteration, or whose text is in Devanagari, is answered
in Hindi. References are forgiving: any case, with or without ``GRV-``, ``O`` read as 0 and ``I``/``L`` as 1.

Every message is recorded by its gateway ``message_id`` (with a keyed hash of the sender, never the number or the
text), so a gateway retry is acknowledged without a second grievance or a second reply.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import re
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from jaldpi.core.errors import Conflict, Forbidden, NotFound, ValidationFailed
from jaldpi.core.models import utcnow
from jaldpi.grievances import notify, service
from jaldpi.grievances.contacts import normalise_phone
from jaldpi.grievances.models import GrievanceInboundMessage
from jaldpi.grievances.registry import normalise_reference
from jaldpi.standard.codelists import codelist

DEVANAGARI = re.compile(r"[\u0900-\u097F]")
HINDI_KEYWORD = "जल"
STATUS_LABELS = {
    "assigned": {"en": "registered and assigned", "hi": "दर्ज और सौंपी गई"},
    "in_progress": {"en": "being worked on", "hi": "पर काम चल रहा है"},
    "resolved": {"en": "resolved, waiting for your confirmation", "hi": "हल, आपकी पुष्टि की प्रतीक्षा"},
    "reopened": {"en": "reopened", "hi": "दोबारा खोली गई"},
    "closed": {"en": "closed", "hi": "बंद"},
    "rejected": {"en": "not taken up", "hi": "स्वीकार नहीं की गई"},
}
COMMAND_WORDS = {"STATUS": "status", "STHITI": "status", "OK": "confirm", "CONFIRM": "confirm", "THEEK": "confirm",
                 "REOPEN": "reopen", "KHOLO": "reopen", "HELP": "help", "MADAD": "help"}


@dataclasses.dataclass
class Parsed:
    command: str  # new | status | confirm | reopen | help
    language: str = "en"
    village: int | None = None
    category: str | None = None
    reference: str | None = None
    raw_reference: str | None = None
    text: str = ""
    problem: str | None = None  # why the message is not understood (help reply)


def keyword_table() -> dict[str, tuple[str, str]]:
    """SMS keyword -> (category, language of the keyword)."""
    table: dict[str, tuple[str, str]] = {}
    for entry in codelist("grievance_categories")["items"]:
        table[entry["code"].upper().replace("_", "")] = (entry["code"], "en")
        table[entry["code"].upper()] = (entry["code"], "en")
        for language, words in (entry.get("sms_keywords") or {}).items():
            for word in words:
                table[word.upper()] = (entry["code"], language)
    return table


def keyword_list() -> str:
    return ", ".join(words[0] for words in (e.get("sms_keywords", {}).get("en") or [e["code"].upper()]
                                            for e in codelist("grievance_categories")["items"]))


def parse(text: str, keyword: str = "JAL") -> Parsed:
    """Read one message (see the module docstring)."""
    words = (text or "").split()
    language = "hi" if DEVANAGARI.search(text or "") else "en"
    if words and (words[0].upper() == keyword.upper() or words[0] == HINDI_KEYWORD):
        if words[0] == HINDI_KEYWORD:
            language = "hi"
        words = words[1:]
    else:
        return Parsed("help", language, problem="no_keyword")
    if not words:
        return Parsed("help", language, problem="empty")
    head = words[0].upper()
    command = COMMAND_WORDS.get(head)
    if command == "help":
        return Parsed("help", language)
    if command in ("status", "confirm", "reopen"):
        if len(words) < 2:
            return Parsed("help", language, problem="reference_missing")
        # a reference may have been typed with spaces inside ("GRV 7K3M 9Q2X WZ"): take the shortest run of words
        # that reads as one
        for end in range(2, min(len(words), 6) + 1):
            ref = normalise_reference("".join(words[1:end]))
            if ref:
                return Parsed(command, language, reference=ref, raw_reference=" ".join(words[1:end]),
                              text=" ".join(words[end:]))
        return Parsed(command, language, raw_reference=words[1], text=" ".join(words[2:]),
                      problem="unknown_reference")
    if head.isdigit():
        if len(words) < 2:
            return Parsed("help", language, village=int(head), problem="problem_missing")
        found = keyword_table().get(words[1].upper().replace("_", ""))
        if found is None:
            return Parsed("help", language, village=int(head), problem="unknown_problem")
        category, keyword_language = found
        if keyword_language == "hi":
            language = "hi"
        return Parsed("new", language, village=int(head), category=category, text=" ".join(words[2:]))
    return Parsed("help", language, problem="not_understood")


def _claim(session: Session, message_id: str, sender_hash: str, command: str,
           received_at: dt.datetime | None) -> GrievanceInboundMessage | None:
    """Record the message id; None when it was already received (a gateway retry)."""
    if session.get(GrievanceInboundMessage, message_id) is not None:
        return None
    row = GrievanceInboundMessage(message_id=message_id, received_at=received_at or utcnow(), sender_hash=sender_hash,
                                  command=command, outcome="received")
    try:
        with session.begin_nested():
            session.add(row)
            session.flush()
    except IntegrityError:  # the same message is being handled by a concurrent request
        return None
    return row


def handle_inbound(session: Session, settings: Any, *, sender: str, text: str, message_id: str,
                   received_at: dt.datetime | None = None, engine: Any) -> dict[str, Any]:
    """Act on one inbound SMS and queue the reply (in the same unit of work). Returns what was done:
    ``{"message_id", "outcome", "reference"?, "duplicate"}`` (never the PIN, the number or the text)."""
    phone = normalise_phone(sender)
    if phone is None:
        raise ValidationFailed("from is not a phone number", details=[{"field": "from", "problem": "not a phone "
                                                                       "number; cannot reply"}])
    if not message_id or len(message_id) > 120:
        raise ValidationFailed("message_id is required (1-120 characters)",
                               details=[{"field": "message_id", "problem": "required, at most 120 characters"}])
    store = service.contacts_of(engine.catalogue)
    parsed = parse(text, settings.grievance_sms_keyword)
    claimed = _claim(session, message_id, store.phone_hash(phone), parsed.command, received_at)
    if claimed is None:
        previous = session.get(GrievanceInboundMessage, message_id)
        return {"message_id": message_id, "duplicate": True, "outcome": previous.outcome if previous else None}
    keyword = settings.grievance_sms_keyword.upper()
    outcome, reference = _act(session, settings, engine, parsed, phone, keyword)
    claimed.outcome = outcome
    claimed.details = {"language": parsed.language, **({"problem": parsed.problem} if parsed.problem else {})}
    if reference:
        from jaldpi.grievances.models import Grievance

        claimed.grievance_id = session.execute(select(Grievance.id).where(Grievance.code == reference)).scalar()
    session.flush()
    return {"message_id": message_id, "duplicate": False, "outcome": outcome, "reference": reference}


def _error(session, settings, phone, language, keyword, problem, value) -> None:
    notify.to_sender(session, settings, phone, "grievances_sms_error",
                     {"problem": problem, "value": value, "keyword": keyword}, language)


def _act(session: Session, settings: Any, engine: Any, parsed: Parsed, phone: str,
         keyword: str) -> tuple[str, str | None]:
    language = parsed.language
    if parsed.command == "help":
        notify.to_sender(session, settings, phone, "grievances_help",
                         {"keyword": keyword, "keywords": keyword_list()}, language)
        return "help", None
    if parsed.command == "new":
        description = parsed.text or notify.category_label(parsed.category, language)
        try:
            result = service.submit_grievance(
                session, settings, "system:sms", village=parsed.village, category=parsed.category,
                description=description, channel="sms", phone=phone, language=language, engine=engine)
        except ValidationFailed as exc:
            if any(d.get("field") == "village" for d in exc.details):
                _error(session, settings, phone, language, keyword, "unknown_village", parsed.village)
                return "unknown_village", None
            raise
        return "submitted", result["reference"]  # the acknowledgement (reference + PIN) is queued by submit
    if parsed.reference is None:
        _error(session, settings, phone, language, keyword, "unknown_reference", parsed.raw_reference)
        return "unknown_reference", None
    try:
        if parsed.command == "status":
            view = service.public_view(session, parsed.reference)
            grievance = service._row(session, parsed.reference)
            reply_language = grievance["language"] or language
            status = STATUS_LABELS.get(view["status"], {}).get(reply_language, view["status"])
            context = notify.context_of(
                {**grievance, "due_at": view["due_at"] if view["status"] in ("assigned", "in_progress", "reopened")
                 else None}, reply_language, village_name=(view["village"] or {}).get("name", ""), status=status)
            notify.to_sender(session, settings, phone, "grievances_status", context, reply_language)
            return "status", parsed.reference
        if parsed.command == "reopen" and not parsed.text.strip():
            _error(session, settings, phone, language, keyword, "reason_missing", parsed.reference)
            return "reason_missing", parsed.reference
        service.sender_step(session, settings, parsed.reference, phone, parsed.command, engine=engine,
                            reason=parsed.text)  # the closed / reopened messages come from hooks
        return ("confirmed" if parsed.command == "confirm" else "reopened"), parsed.reference
    except NotFound:
        _error(session, settings, phone, language, keyword, "unknown_reference", parsed.reference)
        return "unknown_reference", None
    except Forbidden:
        _error(session, settings, phone, language, keyword, "not_complainant", parsed.reference)
        return "not_complainant", parsed.reference
    except Conflict:
        _error(session, settings, phone, language, keyword, "not_resolved", parsed.reference)
        return "not_resolved", parsed.reference
