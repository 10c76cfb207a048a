"""The workflow engine, with a toy repair workflow registered here (no domain): definitions, the one transition
entry point (state, role, jurisdiction, required fields, guards, versions), SLA timers, escalation up the LGD
hierarchy, events, the change log, hooks in the same unit of work, and the HTTP routes."""

from __future__ import annotations

import copy
import datetime as dt

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from jaldpi.core import changelog
from jaldpi.core.errors import (
    Conflict,
    Forbidden,
    NotFound,
    OutOfJurisdiction,
    ValidationFailed,
    VersionConflict,
)
from jaldpi.core.security import Grant, Principal
from jaldpi.core.workflow import (
    ESCALATION_ACTOR,
    HookContext,
    WorkflowDefinition,
    WorkflowDefinitionError,
    WorkflowEngine,
    cut_path,
)
from jaldpi.core.workflow_models import WorkflowCase, WorkflowEvent
from jaldpi.standard.codelists import role_permissions
from tests.conftest import test_settings
from tests.helpers import count_rows, error_of, login_as

VILLAGE = "/S28/D745/B4001/G200001/V500001/"  # block 4001, district 745
OTHER_BLOCK_VILLAGE = "/S28/D745/B4003/G200003/V500004/"
LEVELS = {"state": "S", "district": "D", "subdistrict": "T", "block": "B", "gram_panchayat": "G", "village": "V"}
T0 = dt.datetime(2030, 1, 1, 9, 0, tzinfo=dt.UTC)

TOY = {
    "name": "toy_repair",
    "version": 1,
    "title": "Toy repair",
    "code_prefix": "TOY",
    "initial": "reported",
    "states": [
        {"name": "reported", "sla_hours": 24},
        {"name": "inspecting", "sla_hours": 48},
        {"name": "fixed", "sla_hours": 72},
        {"name": "closed", "terminal": True},
        {"name": "rejected", "terminal": True},
    ],
    "transitions": [
        {"name": "inspect", "from": ["reported"], "to": "inspecting", "roles": ["block_official"]},
        {"name": "fix", "from": ["inspecting"], "to": "fixed", "roles": ["vwsc_operator", "block_official"],
         "requires": ["action_taken"]},
        {"name": "retest", "from": ["fixed"], "to": "fixed", "roles": ["field_tester"], "requires": ["retest"]},
        {"name": "close", "from": ["fixed"], "to": "closed", "roles": ["block_official", "district_official"],
         "guard": "passing_retest"},
        {"name": "reject", "from": ["reported", "inspecting"], "to": "rejected",
         "roles": ["block_official", "district_official"], "requires": ["reason"]},
    ],
    "escalation": ["block", "district", "state"],
}

FOLLOW_UP = {
    "name": "toy_follow_up",
    "version": 1,
    "code_prefix": "TFU",
    "initial": "open",
    "states": [{"name": "open", "sla_hours": 168}, {"name": "done", "terminal": True}],
    "transitions": [{"name": "done", "from": ["open"], "to": "done", "roles": ["block_official"]}],
}


def passing_retest(session, case, payload):
    if (case.data or {}).get("retest") != "pass":
        return "closes only after a passing re-test"
    return None


def open_follow_up(ctx: HookContext) -> None:
    ctx.engine.open_case(ctx.session, ctx.principal or ctx.actor, "toy_follow_up", "toy_case", ctx.case.id,
                         ctx.case.lgd_path, "block", {"opened_because": ctx.event.transition}, now=ctx.now)


def explode_on_request(ctx: HookContext) -> None:
    if ctx.payload.get("action_taken") == "explode":
        raise RuntimeError("hook failed")


def register_toys(engine: WorkflowEngine) -> None:
    engine.register(TOY, guards={"passing_retest": passing_retest})
    engine.register(FOLLOW_UP)
    engine.add_hook("toy_repair", "enter:fixed", open_follow_up)
    engine.add_hook("toy_repair", "transition:fix", explode_on_request)


def person(role: str, path: str, name: str | None = None) -> Principal:
    return Principal(name or f"{role}@{path}", "person", (Grant(role, path),), role_permissions(),
                     source_system="test-node")


BLOCK = person("block_official", "/S28/D745/B4001/", "block-4001")
OTHER_BLOCK = person("block_official", "/S28/D745/B4003/", "block-4003")
DISTRICT = person("district_official", "/S28/D745/", "district-745")
VWSC = person("vwsc_operator", VILLAGE, "vwsc-500001")
TESTER = person("field_tester", "/S28/D745/B4001/", "tester-4001")
LAB = person("lab_analyst", "/S28/D745/", "lab-745")
ADMIN = person("node_admin", "/", "admin")


@pytest.fixture
def wf_app(database):
    from jaldpi.app import create_app

    app = create_app(test_settings(database), database)
    register_toys(app.state.node.extras["workflows"])
    return app


@pytest.fixture
def node(wf_app):
    return wf_app.state.node


@pytest.fixture
def engine(node) -> WorkflowEngine:
    return node.extras["workflows"]


@pytest.fixture
def client(wf_app):
    with TestClient(wf_app) as c:
        yield c


def open_toy(node, engine, path=VILLAGE, now=T0, **kw) -> str:
    with node.db.unit_of_work() as session:
        case = engine.open_case(session, "system:test", "toy_repair", "toy_subject", "subject-1", path, "block",
                                {"source": "test"}, now=now, **kw)
        return str(case.id)


def act(node, engine, principal, case_id, name, payload=None, **kw):
    with node.db.unit_of_work() as session:
        case = engine.transition(session, principal, case_id, name, payload, **kw)
        return {"state": case.state, "version": case.version, "due_at": case.due_at, "closed_at": case.closed_at}


def read(node, engine, principal, case_id, now=None):
    with node.db.unit_of_work(write=False) as session:
        return engine.get_case(session, principal, case_id, now=now)


# ------------------------------------------------------------------------------------------------ definitions

def _bad(**changes):
    d = copy.deepcopy(TOY)
    d.update(changes)
    return d


@pytest.mark.parametrize(("definition", "problem"), [
    (_bad(initial="nowhere"), "initial state 'nowhere' is not a declared state"),
    (_bad(transitions=TOY["transitions"] + [{"name": "x", "from": ["ghost"], "to": "closed",
                                             "roles": ["block_official"]}]),
     "transition 'x' starts from unknown state 'ghost'"),
    (_bad(transitions=TOY["transitions"] + [{"name": "x", "from": ["fixed"], "to": "limbo",
                                             "roles": ["block_official"]}]),
     "transition 'x' goes to unknown state 'limbo'"),
    (_bad(transitions=TOY["transitions"] + [{"name": "reopen", "from": ["closed"], "to": "reported",
                                             "roles": ["block_official"]}]),
     "transition 'reopen' leaves terminal state 'closed'"),
    (_bad(states=TOY["states"] + [{"name": "orphan", "sla_hours": 5}],
          transitions=TOY["transitions"] + [{"name": "out", "from": ["orphan"], "to": "closed",
                                             "roles": ["block_official"]}]),
     "state 'orphan' is unreachable from 'reported'"),
    (_bad(states=[{"name": "reported"}, {"name": "closed", "terminal": True, "sla_hours": 3}],
          transitions=[{"name": "close", "from": ["reported"], "to": "closed", "roles": ["block_official"]}]),
     "terminal state 'closed' has an SLA"),
    (_bad(states=[{"name": "reported"}, {"name": "closed"}],
          transitions=[{"name": "close", "from": ["reported"], "to": "closed", "roles": ["block_official"]}]),
     "no terminal state: cases could never close"),
    (_bad(transitions=TOY["transitions"] + [TOY["transitions"][0]]), "transition 'inspect' is declared more than once"),
])
def test_definition_structure_errors_are_clear(definition, problem):
    with pytest.raises(WorkflowDefinitionError) as err:
        WorkflowDefinition.from_dict(definition)
    assert problem in err.value.problems, err.value.problems
    assert err.value.workflow == "toy_repair" and problem in str(err.value)


def test_definition_field_errors_and_registration_checks():
    with pytest.raises(WorkflowDefinitionError) as err:
        WorkflowDefinition.from_dict(_bad(transitions=[{"name": "x", "from": ["reported"], "roles": ["a"]}]))
    assert any(p.startswith("transitions.0.to") for p in err.value.problems), err.value.problems

    engine = WorkflowEngine(level_letters=LEVELS, roles=role_permissions())
    bad = copy.deepcopy(TOY)
    bad["transitions"][0]["roles"] = ["wizard"]
    bad["escalation"] = ["block", "galaxy"]
    with pytest.raises(WorkflowDefinitionError) as err:
        engine.register(bad)  # and the guard passing_retest is not registered
    assert set(err.value.problems) == {
        "transition 'inspect' names unknown role 'wizard'",
        "transition 'close' names guard 'passing_retest', which is not registered",
        "escalation level 'galaxy' is not an LGD level with a path letter",
    }
    definition = engine.register(TOY, guards={"passing_retest": passing_retest})
    assert WorkflowDefinition.from_json(json_text := __import__("json").dumps(definition.public())) == definition
    assert '"from"' in json_text
    with pytest.raises(WorkflowDefinitionError, match="already registered"):
        engine.register(TOY)
    with pytest.raises(WorkflowDefinitionError, match="hook point 'enter:nowhere'"):
        engine.add_hook("toy_repair", "enter:nowhere", open_follow_up)


def test_cut_path():
    assert cut_path(VILLAGE, "D") == "/S28/D745/"
    assert cut_path(VILLAGE, "B") == "/S28/D745/B4001/"
    assert cut_path("/S28/D745/V500009/", "B") is None


# ------------------------------------------------------------------------------------------------ transitions

def test_open_sets_initial_state_assignment_sla_and_first_event(node, engine):
    cid = open_toy(node, engine)
    case = read(node, engine, BLOCK, cid, now=T0)
    assert case["state"] == "reported" and case["code"].startswith("TOY-")
    assert case["assigned_level"] == "block" and case["assigned_path"] == "/S28/D745/B4001/"
    assert case["due_at"] == T0 + dt.timedelta(hours=24) and case["overdue"] is False
    assert case["version"] == 1 and case["transitions"] == ["inspect", "reject"]
    assert [(e["seq"], e["transition"], e["to_state"], e["actor"]) for e in case["events"]] == [
        (1, "open", "reported", "system:test")]
    with node.db.unit_of_work() as session, pytest.raises(ValidationFailed) as err:
        engine.open_case(session, BLOCK, "toy_repair", "toy_subject", "s", "/S28/D745/V500009/", "block")
    assert err.value.details[0]["field"] == "assigned_level"


def test_full_run_moves_states_sets_sla_closes_and_records_events_in_order(node, engine):
    cid = open_toy(node, engine)
    t1, t2, t3, t4 = (T0 + dt.timedelta(hours=h) for h in (1, 2, 3, 4))
    r = act(node, engine, BLOCK, cid, "inspect", {"note": "on my way"}, now=t1)
    assert r["state"] == "inspecting" and r["version"] == 2
    assert r["due_at"].replace(tzinfo=dt.UTC) == t1 + dt.timedelta(hours=48)
    act(node, engine, VWSC, cid, "fix", {"action_taken": "replaced valve"}, now=t2)
    act(node, engine, TESTER, cid, "retest", {"retest": "pass"}, now=t3)
    r = act(node, engine, DISTRICT, cid, "close", now=t4)
    assert r["state"] == "closed" and r["due_at"] is None
    assert r["closed_at"].replace(tzinfo=dt.UTC) == t4
    case = read(node, engine, BLOCK, cid)
    assert case["transitions"] == [] and case["closed_at"] == t4 and case["overdue"] is False
    assert case["data"] == {"source": "test", "action_taken": "replaced valve", "retest": "pass"}
    events = case["events"]
    assert [(e["seq"], e["transition"], e["from_state"], e["to_state"], e["actor"], e["actor_role"])
            for e in events] == [
        (1, "open", None, "reported", "system:test", None),
        (2, "inspect", "reported", "inspecting", "block-4001", "block_official"),
        (3, "fix", "inspecting", "fixed", "vwsc-500001", "vwsc_operator"),
        (4, "retest", "fixed", "fixed", "tester-4001", "field_tester"),
        (5, "close", "fixed", "closed", "district-745", "district_official"),
    ]
    assert events[1]["note"] == "on my way" and events[1]["data"] is None
    assert events[2]["data"] == {"action_taken": "replaced valve"}
    assert [e["at"] for e in events] == [T0, t1, t2, t3, t4]
    # terminal: nothing more is allowed
    with pytest.raises(Conflict) as err:
        act(node, engine, ADMIN, cid, "reject", {"reason": "late"})
    assert err.value.code == "transition_not_allowed" and "closed" in err.value.message


def test_transition_not_allowed_from_state_and_unknown_transition(node, engine):
    cid = open_toy(node, engine)
    with pytest.raises(Conflict) as err:
        act(node, engine, BLOCK, cid, "close")
    assert err.value.code == "transition_not_allowed"
    assert err.value.message == "'close' is not allowed from state 'reported'; allowed now: inspect, reject"
    with pytest.raises(ValidationFailed) as err:
        act(node, engine, BLOCK, cid, "teleport")
    assert err.value.code == "unknown_transition" and err.value.details[0]["field"] == "transition"


def test_roles_decide_who_may_take_a_transition(node, engine):
    cid = open_toy(node, engine)
    with pytest.raises(Forbidden) as err:  # the tester reads the case but may not inspect it
        act(node, engine, TESTER, cid, "inspect")
    assert err.value.code == "role_not_allowed" and "block_official" in err.value.message
    with pytest.raises(Forbidden) as err:
        act(node, engine, LAB, cid, "inspect")
    assert err.value.code == "role_not_allowed"
    # node_admin holds cases:write: may take any transition in its subtree (recorded under its role)
    act(node, engine, ADMIN, cid, "inspect")
    assert read(node, engine, ADMIN, cid)["events"][-1]["actor_role"] == "node_admin"


def test_jurisdiction_other_block_can_neither_act_nor_read(node, engine):
    cid = open_toy(node, engine)
    with pytest.raises(NotFound):  # out of scope is indistinguishable from missing
        act(node, engine, OTHER_BLOCK, cid, "inspect")
    with pytest.raises(NotFound):
        read(node, engine, OTHER_BLOCK, cid)
    # one who may read the case (lab of the district) but holds the role only for another block
    mixed = Principal("mixed", "person", (Grant("block_official", "/S28/D745/B4003/"),
                                          Grant("lab_analyst", "/S28/D745/")), role_permissions())
    with pytest.raises(OutOfJurisdiction):
        act(node, engine, mixed, cid, "inspect")
    outsider = person("field_tester", "/S28/D746/")
    with pytest.raises(NotFound):  # cannot read and no role for this transition: indistinguishable from missing
        act(node, engine, outsider, cid, "retest", {"retest": "pass"})
    with node.db.unit_of_work(write=False) as session:
        assert engine.list_cases(session, OTHER_BLOCK, limit=10)["items"] == []
        assert [c["id"] for c in engine.list_cases(session, DISTRICT, limit=10)["items"]] == [cid]


def test_requires_fields_are_named(node, engine):
    cid = open_toy(node, engine)
    with pytest.raises(ValidationFailed) as err:
        act(node, engine, BLOCK, cid, "reject", {"reason": ""})
    assert err.value.code == "missing_fields"
    assert err.value.details == [{"field": "reason", "problem": "required by transition 'reject'"}]
    r = act(node, engine, BLOCK, cid, "reject", {"reason": "duplicate report"})
    assert r["state"] == "rejected" and r["closed_at"] is not None


def test_guard_refuses_with_its_message(node, engine):
    cid = open_toy(node, engine)
    act(node, engine, BLOCK, cid, "inspect")
    act(node, engine, BLOCK, cid, "fix", {"action_taken": "chlorinated"})
    act(node, engine, TESTER, cid, "retest", {"retest": "fail"})
    with pytest.raises(Conflict) as err:
        act(node, engine, BLOCK, cid, "close")
    assert err.value.code == "guard_failed"
    assert err.value.message == "closes only after a passing re-test"
    assert err.value.details[0]["guard"] == "passing_retest"
    act(node, engine, TESTER, cid, "retest", {"retest": "pass"})
    assert act(node, engine, BLOCK, cid, "close")["state"] == "closed"


def test_version_conflict(node, engine):
    cid = open_toy(node, engine)
    with pytest.raises(VersionConflict) as err:
        act(node, engine, BLOCK, cid, "inspect", expected_version=2)
    assert err.value.code == "version_conflict"
    assert act(node, engine, BLOCK, cid, "inspect", expected_version=1)["version"] == 2


# ------------------------------------------------------------------------------------------------ escalation

def test_escalation_block_to_district_to_state_then_flagged(node, engine):
    cid = open_toy(node, engine)
    other = open_toy(node, engine, now=T0 + dt.timedelta(hours=10))
    with node.db.unit_of_work() as session:
        assert engine.escalate_overdue(session, T0 + dt.timedelta(hours=23)) == []  # not yet due
    t1 = T0 + dt.timedelta(hours=25)
    with node.db.unit_of_work() as session:
        moved = engine.escalate_overdue(session, t1)
    assert [(m["id"], m["from_level"], m["to_level"], m["to_path"], m["exhausted"]) for m in moved] == [
        (cid, "block", "district", "/S28/D745/", False)]
    case = read(node, engine, DISTRICT, cid, now=t1)
    assert case["assigned_level"] == "district" and case["escalation_count"] == 1
    assert case["due_at"] == t1 + dt.timedelta(hours=24)  # the SLA clock restarts
    assert case["events"][-1]["actor"] == ESCALATION_ACTOR and case["events"][-1]["transition"] == "escalate"
    assert case["events"][-1]["data"]["from_path"] == "/S28/D745/B4001/"

    t2 = t1 + dt.timedelta(hours=25)
    with node.db.unit_of_work() as session:
        moved = {m["id"]: m for m in engine.escalate_overdue(session, t2)}
    assert moved[cid]["to_level"] == "state" and moved[cid]["to_path"] == "/S28/"
    assert moved[other]["to_level"] == "district"

    t3 = t2 + dt.timedelta(hours=25)
    with node.db.unit_of_work() as session:
        moved = {m["id"]: m for m in engine.escalate_overdue(session, t3)}
    assert moved[cid]["exhausted"] is True and moved[cid]["to_path"] == "/S28/"
    case = read(node, engine, ADMIN, cid, now=t3)
    assert case["assigned_level"] == "state" and case["escalation_exhausted"] is True and case["overdue"] is True
    assert [e["transition"] for e in case["events"]] == ["open", "escalate", "escalate", "escalation_exhausted"]
    with node.db.unit_of_work() as session:  # flagged once, not again
        assert cid not in {m["id"] for m in engine.escalate_overdue(session, t3 + dt.timedelta(days=3))}
    # the block official of the place still acts on an escalated case; a transition restarts the clock
    r = act(node, engine, BLOCK, cid, "inspect", now=t3)
    assert r["due_at"].replace(tzinfo=dt.UTC) == t3 + dt.timedelta(hours=48)
    assert read(node, engine, BLOCK, cid)["escalation_exhausted"] is False


def test_due_policy_replaces_state_sla_on_open_transition_and_escalation(database):
    """A workflow may register a due policy (SLA depending on the case, e.g. its category): it is asked on open,
    on every non-terminal state entered (seeing the previous due_at) and on escalation; terminal states never."""
    seen = []

    def policy(case, state, event, now):
        seen.append((state.name, event))
        hours = case.data["hours"]
        if event == "inspect":  # starting work keeps the deadline the case already had
            return case.due_at
        return now + dt.timedelta(hours=hours)

    def utc(value):  # SQLite hands back naive UTC
        return value.replace(tzinfo=dt.UTC) if value.tzinfo is None else value

    engine = WorkflowEngine(level_letters=LEVELS, roles=role_permissions())
    engine.register(TOY, guards={"passing_retest": passing_retest}, due_policy=policy)
    with database.unit_of_work() as session:
        case = engine.open_case(session, "system:test", "toy_repair", "toy_subject", "s-1", VILLAGE, "block",
                                {"hours": 5}, now=T0)
        assert utc(case.due_at) == T0 + dt.timedelta(hours=5)  # not the state's 24 h
        t1 = T0 + dt.timedelta(hours=2)
        engine.transition(session, BLOCK, case.id, "inspect", now=t1)
        assert case.state == "inspecting" and utc(case.due_at) == T0 + dt.timedelta(hours=5)
        t2 = T0 + dt.timedelta(hours=6)
        assert engine.escalate_overdue(session, t2, workflows=["toy_follow_up"]) == []  # only the named workflows
        moved = engine.escalate_overdue(session, t2, workflows=["toy_repair"])
        assert [m["to_level"] for m in moved] == ["district"]
        assert utc(case.due_at) == t2 + dt.timedelta(hours=5)
        engine.transition(session, BLOCK, case.id, "reject", {"reason": "duplicate"}, now=t2)
        assert case.due_at is None and utc(case.closed_at) == t2
    assert seen == [("reported", "open"), ("inspecting", "inspect"), ("inspecting", "escalate")]
    plain = WorkflowEngine(level_letters=LEVELS, roles=role_permissions())
    plain.register(TOY, guards={"passing_retest": passing_retest})  # no policy: the state's SLA, as before
    with database.unit_of_work() as session:
        case = plain.open_case(session, "system:test", "toy_repair", "toy_subject", "s-2", VILLAGE, "block",
                               now=T0)
        assert utc(case.due_at) == T0 + dt.timedelta(hours=24)


def test_bind_gives_hooks_the_nodes_settings_and_catalogue(node, engine):
    """Hooks reach the node's settings and catalogue through ``ctx.engine``: an unbound engine says how to bind it;
    the node's engine is bound (by registries.build_catalogue) to the very objects the node serves with."""
    unbound = WorkflowEngine(level_letters=LEVELS, roles=role_permissions())
    for attribute in ("settings", "catalogue"):
        with pytest.raises(RuntimeError, match=rf"no node {attribute}.*registries\.build_catalogue.*engine\.bind"):
            getattr(unbound, attribute)
    settings, catalogue = object(), object()
    with pytest.raises(ValueError, match="both"):
        unbound.bind(settings=None, catalogue=catalogue)
    unbound.bind(settings=settings, catalogue=catalogue)
    assert unbound.settings is settings and unbound.catalogue is catalogue

    assert engine.settings is node.settings and engine.catalogue is node.catalogue
    seen = []
    engine.add_hook("toy_repair", "transition:inspect",
                    lambda ctx: seen.append((ctx.engine.settings, ctx.engine.catalogue)))
    act(node, engine, BLOCK, open_toy(node, engine), "inspect")
    assert len(seen) == 1 and seen[0][0] is node.settings and seen[0][1] is node.catalogue


def test_overdue_filter_lists_only_overdue_open_cases(node, engine):
    late = open_toy(node, engine, now=T0)
    fresh = open_toy(node, engine, now=T0 + dt.timedelta(hours=30))
    closed = open_toy(node, engine, now=T0)
    act(node, engine, BLOCK, closed, "reject", {"reason": "dup"}, now=T0 + dt.timedelta(hours=1))
    now = T0 + dt.timedelta(hours=40)
    with node.db.unit_of_work(write=False) as session:
        def ids(**kw):
            return [c["id"] for c in engine.list_cases(session, DISTRICT, limit=10, now=now, **kw)["items"]]

        assert ids(overdue=True) == [late]
        assert ids(overdue=False) == [fresh, closed]
        assert ids(status="closed") == [closed] and ids(status="open") == [late, fresh]


# ------------------------------------------------------------------------------------------------ change log, hooks

def test_change_log_entries_and_chain_stay_valid(node, engine):
    cid = open_toy(node, engine)
    act(node, engine, BLOCK, cid, "inspect")
    with node.db.unit_of_work() as session:
        engine.escalate_overdue(session, T0 + dt.timedelta(days=5))
    with node.db.unit_of_work(write=False) as session:
        import uuid

        hist = changelog.history(session, "workflow_cases", uuid.UUID(cid))
        assert [(h["operation"], h["version"], h["actor"]) for h in hist] == [
            ("create", 1, "system:test"), ("update", 2, "block-4001"), ("update", 3, ESCALATION_ACTOR)]
        assert hist[1]["changes"]["state"] == ["reported", "inspecting"]
        assert hist[2]["record"]["assigned_level"] == "district"
        report = changelog.verify(session)
        assert report.ok, report.problems


def test_hook_opens_a_second_case_in_the_same_unit_of_work(node, engine):
    cid = open_toy(node, engine)
    act(node, engine, BLOCK, cid, "inspect")
    with node.db.unit_of_work() as session:
        engine.transition(session, VWSC, cid, "fix", {"action_taken": "new pipe"})
        follow = engine.cases_for(session, "toy_case", cid, workflow="toy_follow_up")
        assert len(follow) == 1 and follow[0].state == "open"  # visible before the commit: same unit of work
    with node.db.unit_of_work(write=False) as session:
        (follow,) = engine.cases_for(session, "toy_case", cid, open_only=True)
        assert follow.opened_by == "vwsc-500001" and follow.data == {"opened_because": "fix"}
        assert follow.code.startswith("TFU-") and follow.assigned_path == "/S28/D745/B4001/"
        assert changelog.verify(session).ok


def test_failed_transition_writes_nothing(node, engine):
    cid = open_toy(node, engine)
    act(node, engine, BLOCK, cid, "inspect")
    before = {t: count_rows(node, t) for t in ("workflow_cases", "workflow_events", "change_log")}
    with pytest.raises(RuntimeError, match="hook failed"):  # the first hook opened a case, the second failed
        act(node, engine, BLOCK, cid, "fix", {"action_taken": "explode"})
    with pytest.raises(ValidationFailed):
        act(node, engine, BLOCK, cid, "fix", {})
    assert {t: count_rows(node, t) for t in before} == before
    case = read(node, engine, BLOCK, cid)
    assert case["state"] == "inspecting" and case["version"] == 2 and len(case["events"]) == 2
    with node.db.unit_of_work(write=False) as session:
        assert session.execute(select(func.count()).select_from(WorkflowEvent)).scalar_one() == 2
        assert session.execute(select(func.count()).select_from(WorkflowCase)).scalar_one() == 1


# ------------------------------------------------------------------------------------------------ HTTP

def test_http_definitions_are_public(client):
    items = client.get("/api/v1/workflows").json()["items"]
    assert {"toy_repair", "toy_follow_up"} <= {d["name"] for d in items}
    d = client.get("/api/v1/workflows/toy_repair").json()
    assert d["version"] == 1 and d["versions"] == [1] and d["transitions"][0]["from"] == ["reported"]
    assert d["escalation"] == ["block", "district", "state"]
    assert error_of(client.get("/api/v1/workflows/nothing"))["code"] == "unknown_workflow"


def test_http_cases_scoped_list_read_and_transition(client, node, engine):
    block = login_as(client, node, "block1", "block_official", "/S28/D745/B4001/")
    other = login_as(client, node, "block3", "block_official", "/S28/D745/B4003/")
    district = login_as(client, node, "dist", "district_official", "/S28/D745/")
    ids = [open_toy(node, engine, now=dt.datetime.now(dt.UTC)) for _ in range(3)]
    there = open_toy(node, engine, path=OTHER_BLOCK_VILLAGE, now=dt.datetime.now(dt.UTC))

    assert client.get("/api/v1/cases").status_code == 401
    page = client.get("/api/v1/cases", params={"limit": 2, "total": "true"}, headers=block).json()
    assert page["total"] == 3 and [c["id"] for c in page["items"]] == ids[:2] and page["next_cursor"]
    rest = client.get("/api/v1/cases", params={"limit": 2, "after": page["next_cursor"]}, headers=block).json()
    assert [c["id"] for c in rest["items"]] == ids[2:] and rest["next_cursor"] is None
    assert len(client.get("/api/v1/cases", headers=district).json()["items"]) == 4
    assert [c["id"] for c in client.get("/api/v1/cases", headers=other).json()["items"]] == [there]
    r = client.get("/api/v1/cases", params={"workflow": "toy_repair", "status": "open", "subject_type":
                                             "toy_subject", "subject_id": "subject-1", "state": "reported"},
                   headers=block)
    assert len(r.json()["items"]) == 3
    assert error_of(client.get("/api/v1/cases", params={"colour": "red"}, headers=block))["code"] == \
        "validation_failed"

    r = client.get(f"/api/v1/cases/{ids[0]}", headers=block)
    assert r.status_code == 200 and r.headers["etag"] == '"1"' and r.json()["events"][0]["transition"] == "open"
    assert client.get(f"/api/v1/cases/{r.json()['code']}", headers=block).json()["id"] == ids[0]
    assert error_of(client.get(f"/api/v1/cases/{ids[0]}", headers=other))["code"] == "not_found"

    url = f"/api/v1/cases/{ids[0]}/transitions"
    assert error_of(client.post(f"{url}/inspect", headers=other))["code"] == "not_found"
    assert error_of(client.post(f"{url}/inspect", headers={**block, "If-Match": '"7"'}))["code"] == \
        "version_conflict"
    r = client.post(f"{url}/inspect", json={"version": 1, "note": "seen"}, headers=block)
    assert r.status_code == 200, r.text
    assert r.json()["state"] == "inspecting" and r.json()["version"] == 2 and r.headers["etag"] == '"2"'
    err = error_of(client.post(f"{url}/fix", json={}, headers=block))
    assert err["code"] == "missing_fields" and err["details"][0]["field"] == "action_taken"
    assert client.post(f"{url}/fix", json={"action_taken": "valve"}, headers=block).status_code == 200
    err = error_of(client.post(f"{url}/close", headers=district))
    assert err["code"] == "guard_failed" and err["message"] == "closes only after a passing re-test"
    assert error_of(client.post(f"{url}/inspect", headers=block))["code"] == "transition_not_allowed"
    assert client.post(f"{url}/inspect").status_code == 401
    # the hook opened a follow-up case, visible in the block's list
    follow = client.get("/api/v1/cases", params={"workflow": "toy_follow_up"}, headers=block).json()["items"]
    assert [c["subject_id"] for c in follow] == [ids[0]]


def test_cli_list_and_escalate(node, engine, monkeypatch):
    import json

    from typer.testing import CliRunner

    import jaldpi.registries
    from jaldpi.cli import app
    from jaldpi.config import get_settings

    cid = open_toy(node, engine, now=dt.datetime.now(dt.UTC) - dt.timedelta(hours=30))
    open_toy(node, engine, now=dt.datetime.now(dt.UTC))  # not yet due
    monkeypatch.setattr(jaldpi.registries, "build_workflows", lambda: engine)
    monkeypatch.setenv("JALDPI_DATABASE_URL", node.db.url)
    get_settings.cache_clear()
    try:
        listed = CliRunner().invoke(app, ["workflow", "list", "--json"])
        moved = CliRunner().invoke(app, ["workflow", "escalate", "--json"])
        table = CliRunner().invoke(app, ["workflow", "escalate"])
    finally:
        get_settings.cache_clear()
    assert listed.exit_code == 0, listed.output
    names = [d["name"] for d in json.loads(listed.stdout)]
    assert {"toy_follow_up", "toy_repair"} <= set(names) and names == sorted(names)
    assert moved.exit_code == 0, moved.output
    assert [(m["id"], m["to_level"]) for m in json.loads(moved.stdout)] == [(cid, "district")]
    assert table.exit_code == 0 and "0 case(s)" in table.stdout  # the SLA clock restarted
