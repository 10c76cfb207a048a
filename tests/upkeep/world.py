"""An upkeep world: build_world's state, one scheme per place (a1: village 500001, block 4001; a4: village 500004,
block 4003; b3: village 500003, district 746) with an ESR each, plus a pump in scheme a1."""

from __future__ import annotations

from dataclasses import dataclass

from jaldpi.core.registry import Strategy
from tests.helpers import ROOT, build_records, build_world


@dataclass
class UpkeepWorld:
    records: dict
    pump: str  # component id
    esr: dict[str, str]  # tag -> component id
    scheme: dict[str, str]  # tag -> scheme id


def build_upkeep(node, *, installed_on: str | None = None) -> UpkeepWorld:
    build_world(node)
    records = build_records(node, registries=("schemes", "components", "entities"))
    extra = {"scheme": records["schemes"]["a1"]["id"], "component_type": "pump", "name": "Pump a1",
             "village": 500001}
    if installed_on:
        extra["installed_on"] = installed_on
    with node.db.unit_of_work() as session:
        pump = node.catalogue["components"].write_one(session, ROOT, extra, Strategy.create)
        if installed_on:
            for tag in ("a1", "a4", "b3"):
                node.catalogue["components"].write_one(session, ROOT, {
                    "id": records["components"][tag]["id"], "installed_on": installed_on}, Strategy.update)
    return UpkeepWorld(records, pump["id"], {t: r["id"] for t, r in records["components"].items()},
                       {t: r["id"] for t, r in records["schemes"].items()})


def engine_of(node):
    return node.extras["workflows"]


def write(node, registry: str, item: dict, strategy: Strategy = Strategy.create, principal=ROOT) -> dict:
    with node.db.unit_of_work() as session:
        return node.catalogue[registry].write_one(session, principal, item, strategy)
