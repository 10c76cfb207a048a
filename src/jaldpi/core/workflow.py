"""The workflow engine: workflows declared as data, one ``transition()`` entry point, SLA timers and escalation.

Domain-free. A domain declares a :class:`WorkflowDefinition` (a dict or JSON document: states, transitions with
the roles allowed to take them, optional guards and required payload fields, SLA hours per state, an escalation
chain of LGD levels) and registers it, with its guard functions and side-effect hooks, on the node's
:class:`WorkflowEngine`. Cases (``workflow_cases``) and their events (``workflow_events``) live in
:mod:`jaldpi.core.workflow_models`.

The contract of :meth:`WorkflowEngine.transition`, in order:

1. load the case (by id or code; row-locked on PostgreSQL); a case the caller can neither read nor act on is
   ``not_found`` (no existence oracle);
2. the transition must exist in the case's workflow version (``unknown_transition``) and, if the caller stated
   the version their view was based on, the case must still be at it (``version_conflict``);
3. the case's state must be one of the transition's ``from`` states (``transition_not_allowed``);
4. the caller needs a grant of one of the transition's roles whose subtree contains the case's place
   (``lgd_path``) or its current assignment (``assigned_path``) (``role_not_allowed`` / ``out_of_jurisdiction``);
   a role carrying ``cases:write`` (node administrators) may take any transition in its subtree;
5. the payload must carry the transition's ``requires`` fields (``missing_fields``, one detail per field);
6. the guard, if any, may refuse with a message (``guard_failed``);
7. the event is appended, the state moves, ``due_at`` restarts from the new state's SLA, a terminal state closes
   the case, the payload (less ``note``) is merged into the case's ``data``, ``version`` increments, a change
   record is queued in the same unit of work; then the hooks run, in the same unit of work (a hook that fails
   rolls the whole transition back).

Services flush, never commit: the caller's unit of work commits once.

**The node's settings and catalogue.** A guard or hook receives the engine (a hook its :class:`HookContext`,
``ctx.engine``), and the node binds its engine once, when it assembles its registries
(``registries.build_catalogue`` calls :meth:`WorkflowEngine.bind`). Hooks, guards and the domain services they call
reach the node's settings and registry catalogue as ``ctx.engine.settings`` / ``ctx.engine.catalogue``: the very
objects the node serves with, never a second catalogue or the process-wide ``get_settings()``. Reading them from an
engine that was never bound raises a ``RuntimeError`` naming the fix.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import uuid
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator
from sqlalchemy import and_, func, or_, select
from sqlalchemy.orm import Session

from jaldpi.core import changelog
from jaldpi.core.errors import (
    Conflict,
    Forbidden,
    NotFound,
    OutOfJurisdiction,
    Unauthenticated,
    ValidationFailed,
    VersionConflict,
)
from jaldpi.core.ids import mint_code, new_id, parse_uuid
from jaldpi.core.models import aware as _aware
from jaldpi.core.models import utcnow
from jaldpi.core.pagination import decode_cursor, encode_cursor
from jaldpi.core.security import Principal, scope_clause
from jaldpi.core.workflow_models import WorkflowCase, WorkflowEvent

RECORD_TYPE = "workflow_cases"
READ_PERMISSION = "cases:read"
WRITE_PERMISSION = "cases:write"  # override: take any transition of any workflow inside the grant's subtree
ESCALATION_ACTOR = "system:escalation"
RESERVED_EVENTS = ("open", "escalate", "escalation_exhausted")

_NAME = r"^[a-z][a-z0-9_]{0,63}$"

# ------------------------------------------------------------------------------------------------ definitions


class StateDef(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str = Field(pattern=_NAME)
    title: str | None = None
    terminal: bool = False
    sla_hours: float | None = Field(None, gt=0, description="hours a case may stay in this state before it is "
                                                              "overdue; none for terminal states")


class TransitionDef(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", populate_by_name=True)

    name: str = Field(pattern=_NAME)
    title: str | None = None
    from_: tuple[str, ...] = Field(alias="from", min_length=1)
    to: str
    roles: tuple[str, ...] = Field(min_length=1, description="role codes (code list `roles`) allowed to take it")
    guard: str | None = Field(None, description="name of a guard function registered on the engine")
    requires: tuple[str, ...] = Field((), description="payload fields the transition must carry")
    assign_level: str | None = Field(None, description="re-assign the case to this LGD level of its place")
    assignee_role: str | None = Field(None, description="set the role expected to act next")


class WorkflowDefinition(BaseModel):
    """A workflow as data. Load with :meth:`from_dict` / :meth:`from_json` (structural errors are collected)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str = Field(pattern=_NAME)
    version: int = Field(ge=1)
    title: str | None = None
    description: str | None = None
    code_prefix: str = Field("CASE", pattern=r"^[A-Z]{2,8}$", description="prefix of the cases' human codes")
    initial: str
    states: tuple[StateDef, ...] = Field(min_length=2)
    transitions: tuple[TransitionDef, ...] = Field(min_length=1)
    escalation: tuple[str, ...] = Field((), description="LGD levels an overdue case is re-assigned to, in order")

    @model_validator(mode="after")
    def _structure(self) -> WorkflowDefinition:
        problems = structural_problems(self)
        if problems:
            raise ValueError("; ".join(problems))
        return self

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> WorkflowDefinition:
        try:
            return cls.model_validate(data)
        except ValidationError as exc:
            name = data.get("name", "?") if isinstance(data, Mapping) else "?"
            problems = []
            for err in exc.errors(include_url=False):
                loc = ".".join(str(p) for p in err.get("loc", ()))
                msg = str(err.get("msg", "")).removeprefix("Value error, ")
                problems.extend(f"{loc}: {m}" if loc else m for m in msg.split("; "))
            raise WorkflowDefinitionError(str(name), problems) from exc

    @classmethod
    def from_json(cls, text: str | bytes) -> WorkflowDefinition:
        return cls.from_dict(json.loads(text))

    def state(self, name: str) -> StateDef:
        for s in self.states:
            if s.name == name:
                return s
        raise KeyError(name)

    def transition(self, name: str) -> TransitionDef | None:
        for t in self.transitions:
            if t.name == name:
                return t
        return None

    def available(self, state: str) -> list[str]:
        return [t.name for t in self.transitions if state in t.from_]

    def public(self) -> dict[str, Any]:
        return self.model_dump(mode="json", by_alias=True)


class WorkflowDefinitionError(ValueError):
    """A definition that cannot be registered; ``problems`` lists every finding, one sentence each."""

    def __init__(self, workflow: str, problems: list[str]) -> None:
        self.workflow = workflow
        self.problems = problems
        super().__init__(f"workflow '{workflow}' is invalid: " + "; ".join(problems))


def structural_problems(d: WorkflowDefinition) -> list[str]:
    """Unknown, duplicate and unreachable states, transitions out of terminal states, dead ends."""
    problems: list[str] = []
    names = [s.name for s in d.states]
    known = set(names)
    terminal = {s.name for s in d.states if s.terminal}
    for dup in sorted({n for n in names if names.count(n) > 1}):
        problems.append(f"state '{dup}' is declared more than once")
    tnames = [t.name for t in d.transitions]
    for dup in sorted({n for n in tnames if tnames.count(n) > 1}):
        problems.append(f"transition '{dup}' is declared more than once")
    for reserved in sorted(set(tnames) & set(RESERVED_EVENTS)):
        problems.append(f"transition name '{reserved}' is reserved for engine events")
    if d.initial not in known:
        problems.append(f"initial state '{d.initial}' is not a declared state")
    elif d.initial in terminal:
        problems.append(f"initial state '{d.initial}' is terminal")
    if not terminal:
        problems.append("no terminal state: cases could never close")
    for s in d.states:
        if s.terminal and s.sla_hours is not None:
            problems.append(f"terminal state '{s.name}' has an SLA")
    for t in d.transitions:
        for f in t.from_:
            if f not in known:
                problems.append(f"transition '{t.name}' starts from unknown state '{f}'")
            elif f in terminal:
                problems.append(f"transition '{t.name}' leaves terminal state '{f}'")
        if t.to not in known:
            problems.append(f"transition '{t.name}' goes to unknown state '{t.to}'")
        if len(set(t.requires)) != len(t.requires):
            problems.append(f"transition '{t.name}' requires a field twice")
    if d.initial in known:
        reached, frontier = {d.initial}, [d.initial]
        while frontier:
            here = frontier.pop()
            for t in d.transitions:
                if here in t.from_ and t.to in known and t.to not in reached:
                    reached.add(t.to)
                    frontier.append(t.to)
        for n in names:
            if n not in reached:
                problems.append(f"state '{n}' is unreachable from '{d.initial}'")
    for s in d.states:
        if not s.terminal and not any(s.name in t.from_ for t in d.transitions):
            problems.append(f"state '{s.name}' is not terminal but no transition leaves it")
    if len(set(d.escalation)) != len(d.escalation):
        problems.append("escalation chain names a level twice")
    return problems


# ------------------------------------------------------------------------------------------------ engine

Guard = Callable[[Session, WorkflowCase, dict[str, Any]], "str | None"]


@dataclasses.dataclass
class HookContext:
    """What a side-effect hook receives. Hooks run inside the caller's unit of work: flush, never commit."""

    engine: WorkflowEngine
    session: Session
    definition: WorkflowDefinition
    case: WorkflowCase
    event: WorkflowEvent
    principal: Principal | None  # None for the system (escalation, or a case opened by a system actor)
    actor: str
    payload: dict[str, Any]
    now: dt.datetime


Hook = Callable[[HookContext], None]

# (case, state being entered, event: "open" | "escalate" | the transition's name, now) -> the case's new due_at (None:
# no timer). Registered per workflow for SLAs that depend on the case (e.g. on its category), not only on the state.
DuePolicy = Callable[[WorkflowCase, StateDef, str, dt.datetime], "dt.datetime | None"]


def cut_path(path: str, letter: str) -> str | None:
    """``/S28/D745/B4001/V500001/`` cut at ``D`` -> ``/S28/D745/``; None if the path has no such segment."""
    parts = [p for p in path.split("/") if p]
    for i, part in enumerate(parts):
        if part[:1] == letter and part[1:].isdigit():
            return "/" + "/".join(parts[: i + 1]) + "/"
    return None


class WorkflowEngine:
    """The node's registry of workflow definitions, guards and hooks, and the only code that changes cases.

    ``level_letters`` maps LGD level codes to path letters (``{"state": "S", "district": "D", ...}``); it is given
    by the assembling module so that core imports no domain. ``roles``, if given, are the known role codes:
    definitions naming others are refused.
    """

    def __init__(self, *, level_letters: Mapping[str, str], roles: Iterable[str] | None = None) -> None:
        self.level_letters = dict(level_letters)
        self.roles = frozenset(roles) if roles is not None else None
        self._definitions: dict[str, dict[int, WorkflowDefinition]] = {}
        self._guards: dict[str, Guard] = {}
        self._hooks: dict[tuple[str, str], list[Hook]] = {}
        self._due_policies: dict[str, DuePolicy] = {}
        self._settings: Any = None
        self._catalogue: Any = None

    # ---------------------------------------------------------------- the node
    def bind(self, *, settings: Any, catalogue: Any) -> None:
        """Bind the node's settings and registry catalogue, for hooks, guards and services that hold only the engine.

        Called by the assembling module (``registries.build_catalogue``) once the catalogue is complete. Typed loosely
        because core knows neither the node's ``Settings`` nor which registries the catalogue holds. Binding again
        replaces both (a catalogue rebuilt for the same engine).
        """
        if settings is None or catalogue is None:
            raise ValueError("bind() needs both the node's settings and its catalogue")
        self._settings, self._catalogue = settings, catalogue

    @property
    def settings(self) -> Any:
        """The node's settings (bound by :meth:`bind`); a ``RuntimeError`` naming the fix if never bound."""
        if self._settings is None:
            raise RuntimeError(self._unbound("settings"))
        return self._settings

    @property
    def catalogue(self) -> Any:
        """The node's registry catalogue (bound by :meth:`bind`); a ``RuntimeError`` naming the fix if never bound."""
        if self._catalogue is None:
            raise RuntimeError(self._unbound("catalogue"))
        return self._catalogue

    @staticmethod
    def _unbound(what: str) -> str:
        return (f"this workflow engine has no node {what}: build the node's catalogue with "
                f"registries.build_catalogue(settings, engine), which binds the engine, or call "
                f"engine.bind(settings=..., catalogue=...) before running hooks that need them")

    # ---------------------------------------------------------------- registration
    def add_guard(self, name: str, fn: Guard) -> None:
        if name in self._guards and self._guards[name] is not fn:
            raise ValueError(f"guard '{name}' is already registered")
        self._guards[name] = fn

    def guard(self, name: str) -> Callable[[Guard], Guard]:
        def deco(fn: Guard) -> Guard:
            self.add_guard(name, fn)
            return fn
        return deco

    def register(self, definition: WorkflowDefinition | Mapping[str, Any], *,
                 guards: Mapping[str, Guard] | None = None,
                 hooks: Mapping[str, Hook | Iterable[Hook]] | None = None,
                 due_policy: DuePolicy | None = None) -> WorkflowDefinition:
        """Register a definition (a model, or a dict as loaded from JSON) with its guards and hooks.

        ``due_policy``, if given, sets ``due_at`` whenever a case of this workflow opens, enters a non-terminal state
        or is escalated, in place of the state's fixed ``sla_hours`` (which stays the published default).

        Refuses (``WorkflowDefinitionError``) unknown roles, unknown escalation or assignment levels, guards not
        registered, and a name+version already registered.
        """
        if not isinstance(definition, WorkflowDefinition):
            definition = WorkflowDefinition.from_dict(definition)
        for name, fn in (guards or {}).items():
            self.add_guard(name, fn)
        problems = []
        if definition.version in self._definitions.get(definition.name, {}):
            problems.append(f"version {definition.version} is already registered")
        for t in definition.transitions:
            if self.roles is not None:
                for role in t.roles:
                    if role not in self.roles:
                        problems.append(f"transition '{t.name}' names unknown role '{role}'")
                if t.assignee_role and t.assignee_role not in self.roles:
                    problems.append(f"transition '{t.name}' assigns unknown role '{t.assignee_role}'")
            if t.guard and t.guard not in self._guards:
                problems.append(f"transition '{t.name}' names guard '{t.guard}', which is not registered")
            if t.assign_level and t.assign_level not in self.level_letters:
                problems.append(f"transition '{t.name}' assigns to unknown level '{t.assign_level}'")
        for level in definition.escalation:
            if level not in self.level_letters:
                problems.append(f"escalation level '{level}' is not an LGD level with a path letter")
        if problems:
            raise WorkflowDefinitionError(definition.name, problems)
        self._definitions.setdefault(definition.name, {})[definition.version] = definition
        if due_policy is not None:
            self._due_policies[definition.name] = due_policy
        for when, fns in (hooks or {}).items():
            for fn in ([fns] if callable(fns) else fns):
                self.add_hook(definition.name, when, fn)
        return definition

    def add_hook(self, workflow: str, when: str, fn: Hook) -> None:
        """Run ``fn`` on ``when``: ``open``, ``escalate``, ``transition:<name>``, ``transition:*``,
        ``enter:<state>`` (entered by a transition). Checked against the registered definition."""
        definition = self.definition(workflow)
        kind, _, what = when.partition(":")
        ok = (when in ("open", "escalate") or (kind == "transition" and (what == "*" or definition.transition(what)))
              or (kind == "enter" and what in {s.name for s in definition.states}))
        if not ok:
            raise WorkflowDefinitionError(workflow, [f"hook point '{when}' does not exist in this workflow"])
        self._hooks.setdefault((workflow, when), []).append(fn)

    def hook(self, workflow: str, when: str) -> Callable[[Hook], Hook]:
        def deco(fn: Hook) -> Hook:
            self.add_hook(workflow, when, fn)
            return fn
        return deco

    # ---------------------------------------------------------------- definitions
    def __contains__(self, name: str) -> bool:
        return name in self._definitions

    def definition(self, name: str, version: int | None = None) -> WorkflowDefinition:
        versions = self._definitions.get(name)
        if not versions:
            raise NotFound(f"no workflow '{name}'", code="unknown_workflow")
        if version is None:
            return versions[max(versions)]
        if version not in versions:
            raise NotFound(f"workflow '{name}' has no version {version}", code="unknown_workflow")
        return versions[version]

    def definitions(self) -> list[WorkflowDefinition]:
        """The latest version of every workflow, by name."""
        return [v[max(v)] for _, v in sorted(self._definitions.items())]

    def versions(self, name: str) -> list[int]:
        return sorted(self._definitions.get(name, {}))

    # ---------------------------------------------------------------- writes
    def open_case(self, session: Session, opener: Principal | str, workflow: str, subject_type: str,
                  subject_id: str | uuid.UUID, lgd_path: str, assigned_level: str,
                  data: Mapping[str, Any] | None = None, *, version: int | None = None,
                  assignee_role: str | None = None, assigned_path: str | None = None,
                  case_id: uuid.UUID | None = None, note: str | None = None,
                  now: dt.datetime | None = None) -> WorkflowCase:
        """Open a case in the workflow's initial state, assigned to ``assigned_level`` of ``lgd_path``.

        ``opener`` is the principal whose action opens the case, or a system actor name (``system:<name>``).
        No role is checked here: domain services open cases as a consequence of a write they have already
        authorised (a positive field test opens a lab confirmation). ``assigned_path`` overrides the derived
        assignment (e.g. a referee lab elsewhere); the case is then visible there too.
        """
        now = now or utcnow()
        definition = self.definition(workflow, version)
        if not (lgd_path.startswith("/") and lgd_path.endswith("/")):
            raise ValidationFailed("lgd_path must be a jurisdiction path such as /S28/D745/",
                                   details=[{"field": "lgd_path", "problem": "not a jurisdiction path"}])
        if assigned_path is None:
            assigned_path = self._path_at(lgd_path, assigned_level)
            if assigned_path is None:
                raise ValidationFailed(f"the case's place {lgd_path} has no {assigned_level} level",
                                       details=[{"field": "assigned_level",
                                                 "problem": f"no {assigned_level} segment in {lgd_path}"}])
        actor, source = _actor(opener)
        rid = case_id or new_id()
        state = definition.state(definition.initial)
        case = WorkflowCase(
            id=rid, code=mint_code(definition.code_prefix, rid), workflow=definition.name,
            workflow_version=definition.version, state=state.name, subject_type=subject_type,
            subject_id=str(subject_id), lgd_path=lgd_path, assigned_path=assigned_path, assigned_level=assigned_level,
            assignee_role=assignee_role, opened_at=now, opened_by=actor, updated_at=now, due_at=None,
            escalation_count=0, escalation_exhausted=False, closed_at=None, data=dict(data or {}), version=1)
        case.due_at = self._due(definition, case, state, "open", now)
        session.add(case)
        event = self._event(session, case, actor=actor, role=None, transition="open", from_state=None, note=note,
                            data=None, now=now)
        snapshot = case_record(case, definition, now=now)
        changelog.record(session, changelog.PendingChange(
            RECORD_TYPE, rid, "create", 1, actor, source, now, lgd_path, _changelog_data(snapshot),
            {k: [None, v] for k, v in _changelog_data(snapshot).items() if v not in (None, {}, False, 0)}))
        session.flush()
        self._run_hooks(session, definition, ("open",), case, event, opener, actor, dict(data or {}), now)
        return case

    def transition(self, session: Session, principal: Principal, case_id: str | uuid.UUID, transition_name: str,
                   payload: Mapping[str, Any] | None = None, *, expected_version: int | None = None,
                   now: dt.datetime | None = None) -> WorkflowCase:
        """THE way a case changes state (see the module docstring for the contract and error codes)."""
        now = now or utcnow()
        if principal.is_anonymous:
            raise Unauthenticated("sign in to act on cases")
        case = self._load(session, case_id, lock=True)
        if case is None:
            raise NotFound(f"no case '{case_id}' visible to you")
        definition = self.definition(case.workflow, case.workflow_version)
        t = definition.transition(transition_name)
        role = self._authorising_role(principal, t, case) if t else None
        if not (role or self.can_read(principal, case)):
            raise NotFound(f"no case '{case_id}' visible to you")
        if t is None:
            raise ValidationFailed(
                f"workflow '{definition.name}' has no transition '{transition_name}'", code="unknown_transition",
                details=[{"field": "transition", "problem": "known: " + ", ".join(x.name for x in
                                                                                  definition.transitions)}])
        if expected_version is not None and expected_version != case.version:
            raise VersionConflict(f"case {case.code} is at version {case.version}, not {expected_version}",
                                  details=[{"field": "version", "problem": f"current version is {case.version}"}])
        if case.state not in t.from_:
            allowed = definition.available(case.state)
            raise Conflict(f"'{t.name}' is not allowed from state '{case.state}'"
                           + (f"; allowed now: {', '.join(allowed)}" if allowed else "; the case is closed"),
                           code="transition_not_allowed",
                           details=[{"field": "state", "problem": f"'{t.name}' goes from "
                                     + ", ".join(t.from_) + f" only; the case is '{case.state}'"}])
        if role is None:
            if any(g.role in t.roles for g in principal.grants):
                raise OutOfJurisdiction(
                    f"case {case.code} at {case.lgd_path} is outside your jurisdiction for '{t.name}'",
                    details=[{"field": "lgd_path", "problem": "outside jurisdiction"}])
            raise Forbidden(f"'{t.name}' may be taken by: {', '.join(t.roles)}", code="role_not_allowed",
                            details=[{"field": "role", "problem": "none of your roles may take this transition"}])
        body = dict(payload or {})
        missing = [f for f in t.requires if body.get(f) in (None, "", [], {})]
        if missing:
            raise ValidationFailed(f"'{t.name}' requires {', '.join(missing)}", code="missing_fields",
                                   details=[{"field": f, "problem": f"required by transition '{t.name}'"}
                                            for f in missing])
        if t.guard:
            refusal = self._guards[t.guard](session, case, body)
            if refusal:
                raise Conflict(refusal, code="guard_failed",
                               details=[{"field": None, "problem": refusal, "guard": t.guard}])

        before = _changelog_data(case_record(case, definition, now=now))
        note = body.pop("note", None)
        from_state = case.state
        target = definition.state(t.to)
        case.state = target.name
        case.escalation_exhausted = False  # a new state restarts the SLA clock
        if t.assign_level:
            path = self._path_at(case.lgd_path, t.assign_level)
            if path is not None:
                case.assigned_path, case.assigned_level = path, t.assign_level
        if t.assignee_role:
            case.assignee_role = t.assignee_role
        if body:
            case.data = {**(case.data or {}), **body}
        if target.terminal:
            case.closed_at, case.due_at = now, None
        else:  # a due policy sees the case as moved (state, assignment, data) but with its previous due_at
            case.due_at = self._due(definition, case, target, t.name, now)
        case.version += 1
        case.updated_at = now
        event = self._event(session, case, actor=principal.subject, role=role, transition=t.name,
                            from_state=from_state, note=None if note is None else str(note), data=body or None,
                            now=now)
        self._record_update(session, definition, case, before, principal.subject, principal.source_system, now)
        session.flush()
        self._run_hooks(session, definition, ("transition:*", f"transition:{t.name}", f"enter:{target.name}"),
                        case, event, principal, principal.subject, body, now)
        return case

    def escalate_overdue(self, session: Session, now: dt.datetime | None = None, *,
                         limit: int | None = None, workflows: Iterable[str] | None = None) -> list[dict[str, Any]]:
        """Re-assign every open, overdue case to the next level of its escalation chain; restart its SLA clock.

        Selected in one query (oldest due first; ``SKIP LOCKED`` on PostgreSQL so two runners never collide; cases of
        workflows not registered here are left alone). A
        case whose chain is used up (or has none) stays where it is and is flagged ``escalation_exhausted`` (one
        ``escalation_exhausted`` event; it is not selected again until a transition moves it).
        Returns one summary per case touched. ``workflows`` limits the run to those workflows (a domain's own job).
        """
        now = now or utcnow()
        names = sorted(self._definitions) if workflows is None else sorted(set(workflows) & set(self._definitions))
        stmt = (select(WorkflowCase)
                .where(WorkflowCase.closed_at.is_(None), WorkflowCase.due_at.is_not(None), WorkflowCase.due_at <= now,
                       WorkflowCase.escalation_exhausted.is_(False),
                       WorkflowCase.workflow.in_(names))
                .order_by(WorkflowCase.due_at, WorkflowCase.id)
                .with_for_update(skip_locked=True)
                .execution_options(populate_existing=True))
        if limit:
            stmt = stmt.limit(limit)
        moved: list[dict[str, Any]] = []
        for case in session.execute(stmt).scalars().all():
            definition = self._definition_or_none(case)
            if definition is None:  # a version this node no longer registers: left alone, never a crash
                continue
            before = _changelog_data(case_record(case, definition, now=now))
            summary = {"id": str(case.id), "code": case.code, "workflow": case.workflow, "state": case.state,
                       "due_at": _aware(case.due_at), "from_level": case.assigned_level,
                       "from_path": case.assigned_path}
            nxt = self._next_assignment(definition, case)
            if nxt is not None:
                level, path = nxt
                case.assigned_level, case.assigned_path = level, path
                case.escalation_count += 1
                case.due_at = self._due(definition, case, definition.state(case.state), "escalate", now)
                kind = "escalate"
                data = {"from_level": summary["from_level"], "from_path": summary["from_path"], "to_level": level,
                        "to_path": path, "overdue_since": summary["due_at"].isoformat()}
                summary.update(to_level=level, to_path=path, exhausted=False)
            else:
                case.escalation_exhausted = True
                kind = "escalation_exhausted"
                data = {"level": case.assigned_level, "path": case.assigned_path,
                        "overdue_since": summary["due_at"].isoformat()}
                summary.update(to_level=case.assigned_level, to_path=case.assigned_path, exhausted=True)
            case.version += 1
            case.updated_at = now
            event = self._event(session, case, actor=ESCALATION_ACTOR, role=None, transition=kind,
                                from_state=case.state, note=None, data=data, now=now)
            self._record_update(session, definition, case, before, ESCALATION_ACTOR, None, now)
            session.flush()
            self._run_hooks(session, definition, ("escalate",), case, event, None, ESCALATION_ACTOR, data, now)
            moved.append(summary)
        return moved

    # ---------------------------------------------------------------- reads
    def read_clause(self, principal: Principal):
        """SQL condition: the case's place or its assignment lies in the caller's ``cases:read`` scope."""
        prefixes = principal.scope(READ_PERMISSION)
        return or_(scope_clause(WorkflowCase.lgd_path, prefixes), scope_clause(WorkflowCase.assigned_path, prefixes))

    def get_case(self, session: Session, principal: Principal, key: str | uuid.UUID, *,
                 now: dt.datetime | None = None) -> dict[str, Any]:
        """One case with its events, if the caller may read it (else ``not_found``, whether or not it exists)."""
        case = self._load(session, key)
        if case is None or not self.can_read(principal, case):
            raise NotFound(f"no case '{key}' visible to you")
        out = case_record(case, self.definition(case.workflow, case.workflow_version), now=now)
        out["events"] = self.events(session, case.id)
        return out

    def events(self, session: Session, case_id: uuid.UUID) -> list[dict[str, Any]]:
        rows = session.execute(select(WorkflowEvent).where(WorkflowEvent.case_id == case_id)
                               .order_by(WorkflowEvent.seq)).scalars()
        return [{"seq": e.seq, "at": _aware(e.at), "actor": e.actor, "actor_role": e.actor_role,
                 "transition": e.transition, "from_state": e.from_state, "to_state": e.to_state, "note": e.note,
                 "data": e.data} for e in rows]

    def list_cases(self, session: Session, principal: Principal, *, limit: int, after: str | None = None,
                   workflow: str | None = None, state: str | None = None, status: str | None = None,
                   overdue: bool | None = None, subject_type: str | None = None, subject_id: str | None = None,
                   assigned_level: str | None = None, total: bool = False,
                   now: dt.datetime | None = None) -> dict[str, Any]:
        """A keyset page (by id: UUIDv7, so opening order) of the cases the caller may read."""
        now = now or utcnow()
        c = WorkflowCase
        conds = [self.read_clause(principal)]
        for column, value in ((c.workflow, workflow), (c.state, state), (c.subject_type, subject_type),
                              (c.subject_id, subject_id), (c.assigned_level, assigned_level)):
            if value is not None:
                conds.append(column == value)
        if status == "open":
            conds.append(c.closed_at.is_(None))
        elif status == "closed":
            conds.append(c.closed_at.is_not(None))
        elif status is not None:
            raise ValidationFailed("status must be open or closed",
                                   details=[{"field": "status", "problem": "expected open or closed"}])
        if overdue is True:
            conds.append(and_(c.closed_at.is_(None), c.due_at.is_not(None), c.due_at <= now))
        elif overdue is False:
            conds.append(or_(c.closed_at.is_not(None), c.due_at.is_(None), c.due_at > now))
        stmt = select(c).where(*conds)
        count = session.execute(select(func.count()).select_from(stmt.subquery())).scalar_one() if total else None
        if after:
            stmt = stmt.where(c.id > decode_cursor(after))
        rows = session.execute(stmt.order_by(c.id).limit(limit + 1)).scalars().all()
        more = len(rows) > limit
        rows = rows[:limit]
        page: dict[str, Any] = {
            "items": [case_record(r, self._definition_or_none(r), now=now) for r in rows],
            "next_cursor": encode_cursor(rows[-1].id) if more and rows else None,
        }
        if total:
            page["total"] = count
        return page

    def cases_for(self, session: Session, subject_type: str, subject_id: str | uuid.UUID, *,
                  workflow: str | None = None, open_only: bool = False) -> list[WorkflowCase]:
        """Cases about one subject, unscoped: for domain services and guards (not for answering callers)."""
        stmt = select(WorkflowCase).where(WorkflowCase.subject_type == subject_type,
                                          WorkflowCase.subject_id == str(subject_id))
        if workflow:
            stmt = stmt.where(WorkflowCase.workflow == workflow)
        if open_only:
            stmt = stmt.where(WorkflowCase.closed_at.is_(None))
        return list(session.execute(stmt.order_by(WorkflowCase.id)).scalars())

    # ---------------------------------------------------------------- internals
    def _definition_or_none(self, case: WorkflowCase) -> WorkflowDefinition | None:
        return self._definitions.get(case.workflow, {}).get(case.workflow_version)

    def _due(self, definition: WorkflowDefinition, case: WorkflowCase, state: StateDef, event: str,
             now: dt.datetime) -> dt.datetime | None:
        """When a case entering ``state`` (by ``event``) falls due: the workflow's due policy, else the state's SLA."""
        if state.terminal:
            return None
        policy = self._due_policies.get(definition.name)
        if policy is not None:
            return policy(case, state, event, now)
        return now + dt.timedelta(hours=state.sla_hours) if state.sla_hours else None

    def _path_at(self, lgd_path: str, level: str) -> str | None:
        letter = self.level_letters.get(level)
        return cut_path(lgd_path, letter) if letter else None

    def _next_assignment(self, definition: WorkflowDefinition, case: WorkflowCase) -> tuple[str, str] | None:
        chain = definition.escalation
        candidates = chain[chain.index(case.assigned_level) + 1:] if case.assigned_level in chain else chain
        on_path = case.lgd_path.startswith(case.assigned_path)
        for level in candidates:
            path = self._path_at(case.lgd_path, level)
            # a level missing from the place's path is skipped; escalation only ever moves up
            if path is not None and (not on_path or len(path) < len(case.assigned_path)):
                return level, path
        return None

    def _load(self, session: Session, key: str | uuid.UUID, *, lock: bool = False) -> WorkflowCase | None:
        rid = parse_uuid(key)
        stmt = select(WorkflowCase).where(WorkflowCase.id == rid if rid else WorkflowCase.code == str(key))
        if lock:
            stmt = stmt.with_for_update().execution_options(populate_existing=True)
        return session.execute(stmt).scalar_one_or_none()

    @staticmethod
    def can_read(principal: Principal, case: WorkflowCase) -> bool:
        return principal.can(READ_PERMISSION, case.lgd_path) or principal.can(READ_PERMISSION, case.assigned_path)

    @staticmethod
    def _authorising_role(principal: Principal, t: TransitionDef, case: WorkflowCase) -> str | None:
        """The role of a grant that allows ``t`` on ``case``: a listed role first, else a ``cases:write`` role."""
        covering = [g for g in principal.grants
                    if case.lgd_path.startswith(g.path) or case.assigned_path.startswith(g.path)]
        for g in covering:
            if g.role in t.roles:
                return g.role
        for g in covering:
            if WRITE_PERMISSION in principal.role_permissions.get(g.role, ()):
                return g.role
        return None

    @staticmethod
    def _event(session: Session, case: WorkflowCase, *, actor: str, role: str | None, transition: str,
               from_state: str | None, note: str | None, data: dict[str, Any] | None,
               now: dt.datetime) -> WorkflowEvent:
        # Every case change is exactly one event and one version step: seq == version (unique per case).
        event = WorkflowEvent(id=new_id(), case_id=case.id, seq=case.version, at=now, actor=actor, actor_role=role,
                              transition=transition, from_state=from_state, to_state=case.state, note=note,
                              data=_jsonable(data) if data is not None else None)
        session.add(event)
        return event

    @staticmethod
    def _record_update(session: Session, definition: WorkflowDefinition, case: WorkflowCase, before: dict[str, Any],
                       actor: str, source: str | None, now: dt.datetime) -> None:
        after = _changelog_data(case_record(case, definition, now=now))
        diff = {k: [before.get(k), v] for k, v in after.items() if before.get(k) != v}
        changelog.record(session, changelog.PendingChange(
            RECORD_TYPE, case.id, "update", case.version, actor, source, now, case.lgd_path, after, diff))

    def _run_hooks(self, session: Session, definition: WorkflowDefinition, points: tuple[str, ...],
                   case: WorkflowCase, event: WorkflowEvent, who: Principal | str | None, actor: str,
                   payload: dict[str, Any], now: dt.datetime) -> None:
        principal = who if isinstance(who, Principal) else None
        for point in points:
            for fn in self._hooks.get((definition.name, point), ()):
                fn(HookContext(self, session, definition, case, event, principal, actor, payload, now))


def _actor(who: Principal | str) -> tuple[str, str | None]:
    if isinstance(who, Principal):
        return who.subject, who.source_system
    return str(who), None


def _jsonable(value: Any) -> Any:
    return json.loads(changelog.canonical_json(value))


def case_record(case: WorkflowCase, definition: WorkflowDefinition | None, *,
                now: dt.datetime | None = None) -> dict[str, Any]:
    """A case as the API answers it (``overdue`` and ``transitions`` are computed, not stored)."""
    now = now or utcnow()
    due = _aware(case.due_at)
    return {
        "id": str(case.id), "code": case.code, "workflow": case.workflow, "workflow_version": case.workflow_version,
        "state": case.state, "subject_type": case.subject_type, "subject_id": case.subject_id,
        "lgd_path": case.lgd_path, "assigned_path": case.assigned_path, "assigned_level": case.assigned_level,
        "assignee_role": case.assignee_role, "opened_at": _aware(case.opened_at), "opened_by": case.opened_by,
        "updated_at": _aware(case.updated_at), "due_at": due, "closed_at": _aware(case.closed_at),
        "overdue": case.closed_at is None and due is not None and due <= now,
        "escalation_count": case.escalation_count, "escalation_exhausted": bool(case.escalation_exhausted),
        "data": case.data or {}, "version": case.version,
        "transitions": definition.available(case.state) if definition else [],
    }


_COMPUTED = ("overdue", "transitions")


def _changelog_data(record: dict[str, Any]) -> dict[str, Any]:
    return _jsonable({k: v for k, v in record.items() if k not in _COMPUTED})


__all__ = ["ESCALATION_ACTOR", "READ_PERMISSION", "RECORD_TYPE", "WRITE_PERMISSION", "DuePolicy", "HookContext",
           "StateDef",
           "TransitionDef", "WorkflowCase", "WorkflowDefinition", "WorkflowDefinitionError", "WorkflowEngine",
           "WorkflowEvent", "case_record", "cut_path", "structural_problems"]
