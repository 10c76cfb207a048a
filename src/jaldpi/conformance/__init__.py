"""The conformance kit: checks any implementation of data standard v1 and its API (a jaldpi node or a state's own
system) over HTTP and reports pass/fail per requirement. It imports nothing from the server side of jaldpi.

    from jaldpi.conformance import Credential, RunOptions, run
    report = run(RunOptions("https://sandbox.example", credential=Credential("client_credentials", "id", "secret")))
    report.conforms, report.results

See docs/conformance.md, and `jaldpi conformance run --help`.
"""

from jaldpi.conformance.context import Credential, RunOptions
from jaldpi.conformance.report import Outcome, Report, Result
from jaldpi.conformance.requirements import BY_ID, CATALOGUE, Level, Requirement
from jaldpi.conformance.runner import TargetUnreachable, UsageError, run

__all__ = ["BY_ID", "CATALOGUE", "Credential", "Level", "Outcome", "Report", "Requirement", "Result", "RunOptions",
           "TargetUnreachable", "UsageError", "run"]
