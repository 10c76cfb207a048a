"""Routing as data: which role at which LGD level answers each category, its SLA, and the escalation chain.

The table is ``routing.json`` beside this module (or a state's own file, setting ``grievance_routing_file``), validated
when the workflows are registered (node start-up) and when a state's file is first read: every category of the
``grievance_categories`` code list must be routed, every role must exist in the ``roles`` code list, every level must
be a level of the chain, and the chain must climb the LGD hierarchy (village -> block -> district -> state).

:func:`route` decides where a new grievance goes: the category's level and role — raised by an ``assets`` rule when
the grievance names an asset that someone further up runs (a multi-village scheme's treatment plant is the
department's engineers' or their agency's, not one village's operator) — unless no active account holds that role
over the village, in which case the next level of the chain up, and so on (the state level is always kept: someone
answers for the state).
"""

from __future__ import annotations

import functools
import json
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError
from sqlalchemy import select
from sqlalchemy.orm import Session

from jaldpi.core.workflow import cut_path

PACKAGED = Path(__file__).with_name("routing.json")
HIERARCHY = ("village", "gram_panchayat", "block", "subdistrict", "district", "state")  # bottom-up


class RoutingError(ValueError):
    """A routing table that cannot be used; lists every problem."""


class ChainStep(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    level: str
    role: str


class CategoryRoute(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    level: str
    sla_hours: float = Field(gt=0, le=24 * 365, description="hours from submission (or escalation, or reopening) "
                             "to resolution")
    reason: str | None = None


class AssetRoute(BaseModel):
    """Grievances about these assets start at least at ``level``. An empty list matches any value of that field."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    scheme_types: tuple[str, ...] = Field((), description="codes of scheme_types (e.g. mvs)")
    component_types: tuple[str, ...] = Field((), description="codes of component_types (e.g. treatment_plant)")
    level: str
    reason: str | None = None

    def matches(self, scheme_type: str | None, component_type: str | None) -> bool:
        if scheme_type is None and component_type is None:
            return False
        return ((not self.scheme_types or scheme_type in self.scheme_types)
                and (not self.component_types or component_type in self.component_types))


class RoutingTable(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    name: str = "grievance_routing"
    version: str
    description: str | None = None
    chain: tuple[ChainStep, ...] = Field(min_length=1)
    categories: dict[str, CategoryRoute]
    assets: tuple[AssetRoute, ...] = ()

    def role_at(self, level: str) -> str:
        for step in self.chain:
            if step.level == level:
                return step.role
        raise KeyError(level)

    def levels_from(self, level: str) -> list[ChainStep]:
        """The chain from ``level`` upwards (inclusive)."""
        names = [s.level for s in self.chain]
        return list(self.chain[names.index(level):])

    def escalation_levels(self) -> list[str]:
        """Levels above the first one of the chain (the workflow's escalation list)."""
        return [s.level for s in self.chain[1:]]


def problems_of(table: RoutingTable) -> list[str]:
    from jaldpi.standard.codelists import codes, role_permissions

    problems = []
    roles = role_permissions()
    levels = [s.level for s in table.chain]
    for step in table.chain:
        if step.role not in roles:
            problems.append(f"chain level {step.level}: unknown role '{step.role}'")
        if step.level not in HIERARCHY:
            problems.append(f"chain level '{step.level}' is not one of {', '.join(HIERARCHY)}")
    if len(set(levels)) != len(levels):
        problems.append("the chain names a level twice")
    known = [lv for lv in levels if lv in HIERARCHY]
    if known != sorted(known, key=HIERARCHY.index):
        problems.append("the chain must climb the LGD hierarchy (village, block, district, state)")
    categories = set(codes("grievance_categories"))
    for missing in sorted(categories - set(table.categories)):
        problems.append(f"category '{missing}' (code list grievance_categories) has no route")
    for extra in sorted(set(table.categories) - categories):
        problems.append(f"category '{extra}' is not a code of grievance_categories")
    for code, route in table.categories.items():
        if route.level not in levels:
            problems.append(f"category '{code}': level '{route.level}' is not in the chain")
    for i, rule in enumerate(table.assets):
        if rule.level not in levels:
            problems.append(f"assets[{i}]: level '{rule.level}' is not in the chain")
        for field, codelist in (("scheme_types", "scheme_types"), ("component_types", "component_types")):
            unknown = sorted(set(getattr(rule, field)) - set(codes(codelist)))
            if unknown:
                problems.append(f"assets[{i}].{field}: unknown codes {unknown}")
    return problems


def parse(data: Any, source: str) -> RoutingTable:
    try:
        table = RoutingTable.model_validate(data)
    except ValidationError as exc:
        raise RoutingError(f"routing table {source} is invalid: " + "; ".join(
            f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in exc.errors(include_url=False))) from exc
    problems = problems_of(table)
    if problems:
        raise RoutingError(f"routing table {source} is invalid: " + "; ".join(problems))
    return table


@functools.lru_cache(maxsize=8)
def _load(path: str, mtime: float) -> RoutingTable:
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise RoutingError(f"routing table {path} cannot be read: {exc}") from exc
    return parse(data, path)


def load(path: str | Path | None = None) -> RoutingTable:
    """The routing table at ``path`` (default: the packaged one); re-read when the file changes."""
    p = Path(path) if path else PACKAGED
    try:
        mtime = p.stat().st_mtime
    except OSError as exc:
        raise RoutingError(f"routing table {p} cannot be read: {exc}") from exc
    return _load(str(p), mtime)


def table_for(settings: Any) -> RoutingTable:
    return load(getattr(settings, "grievance_routing_file", None))


def has_responder(session: Session, role: str, path: str) -> bool:
    """Is there an active account holding ``role`` over ``path`` (a grant whose subtree contains it)?"""
    from jaldpi.accounts.models import Account, AccountGrant

    prefixes = ["/"] + ["/" + "/".join(path.strip("/").split("/")[:i]) + "/"
                        for i in range(1, len(path.strip("/").split("/")) + 1)]
    found = session.execute(
        select(AccountGrant.id).join(Account, Account.id == AccountGrant.account_id)
        .where(Account.active.is_(True), AccountGrant.role == role, AccountGrant.lgd_path.in_(prefixes))
        .limit(1)).first()
    return found is not None


def route(session: Session, table: RoutingTable, category: str, village_path: str,
          letters: dict[str, str], *, scheme_type: str | None = None,
          component_type: str | None = None) -> dict[str, Any]:
    """Where a new grievance of ``category`` in the village at ``village_path`` goes; ``scheme_type`` and
    ``component_type`` describe the asset it names, if any (an ``assets`` rule may start it higher up the chain).

    Returns ``{"level", "role", "path", "sla_hours", "skipped": [levels without a responder]}``. Levels missing from
    the village's path (a state without blocks in its LGD data) are skipped too.
    """
    cat = table.categories[category]
    names = [step.level for step in table.chain]
    start, asset_reason = cat.level, None
    for rule in table.assets:
        if rule.matches(scheme_type, component_type) and names.index(rule.level) > names.index(start):
            start, asset_reason = rule.level, rule.reason
    skipped: list[str] = []
    steps = table.levels_from(start)
    for i, step in enumerate(steps):
        path = cut_path(village_path, letters[step.level]) if step.level in letters else None
        if path is None:
            skipped.append(step.level)
            continue
        last = i == len(steps) - 1
        if last or has_responder(session, step.role, path):
            return {"level": step.level, "role": step.role, "path": path, "sla_hours": cat.sla_hours,
                    "skipped": skipped, "asset_rule": asset_reason}
        skipped.append(step.level)
    raise RoutingError(f"no level of the chain fits the place {village_path}")


def chain_problems(table: RoutingTable, escalation: tuple[str, ...] | list[str]) -> list[str]:
    """The chain above its first level must be the workflow's escalation list (the engine moves the case, the
    chain names who answers at each level)."""
    above = table.escalation_levels()
    if list(above) != list(escalation):
        return [f"routing chain above {table.chain[0].level} is {above}, the grievance workflow escalates through "
                f"{list(escalation)}: they must match"]
    return []
