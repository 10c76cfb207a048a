"""Runs the checks of the catalogue against a target and returns a :class:`Report`.

Checks run in catalogue order, each on its own: one failing check never stops the others. Checks that would write
are skipped with ``read_only``; checks that need a credential the operator did not give are skipped, saying which.
Whatever happens, the kit deletes the test records it wrote before it returns.
"""

from __future__ import annotations

import httpx

from jaldpi.conformance.checks import all_checks
from jaldpi.conformance.context import RunContext, RunOptions
from jaldpi.conformance.http import CheckFailed, CheckSkipped, PrerequisiteFailed, Target, TargetUnreachable
from jaldpi.conformance.report import Outcome, Report, Result
from jaldpi.conformance.requirements import BY_ID, CATALOGUE, Requirement


class UsageError(ValueError):
    """The options cannot make a run (unknown requirement id, a target that is not an http(s) URL)."""


def selected(only: tuple[str, ...]) -> list[Requirement]:
    if not only:
        return list(CATALOGUE)
    wanted = {i.strip().upper() for i in only if i.strip()}
    unknown = sorted(wanted - set(BY_ID))
    if unknown:
        raise UsageError(f"unknown requirement id(s): {', '.join(unknown)} (see `jaldpi conformance list`)")
    return [r for r in CATALOGUE if r.id in wanted]


def _not_applicable(requirement: Requirement, options: RunOptions) -> str | None:
    if requirement.writes and options.read_only:
        return "--read-only: this check writes test records"
    if requirement.needs_credential and options.credential is None:
        return "needs a credential (--client-id/--client-secret or --username/--password)"
    if requirement.needs_narrow and options.narrow is None:
        return ("needs a second, narrower credential (--narrow-client-id/--narrow-client-secret or "
                "--narrow-username/--narrow-password)")
    return None


def _one_line(text: str, limit: int = 400) -> str:
    line = " ".join(str(text).split())
    return line if len(line) <= limit else line[:limit - 3] + "..."


def run(options: RunOptions, *, transport: httpx.BaseTransport | None = None) -> Report:
    """Check ``options.target``. Raises TargetUnreachable if it does not answer HTTP at all, UsageError for bad
    options; otherwise every selected requirement gets a result."""
    if not options.target.startswith(("http://", "https://")):
        raise UsageError(f"--target must be an http:// or https:// URL, got {options.target!r}")
    requirements = selected(options.only)
    checks = all_checks()
    target = Target(options.target, timeout_s=options.timeout_s, transport=transport)
    ctx = RunContext(options, target)
    try:
        ctx.note_server_time(target.get("/standard/v1/"))  # raises TargetUnreachable: nothing to check
        results = []
        for requirement in requirements:
            reason = _not_applicable(requirement, options)
            if reason:
                results.append(Result(requirement, Outcome.SKIP, reason))
                continue
            try:
                note = checks[requirement.id](ctx)
                results.append(Result(requirement, Outcome.PASS, _one_line(note)))
            except CheckFailed as exc:
                results.append(Result(requirement, Outcome.FAIL, _one_line(str(exc))))
            except CheckSkipped as exc:
                results.append(Result(requirement, Outcome.SKIP, _one_line(str(exc))))
            except PrerequisiteFailed as exc:
                results.append(Result(requirement, Outcome.ERROR, _one_line(f"prerequisite: {exc}")))
            except TargetUnreachable as exc:
                results.append(Result(requirement, Outcome.ERROR, _one_line(f"the target stopped answering: {exc}")))
            except Exception as exc:  # noqa: BLE001 - one broken check must not hide the others' results
                results.append(Result(requirement, Outcome.ERROR,
                                      _one_line(f"the kit could not evaluate the answer: {type(exc).__name__}: {exc}")))
        cleanup = ctx.cleanup()
    finally:
        target.close()
    return Report(target=target.base_url, tag=ctx.tag, results=results, cleanup=cleanup,
                  rate_limited_s=target.rate_limited_s)


__all__ = ["TargetUnreachable", "UsageError", "run", "selected"]
