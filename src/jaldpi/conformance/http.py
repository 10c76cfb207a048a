"""HTTP to the system under test, and the vocabulary checks use to say what went wrong.

The kit talks to the target over HTTP only (httpx): it must judge a state's own system exactly as it judges a jaldpi
node, so it imports nothing from the server side. Every answer remembers the request that produced it, so a
failure reason can name the method and URL, what was expected and what came back.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote

import httpx


class CheckFailed(Exception):
    """The requirement is not met; the message says what was wrong (URL, expected, got)."""


class CheckSkipped(Exception):
    """The requirement could not be checked for a reason that is not the target's fault (say which)."""


class PrerequisiteFailed(Exception):
    """Something a check builds on (a token, the test record) could not be had: the check is reported as ERROR."""


class TargetUnreachable(Exception):
    """The target does not answer HTTP at all (connection refused, DNS, TLS, timeout)."""


ERROR_SHAPE = '{"error": {"code", "message", "details": [...]}}'


@dataclass
class Answer:
    """One HTTP answer and the request it answers."""

    method: str
    path: str  # path and query, relative to the target
    status: int
    headers: httpx.Headers
    text: str

    @property
    def label(self) -> str:
        return f"{self.method} {self.path}"

    def json(self) -> Any:
        """The body as JSON, or CheckFailed naming the request and what came instead."""
        try:
            return json.loads(self.text)
        except ValueError as exc:
            raise CheckFailed(f"{self.label}: expected a JSON body, got {self.headers.get('content-type', 'no type')}"
                              f" {self.snippet()}") from exc

    def json_or_none(self) -> Any:
        try:
            return json.loads(self.text)
        except ValueError:
            return None

    def snippet(self, size: int = 120) -> str:
        text = " ".join(self.text.split())
        return repr(text[:size] + ("..." if len(text) > size else ""))

    def expect(self, *statuses: int) -> Answer:
        """CheckFailed unless the status is one of ``statuses``."""
        if self.status not in statuses:
            wanted = " or ".join(str(s) for s in statuses)
            raise CheckFailed(f"{self.label}: expected HTTP {wanted}, got {self.status} {self.snippet()}")
        return self

    def error_code(self) -> str | None:
        body = self.json_or_none()
        if isinstance(body, dict) and isinstance(body.get("error"), dict):
            code = body["error"].get("code")
            return code if isinstance(code, str) else None
        return None


def error_shape_problem(body: Any) -> str | None:
    """What is wrong with an error body against the one error shape of the API, or None if nothing is."""
    if not isinstance(body, dict) or set(body) != {"error"}:
        keys = sorted(body) if isinstance(body, dict) else type(body).__name__
        return f"expected {ERROR_SHAPE}, got top-level {keys}"
    err = body["error"]
    if not isinstance(err, dict):
        return f"expected error to be an object, got {type(err).__name__}"
    missing = [k for k in ("code", "message", "details") if k not in err]
    if missing:
        return f"error object lacks {', '.join(missing)}"
    if not isinstance(err["code"], str) or not err["code"]:
        return "error.code is not a non-empty string"
    if not isinstance(err["message"], str) or not err["message"]:
        return "error.message is not a non-empty string"
    if not isinstance(err["details"], list):
        return "error.details is not a list"
    for detail in err["details"]:
        if not isinstance(detail, dict) or "field" not in detail or "problem" not in detail:
            return f"error.details item {detail!r} lacks field or problem"
    return None


def expect_error(answer: Answer, status: int, codes: tuple[str, ...] = ()) -> dict[str, Any]:
    """CheckFailed unless ``answer`` is an error of ``status`` in the one error shape (with one of ``codes``)."""
    answer.expect(status)
    body = answer.json_or_none()
    problem = error_shape_problem(body)
    if problem:
        raise CheckFailed(f"{answer.label}: {status} body is not the error shape: {problem} ({answer.snippet()})")
    err = body["error"]
    if codes and err["code"] not in codes:
        raise CheckFailed(f"{answer.label}: expected error code {' or '.join(codes)}, got {err['code']!r}")
    return err


class Target:
    """The system under test: a base URL and an httpx client; every call returns an :class:`Answer`."""

    RATE_LIMIT_RETRIES = 5  # answers 429 waited out per request
    MAX_WAIT_S = 60.0  # longest Retry-After honoured at once

    def __init__(self, base_url: str, *, timeout_s: float = 30.0, transport: httpx.BaseTransport | None = None):
        self.base_url = base_url.rstrip("/")
        self.rate_limited_s = 0.0  # seconds spent waiting out 429 answers
        self.client = httpx.Client(base_url=self.base_url, timeout=timeout_s, follow_redirects=False,
                                   transport=transport, headers={"User-Agent": "jaldpi-conformance"})

    def close(self) -> None:
        self.client.close()

    def request(self, method: str, path: str, *, token: str | None = None, params: dict[str, Any] | None = None,
                headers: dict[str, str] | None = None, **kwargs: Any) -> Answer:
        all_headers = dict(headers or {})
        if token is not None:
            all_headers["Authorization"] = f"Bearer {token}"
        request = self.client.build_request(method, path, params=params, headers=all_headers, **kwargs)
        shown = unquote(request.url.raw_path.decode("ascii", "replace"))  # as a person would type it
        for attempt in range(self.RATE_LIMIT_RETRIES + 1):
            try:
                response = self.client.send(request)
            except httpx.TransportError as exc:
                raise TargetUnreachable(f"{method} {shown}: {type(exc).__name__}: {exc}") from exc
            if response.status_code != 429 or attempt == self.RATE_LIMIT_RETRIES:
                break
            # A rate limit is the target protecting itself, not a verdict on conformance: wait as told, retry.
            retry_after = response.headers.get("retry-after", "")
            wait = min(float(retry_after) if retry_after.isdigit() else 1.0, self.MAX_WAIT_S)
            self.rate_limited_s += wait
            time.sleep(wait)
        return Answer(method, shown, response.status_code, response.headers, response.text)

    def get(self, path: str, **kwargs: Any) -> Answer:
        return self.request("GET", path, **kwargs)

    def post(self, path: str, **kwargs: Any) -> Answer:
        return self.request("POST", path, **kwargs)

    def patch(self, path: str, **kwargs: Any) -> Answer:
        return self.request("PATCH", path, **kwargs)

    def delete(self, path: str, **kwargs: Any) -> Answer:
        return self.request("DELETE", path, **kwargs)


__all__ = ["Answer", "CheckFailed", "CheckSkipped", "ERROR_SHAPE", "PrerequisiteFailed", "Target",
           "TargetUnreachable", "error_shape_problem", "expect_error"]
