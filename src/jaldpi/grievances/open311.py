"""Open311 GeoReport v2 (http://wiki.open311.org/GeoReport_v2) over the grievances, beside jaldpi's own API.

Mapping: a *service* is a grievance category (``service_code`` = the category code); a *service request* is a
grievance (``service_request_id`` = its reference). Status: ``open`` while assigned, in progress or reopened;
``closed`` once resolved (awaiting or after the citizen's confirmation), closed or rejected, with ``status_notes``
saying which. The village is the required attribute ``village_lgd_code`` (``attribute[village_lgd_code]`` on POST;
``address_id`` is accepted too); ``attribute[language]`` (en | hi) picks the language of the SMS replies.

What is not published: the description (the citizen's words may name people), the name, phone and email. A POST
answers the reference and, in ``service_notice``, the PIN that confirms or reopens it. ``api_key`` is the access
token of an account with ``grievances:write`` (required unless ``open311_anonymous_post``). Errors are the spec's
list of ``{"code", "description"}`` with the HTTP status. Every route has a ``.json`` and an ``.xml`` form.
"""

from __future__ import annotations

import datetime as dt
import xml.etree.ElementTree as ET
from typing import Any

from fastapi import APIRouter, BackgroundTasks, Request
from fastapi.responses import Response
from sqlalchemy import select

from jaldpi import __version__
from jaldpi.core.api import json_response, node_of
from jaldpi.core.errors import JaldpiError
from jaldpi.core.models import utcnow
from jaldpi.core.security import Grant, Principal, read_token
from jaldpi.grievances import service
from jaldpi.grievances.models import Grievance
from jaldpi.grievances.registry import normalise_reference
from jaldpi.standard.codelists import codelist, codes, item

router = APIRouter(prefix="/open311/v2", tags=["open311"])
SPEC = "http://wiki.open311.org/GeoReport_v2"
CHANGESET = "2026-11-28T00:00:00Z"  # when this mapping last changed (discovery's changeset)
MAX_RESULTS = 1000  # GeoReport v2: "the maximum should not exceed 1000"
DEFAULT_DAYS = 90  # GeoReport v2: "the default query should only return ... the last 90 days"
OPEN = ("assigned", "in_progress", "reopened")
NOTES = {"assigned": "registered and assigned", "in_progress": "being worked on", "reopened": "reopened by the "
         "citizen", "resolved": "resolved; awaiting the citizen's confirmation", "closed": "closed",
         "rejected": "not a water-supply matter"}


class Open311Error(Exception):
    def __init__(self, status: int, description: str) -> None:
        super().__init__(description)
        self.status, self.description = status, description


def _fmt(fmt: str) -> str:
    if fmt not in ("json", "xml"):
        raise Open311Error(404, f"unknown format '{fmt}': json or xml")
    return fmt


def _xml_value(parent: ET.Element, name: str, value: Any) -> None:
    el = ET.SubElement(parent, name)
    if isinstance(value, dict):
        for k, v in value.items():
            _xml_value(el, k, v)
    elif isinstance(value, list):
        child = {"endpoints": "endpoint", "formats": "format", "attributes": "attribute", "values": "value"}.get(
            name, "item")
        for v in value:
            _xml_value(el, child, v)
    elif value is not None:
        el.text = str(value).lower() if isinstance(value, bool) else str(value)


def _answer(data: Any, fmt: str, root: str, item_name: str | None = None, status: int = 200) -> Response:
    if fmt == "json":
        return json_response(data, status)
    top = ET.Element(root)
    if isinstance(data, list):
        for entry in data:
            _xml_value(top, item_name or "item", entry)
    else:
        for k, v in data.items():
            _xml_value(top, k, v)
    body = b'<?xml version="1.0" encoding="utf-8"?>' + ET.tostring(top, encoding="utf-8")
    return Response(body, status_code=status, media_type="text/xml; charset=utf-8")


def _error(exc: Open311Error, fmt: str) -> Response:
    return _answer([{"code": exc.status, "description": exc.description}], fmt if fmt in ("json", "xml") else "json",
                   "errors", "error", exc.status)


def _guard(fn):
    """Answer every failure in the spec's error shape, whatever raised it."""
    import functools

    @functools.wraps(fn)
    async def wrapper(*args, **kwargs):
        fmt = kwargs.get("fmt", "json")
        try:
            return await fn(*args, **kwargs)
        except Open311Error as exc:
            return _error(exc, fmt)
        except JaldpiError as exc:
            text = exc.message + "".join(f"; {d.get('field')}: {d.get('problem')}" for d in exc.details)
            return _error(Open311Error(exc.status_code, text), fmt)
    return wrapper


def _jurisdiction(request: Request) -> None:
    wanted = request.query_params.get("jurisdiction_id")
    node = node_of(request)
    mine = node.settings.open311_jurisdiction_id or node.settings.node_id
    if wanted and wanted != mine:
        raise Open311Error(404, f"this endpoint serves jurisdiction_id '{mine}' only")


def _service(entry: dict[str, Any]) -> dict[str, Any]:
    keywords = entry.get("sms_keywords") or {}
    return {"service_code": entry["code"], "service_name": entry["label"]["en"],
            "description": f"{entry['label']['en']} / {entry['label']['hi']}", "metadata": True, "type": "realtime",
            "keywords": ", ".join([*keywords.get("en", []), *keywords.get("hi", [])]).lower(),
            "group": "drinking water supply"}


ATTRIBUTES = [
    {"variable": True, "code": "village_lgd_code", "datatype": "number", "required": True,
     "datatype_description": "The LGD code of the village (Local Government Directory)", "order": 1,
     "description": "Village (LGD code)"},
    {"variable": True, "code": "language", "datatype": "singlevaluelist", "required": False,
     "datatype_description": "Language of the SMS replies", "order": 2, "description": "Language",
     "values": [{"key": "en", "name": "English"}, {"key": "hi", "name": "हिन्दी"}]},
]


@router.get("/discovery.{fmt}", summary="Open311 discovery")
@_guard
async def discovery(request: Request, fmt: str) -> Response:
    _fmt(fmt)
    node = node_of(request)
    base = str(request.base_url).rstrip("/") + "/open311/v2/"
    return _answer({"changeset": CHANGESET, "contact": f"jaldpi node {node.settings.node_id} (jaldpi {__version__})",
                    "key_service": "an access token of an account with grievances:write (POST /api/v1/auth/token)",
                    "endpoints": [{"specification": SPEC, "url": base, "changeset": CHANGESET, "type": "production",
                                   "formats": ["application/json", "text/xml"]}]}, fmt, "discovery")


@router.get("/services.{fmt}", summary="Open311 service list (grievance categories)")
@_guard
async def services(request: Request, fmt: str) -> Response:
    _fmt(fmt)
    _jurisdiction(request)
    return _answer([_service(e) for e in codelist("grievance_categories")["items"]], fmt, "services", "service")


@router.get("/services/{service_code}.{fmt}", summary="Open311 service definition (attributes)")
@_guard
async def service_definition(request: Request, service_code: str, fmt: str) -> Response:
    _fmt(fmt)
    _jurisdiction(request)
    if service_code not in codes("grievance_categories"):
        raise Open311Error(404, f"unknown service_code '{service_code}'")
    return _answer({"service_code": service_code, "attributes": ATTRIBUTES}, fmt, "service_definition")


def _request_out(g: dict[str, Any], village: dict[str, Any] | None) -> dict[str, Any]:
    def iso(v):
        a = service._aware(v)
        return a.isoformat() if a else None

    status = g["status"]
    notes = NOTES.get(status, status)
    if status in ("resolved", "closed") and g.get("resolution_note"):
        notes += f": {g['resolution_note']}"
    if status == "rejected" and g.get("rejection_reason"):
        notes += f": {g['rejection_reason']}"
    return {"service_request_id": g["code"], "status": "open" if status in OPEN else "closed", "status_notes": notes,
            "service_name": item("grievance_categories", g["category"])["label"]["en"],
            "service_code": g["category"], "description": None,
            "agency_responsible": f"{g['routed_to_role']} ({service._level_of(g['routed_to_path'])})"
            if g.get("routed_to_role") else None,
            "service_notice": None, "requested_datetime": iso(g["submitted_at"]),
            "updated_datetime": iso(g["updated_at"]),
            "expected_datetime": iso(g["due_at"]) if status in OPEN else None,
            "address": village["name"] if village else None,
            "address_id": str(village["lgd_code"]) if village else None, "zipcode": None,
            "lat": g["latitude"], "long": g["longitude"], "media_url": None}


def _villages(session, ids) -> dict[Any, dict[str, Any]]:
    from jaldpi.admin_units.models import AdminUnit

    if not ids:
        return {}
    return {r.id: {"name": r.name, "lgd_code": r.lgd_code} for r in session.execute(
        select(AdminUnit.id, AdminUnit.name, AdminUnit.lgd_code).where(AdminUnit.id.in_(list(ids))))}


def _date(value: str | None, name: str) -> dt.datetime | None:
    if not value:
        return None
    try:
        parsed = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError as exc:
        raise Open311Error(400, f"{name} is not a w3 date-time (e.g. 2026-11-28T10:00:00+05:30)") from exc
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=dt.UTC)


@router.get("/requests.{fmt}", summary="Open311 service requests (grievances; no personal data)")
@_guard
async def list_requests(request: Request, fmt: str) -> Response:
    _fmt(fmt)
    _jurisdiction(request)
    q = request.query_params
    t = Grievance.__table__
    stmt = select(t).where(t.c.deleted_at.is_(None))
    ids = [r.strip() for r in (q.get("service_request_id") or "").split(",") if r.strip()]
    if ids:  # "all other query parameters are ignored" when ids are given (GeoReport v2)
        refs = [normalise_reference(r) for r in ids]
        stmt = stmt.where(t.c.code.in_([r for r in refs if r]))
    else:
        service_codes = [c.strip() for c in (q.get("service_code") or "").split(",") if c.strip()]
        unknown = [c for c in service_codes if c not in codes("grievance_categories")]
        if unknown:
            raise Open311Error(400, f"unknown service_code {', '.join(unknown)}")
        if service_codes:
            stmt = stmt.where(t.c.category.in_(service_codes))
        statuses = [s.strip() for s in (q.get("status") or "").split(",") if s.strip()]
        if any(s not in ("open", "closed") for s in statuses):
            raise Open311Error(400, "status is open, closed or both (comma-separated)")
        if statuses == ["open"]:
            stmt = stmt.where(t.c.status.in_(OPEN))
        elif statuses == ["closed"]:
            stmt = stmt.where(t.c.status.not_in(OPEN))
        start, end = _date(q.get("start_date"), "start_date"), _date(q.get("end_date"), "end_date")
        if start is None and end is None:
            start = utcnow() - dt.timedelta(days=DEFAULT_DAYS)
        if start is not None:
            stmt = stmt.where(t.c.submitted_at >= start)
        if end is not None:
            stmt = stmt.where(t.c.submitted_at <= end)
    node = node_of(request)
    with node.db.unit_of_work(write=False) as session:
        rows = [dict(r) for r in session.execute(stmt.order_by(t.c.submitted_at.desc(), t.c.id).limit(MAX_RESULTS))
                .mappings()]
        villages = _villages(session, {r["village_id"] for r in rows})
    return _answer([_request_out(r, villages.get(r["village_id"])) for r in rows], fmt, "service_requests",
                   "request")


@router.get("/requests/{service_request_id}.{fmt}", summary="One Open311 service request")
@_guard
async def read_request(request: Request, service_request_id: str, fmt: str) -> Response:
    _fmt(fmt)
    _jurisdiction(request)
    ref = normalise_reference(service_request_id)
    t = Grievance.__table__
    with node_of(request).db.unit_of_work(write=False) as session:
        row = session.execute(select(t).where(t.c.code == ref, t.c.deleted_at.is_(None))).mappings().first() \
            if ref else None
        if row is None:
            raise Open311Error(404, f"no service request '{service_request_id}'")
        village = _villages(session, {row["village_id"]}).get(row["village_id"])
    return _answer([_request_out(dict(row), village)], fmt, "service_requests", "request")


@router.get("/tokens/{token}.{fmt}", summary="Open311 token to service_request_id (requests are created at once: "
            "the token is the reference)")
@_guard
async def read_token_route(request: Request, token: str, fmt: str) -> Response:
    _fmt(fmt)
    ref = normalise_reference(token)
    t = Grievance.__table__
    with node_of(request).db.unit_of_work(write=False) as session:
        found = session.execute(select(t.c.code).where(t.c.code == ref)).scalar() if ref else None
    if found is None:
        raise Open311Error(404, f"no service request for token '{token}'")
    return _answer([{"token": token, "service_request_id": found}], fmt, "service_requests", "request")


def _poster(request: Request, api_key: str | None) -> Principal | str:
    node = node_of(request)
    if api_key:
        try:
            claims = read_token(api_key, secret=node.settings.secret_key, issuer=node.settings.node_id)
        except JaldpiError as exc:
            raise Open311Error(403, "api_key is not a valid access token of this node") from exc
        principal = Principal(claims["sub"], claims.get("kind", "person"),
                              tuple(Grant(g["role"], g["path"]) for g in claims.get("grants", [])),
                              node.role_permissions, claims.get("src") or node.settings.node_id)
        if not principal.has("grievances:write"):
            raise Open311Error(403, "the api_key's account may not write grievances")
        return principal
    if not node.settings.open311_anonymous_post:
        raise Open311Error(403, "api_key is required on this node")
    return "system:open311"


@router.post("/requests.{fmt}", summary="Create an Open311 service request (form-encoded, per the spec)")
@_guard
async def create_request(request: Request, fmt: str, background: BackgroundTasks) -> Response:
    from starlette.concurrency import run_in_threadpool

    _fmt(fmt)
    _jurisdiction(request)
    form = dict((await request.form()).items())
    poster = _poster(request, form.get("api_key"))
    code = (form.get("service_code") or "").strip()
    if code not in codes("grievance_categories"):
        raise Open311Error(400, f"service_code '{code}' is not a service of this endpoint (services.{fmt})")
    village = (form.get("attribute[village_lgd_code]") or form.get("address_id") or "").strip()
    if not village.isdigit():
        raise Open311Error(400, "attribute[village_lgd_code] (the village's LGD code) is required")
    language = (form.get("attribute[language]") or "en").strip()
    if language not in ("en", "hi"):
        raise Open311Error(400, "attribute[language] is en or hi")
    lat, lon = form.get("lat"), form.get("long")
    try:
        lat_f = float(lat) if lat not in (None, "") else None
        lon_f = float(lon) if lon not in (None, "") else None
    except ValueError as exc:
        raise Open311Error(400, "lat and long are WGS 84 decimal degrees") from exc
    if (lat_f is not None and not -90 <= lat_f <= 90) or (lon_f is not None and not -180 <= lon_f <= 180):
        raise Open311Error(400, "lat and long are WGS 84 decimal degrees")
    description = (form.get("description") or form.get("address_string") or "").strip() \
        or item("grievance_categories", code)["label"]["en"]
    name = " ".join(p for p in (form.get("first_name"), form.get("last_name")) if p and p.strip()) or None
    node = node_of(request)

    def work() -> dict[str, Any]:
        with node.db.unit_of_work() as session:
            return service.submit_grievance(
                session, node.settings, poster, village=int(village), category=code, description=description,
                channel="open311", phone=form.get("phone") or None, name=name, language=language, lon=lon_f,
                lat=lat_f, engine=node.extras["workflows"])

    result = await run_in_threadpool(work)
    from jaldpi.notifications.service import dispatch_after_response

    dispatch_after_response(background, node)
    notice = (f"Reference {result['reference']}, PIN {result['pin']}: keep both to confirm or reopen "
              "(POST /api/v1/public/grievances/{reference}/confirm or /reopen, or by SMS)")
    return _answer([{"service_request_id": result["reference"], "service_notice": notice, "account_id": None}],
                   fmt, "service_requests", "request", 201)
