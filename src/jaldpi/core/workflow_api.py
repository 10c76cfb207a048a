"""HTTP routes of the workflow engine: cases (scoped reads, the one transition endpoint) and the published
workflow definitions (public: they are part of the standard)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Body, Depends, Query, Request
from fastapi.responses import Response

from jaldpi.core.api import current_principal, if_match_version, json_response, node_of, refuse_unknown_query
from jaldpi.core.errors import Unauthenticated, ValidationFailed
from jaldpi.core.security import Principal
from jaldpi.core.workflow import WorkflowEngine

_LIST_PARAMS = {"workflow", "state", "status", "overdue", "subject_type", "subject_id", "assigned_level", "limit",
                "after", "total"}


def workflow_router(engine: WorkflowEngine) -> APIRouter:
    router = APIRouter(prefix="/api/v1", tags=["workflows"])

    @router.get("/workflows", summary="Workflow definitions (latest version of each)")
    def list_workflows(request: Request) -> Response:
        refuse_unknown_query(request)
        return json_response({"items": [d.public() | {"versions": engine.versions(d.name)}
                                        for d in engine.definitions()]})

    @router.get("/workflows/{name}", summary="One workflow definition (latest, or ?version=N)")
    def read_workflow(request: Request, name: str, version: int | None = Query(None, ge=1)) -> Response:
        refuse_unknown_query(request, {"version"})
        d = engine.definition(name, version)
        return json_response(d.public() | {"versions": engine.versions(d.name)})

    @router.get("/cases", summary="Cases in your jurisdiction (keyset pages)")
    def list_cases(
        request: Request,
        workflow: str | None = Query(None),
        state: str | None = Query(None),
        status: str | None = Query(None, pattern="^(open|closed)$"),
        overdue: bool | None = Query(None, description="true: open and past due; false: not overdue"),
        subject_type: str | None = Query(None),
        subject_id: str | None = Query(None),
        assigned_level: str | None = Query(None),
        limit: int | None = Query(None, ge=1),
        after: str | None = Query(None, description="next_cursor of the previous page"),
        total: bool = Query(False, description="add the total count (costs a count query)"),
        principal: Principal = Depends(current_principal),
    ) -> Response:
        node = node_of(request)
        refuse_unknown_query(request, _LIST_PARAMS)
        _signed_in(principal)
        size = min(limit or node.settings.default_page_size, node.settings.max_page_size)
        with node.db.unit_of_work(write=False) as session:
            page = engine.list_cases(session, principal, limit=size, after=after, workflow=workflow, state=state,
                                     status=status, overdue=overdue, subject_type=subject_type,
                                     subject_id=subject_id, assigned_level=assigned_level, total=total)
        return json_response(page)

    @router.get("/cases/{key}", summary="One case (by id or code) with its events")
    def read_case(request: Request, key: str, principal: Principal = Depends(current_principal)) -> Response:
        node = node_of(request)
        refuse_unknown_query(request)
        _signed_in(principal)
        with node.db.unit_of_work(write=False) as session:
            case = engine.get_case(session, principal, key)
        return json_response(case, headers={"ETag": f'"{case["version"]}"'})

    @router.post("/cases/{key}/transitions/{name}", summary="Take a transition of a case",
                 openapi_extra={"requestBody": {"required": False, "content": {"application/json": {"schema": {
                     "type": "object", "description": "the transition's payload (fields it requires, `note`); "
                     "`version` (or If-Match) refuses the step if the case changed meanwhile"}}}}})
    def take_transition(request: Request, key: str, name: str, body: dict[str, Any] | None = Body(None),
                        principal: Principal = Depends(current_principal)) -> Response:
        node = node_of(request)
        refuse_unknown_query(request)
        _signed_in(principal)
        payload = dict(body or {})
        expected = if_match_version(request)
        if "version" in payload:
            version = payload.pop("version")
            if not isinstance(version, int) or isinstance(version, bool):
                raise ValidationFailed("version must be an integer",
                                       details=[{"field": "version", "problem": "not an integer"}])
            expected = expected if expected is not None else version
        with node.db.unit_of_work() as session:
            case = engine.transition(session, principal, key, name, payload, expected_version=expected)
            if engine.can_read(principal, case):
                out = engine.get_case(session, principal, case.id)
            else:  # acted under a role without cases:read: answer the step, not the case's data and history
                out = {"id": str(case.id), "code": case.code, "state": case.state, "version": case.version}
        return json_response(out, headers={"ETag": f'"{out["version"]}"'})

    return router


def _signed_in(principal: Principal) -> None:
    if principal.is_anonymous:
        raise Unauthenticated("sign in to see and act on cases")
