"""Creating and reading SensorThings entities, scoped by jurisdiction (``telemetry:read`` / ``telemetry:write``
over the thing's ``lgd_path``; out of scope reads as missing)."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from jaldpi.assets.models import Component
from jaldpi.core.errors import NotFound, ValidationFailed
from jaldpi.core.ids import new_id, parse_uuid
from jaldpi.core.security import Principal, scope_clause
from jaldpi.telemetry.ingest import READ, WRITE, observed_properties
from jaldpi.telemetry.models import Datastream, Location, Sensor, Thing


def _ref_id(value: Any, what: str) -> uuid.UUID:
    raw = value.get("@iot.id") if isinstance(value, dict) else value
    found = parse_uuid(str(raw).strip("'")) if raw is not None else None
    if found is None:
        raise ValidationFailed(f"{what}: expected {{\"@iot.id\": <uuid>}}",
                               details=[{"field": what, "problem": "missing or not a UUID"}])
    return found


def _required(body: dict, name: str) -> Any:
    if body.get(name) in (None, ""):
        raise ValidationFailed(f"{name} is required", details=[{"field": name, "problem": "required"}])
    return body[name]


def create_thing(session: Session, principal: Principal, body: dict) -> Thing:
    props = body.get("properties") or {}
    component_id = _ref_id(props.get("component_id") or body.get("component_id"), "properties.component_id")
    component = session.execute(select(Component).where(
        Component.id == component_id, Component.deleted_at.is_(None),
        scope_clause(Component.lgd_path, principal.scope(WRITE)))).scalar_one_or_none()
    if component is None:
        raise NotFound(f"component {component_id} not found",
                       details=[{"field": "properties.component_id", "problem": "not found"}])
    thing = Thing(id=parse_uuid(body.get("@iot.id")) or new_id(), name=_required(body, "name"),
                  description=body.get("description") or "", properties={**props, "component_id": str(component_id)},
                  component_id=component_id, lgd_path=component.lgd_path, created_by=principal.subject)
    session.add(thing)
    session.flush()  # no ORM relationships: the thing goes first, its locations reference it
    for loc in body.get("Locations") or []:
        session.add(Location(id=new_id(), thing_id=thing.id, name=loc.get("name") or thing.name,
                             description=loc.get("description") or "",
                             encoding_type=loc.get("encodingType") or "application/geo+json",
                             location=_required(loc, "location"), lgd_path=thing.lgd_path))
    session.flush()
    return thing


def create_sensor(session: Session, principal: Principal, body: dict) -> Sensor:
    if not principal.has(WRITE):
        raise NotFound("no telemetry write permission")
    sensor = Sensor(id=parse_uuid(body.get("@iot.id")) or new_id(), name=_required(body, "name"),
                    description=body.get("description") or "", encoding_type=body.get("encodingType") or "text/plain",
                    sensor_metadata=str(body.get("metadata") or ""))
    session.add(sensor)
    session.flush()
    return sensor


def create_datastream(session: Session, principal: Principal, body: dict) -> Datastream:
    thing = get_thing(session, principal, _ref_id(body.get("Thing"), "Thing"), permission=WRITE)
    sensor_id = _ref_id(body.get("Sensor"), "Sensor")
    if session.get(Sensor, sensor_id) is None:
        raise NotFound(f"sensor {sensor_id} not found", details=[{"field": "Sensor", "problem": "not found"}])
    op = body.get("ObservedProperty")
    code = op.get("@iot.id") if isinstance(op, dict) else op
    props = observed_properties()
    if code not in props:
        raise ValidationFailed(f"ObservedProperty: unknown {code!r}",
                               details=[{"field": "ObservedProperty", "problem": f"one of {sorted(props)}"}])
    unit = body.get("unitOfMeasurement") or {}
    default_unit = props[code]["unit"]
    extra = body.get("properties") or {}
    interval = extra.get("expectedIntervalSeconds")
    if interval is not None and (not isinstance(interval, int) or interval <= 0):
        raise ValidationFailed("properties.expectedIntervalSeconds: a positive integer",
                               details=[{"field": "properties.expectedIntervalSeconds", "problem": "positive int"}])
    ds = Datastream(id=parse_uuid(body.get("@iot.id")) or new_id(), thing_id=thing.id, sensor_id=sensor_id,
                    observed_property=code, name=_required(body, "name"), description=body.get("description") or "",
                    unit_name=unit.get("name") or default_unit["name"],
                    unit_symbol=unit.get("symbol") or default_unit["symbol"], unit_definition=unit.get("definition"),
                    expected_interval_s=interval, valid_min=extra.get("validMin"), valid_max=extra.get("validMax"),
                    properties=extra, lgd_path=thing.lgd_path)
    session.add(ds)
    session.flush()
    return ds


def get_thing(session: Session, principal: Principal, thing_id: uuid.UUID | None, permission: str = READ) -> Thing:
    thing = session.execute(select(Thing).where(Thing.id == thing_id, scope_clause(
        Thing.lgd_path, principal.scope(permission)))).scalar_one_or_none() if thing_id else None
    if thing is None:
        raise NotFound(f"Thing {thing_id} not found")
    return thing


def get_datastream(session: Session, principal: Principal, ds_id: uuid.UUID | None,
                   permission: str = READ) -> Datastream:
    ds = session.execute(select(Datastream).where(Datastream.id == ds_id, scope_clause(
        Datastream.lgd_path, principal.scope(permission)))).scalar_one_or_none() if ds_id else None
    if ds is None:
        raise NotFound(f"Datastream {ds_id} not found")
    return ds
