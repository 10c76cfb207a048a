"""The checks, one function per requirement id: ``check(ctx) -> str`` returns what it verified (the PASS note) or
raises CheckFailed / CheckSkipped / PrerequisiteFailed (see jaldpi.conformance.http)."""

from __future__ import annotations

from collections.abc import Callable

from jaldpi.conformance.context import RunContext

Check = Callable[[RunContext], str]
CHECKS: dict[str, Check] = {}


def check(requirement_id: str) -> Callable[[Check], Check]:
    def register(fn: Check) -> Check:
        if requirement_id in CHECKS:
            raise ValueError(f"two checks for {requirement_id}")
        CHECKS[requirement_id] = fn
        return fn
    return register


def all_checks() -> dict[str, Check]:
    # Importing the modules registers their checks.
    from jaldpi.conformance.checks import access, bulk, feed, jurisdiction, records, standard  # noqa: F401

    return CHECKS


__all__ = ["CHECKS", "Check", "all_checks", "check"]
