"""The FastAPI application factory: ``create_app(settings)`` builds a node; nothing is read at import time."""

from __future__ import annotations

import gc

from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse, Response
from sqlalchemy import select

from jaldpi import STANDARD_VERSION, __version__
from jaldpi.accounts.router import router as accounts_router
from jaldpi.admin_units.paths import parse_within
from jaldpi.config import Settings, get_settings
from jaldpi.core.api import (
    BodySizeLimit,
    Node,
    RateLimit,
    RateLimiter,
    current_principal,
    install_error_handlers,
    json_response,
    node_of,
    registry_router,
)
from jaldpi.core.bulkparse import parse_body
from jaldpi.core.db import Database
from jaldpi.core.errors import NotFound, ValidationFailed
from jaldpi.core.models import ExternalIdentifier
from jaldpi.core.security import Passwords
from jaldpi.core.signing import SigningKey
from jaldpi.core.workflow_api import workflow_router
from jaldpi.registries import all_models, build_catalogue, build_workflows, feed_types
from jaldpi.standard.codelists import role_permissions
from jaldpi.standard.router import keep_openapi_current
from jaldpi.standard.router import router as standard_router
from jaldpi.water_quality.router import router as water_quality_router

DESCRIPTION = """
**jaldpi** is the reference node of the Jal Jeevan Mission's Digital Public Infrastructure: LGD-keyed registries
of administrative units, entities, assets, natural resources and households, with open APIs.

* Sign in at `POST /api/v1/auth/token` (OAuth2 password grant for people, client credentials for systems), then
  use **Authorize** above. Every grant is bound to an LGD subtree: you see and change only your jurisdiction.
* Errors always have the shape `{"error": {"code", "message", "details": [{"field", "problem"}]}}`.
* Lists use keyset pages: follow `next_cursor`; `total=true` adds a count.
* The data standard (JSON Schemas and code lists) is at [/standard/v1/](/standard/v1/).
"""


def create_app(settings: Settings | None = None, database: Database | None = None) -> FastAPI:
    settings = settings or get_settings()
    all_models()
    db = database or Database(settings.database_url)
    workflows = build_workflows()
    node = Node(settings=settings, db=db, catalogue=build_catalogue(settings, workflows),
                role_permissions=role_permissions(),
                passwords=Passwords(settings.password_hash_time_cost, settings.password_hash_memory_kib))
    node.extras["resolve_within"] = parse_within
    node.extras["workflows"] = workflows
    node.extras["feed_types"] = feed_types(node.catalogue)  # change feed and webhooks: types and read permissions
    node.extras["signing_keys"] = [SigningKey.from_setting(settings.signing_key, settings.secret_key)]
    from jaldpi.federation.service import build_federation  # node-to-node sync (docs/federation.md)

    node.extras["federation"] = build_federation(settings, db, node.catalogue)

    app = FastAPI(title="jaldpi", version=__version__, description=DESCRIPTION,
                  openapi_url="/openapi.json", docs_url="/docs", redoc_url="/redoc",
                  swagger_ui_parameters={"persistAuthorization": True})
    app.state.node = node
    install_error_handlers(app)
    app.add_middleware(RateLimit, limiter=RateLimiter(settings.rate_limit_per_minute,
                                                      settings.anonymous_rate_limit_per_minute))
    from jaldpi.documents.router import upload_body_limits  # document uploads: up to documents_max_bytes

    app.add_middleware(BodySizeLimit, max_bytes=settings.max_body_bytes, path_limits=upload_body_limits(settings))

    app.include_router(accounts_router)
    app.include_router(standard_router)  # its lifespan loads the national code-list extensions at start-up
    keep_openapi_current(app)  # extensions change the code enums: rebuild the OpenAPI document when they do
    app.include_router(workflow_router(workflows))
    app.include_router(water_quality_router)  # before the registries: /api/v1/samples/{key}/signed-report
    app.include_router(__import__("jaldpi.telemetry.router", fromlist=["router"]).router)  # telemetry
    app.include_router(__import__("jaldpi.service_delivery.router", fromlist=["router"]).router)
    from jaldpi.baseline.router import router as baseline_router  # baseline: JJM village profiles
    app.include_router(baseline_router)
    app.include_router(__import__("jaldpi.alerts.router", fromlist=["router"]).router)  # alerts
    app.include_router(__import__("jaldpi.federation.router", fromlist=["router"]).router)  # federation
    app.include_router(__import__("jaldpi.core.feed_api", fromlist=["feed_router"]).feed_router())  # change feed
    app.include_router(__import__("jaldpi.webhooks.router", fromlist=["router"]).router)  # webhooks
    from jaldpi.registries import OPERATIONS_DOMAINS  # issue 7: progress, grievances, upkeep, finances, HGJ, ...

    for name in OPERATIONS_DOMAINS:  # before the registries' generic routes, like water quality
        app.include_router(__import__(f"jaldpi.{name}.router", fromlist=["router"]).router)
    app.include_router(__import__("jaldpi.opendata.router", fromlist=["router"]).router)  # open data API, no login
    app.include_router(__import__("jaldpi.web.router", fromlist=["router"]).router)  # Citizen Corner pages
    app.include_router(__import__("jaldpi.web.officials", fromlist=["router"]).router)  # officials' dashboards

    def parse_bulk(request: Request, raw: bytes, registry) -> list[dict]:
        return parse_body(request.headers.get("content-type", ""), raw, registry.spec.schema)

    for registry in node.catalogue.registries.values():
        app.include_router(registry_router(registry, parse_bulk=parse_bulk))

    @app.get("/api/v1/lookup", tags=["identifiers"], summary="Find records by an external identifier")
    def lookup(request: Request, system: str, value: str) -> Response:
        principal = current_principal(request)
        table = ExternalIdentifier.__table__
        found = []
        with node_of(request).db.unit_of_work(write=False) as session:
            for record_type, record_id in session.execute(
                    select(table.c.record_type, table.c.record_id).where(table.c.system == system,
                                                                         table.c.value == value)):
                registry = node.catalogue.registries.get(record_type)
                if registry is None:
                    continue
                try:
                    found.append({"record_type": record_type, "record": registry.get(session, principal, record_id)})
                except NotFound:
                    continue  # outside the caller's jurisdiction: not disclosed
        if not found:
            raise NotFound(f"no record visible to you has {system}={value}")
        return json_response({"items": found})

    @app.get("/health", tags=["node"], summary="Liveness and database check")
    def health(request: Request) -> Response:
        with node_of(request).db.unit_of_work(write=False) as session:
            session.execute(select(1))
        return json_response({"status": "ok", "node": settings.node_id, "version": __version__,
                              "standard": STANDARD_VERSION, "database": db.dialect})

    @app.get("/", include_in_schema=False)
    def home() -> HTMLResponse:
        return HTMLResponse(f"""<!doctype html><html lang="en"><meta charset="utf-8">
<title>jaldpi node</title><body style="font-family:sans-serif;max-width:40em;margin:2em auto">
<h1>jaldpi {__version__}</h1><p>Node <b>{settings.node_id}</b> of the Jal Jeevan Mission DPI.</p>
<ul><li><a href="/citizen/">Citizen Corner</a>: your village's taps, water quality and supply (English / हिन्दी)</li>
<li><a href="/docs">Interactive API docs</a> (sign in with Authorize)</li>
<li><a href="/standard/v1/">Data standard v1</a>: schemas and code lists</li>
<li><a href="/api/v1/admin_units?level=state&limit=50">States</a> (public LGD directory)</li>
<li><a href="/health">Health</a></li></ul></body></html>""")

    _ = ValidationFailed  # re-exported error type used by routers through the app
    if settings.gc_first_threshold:
        # Bulk imports allocate millions of short-lived dicts; the default generation-0 threshold (700) makes the
        # cyclic collector take about a quarter of import time (measured, bench/README.md). Objects alive after
        # start-up (modules, schemas, routes) are frozen out of collection altogether.
        gc.collect()
        gc.freeze()
        gc.set_threshold(settings.gc_first_threshold, 20, 10)
    return app
