"""Publishes the data standard: JSON Schemas of every record and the code lists, under /standard/v1/.

Code lists are published as this node accepts them: shipped items, then the national extensions (marked
``"extension": true`` with ``added_by``), with the effective version (see ``codelists.effective_version``). Each
publication request re-reads the extensions (one small query), so what a client reads is what the node accepts.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator

from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import Response
from sqlalchemy.exc import SQLAlchemyError

from jaldpi import STANDARD_VERSION, __version__
from jaldpi.core.api import json_response, node_of, record_model
from jaldpi.core.errors import NotFound
from jaldpi.standard.codelists import (
    all_codelists,
    effective_codelist,
    load_overlay,
    overlay_generation,
    refresh_overlay,
)


@contextlib.asynccontextmanager
async def load_extensions(app: FastAPI) -> AsyncIterator[None]:
    """Start-up of every app that includes this router: load the national code-list extensions (one query)."""
    node = app.state.node
    try:
        refresh_overlay(node.db, reload_seconds=node.settings.codelist_reload_seconds)
    except SQLAlchemyError as exc:
        raise RuntimeError(f"cannot read the code-list extensions (table codelist_entries): {exc}; is the database "
                           "migrated? run `jaldpi db upgrade`") from exc
    yield


router = APIRouter(prefix=f"/standard/{STANDARD_VERSION}", tags=["standard"], lifespan=load_extensions)


def _current_overlay(request: Request) -> None:
    with node_of(request).db.unit_of_work(write=False) as session:
        load_overlay(session)


def schemas(request: Request) -> dict[str, dict]:
    """Input and record JSON Schemas of every registry; rebuilt when the code-list extensions changed (enums)."""
    node = node_of(request)
    generation = overlay_generation()
    cached = node.extras.get("standard_schemas")
    if cached is None or cached[0] != generation:
        built = {}
        for name, registry in node.catalogue.registries.items():
            built[name] = {
                "input": registry.spec.schema.model_json_schema(),
                "record": record_model(registry).model_json_schema(),
            }
        cached = (generation, built)
        node.extras["standard_schemas"] = cached
    return cached[1]


def keep_openapi_current(app: FastAPI) -> None:
    """FastAPI builds the OpenAPI document once; build it again when the code-list extensions changed (enums)."""
    build = app.openapi
    built_for = {"generation": overlay_generation()}

    def openapi() -> dict:
        generation = overlay_generation()
        if generation != built_for["generation"]:
            app.openapi_schema = None
            built_for["generation"] = generation
        return build()

    app.openapi = openapi  # type: ignore[method-assign]


@router.get("/", summary="The data standard: index of schemas and code lists")
def index(request: Request) -> Response:
    _current_overlay(request)
    lists = {name: effective_codelist(name) for name in all_codelists()}
    return json_response({
        "standard": STANDARD_VERSION, "implementation": f"jaldpi {__version__}",
        "compatibility": "Within v1 fields and codes may be added, never removed or changed in meaning; "
                         "see docs/standard.md",
        "schemas": {name: {"input": f"/standard/{STANDARD_VERSION}/schemas/{name}.json",
                           "record": f"/standard/{STANDARD_VERSION}/schemas/{name}.record.json"}
                    for name in schemas(request)},
        "codelists": {name: {"version": cl["version"], "shipped_version": cl["shipped_version"],
                             "extensions": cl["extensions"],
                             "href": f"/standard/{STANDARD_VERSION}/codelists/{name}"}
                      for name, cl in lists.items()},
        "openapi": "/openapi.json",
    })


@router.get("/schemas/{name}.json", summary="JSON Schema (2020-12) of a registry's input record")
def schema(request: Request, name: str) -> Response:
    _current_overlay(request)
    all_schemas = schemas(request)
    base = name.removesuffix(".record")
    if base not in all_schemas:
        raise NotFound(f"no schema {name}")
    body = all_schemas[base]["record" if name.endswith(".record") else "input"]
    return json_response({"$schema": "https://json-schema.org/draft/2020-12/schema",
                          "$id": f"/standard/{STANDARD_VERSION}/schemas/{name}.json", **body})


@router.get("/codelists", summary="All code lists with English and Hindi labels, national extensions included")
def codelists(request: Request) -> Response:
    _current_overlay(request)
    return json_response({name: effective_codelist(name) for name in all_codelists()})


@router.get("/codelists/{name}", summary="One code list, national extensions included")
def one_codelist(request: Request, name: str) -> Response:
    lists = all_codelists()
    if name not in lists:
        raise NotFound(f"no code list {name}", details=[{"field": "name", "problem": f"known: {sorted(lists)}"}])
    _current_overlay(request)
    return json_response(effective_codelist(name))
