"""Errors raised by the SDK, mapped from the node's one error shape.

Every error a jaldpi node answers is ``{"error": {"code", "message", "details": [{"field", "problem"}]}}`` with a
stable ``code`` (docs/api.md, "Errors"). :func:`error_from_response` turns such an answer into the most specific
class below, so callers can write ``except VersionConflict:`` instead of switching on status codes. The stable code,
the message, the details and the HTTP status stay available on every instance.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # only for annotations: importing models here would be circular
    import httpx

    from jaldpi.client.models import ImportSummary


class JaldpiClientError(Exception):
    """Base of every error raised by :mod:`jaldpi.client`."""


@dataclass(frozen=True)
class ErrorDetail:
    """One problem of a refused request: the field (a dotted path such as ``members.0.gender``) and what is wrong."""

    field: str | None
    problem: str
    type: str | None = None


class ApiError(JaldpiClientError):
    """The node answered with an error. ``code`` is the node's stable machine code (e.g. ``version_conflict``)."""

    status_code: int = 0

    def __init__(self, message: str, *, code: str = "error", status_code: int | None = None,
                 details: list[ErrorDetail] | None = None, method: str | None = None, url: str | None = None,
                 headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.code = code
        if status_code is not None:
            self.status_code = status_code
        self.details = details or []
        self.method = method
        self.url = url
        self.headers = headers or {}

    def __str__(self) -> str:
        where = f" ({self.method} {self.url})" if self.method and self.url else ""
        return f"{self.status_code} {self.code}: {self.message}{where}"

    def fields(self) -> dict[str | None, str]:
        """The details as ``{field: problem}`` (the last problem wins when a field has several)."""
        return {d.field: d.problem for d in self.details}


class Unauthenticated(ApiError):
    """401: no, wrong, expired or invalid credentials (codes ``unauthenticated``, ``invalid_grant``, ...)."""

    status_code = 401


class Forbidden(ApiError):
    """403: signed in, but your roles do not allow this."""

    status_code = 403


class OutOfJurisdiction(Forbidden):
    """403 ``out_of_jurisdiction``: the write would land outside the LGD subtree where your role may write."""


class NotFound(ApiError):
    """404: no such record, or one outside your jurisdiction (the node does not tell them apart)."""

    status_code = 404


class Conflict(ApiError):
    """409: ``conflict``, ``already_exists``, ``duplicate_external_id``."""

    status_code = 409


class VersionConflict(Conflict):
    """409 ``version_conflict``: someone changed the record after the version you based your change on.

    Read the record again, re-apply your change and send the new version.
    """


class ValidationError(ApiError):
    """422: the request was understood but refused; ``details`` names each field and its problem.

    (Not pydantic's ``ValidationError``: this one comes from the node.)
    """

    status_code = 422


class PayloadTooLarge(ApiError):
    """413: the body is over the node's size limit, or a bulk request holds too many records."""

    status_code = 413


class RateLimited(ApiError):
    """429: too many requests; ``retry_after`` is the wait in seconds the node asked for (None if it did not say)."""

    status_code = 429

    def __init__(self, message: str, *, retry_after: float | None = None, **kwargs: Any) -> None:
        super().__init__(message, **kwargs)
        self.retry_after = retry_after


class ServerError(ApiError):
    """5xx: the node (or a gateway in front of it) failed; the request may or may not have been applied."""

    status_code = 500


class NetworkError(JaldpiClientError):
    """The node could not be reached, or the connection broke before an answer (after the retries allowed)."""

    def __init__(self, message: str, *, method: str | None = None, url: str | None = None) -> None:
        super().__init__(message)
        self.method = method
        self.url = url


class ImportFailed(JaldpiClientError):
    """Raised by :meth:`ImportSummary.raise_for_errors` when rows failed or were not sent; ``summary`` has them."""

    def __init__(self, summary: ImportSummary) -> None:
        stats = summary.stats
        parts = [f"{stats.errors} of {stats.total} rows failed"]
        if summary.unsent:
            parts.append(f"{summary.unsent} rows not sent after a failed atomic batch")
        first = next((r for r in summary.rows if r.errors), None)
        if first is not None:
            e = first.errors[0]
            parts.append(f"first: row {first.index} {e.code}" + (f" ({e.field})" if e.field else "") + f": {e.message}")
        super().__init__(f"{summary.registry} import {summary.status}: " + "; ".join(parts))
        self.summary = summary


_BY_CODE: dict[str, type[ApiError]] = {
    "out_of_jurisdiction": OutOfJurisdiction,
    "version_conflict": VersionConflict,
}

_BY_STATUS: dict[int, type[ApiError]] = {
    401: Unauthenticated,
    403: Forbidden,
    404: NotFound,
    409: Conflict,
    413: PayloadTooLarge,
    422: ValidationError,
    429: RateLimited,
}


def parse_retry_after(value: str | None) -> float | None:
    """Seconds to wait from a ``Retry-After`` header: delta-seconds, or an HTTP date (RFC 9110 section 10.2.3)."""
    if not value:
        return None
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    import datetime as dt
    from email.utils import parsedate_to_datetime

    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=dt.UTC)
    return max(0.0, (when - dt.datetime.now(dt.UTC)).total_seconds())


def error_from_response(response: httpx.Response) -> ApiError:
    """The most specific :class:`ApiError` for an error answer (also for answers not in the node's shape)."""
    code, message, details = f"http_{response.status_code}", response.reason_phrase or "error", []
    try:
        body = response.json()
    except ValueError:
        body = None
    if isinstance(body, dict) and isinstance(body.get("error"), dict):
        err = body["error"]
        code = str(err.get("code") or code)
        message = str(err.get("message") or message)
        for d in err.get("details") or []:
            if isinstance(d, dict):
                details.append(ErrorDetail(field=d.get("field"), problem=str(d.get("problem", "")), type=d.get("type")))
    elif response.text:
        message = f"{message}: {response.text[:200]}"  # a proxy's HTML or plain-text page: keep the start of it
    status = response.status_code
    cls = _BY_CODE.get(code) or _BY_STATUS.get(status) or (ServerError if status >= 500 else ApiError)
    kwargs: dict[str, Any] = {"code": code, "status_code": status, "details": details,
                              "method": response.request.method, "url": str(response.request.url),
                              "headers": dict(response.headers)}
    if cls is RateLimited:
        kwargs["retry_after"] = parse_retry_after(response.headers.get("retry-after"))
    return cls(message, **kwargs)
