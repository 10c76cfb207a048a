"""Retries, against a scripted HTTP server (answers chosen per request) and against a real node's rate limit."""

from __future__ import annotations

import asyncio
import json
from collections import deque
from collections.abc import Iterator

import httpx
import pytest
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, Response

from jaldpi.app import create_app
from jaldpi.client import (
    JaldpiClient,
    NetworkError,
    RateLimited,
    ServerError,
    Unauthenticated,
    new_id,
)
from tests.client.conftest import PASSWORD
from tests.conftest import test_settings
from tests.helpers import build_world, make_account
from tests.liveserver import free_port, serve

EMPTY_PAGE = {"items": [], "next_cursor": None}


def _summary(rows: int) -> dict:
    return {"registry": "households", "status": "ok", "strategy": "create_and_update", "atomic": True,
            "dry_run": False, "written": True,
            "stats": {"created": rows, "updated": 0, "deleted": 0, "ignored": 0, "errors": 0, "total": rows},
            "rows": []}


def _error(status: int, code: str, headers: dict | None = None) -> Response:
    return JSONResponse({"error": {"code": code, "message": f"scripted {code}", "details": []}}, status, headers)


class ScriptedNode:
    """A stand-in node whose answers are queued by the test; it records every request it receives."""

    def __init__(self) -> None:
        self.answers: deque = deque()  # Response, or a coroutine function (request) -> Response
        self.requests: list[tuple[str, str]] = []
        self.token_requests = 0
        self.app = FastAPI()

        @self.app.get("/health")
        def health() -> dict:
            return {"status": "ok"}

        @self.app.post("/api/v1/auth/token")
        async def token(request: Request) -> dict:
            self.token_requests += 1
            return {"access_token": f"token-{self.token_requests}", "token_type": "bearer", "expires_in": 3600,
                    "grants": []}

        @self.app.api_route("/api/v1/{path:path}", methods=["GET", "POST", "PATCH", "DELETE"])
        async def anything(request: Request, path: str) -> Response:
            self.requests.append((request.method, f"/api/v1/{path}"))
            body = await request.body()
            if self.answers:
                answer = self.answers.popleft()
                return answer if isinstance(answer, Response) else await answer(request)
            if path.endswith("/bulk"):
                return JSONResponse(_summary(len(json.loads(body))))
            return JSONResponse(EMPTY_PAGE if request.method == "GET" else {"id": str(new_id()), "version": 1})


@pytest.fixture(scope="module")
def scripted_server() -> Iterator[tuple[ScriptedNode, str]]:
    script = ScriptedNode()
    with serve(script.app) as url:
        yield script, url


@pytest.fixture
def scripted(scripted_server) -> tuple[ScriptedNode, JaldpiClient]:
    script, url = scripted_server
    script.answers.clear()
    script.requests.clear()
    script.token_requests = 0
    with JaldpiClient(url, client_id="partner", client_secret="secret", backoff_base=0.01, timeout=5) as client:
        yield script, client


def test_429_is_retried_after_the_wait_the_node_asks_for(scripted, caplog):
    script, client = scripted
    script.answers.append(_error(429, "rate_limited", {"Retry-After": "1"}))
    with caplog.at_level("WARNING", logger="jaldpi.client"):
        page = client.households.list()
    assert page.items == [] and script.requests == [("GET", "/api/v1/households")] * 2
    assert any("429 rate_limited; retry 1 of 3 in 1.00 s" in r.getMessage() for r in caplog.records)


def test_429_is_retried_even_for_a_create(scripted):
    script, client = scripted  # the rate limiter answers before the endpoint runs: nothing was created
    script.answers.append(_error(429, "rate_limited", {"Retry-After": "0"}))
    client.households.create({"village": 500001, "members_count": 2})
    assert script.requests == [("POST", "/api/v1/households")] * 2


def test_a_long_retry_after_is_raised_for_the_caller_to_schedule(scripted):
    script, client = scripted
    script.answers.append(_error(429, "rate_limited", {"Retry-After": "600"}))
    with pytest.raises(RateLimited) as caught:
        client.households.list()
    assert caught.value.retry_after == 600 and len(script.requests) == 1


def test_gateway_errors_are_retried_for_reads_only(scripted):
    script, client = scripted
    script.answers.extend([_error(503, "unavailable"), _error(502, "bad_gateway")])
    assert client.households.list().items == []
    assert len(script.requests) == 3
    script.requests.clear()
    script.answers.append(_error(503, "unavailable"))
    with pytest.raises(ServerError) as caught:  # a create may have been applied: never sent twice
        client.households.create({"village": 500001, "members_count": 2})
    assert caught.value.status_code == 503 and len(script.requests) == 1
    script.requests.clear()
    script.answers.extend([_error(504, "timeout")] * 4)
    with pytest.raises(ServerError):  # max_retries=3: four requests, then the error
        client.households.list()
    assert len(script.requests) == 4


def test_bulk_pushes_with_client_minted_ids_are_retried(scripted):
    script, client = scripted
    with_ids = [{"id": str(new_id()), "village": 500001, "members_count": 2} for _ in range(3)]
    script.answers.append(_error(502, "bad_gateway"))
    summary = client.households.bulk_push(with_ids)
    assert summary.stats.created == 3 and summary.batches[0].attempts == 2
    script.requests.clear()
    # without ids the node could create the rows twice; with strategy=create a replay would fail: no retry
    for records, strategy in (([{"village": 500001, "members_count": 2}], "create_and_update"), (with_ids, "create")):
        script.answers.append(_error(502, "bad_gateway"))
        with pytest.raises(ServerError):
            client.households.bulk_push(records, strategy=strategy)
    assert len(script.requests) == 2
    script.requests.clear()
    script.answers.append(_error(503, "unavailable"))  # a dry run writes nothing: always retried
    assert client.households.bulk_push([{"village": 500001}], dry_run=True).batches[0].attempts == 2


def test_read_timeouts_are_retried_for_reads_only(scripted_server):
    script, url = scripted_server
    script.answers.clear()
    script.requests.clear()

    async def slow(request: Request) -> Response:
        await asyncio.sleep(1.0)
        return JSONResponse(EMPTY_PAGE)

    with JaldpiClient(url, token="t", timeout=0.2, backoff_base=0.01) as client:
        script.answers.append(slow)
        assert client.households.list().items == []
        assert len(script.requests) == 2
        script.requests.clear()
        script.answers.append(slow)
        with pytest.raises(NetworkError, match="ReadTimeout"):
            client.households.create({"village": 500001})
        assert len(script.requests) == 1


def test_an_unreachable_node_raises_network_error_after_the_retries(caplog):
    with JaldpiClient(f"http://127.0.0.1:{free_port()}", token="t", backoff_base=0.01) as client:
        with caplog.at_level("WARNING", logger="jaldpi.client"), pytest.raises(NetworkError, match="ConnectError"):
            client.households.list()
    assert sum("ConnectError; retry" in r.getMessage() for r in caplog.records) == 3


def test_a_refused_token_is_renewed_once_only(scripted):
    script, client = scripted
    script.answers.extend([_error(401, "token_expired"), _error(401, "token_expired")])
    with pytest.raises(Unauthenticated) as caught:
        client.households.list()
    assert caught.value.code == "token_expired"
    assert (script.token_requests, len(script.requests)) == (2, 2)


def test_an_answer_not_in_the_error_shape_still_maps(scripted):
    script, client = scripted
    with JaldpiClient(client.base_url, token="t", max_retries=0) as once:
        script.answers.append(Response("<html>upstream down</html>", 502, media_type="text/html"))
        with pytest.raises(ServerError) as caught:
            once.households.list()
    assert caught.value.code == "http_502" and "upstream down" in caught.value.message


def test_a_real_node_rate_limit_is_waited_out(database, caplog):
    app = create_app(test_settings(database, rate_limit_per_minute=60), database)
    node = app.state.node
    build_world(node)
    make_account(node, "state-mis", "partner_system", "state:28", kind="system")
    with serve(app) as url, JaldpiClient(url, client_id="state-mis", client_secret=PASSWORD) as client:
        headers = {"Authorization": f"Bearer {client.access_token}"}
        with httpx.Client(base_url=url, headers=headers) as raw:
            while raw.get("/health").status_code != 429:  # use up this token's bucket (60 requests)
                pass
        with caplog.at_level("WARNING", logger="jaldpi.client"):
            assert client.me().subject == "state-mis"
    assert any("429 rate_limited; retry 1" in r.getMessage() for r in caplog.records)
