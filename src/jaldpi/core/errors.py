"""One error shape for the whole API, with stable machine codes.

Every error answered by jaldpi is ``{"error": {"code": ..., "message": ..., "details": [...]}}`` where ``code`` is
stable (clients may switch on it) and each detail names the field (as a path) and the problem.
"""

from __future__ import annotations

from typing import Any


class JaldpiError(Exception):
    """Base error: carries its HTTP status and stable code."""

    status_code = 400
    code = "bad_request"

    def __init__(self, message: str, *, details: list[dict[str, Any]] | None = None, code: str | None = None,
                 headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.details = details or []
        self.headers = headers
        if code:
            self.code = code

    def to_dict(self) -> dict[str, Any]:
        return {"error": {"code": self.code, "message": self.message, "details": self.details}}


class ValidationFailed(JaldpiError):
    status_code = 422
    code = "validation_failed"


class NotFound(JaldpiError):
    status_code = 404
    code = "not_found"


class Conflict(JaldpiError):
    status_code = 409
    code = "conflict"


class VersionConflict(Conflict):
    code = "version_conflict"


class Unauthenticated(JaldpiError):
    status_code = 401
    code = "unauthenticated"


class Forbidden(JaldpiError):
    status_code = 403
    code = "forbidden"


class OutOfJurisdiction(Forbidden):
    code = "out_of_jurisdiction"


class PayloadTooLarge(JaldpiError):
    status_code = 413
    code = "payload_too_large"


class RateLimited(JaldpiError):
    status_code = 429
    code = "rate_limited"


def pydantic_details(exc: Any, prefix: tuple[Any, ...] = ()) -> list[dict[str, Any]]:
    """Turn a pydantic ``ValidationError`` into detail rows ``{"field": "a.b.0", "problem": ..., "type": ...}``."""
    rows = []
    for err in exc.errors(include_url=False):
        loc = [str(p) for p in (*prefix, *err.get("loc", ())) if p not in ("body",)]
        rows.append({"field": ".".join(loc) or None, "problem": err.get("msg"), "type": err.get("type")})
    return rows
