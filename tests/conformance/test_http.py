"""The kit's HTTP client against a real server that rate-limits it: a 429 is waited out as Retry-After asks, not
reported as a failure of the target."""

from __future__ import annotations

from fastapi import FastAPI
from fastapi.responses import JSONResponse

from jaldpi.conformance.http import Target
from tests.liveserver import serve


def rate_limited_app(refusals: int) -> FastAPI:
    app = FastAPI()
    calls = {"n": 0}

    @app.get("/health")
    def health() -> dict:
        return {"status": "ok"}

    @app.get("/standard/v1/")
    def index() -> JSONResponse:
        calls["n"] += 1
        if calls["n"] <= refusals:
            return JSONResponse({"error": {"code": "rate_limited", "message": "slow down", "details": []}}, 429,
                                headers={"Retry-After": "1"})
        return JSONResponse({"standard": "v1"})

    return app


def test_429_is_waited_out_and_retried():
    with serve(rate_limited_app(refusals=1)) as base_url:
        target = Target(base_url)
        answer = target.get("/standard/v1/")
        target.close()
    assert answer.status == 200 and answer.json() == {"standard": "v1"}
    assert target.rate_limited_s == 1.0
