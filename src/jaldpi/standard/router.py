"""Publishes the data standard: JSON Schemas of every record and the code lists, under /standard/v1/."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response

from jaldpi import STANDARD_VERSION, __version__
from jaldpi.core.api import json_response, node_of, record_model
from jaldpi.core.errors import NotFound
from jaldpi.standard.codelists import all_codelists

router = APIRouter(prefix=f"/standard/{STANDARD_VERSION}", tags=["standard"])


def schemas(request: Request) -> dict[str, dict]:
    node = node_of(request)
    cached = node.extras.get("standard_schemas")
    if cached is None:
        cached = {}
        for name, registry in node.catalogue.registries.items():
            cached[name] = {
                "input": registry.spec.schema.model_json_schema(),
                "record": record_model(registry).model_json_schema(),
            }
        node.extras["standard_schemas"] = cached
    return cached


@router.get("/", summary="The data standard: index of schemas and code lists")
def index(request: Request) -> Response:
    return json_response({
        "standard": STANDARD_VERSION, "implementation": f"jaldpi {__version__}",
        "compatibility": "Within v1 fields and codes may be added, never removed or changed in meaning; "
                         "see docs/standard.md",
        "schemas": {name: {"input": f"/standard/{STANDARD_VERSION}/schemas/{name}.json",
                           "record": f"/standard/{STANDARD_VERSION}/schemas/{name}.record.json"}
                    for name in schemas(request)},
        "codelists": {name: {"version": cl["version"], "href": f"/standard/{STANDARD_VERSION}/codelists/{name}"}
                      for name, cl in all_codelists().items()},
        "openapi": "/openapi.json",
    })


@router.get("/schemas/{name}.json", summary="JSON Schema (2020-12) of a registry's input record")
def schema(request: Request, name: str) -> Response:
    all_schemas = schemas(request)
    base = name.removesuffix(".record")
    if base not in all_schemas:
        raise NotFound(f"no schema {name}")
    body = all_schemas[base]["record" if name.endswith(".record") else "input"]
    return json_response({"$schema": "https://json-schema.org/draft/2020-12/schema",
                          "$id": f"/standard/{STANDARD_VERSION}/schemas/{name}.json", **body})


@router.get("/codelists", summary="All code lists with English and Hindi labels")
def codelists() -> Response:
    return json_response(all_codelists())


@router.get("/codelists/{name}", summary="One code list")
def one_codelist(name: str) -> Response:
    lists = all_codelists()
    if name not in lists:
        raise NotFound(f"no code list {name}", details=[{"field": "name", "problem": f"known: {sorted(lists)}"}])
    return json_response(lists[name])
