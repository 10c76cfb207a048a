"""SensorThings API v1.1 subset under ``/sta/v1.1/`` and the node's telemetry views under ``/api/v1/telemetry``.

Supported: entity sets Things, Locations, Sensors, ObservedProperties, Datastreams, Observations; navigation
``Things(id)/Datastreams`` and ``Datastreams(id)/Observations``; ``$top`` (capped), ``$skip``, ``$count``,
``$orderby`` (Observations: phenomenonTime|result asc|desc), ``$filter`` on Observations (phenomenonTime and
result compared with ge/gt/le/lt/eq, joined by ``and``); POST of Things, Sensors, Datastreams, Observations and
the dataArray ``CreateObservations``. Anything else in a query option is refused (400 ``invalid_query``).
"""

from __future__ import annotations

import datetime as dt
import re
import uuid
from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, Request
from fastapi.responses import Response
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from jaldpi.admin_units.paths import parse_within
from jaldpi.core.api import current_principal, json_response, node_of
from jaldpi.core.errors import JaldpiError, NotFound, Unauthenticated, ValidationFailed
from jaldpi.core.ids import parse_uuid
from jaldpi.core.security import Principal, scope_clause
from jaldpi.telemetry import service
from jaldpi.telemetry.ingest import (
    READ,
    ObservationIn,
    TelemetryConfig,
    as_utc,
    ingest,
    observed_properties,
    parse_time,
    silent_datastreams,
)
from jaldpi.telemetry.models import (
    DailyRollup,
    Datastream,
    LatestValue,
    Location,
    Observation,
    Sensor,
    Thing,
    flag_codes,
)

router = APIRouter(tags=["telemetry"])
STA = "/sta/v1.1"


class InvalidQuery(JaldpiError):
    status_code = 400
    code = "invalid_query"


def _bad(option: str, problem: str) -> InvalidQuery:
    return InvalidQuery(f"{option}: {problem}", details=[{"field": option, "problem": problem}])


def _id(raw: str, what: str) -> uuid.UUID:
    found = parse_uuid(raw.strip("'"))
    if found is None:
        raise NotFound(f"{what}({raw}) not found")
    return found


def _config(request: Request) -> TelemetryConfig:
    return TelemetryConfig.from_settings(node_of(request).settings)


def _signed_in(principal: Principal) -> None:
    if principal.is_anonymous:
        raise Unauthenticated("sign in to use telemetry")


def _base(request: Request) -> str:
    return str(request.base_url).rstrip("/") + STA


def _iso(value: dt.datetime | None) -> str | None:
    value = as_utc(value)
    return value.isoformat().replace("+00:00", "Z") if value else None


# ---------------------------------------------------------------------------------------------------- rendering

def _thing(t: Thing, base: str) -> dict:
    link = f"{base}/Things({t.id})"
    return {"@iot.id": str(t.id), "@iot.selfLink": link, "name": t.name, "description": t.description,
            "properties": t.properties, "Datastreams@iot.navigationLink": f"{link}/Datastreams",
            "Locations@iot.navigationLink": f"{link}/Locations"}


def _location(x: Location, base: str) -> dict:
    return {"@iot.id": str(x.id), "@iot.selfLink": f"{base}/Locations({x.id})", "name": x.name,
            "description": x.description, "encodingType": x.encoding_type, "location": x.location}


def _sensor(s: Sensor, base: str) -> dict:
    return {"@iot.id": str(s.id), "@iot.selfLink": f"{base}/Sensors({s.id})", "name": s.name,
            "description": s.description, "encodingType": s.encoding_type, "metadata": s.sensor_metadata}


def _op(item: dict, base: str) -> dict:
    return {"@iot.id": item["code"], "@iot.selfLink": f"{base}/ObservedProperties('{item['code']}')",
            "name": item["label"]["en"], "definition": f"/standard/v1/codelists/observed_properties#{item['code']}",
            "description": item["label"]["en"],
            "properties": {"label": item["label"], "unit": item["unit"], "validMin": item["valid_min"],
                           "validMax": item["valid_max"]}}


def _datastream(d: Datastream, base: str) -> dict:
    link = f"{base}/Datastreams({d.id})"
    return {"@iot.id": str(d.id), "@iot.selfLink": link, "name": d.name, "description": d.description,
            "observationType": "http://www.opengis.net/def/observationType/OGC-OM/2.0/OM_Measurement",
            "unitOfMeasurement": {"name": d.unit_name, "symbol": d.unit_symbol, "definition": d.unit_definition},
            "properties": {**(d.properties or {}), "expectedIntervalSeconds": d.expected_interval_s,
                           "validMin": d.valid_min, "validMax": d.valid_max, "lgdPath": d.lgd_path},
            "Thing": {"@iot.id": str(d.thing_id)}, "Sensor": {"@iot.id": str(d.sensor_id)},
            "ObservedProperty": {"@iot.id": d.observed_property},
            "Observations@iot.navigationLink": f"{link}/Observations"}


def _observation(o, base: str) -> dict:
    return {"@iot.id": o.id, "@iot.selfLink": f"{base}/Observations({o.id})",
            "phenomenonTime": _iso(o.phenomenon_time), "resultTime": _iso(o.result_time), "result": o.result,
            "resultQuality": flag_codes(o.quality), "parameters": o.parameters,
            "Datastream": {"@iot.id": str(o.datastream_id)}}


# ---------------------------------------------------------------------------------------------------- query options

_CMP = {"ge": ">=", "gt": ">", "le": "<=", "lt": "<", "eq": "=="}
_CLAUSE = re.compile(r"^\s*(phenomenonTime|result)\s+(ge|gt|le|lt|eq)\s+(\S+)\s*$")


def parse_filter(text: str) -> list[tuple[str, str, Any]]:
    """``phenomenonTime ge 2026-11-01T00:00:00Z and result lt 5`` -> [(field, op, value)]; anything else: 400."""
    clauses = []
    for part in re.split(r"\s+and\s+", text.strip()):
        m = _CLAUSE.match(part)
        if not m:
            raise _bad("$filter", f"unsupported expression {part!r}: use phenomenonTime or result with "
                       "ge/gt/le/lt/eq, joined by 'and'")
        name, op, raw = m.groups()
        if name == "phenomenonTime":
            try:
                value: Any = parse_time(raw)
            except ValueError:
                raise _bad("$filter", f"not an ISO 8601 time with offset: {raw!r}") from None
        else:
            try:
                value = float(raw)
            except ValueError:
                raise _bad("$filter", f"not a number: {raw!r}") from None
        clauses.append((name, op, value))
    return clauses


def _apply(column, op: str, value):
    return {"ge": column >= value, "gt": column > value, "le": column <= value, "lt": column < value,
            "eq": column == value}[op]


class Page:
    def __init__(self, request: Request, allowed: set[str]) -> None:
        q = request.query_params
        unknown = [k for k in q if k.startswith("$") and k not in allowed]
        if unknown:
            raise _bad(unknown[0], "not supported on this collection")
        cap = node_of(request).settings.telemetry_max_top
        self.top = self._int(q.get("$top"), "$top", 100)
        self.skip = self._int(q.get("$skip"), "$skip", 0)
        if self.top < 0 or self.skip < 0:
            raise _bad("$top" if self.top < 0 else "$skip", "must not be negative")
        self.top = min(self.top, cap)
        count = q.get("$count", "false").lower()
        if count not in ("true", "false"):
            raise _bad("$count", "true or false")
        self.count = count == "true"
        self.request = request

    @staticmethod
    def _int(raw: str | None, name: str, default: int) -> int:
        if raw is None:
            return default
        try:
            return int(raw)
        except ValueError:
            raise _bad(name, "not an integer") from None

    def respond(self, session: Session, query, render, base: str) -> Response:
        body: dict[str, Any] = {}
        if self.count:
            body["@iot.count"] = session.execute(select(func.count()).select_from(query.order_by(None).subquery())
                                                 ).scalar_one()
        rows = session.execute(query.offset(self.skip).limit(self.top + 1)).all()
        more = len(rows) > self.top
        body["value"] = [render(r[0] if len(r) == 1 else r, base) for r in rows[: self.top]]
        if more:
            params = dict(self.request.query_params)
            params["$skip"] = str(self.skip + self.top)
            params["$top"] = str(self.top)
            body["@iot.nextLink"] = f"{str(self.request.url).split('?', 1)[0]}?{urlencode(params)}"
        return json_response(body)


def _obs_query(request: Request, where) -> tuple[Page, Any]:
    page = Page(request, {"$top", "$skip", "$count", "$filter", "$orderby"})
    query = select(Observation).where(where)
    flt = request.query_params.get("$filter")
    if flt:
        for name, op, value in parse_filter(flt):
            column = Observation.phenomenon_time if name == "phenomenonTime" else Observation.result
            query = query.where(_apply(column, op, value))
    order = request.query_params.get("$orderby", "phenomenonTime asc")
    keys = []
    for part in order.split(","):
        words = part.split()
        if not words or words[0] not in ("phenomenonTime", "result") or len(words) > 2 or (
                len(words) == 2 and words[1] not in ("asc", "desc")):
            raise _bad("$orderby", "phenomenonTime or result, optionally asc|desc")
        column = Observation.phenomenon_time if words[0] == "phenomenonTime" else Observation.result
        keys.append(column.desc() if len(words) == 2 and words[1] == "desc" else column.asc())
    return page, query.order_by(*keys, Observation.id)


def _scoped_obs(principal: Principal):
    visible = select(Datastream.id).where(scope_clause(Datastream.lgd_path, principal.scope(READ)))
    return Observation.datastream_id.in_(visible)


# ---------------------------------------------------------------------------------------------------- GET

@router.get(STA, summary="SensorThings service root")
def sta_root(request: Request) -> Response:
    base = _base(request)
    names = ["Things", "Locations", "Sensors", "ObservedProperties", "Datastreams", "Observations"]
    return json_response({"value": [{"name": n, "url": f"{base}/{n}"} for n in names],
                          "serverSettings": {"conformance": [
                              "http://www.opengis.net/spec/iot_sensing/1.1/req/datamodel",
                              "http://www.opengis.net/spec/iot_sensing/1.1/req/create-observations-via-mqtt/"
                              "observations-creation"]}})


def _read(request: Request) -> tuple[Principal, Any]:
    principal = current_principal(request)
    _signed_in(principal)
    return principal, node_of(request).db.unit_of_work(write=False)


@router.get(STA + "/Things", summary="Things (scheme components with sensors)")
def list_things(request: Request) -> Response:
    principal, uow = _read(request)
    page = Page(request, {"$top", "$skip", "$count"})
    with uow as session:
        query = select(Thing).where(scope_clause(Thing.lgd_path, principal.scope(READ))).order_by(Thing.id)
        return page.respond(session, query, _thing, _base(request))


@router.get(STA + "/Things({thing_id})", summary="One Thing")
def get_thing(request: Request, thing_id: str) -> Response:
    principal, uow = _read(request)
    with uow as session:
        return json_response(_thing(service.get_thing(session, principal, _id(thing_id, "Things")), _base(request)))


@router.get(STA + "/Things({thing_id})/Datastreams", summary="Datastreams of a Thing")
def thing_datastreams(request: Request, thing_id: str) -> Response:
    principal, uow = _read(request)
    page = Page(request, {"$top", "$skip", "$count"})
    with uow as session:
        thing = service.get_thing(session, principal, _id(thing_id, "Things"))
        query = select(Datastream).where(Datastream.thing_id == thing.id).order_by(Datastream.id)
        return page.respond(session, query, _datastream, _base(request))


@router.get(STA + "/Things({thing_id})/Locations", summary="Locations of a Thing")
def thing_locations(request: Request, thing_id: str) -> Response:
    principal, uow = _read(request)
    page = Page(request, {"$top", "$skip", "$count"})
    with uow as session:
        thing = service.get_thing(session, principal, _id(thing_id, "Things"))
        query = select(Location).where(Location.thing_id == thing.id).order_by(Location.id)
        return page.respond(session, query, _location, _base(request))


@router.get(STA + "/Locations", summary="Locations")
def list_locations(request: Request) -> Response:
    principal, uow = _read(request)
    page = Page(request, {"$top", "$skip", "$count"})
    with uow as session:
        query = select(Location).where(scope_clause(Location.lgd_path, principal.scope(READ))).order_by(Location.id)
        return page.respond(session, query, _location, _base(request))


@router.get(STA + "/Sensors", summary="Sensors")
def list_sensors(request: Request) -> Response:
    principal, uow = _read(request)
    page = Page(request, {"$top", "$skip", "$count"})
    if not principal.has(READ):
        return json_response({"value": []})
    with uow as session:
        return page.respond(session, select(Sensor).order_by(Sensor.id), _sensor, _base(request))


@router.get(STA + "/ObservedProperties", summary="Observed properties (the observed_properties code list)")
def list_observed_properties(request: Request) -> Response:
    base = _base(request)
    return json_response({"value": [_op(item, base) for item in observed_properties().values()]})


@router.get(STA + "/Datastreams", summary="Datastreams")
def list_datastreams(request: Request) -> Response:
    principal, uow = _read(request)
    page = Page(request, {"$top", "$skip", "$count"})
    with uow as session:
        query = select(Datastream).where(scope_clause(Datastream.lgd_path, principal.scope(READ))) \
            .order_by(Datastream.id)
        return page.respond(session, query, _datastream, _base(request))


@router.get(STA + "/Datastreams({ds_id})", summary="One Datastream")
def get_datastream(request: Request, ds_id: str) -> Response:
    principal, uow = _read(request)
    with uow as session:
        ds = service.get_datastream(session, principal, _id(ds_id, "Datastreams"))
        return json_response(_datastream(ds, _base(request)))


@router.get(STA + "/Datastreams({ds_id})/Observations", summary="Observations of a Datastream")
def datastream_observations(request: Request, ds_id: str) -> Response:
    principal, uow = _read(request)
    with uow as session:
        ds = service.get_datastream(session, principal, _id(ds_id, "Datastreams"))
        page, query = _obs_query(request, Observation.datastream_id == ds.id)
        return page.respond(session, query, _observation, _base(request))


@router.get(STA + "/Observations", summary="Observations")
def list_observations(request: Request) -> Response:
    principal, uow = _read(request)
    with uow as session:
        page, query = _obs_query(request, _scoped_obs(principal))
        return page.respond(session, query, _observation, _base(request))


@router.get(STA + "/Observations({obs_id})", summary="One Observation")
def get_observation(request: Request, obs_id: str) -> Response:
    principal, uow = _read(request)
    if not obs_id.isdigit():
        raise NotFound(f"Observations({obs_id}) not found")
    with uow as session:
        row = session.execute(select(Observation).where(Observation.id == int(obs_id), _scoped_obs(principal))
                              ).scalar_one_or_none()
        if row is None:
            raise NotFound(f"Observations({obs_id}) not found")
        return json_response(_observation(row, _base(request)))


# ---------------------------------------------------------------------------------------------------- POST

async def _body(request: Request) -> Any:
    import orjson

    try:
        return orjson.loads(await request.body())
    except orjson.JSONDecodeError as exc:
        raise ValidationFailed(f"body is not JSON: {exc}") from None


def _write(request: Request):
    principal = current_principal(request)
    _signed_in(principal)
    return principal, node_of(request).db.unit_of_work()


def _created(entity: dict) -> Response:
    return json_response(entity, 201, {"Location": entity["@iot.selfLink"]})


@router.post(STA + "/Things", summary="Create a Thing for a scheme component (properties.component_id)")
async def post_thing(request: Request) -> Response:
    body = await _body(request)
    principal, uow = _write(request)
    with uow as session:
        return _created(_thing(service.create_thing(session, principal, body), _base(request)))


@router.post(STA + "/Sensors", summary="Create a Sensor")
async def post_sensor(request: Request) -> Response:
    body = await _body(request)
    principal, uow = _write(request)
    with uow as session:
        return _created(_sensor(service.create_sensor(session, principal, body), _base(request)))


@router.post(STA + "/Datastreams", summary="Create a Datastream")
async def post_datastream(request: Request) -> Response:
    body = await _body(request)
    principal, uow = _write(request)
    with uow as session:
        return _created(_datastream(service.create_datastream(session, principal, body), _base(request)))


def _one_observation(request: Request, body: dict, ds_id: Any) -> Response:
    principal, uow = _write(request)
    with uow as session:
        summary = ingest(session, principal, [ObservationIn(ds_id, body.get("phenomenonTime"), body.get("result"),
                                                            body.get("resultTime"), body.get("parameters"))],
                         config=_config(request))
        row = summary.rows[0]
        if row.status == "error":
            if "not found" in (row.error or ""):
                raise NotFound(row.error)
            raise ValidationFailed(row.error or "invalid observation")
        stored = session.get(Observation, row.observation_id)
        session.refresh(stored)
        entity = _observation(stored, _base(request))
    return json_response(entity, 201 if row.status == "created" else 200, {"Location": entity["@iot.selfLink"]})


@router.post(STA + "/Observations", summary="Create an Observation (Datastream: {@iot.id})")
async def post_observation(request: Request) -> Response:
    body = await _body(request)
    if not isinstance(body, dict):
        raise ValidationFailed("expected an Observation object")
    ds = body.get("Datastream")
    return _one_observation(request, body, ds.get("@iot.id") if isinstance(ds, dict) else None)


@router.post(STA + "/Datastreams({ds_id})/Observations", summary="Create an Observation in a Datastream")
async def post_datastream_observation(request: Request, ds_id: str) -> Response:
    body = await _body(request)
    if not isinstance(body, dict):
        raise ValidationFailed("expected an Observation object")
    return _one_observation(request, body, ds_id.strip("'"))


def data_array_rows(body: Any) -> tuple[list[ObservationIn], list[str | None]]:
    """The dataArray extension -> rows, plus a per-row parse error (None when fine)."""
    if not isinstance(body, list):
        raise ValidationFailed("CreateObservations: expected a JSON array of {Datastream, components, dataArray}")
    rows: list[ObservationIn] = []
    errors: list[str | None] = []
    for g, group in enumerate(body):
        if not isinstance(group, dict) or not isinstance(group.get("dataArray"), list) \
                or not isinstance(group.get("components"), list):
            raise ValidationFailed(f"[{g}]: expected Datastream, components and dataArray",
                                   details=[{"field": str(g), "problem": "malformed dataArray group"}])
        ds = group.get("Datastream")
        ds_id = ds.get("@iot.id") if isinstance(ds, dict) else None
        comps = group["components"]
        if "phenomenonTime" not in comps or "result" not in comps:
            raise ValidationFailed(f"[{g}].components must include phenomenonTime and result",
                                   details=[{"field": f"{g}.components", "problem": "phenomenonTime, result"}])
        for values in group["dataArray"]:
            if not isinstance(values, list) or len(values) != len(comps):
                rows.append(ObservationIn(ds_id, None, None))
                errors.append(f"expected {len(comps)} values")
                continue
            rec = dict(zip(comps, values, strict=True))
            rows.append(ObservationIn(ds_id, rec.get("phenomenonTime"), rec.get("result"), rec.get("resultTime"),
                                      rec.get("parameters")))
            errors.append(None)
    return rows, errors


@router.post(STA + "/CreateObservations", summary="Create Observations in bulk (dataArray)")
async def create_observations(request: Request) -> Response:
    body = await _body(request)
    rows, errors = data_array_rows(body)
    principal, uow = _write(request)
    base = _base(request)
    with uow as session:
        good = [i for i, e in enumerate(errors) if e is None]
        summary = ingest(session, principal, [rows[i] for i in good], config=_config(request))
    answer: list[str] = [f"error: {e}" if e else "" for e in errors]
    for i, row in zip(good, summary.rows, strict=True):
        answer[i] = f"error: {row.error}" if row.status == "error" else f"{base}/Observations({row.observation_id})"
    return json_response(answer, 201)


# ---------------------------------------------------------------------------------------------------- node views

def _within_clause(column, within: str | None):
    if not within:
        return None
    path = parse_within(within)
    return column.startswith(path, autoescape=True) if path.startswith("/") else column.contains("/" + path,
                                                                                               autoescape=True)


@router.get("/api/v1/telemetry/latest", summary="Latest value per datastream")
def latest(request: Request, within: str | None = None, limit: int = 500) -> Response:
    principal, uow = _read(request)
    limit = max(1, min(limit, node_of(request).settings.max_page_size))
    with uow as session:
        query = (select(Datastream, LatestValue).join(LatestValue, LatestValue.datastream_id == Datastream.id)
                 .where(scope_clause(Datastream.lgd_path, principal.scope(READ))).order_by(Datastream.id).limit(limit))
        clause = _within_clause(Datastream.lgd_path, within)
        if clause is not None:
            query = query.where(clause)
        items = [{"datastream_id": str(d.id), "name": d.name, "observed_property": d.observed_property,
                  "unit": d.unit_symbol, "lgd_path": d.lgd_path, "phenomenon_time": _iso(lv.phenomenon_time),
                  "result": lv.result, "flags": flag_codes(lv.quality), "observation_id": lv.observation_id,
                  "updated_at": _iso(lv.updated_at)} for d, lv in session.execute(query)]
    return json_response({"items": items})


@router.get("/api/v1/telemetry/rollups", summary="Daily rollups of a datastream (days in telemetry_timezone)")
def rollups(request: Request, datastream: str, date_from: dt.date | None = None, date_to: dt.date | None = None
            ) -> Response:
    # `from` and `to` are Python keywords: read them from the query string directly
    q = request.query_params
    try:
        date_from = dt.date.fromisoformat(q["from"]) if q.get("from") else date_from
        date_to = dt.date.fromisoformat(q["to"]) if q.get("to") else date_to
    except ValueError:
        raise ValidationFailed("from/to: expected YYYY-MM-DD", details=[{"field": "from", "problem": "date"}]) \
            from None
    principal, uow = _read(request)
    with uow as session:
        ds = service.get_datastream(session, principal, _id(datastream, "Datastreams"))
        query = select(DailyRollup).where(DailyRollup.datastream_id == ds.id).order_by(DailyRollup.day)
        if date_from:
            query = query.where(DailyRollup.day >= date_from)
        if date_to:
            query = query.where(DailyRollup.day <= date_to)
        items = [{"day": r.day.isoformat(), "count": r.count, "min": r.min, "max": r.max, "sum": r.sum,
                  "first": r.first, "last": r.last, "flagged": r.flagged} for r in session.scalars(query)]
        head = {"datastream_id": str(ds.id), "timezone": node_of(request).settings.telemetry_timezone,
                "unit": ds.unit_symbol}
    return json_response({**head, "items": items})


@router.get("/api/v1/telemetry/silent", summary="Silent datastreams (no observation for k x expected interval)")
def silent(request: Request, within: str | None = None) -> Response:
    principal, uow = _read(request)
    within_path = parse_within(within) if within else None
    with uow as session:
        found = silent_datastreams(session, principal, config=_config(request), within=within_path)
    return json_response({"items": [{"datastream_id": str(s.datastream_id), "name": s.name, "lgd_path": s.lgd_path,
                                     "expected_interval_s": s.expected_interval_s,
                                     "last_phenomenon_time": _iso(s.last_phenomenon_time),
                                     "silent_for_s": s.silent_for_s} for s in found]})

