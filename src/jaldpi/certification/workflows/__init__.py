"""The Har Ghar Jal certification workflow, declared as data (``hgj_certification.json``) and run by the core engine.

States: ``reported`` -> ``resolution_uploaded`` -> ``certified``, with ``returned`` (the district sends the upload
back with reasons; the Gram Panchayat uploads again) and ``withdrawn``. A case is opened by
:func:`jaldpi.certification.service.report_village` in ``not_reported`` and moved by ``report`` in the same unit of
work, so that the roles allowed to report, the required completion certificate and its guard are data like every
other step. Guards check that each document is of the right type and of this village; hooks keep the village's
``hgj_certifications`` record (the public, federated status) in step and publish the documents on certification.

Guards receive ``(session, case, payload)``; hooks run in the caller's unit of work, so a failed record write rolls
the transition back.
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

from sqlalchemy.orm import Session

from jaldpi.certification import evidence
from jaldpi.core.ids import parse_uuid
from jaldpi.standard.codelists import codes

HERE = Path(__file__).parent
WORKFLOW = "hgj_certification"
SUBJECT_TYPE = "hgj_certifications"


def definition() -> dict[str, Any]:
    return json.loads((HERE / f"{WORKFLOW}.json").read_text(encoding="utf-8"))


def _village(case) -> tuple[str, str]:
    return str((case.data or {}).get("village_id")), case.lgd_path


def _doc_problem(session: Session, case, payload: dict[str, Any], field: str, document_type: str) -> str | None:
    value = payload.get(field)
    if parse_uuid(str(value)) is None:
        return f"{field} is the id of a documents record (upload the file first: POST /api/v1/documents/upload)"
    doc = evidence.load(session, [value]).get(str(parse_uuid(str(value))))
    village_id, village_path = _village(case)
    return evidence.problem(doc, field=field, document_type=document_type, village_id=village_id,
                            village_path=village_path)


def _completion_certificate(session: Session, case, payload: dict[str, Any]) -> str | None:
    return _doc_problem(session, case, payload, "completion_certificate", evidence.COMPLETION_CERTIFICATE)


def parse_date(value: Any) -> dt.date | None:
    if isinstance(value, dt.date):
        return value
    try:
        return dt.date.fromisoformat(str(value))
    except ValueError:
        return None


def _resolution_and_video(session: Session, case, payload: dict[str, Any]) -> str | None:
    """Both documents are there, of the right types and of this village; the Gram Sabha date is a real date, not
    in the future and not before the village was reported (the Gram Sabha hears the completion report)."""
    problems = [p for p in (
        _doc_problem(session, case, payload, "resolution_document", evidence.RESOLUTION),
        _doc_problem(session, case, payload, "video_document", evidence.VIDEO)) if p]
    held_on = parse_date(payload.get("gram_sabha_date"))
    reported_on = parse_date((case.data or {}).get("reported_on"))
    if held_on is None:
        problems.append("gram_sabha_date is a date (YYYY-MM-DD)")
    elif held_on > india_today(dt.datetime.now(dt.UTC)):
        problems.append("gram_sabha_date is in the future")
    elif reported_on and held_on < reported_on:
        problems.append(f"gram_sabha_date is before the village was reported ({reported_on.isoformat()}): the Gram "
                        "Sabha hears the completion report")
    if payload.get("certificate_document") is not None:
        problems.append("certificate_document is given on certify, not here")
    return "; ".join(problems) or None


def _ready_to_certify(session: Session, case, payload: dict[str, Any]) -> str | None:
    """The completion certificate, the resolution and the video are still there (not deleted), of this village."""
    data = case.data or {}
    problems = [p for p in (
        _doc_problem(session, case, data, "completion_certificate", evidence.COMPLETION_CERTIFICATE),
        _doc_problem(session, case, data, "resolution_document", evidence.RESOLUTION),
        _doc_problem(session, case, data, "video_document", evidence.VIDEO)) if p]
    if data.get("gram_sabha_date") is None:
        problems.append("no Gram Sabha date recorded")
    if payload.get("certificate_document") is not None:
        p = _doc_problem(session, case, payload, "certificate_document", evidence.HGJ_CERTIFICATE)
        if p:
            problems.append(p)
    return "; ".join(problems) or None


def _known_reasons(session: Session, case, payload: dict[str, Any]) -> str | None:
    reasons = payload.get("reasons")
    allowed = set(codes("hgj_return_reasons"))
    if not isinstance(reasons, list) or not reasons or not all(isinstance(r, str) for r in reasons):
        return "reasons is a non-empty list of codes from the hgj_return_reasons code list"
    unknown = sorted(set(reasons) - allowed)
    if unknown:
        return f"unknown reasons {unknown}; allowed: {sorted(allowed)}"
    if "other" in reasons and not str(payload.get("note") or "").strip():
        return "reason 'other' is explained in the note"
    return None


GUARDS = {
    "hgj_completion_certificate": _completion_certificate,
    "hgj_resolution_and_video": _resolution_and_video,
    "hgj_ready_to_certify": _ready_to_certify,
    "hgj_known_return_reasons": _known_reasons,
}

IST = dt.timezone(dt.timedelta(hours=5, minutes=30), "IST")


def india_today(now: dt.datetime) -> dt.date:
    """The calendar date in India (IST, UTC+05:30) at ``now``: the date officials see on the certificate."""
    return now.astimezone(IST).date()


def register(engine) -> None:
    """Register the definition with its guards and the hook that keeps the village's record in step with its case
    (it reaches the node's settings and catalogue through ``ctx.engine``)."""
    from jaldpi.certification.lifecycle import after_transition  # lifecycle imports this module

    engine.register(definition(), guards=GUARDS, hooks={"transition:*": after_transition})
