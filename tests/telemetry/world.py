"""A telemetry world: the two-district test state, a scheme and a sensor component in villages 500001 (district
745) and 500003 (district 746), one Thing per component and datastreams on the Alpha one."""

from __future__ import annotations

from dataclasses import dataclass

from jaldpi.telemetry import service
from tests.helpers import ROOT, build_records, build_world


@dataclass
class TWorld:
    ids: dict[str, str]


def build_telemetry(node) -> TWorld:
    build_world(node)
    recs = build_records(node, {"a1": 500001, "b3": 500003}, ("components",))
    ids: dict[str, str] = {}
    with node.db.unit_of_work() as session:
        sensor = service.create_sensor(session, ROOT, {"name": "EM flow meter", "encodingType": "text/plain",
                                                        "metadata": "DN100"})
        ids["sensor"] = str(sensor.id)
        for tag in ("a1", "b3"):
            thing = service.create_thing(session, ROOT, {
                "name": f"ESR {tag}", "description": "reservoir",
                "properties": {"component_id": recs["components"][tag]["id"]},
                "Locations": [{"name": "site", "location": {"type": "Point", "coordinates": [78.4, 17.3]}}]})
            ids[f"thing_{tag}"] = str(thing.id)
            for prop in ("flow_rate", "residual_chlorine"):
                ds = service.create_datastream(session, ROOT, {
                    "name": f"{prop} {tag}", "Thing": {"@iot.id": str(thing.id)},
                    "Sensor": {"@iot.id": str(sensor.id)}, "ObservedProperty": {"@iot.id": prop},
                    "properties": {"expectedIntervalSeconds": 900}})
                ids[f"{prop}_{tag}"] = str(ds.id)
    return TWorld(ids)
