"""Citizen Corner complaints: report a problem about a village's water, track it, confirm or reopen it.

Routes (included by ``web/router.py``; public, no login, no JavaScript):

* ``GET|POST /citizen/village/{lgd}/report``: the form (category, description, optional phone for SMS updates and
  name). The POST files the grievance through ``jaldpi.grievances.service.submit_grievance`` (channel ``web``, the
  page's language) and answers a page with the reference and the 6-digit PIN;
* ``GET /citizen/grievances/track?ref=``: the public view of a grievance (``grievances.service.public_view``:
  status, category, village, dates, due time, public history; never the complainant's name or phone);
* ``POST /citizen/grievances/{ref}/confirm`` and ``/reopen``: the complainant, proving it with the PIN, confirms
  the resolution or reopens the grievance with a reason.

Protection of the anonymous forms: the officials' signed double-submit CSRF token and origin check
(``web.officials.csrf_token`` / ``check_csrf`` / ``with_csrf``; the cookie's path is ``/citizen``) and the node's
rate limit (the ``RateLimit`` middleware in front of every route: ``JALDPI_ANONYMOUS_RATE_LIMIT_PER_MINUTE`` per IP).
Pages carrying a PIN or a form are ``private, no-store``: no shared cache keeps a citizen's PIN or a CSRF token, and
nothing here logs form content. Each POST is one unit of work (the service flushes, the unit commits once; any error
rolls everything back).
"""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import quote

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response
from starlette.concurrency import run_in_threadpool

from jaldpi.core.errors import Conflict, Forbidden, JaldpiError, NotFound, Unauthenticated, ValidationFailed
from jaldpi.grievances import service as grievances
from jaldpi.standard.codelists import codelist
from jaldpi.web import citizen
from jaldpi.web.i18n import Translator, language_of
from jaldpi.web.officials import check_csrf, csrf_token, with_csrf
from jaldpi.web.rendering import render

router = APIRouter(include_in_schema=False)

CSRF_PATH = "/citizen"  # the CSRF cookie goes with the Citizen Corner's forms only
NO_STORE = "private, no-store"
CATEGORY_LIST = "grievance_categories"
CHANNEL = "web"
DESCRIPTION_MIN_CHARS = 10  # fewer words than this cannot describe a problem an operator can act on
DESCRIPTION_MAX_CHARS = 2000  # a text message's worth many times over; longer texts are refused, not cut
NAME_MAX_CHARS = 100
REASON_MAX_CHARS = 1000
REFERENCE_MAX_CHARS = 64
# Indian mobile numbers (TRAI numbering plan: 10 digits starting 6-9), optionally written with +91, 91 or 0 in front
# and with spaces or hyphens; the service stores them encrypted, never in the record.
PHONE_PATTERN = re.compile(r"^(?:\+?91|0)?([6-9]\d{9})$")
PIN_PATTERN = re.compile(r"^\d{6}$")


def _node(request: Request):
    return request.app.state.node


def _engine(request: Request):
    return _node(request).extras["workflows"]


def categories(language: str) -> list[tuple[str, str]]:
    """(code, label in ``language``) of the grievance categories code list, in its order."""
    return [(item["code"], item["label"].get(language) or item["label"]["en"])
            for item in codelist(CATEGORY_LIST)["items"]]


def normalise_phone(value: str) -> str | None:
    """The 10-digit mobile number in ``value`` (spaces, hyphens and the +91 / 0 prefixes removed), or None."""
    match = PHONE_PATTERN.match(re.sub(r"[\s\-()]", "", value))
    return match.group(1) if match else None


def validate_report(form: dict[str, str]) -> list[tuple[str, str]]:
    """Problems of a report form as (field, message key under ``report.error.``), in the form's order."""
    problems: list[tuple[str, str]] = []
    if form["category"] not in {code for code, _ in categories("en")}:
        problems.append(("category", "category"))
    description = form["description"]
    if not description:
        problems.append(("description", "description_missing"))
    elif len(description) < DESCRIPTION_MIN_CHARS:
        problems.append(("description", "description_short"))
    elif len(description) > DESCRIPTION_MAX_CHARS:
        problems.append(("description", "description_long"))
    if form["phone"] and normalise_phone(form["phone"]) is None:
        problems.append(("phone", "phone"))
    if len(form["name"]) > NAME_MAX_CHARS:
        problems.append(("name", "name_long"))
    return problems


def _village(request: Request, lgd_code: str) -> citizen.Unit | None:
    if not lgd_code.isdigit():
        return None
    with _node(request).db.unit_of_work(write=False) as session:
        return citizen.find_unit(session, "village", int(lgd_code))


def _form_page(request: Request, unit: citizen.Unit, form: dict[str, str], problems: list[tuple[str, str]],
               error: str | None = None, status_code: int = 200) -> Response:
    language = language_of(request)
    token = csrf_token(request)
    response = render(request, "citizen/report.html", {
        "unit": unit, "form": form, "problems": problems, "invalid": {field for field, _ in problems},
        "error": error, "categories": categories(language), "csrf_token": token,
        "limits": {"description": DESCRIPTION_MAX_CHARS, "name": NAME_MAX_CHARS}},
        status_code=status_code, cache_control=NO_STORE)
    return with_csrf(request, response, token, CSRF_PATH)


def _not_found(request: Request, what: str) -> Response:
    return render(request, "citizen/not_found.html", {"what": what}, status_code=404,
                  cache_control="public, max-age=60")


EMPTY_REPORT = {"category": "", "description": "", "phone": "", "name": ""}


@router.get("/citizen/village/{lgd_code}/report")
def report_form(request: Request, lgd_code: str) -> Response:
    unit = _village(request, lgd_code)
    if unit is None:
        return _not_found(request, "village")
    category = request.query_params.get("category", "")
    return _form_page(request, unit, {**EMPTY_REPORT, "category": category}, [])


def _submit(request: Request, unit: citizen.Unit, form: dict[str, str], language: str) -> dict[str, Any]:
    node = _node(request)
    with node.db.unit_of_work() as session:
        return grievances.submit_grievance(
            session, node.settings, None, village=unit.lgd_code, category=form["category"],
            description=form["description"], channel=CHANNEL, phone=normalise_phone(form["phone"]) or None,
            name=form["name"] or None, language=language, engine=_engine(request))


@router.post("/citizen/village/{lgd_code}/report")
async def report(request: Request, lgd_code: str) -> Response:
    unit = await run_in_threadpool(_village, request, lgd_code)
    if unit is None:
        return _not_found(request, "village")
    data = await request.form()
    form = {key: str(data.get(key) or "").strip() for key in EMPTY_REPORT}
    problem = check_csrf(request, str(data.get("csrf_token") or ""))
    if problem:
        return _form_page(request, unit, form, [], error=f"report.error.{problem}", status_code=403)
    problems = validate_report(form)
    if problems:
        return _form_page(request, unit, form, problems, status_code=422)
    language = language_of(request)
    try:
        result = await run_in_threadpool(_submit, request, unit, form, language)
    except ValidationFailed as exc:  # a rule of the grievance service the form does not know: name its field
        fields = [d.get("field") for d in exc.details if isinstance(d, dict)]
        known = [(f, "invalid") for f in fields if f in EMPTY_REPORT]
        return _form_page(request, unit, form, known, error="report.error.service", status_code=422)
    return render(request, "citizen/report_done.html", {
        "unit": unit, "reference": result["reference"], "pin": result["pin"], "due_at": result.get("due_at"),
        "sms": bool(normalise_phone(form["phone"])), "category": dict(categories(language)).get(form["category"])},
        status_code=201, cache_control=NO_STORE)


# ------------------------------------------------------------------------------------------------ tracking

def clean_reference(value: str | None) -> str:
    """A reference as typed (spaces around, any case) in the form the registry keeps: upper case."""
    return (value or "").strip().upper()[:REFERENCE_MAX_CHARS]


GRIEVANCE_TONES = {"assigned": "partial", "in_progress": "partial", "reopened": "partial", "resolved": "good",
                   "closed": "good", "rejected": "unknown"}
FINISHED = ("closed", "rejected")


def present(view: dict[str, Any], t: Translator) -> dict[str, Any]:
    """What the tracking page shows of ``grievances.service.public_view``: status and step labels in the page's
    language, dates, the actions open to the complainant. Only these fields: the staff's resolution note and
    rejection reason stay off the public page (free text may name people)."""
    status = view["status"]

    def label(kind: str, code: str) -> str:
        try:
            return t(f"grievance.{kind}.{code}")
        except KeyError:  # a step added to the workflow after these catalogs: say that something happened
            return t("grievance.event.other") if kind == "event" else code.replace("_", " ")

    return {"reference": view["reference"], "status": status, "status_label": label("status", status),
            "tone": GRIEVANCE_TONES.get(status, "unknown"), "category": view["category"],
            "village": view.get("village"),
            "received_at": view.get("submitted_at"), "due_at": view.get("due_at"), "overdue": view.get("overdue"),
            "resolved_at": view.get("resolved_at"), "is_open": status not in FINISHED and status != "resolved",
            "can_confirm": "confirm" in view.get("actions", ()), "can_reopen": "reopen" in view.get("actions", ()),
            "history": [{"at": step["at"], "label": label("event", step["event"])} for step in view.get("history", [])]}


def _view(request: Request, reference: str) -> dict[str, Any] | None:
    with _node(request).db.unit_of_work(write=False) as session:
        try:
            view = grievances.public_view(session, reference)
        except NotFound:
            return None
    return present(view, Translator(language_of(request)))


def _track_page(request: Request, reference: str, view: dict[str, Any] | None, *, error: str | None = None,
                done: str | None = None, reason: str = "", open_form: str | None = None,
                status_code: int = 200) -> Response:
    language = language_of(request)
    token = csrf_token(request)
    response = render(request, "citizen/track.html", {
        "reference": reference, "view": view, "error": error, "done": done, "reason": reason,
        "open_form": open_form, "csrf_token": token, "category": dict(categories(language)),
        "limits": {"reason": REASON_MAX_CHARS}},
        status_code=status_code, cache_control=NO_STORE)
    return with_csrf(request, response, token, CSRF_PATH)


@router.get("/citizen/grievances/track")
def track(request: Request, ref: str | None = None, done: str | None = None) -> Response:
    reference = clean_reference(ref)
    if not reference:
        return _track_page(request, "", None)
    view = _view(request, reference)
    if view is None:
        return _track_page(request, reference, None, error="track.error.not_found", status_code=404)
    return _track_page(request, reference, view, done=done if done in ("confirmed", "reopened") else None)


def _act(request: Request, action: str, reference: str, pin: str, reason: str) -> dict[str, Any]:
    node = _node(request)
    with node.db.unit_of_work() as session:
        if action == "confirm":
            return grievances.confirm_resolution(session, node.settings, reference, pin, engine=_engine(request))
        return grievances.reopen(session, node.settings, reference, pin, reason, engine=_engine(request))


def _error_key(exc: JaldpiError) -> tuple[str, int]:
    """The message shown for a refusal of the grievance service, and the page's status."""
    if isinstance(exc, NotFound):
        return "track.error.not_found", 404
    if exc.code == "pin_locked":  # too many wrong PINs (grievance_pin_max_attempts): the SMS route still works
        return "track.error.pin_locked", 403
    if isinstance(exc, Forbidden | Unauthenticated):
        return "track.error.pin", 403
    if isinstance(exc, Conflict) or exc.code in ("transition_not_allowed", "guard_failed"):
        return "track.error.state", 409
    if isinstance(exc, ValidationFailed) and any(
            isinstance(d, dict) and d.get("field") == "pin" for d in exc.details):
        return "track.error.pin", 403
    return "track.error.refused", exc.status_code


async def _pin_action(request: Request, ref: str, action: str) -> Response:
    reference = clean_reference(ref)
    data = await request.form()
    pin = str(data.get("pin") or "").strip()
    reason = str(data.get("reason") or "").strip()
    error, status = None, 200
    problem = check_csrf(request, str(data.get("csrf_token") or ""))
    if problem:
        error, status = f"report.error.{problem}", 403
    elif not PIN_PATTERN.match(pin):
        error, status = "track.error.pin_format", 422
    elif action == "reopen" and not reason:
        error, status = "track.error.reason_missing", 422
    elif len(reason) > REASON_MAX_CHARS:
        error, status = "track.error.reason_long", 422
    if error is None:
        try:
            await run_in_threadpool(_act, request, action, reference, pin, reason)
        except JaldpiError as exc:
            error, status = _error_key(exc)
    if error is None:
        done = "confirmed" if action == "confirm" else "reopened"
        return RedirectResponse(f"/citizen/grievances/track?ref={quote(reference, safe='')}&done={done}"
                                f"&lang={language_of(request)}", status_code=303)
    view = await run_in_threadpool(_view, request, reference)
    return _track_page(request, reference, view, error=error, reason=reason, open_form=action,
                       status_code=404 if view is None else status)


@router.post("/citizen/grievances/{ref}/confirm")
async def confirm(request: Request, ref: str) -> Response:
    return await _pin_action(request, ref, "confirm")


@router.post("/citizen/grievances/{ref}/reopen")
async def reopen(request: Request, ref: str) -> Response:
    return await _pin_action(request, ref, "reopen")
