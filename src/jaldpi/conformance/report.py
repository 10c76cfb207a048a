"""The result of a run: one line per requirement (PASS, FAIL, SKIP or ERROR with a one-line reason), the verdict,
and its renderings (a Rich table for people, JSON for machines and CI).

Verdict: the target conforms when no MUST requirement FAILed or ERRORed. SKIPs (read-only run, no narrow credential)
do not fail it, SHOULD failures are reported but do not fail it either.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from typing import Any

from rich.console import Console
from rich.markup import escape
from rich.table import Table
from rich.text import Text

from jaldpi.conformance.requirements import CATALOGUE, Level, Requirement


class Outcome(str, enum.Enum):
    PASS = "PASS"  # requirement met
    FAIL = "FAIL"  # requirement not met: the reason says what was wrong
    SKIP = "SKIP"  # not checked in this run: the reason says why (read-only, no narrow credential, ...)
    ERROR = "ERROR"  # could not be checked: something it builds on failed (the reason says what)


STYLE = {Outcome.PASS: "green", Outcome.FAIL: "bold red", Outcome.SKIP: "yellow", Outcome.ERROR: "magenta"}


@dataclass(frozen=True)
class Result:
    requirement: Requirement
    outcome: Outcome
    reason: str


@dataclass
class Report:
    target: str
    tag: str  # marks the test records of this run (names and external ids)
    results: list[Result]
    cleanup: dict[str, Any] = field(default_factory=lambda: {"deleted": 0, "problems": []})
    rate_limited_s: float = 0.0  # seconds the kit waited because the target answered 429

    def counts(self) -> dict[str, int]:
        return {o.value: sum(1 for r in self.results if r.outcome is o) for o in Outcome}

    @property
    def unmet_musts(self) -> list[Result]:
        return [r for r in self.results if r.requirement.level is Level.MUST and r.outcome in (Outcome.FAIL,
                                                                                                Outcome.ERROR)]

    @property
    def conforms(self) -> bool:
        return not self.unmet_musts

    @property
    def exit_code(self) -> int:
        return 0 if self.conforms else 1

    def result(self, requirement_id: str) -> Result:
        for r in self.results:
            if r.requirement.id == requirement_id:
                return r
        raise KeyError(requirement_id)

    def to_dict(self) -> dict[str, Any]:
        return {
            "target": self.target, "tag": self.tag, "conforms": self.conforms, "counts": self.counts(),
            "unmet_musts": [r.requirement.id for r in self.unmet_musts],
            "results": [{"id": r.requirement.id, "level": r.requirement.level.value, "result": r.outcome.value,
                         "reason": r.reason, "statement": r.requirement.statement, "source": r.requirement.source}
                        for r in self.results],
            "cleanup": self.cleanup, "rate_limited_s": self.rate_limited_s,
        }

    def render(self, console: Console) -> None:
        table = Table(title=f"Conformance of {self.target} to data standard v1 and its API", title_justify="left",
                      show_lines=False, expand=False)
        table.add_column("id", no_wrap=True)
        table.add_column("level", no_wrap=True)
        table.add_column("result", no_wrap=True)
        table.add_column("reason", overflow="fold")
        for r in self.results:
            table.add_row(r.requirement.id, r.requirement.level.value,
                          Text(r.outcome.value, style=STYLE[r.outcome]), Text(r.reason))
        console.print(table)
        counts = self.counts()
        console.print(f"{len(self.results)} requirements: " + ", ".join(f"{n} {k}" for k, n in counts.items()))
        if self.conforms:
            console.print("[bold green]CONFORMS[/]: every MUST requirement checked passed"
                          + (f" ({counts['SKIP']} skipped)" if counts["SKIP"] else ""))
        else:
            console.print("[bold red]DOES NOT CONFORM[/]: MUST requirements not met: "
                          + ", ".join(r.requirement.id for r in self.unmet_musts))
        deleted, problems = self.cleanup.get("deleted", 0), self.cleanup.get("problems", [])
        line = f"Clean-up: deleted {deleted} test record(s) tagged {self.tag}"
        console.print(line + (f"; [red]{len(problems)} problem(s)[/]: {escape(problems[0])}" if problems else ""))
        if self.rate_limited_s:
            console.print(f"The target rate-limited the kit (429): it waited {self.rate_limited_s:.0f} s in all, as "
                          "Retry-After asked")


def catalogue_table(console: Console) -> None:
    table = Table(title="Requirements of data standard v1 and its API", title_justify="left")
    for column in ("id", "level", "statement", "source", "needs"):
        table.add_column(column, overflow="fold")
    for r in CATALOGUE:
        table.add_row(r.id, r.level.value, Text(r.statement), r.source, needs(r))
    console.print(table)


def needs(r: Requirement) -> str:
    parts = []
    if r.needs_credential:
        parts.append("credential")
    if r.writes:
        parts.append("writes")
    if r.needs_narrow:
        parts.append("narrow credential")
    return ", ".join(parts) or "-"


def catalogue_markdown() -> str:
    """The catalogue as a Markdown table (docs/conformance.md carries it; a test keeps the two in sync)."""
    lines = ["| id | level | requirement | source | needs |", "|---|---|---|---|---|"]
    for r in CATALOGUE:
        statement = r.statement.replace("|", "\\|")
        lines.append(f"| {r.id} | {r.level.value} | {statement} | {r.source} | {needs(r)} |")
    return "\n".join(lines) + "\n"


__all__ = ["Outcome", "Report", "Result", "catalogue_markdown", "catalogue_table"]
