"""The change feed (``GET /api/v1/changes``): every change in commit order, resumable from any cursor, filtered by
type, jurisdiction and time, and scoped like every other read.

World: state 28, district 745 (villages 500001, 500002, 500004) and district 746 (village 500003); one record of
each registry at 500001 (a1), 500004 (a4) and 500003 (b3); then updates, a delete and a restore.
"""

from __future__ import annotations

import datetime as dt
from types import SimpleNamespace

import pytest
from sqlalchemy import select

from jaldpi.core.changelog import ChangeRecord
from jaldpi.core.feed import decode_seq, encode_seq, read_changes
from jaldpi.core.registry import Strategy
from jaldpi.core.security import ANONYMOUS, Grant, Principal
from tests.helpers import ROOT, build_records, build_world, error_of, login_as

URL = "/api/v1/changes"


def _write(node, registry: str, items: list[dict], strategy: Strategy) -> None:
    with node.db.unit_of_work() as session:
        summary = node.catalogue[registry].import_records(session, ROOT, items, strategy=strategy)
        assert summary.status == "ok", summary.to_dict()


@pytest.fixture
def world(client, node):
    build_world(node)
    records = build_records(node)
    hh = records["households"]
    _write(node, "households", [{"id": hh["a1"]["id"], "members_count": 9}], Strategy.update)
    _write(node, "households", [{"id": hh["b3"]["id"]}], Strategy.delete)
    _write(node, "schemes", [{"id": records["schemes"]["a4"]["id"], "name": "Renamed"}], Strategy.update)
    _write(node, "households", [{"id": hh["b3"]["id"], "members_count": 3}], Strategy.update)  # restores it
    headers = {
        "admin": login_as(client, node, "feed-admin", "node_admin", "/"),
        "district": login_as(client, node, "d745", "district_official", "district:745"),
        "partner": login_as(client, node, "p746", "partner_system", "district:746", kind="system"),
    }
    return SimpleNamespace(records=records, headers=headers)


def _all(client, headers=None, **params) -> list[dict]:
    """Read the whole feed page by page, checking the page contract on the way."""
    items, after = [], None
    while True:
        query = dict(params, **({"after": after} if after else {}))
        response = client.get(URL, params=query, headers=headers or {})
        assert response.status_code == 200, response.text
        page = response.json()
        assert set(page) == {"items", "next_cursor", "has_more"}
        items.extend(page["items"])
        if page["items"]:
            assert page["next_cursor"] == page["items"][-1]["cursor"]
        elif after:
            assert page["next_cursor"] == after  # a poller can always store it
        if not page["has_more"]:
            return items
        after = page["next_cursor"]


def _log(node) -> list[tuple[int, str, str, str]]:
    with node.db.unit_of_work(write=False) as session:
        return [tuple(r) for r in session.execute(
            select(ChangeRecord.seq, ChangeRecord.record_type, ChangeRecord.operation, ChangeRecord.lgd_path)
            .order_by(ChangeRecord.seq))]


def test_pages_resume_from_every_cursor_without_gaps_or_duplicates(client, node, world):
    admin = world.headers["admin"]
    everything = _all(client, admin, limit=4)
    log = _log(node)
    # the node administrator reads every published entry: exactly the change log, in seq order
    assert [i["seq"] for i in everything] == [seq for seq, *_ in log]
    assert {i["operation"] for i in everything} == {"create", "update", "delete", "restore"}
    for position, item in enumerate(everything):
        rest = client.get(URL, params={"after": item["cursor"], "limit": 500}, headers=admin).json()
        assert [i["seq"] for i in rest["items"]] == [i["seq"] for i in everything[position + 1:]]
        assert rest["has_more"] is False
    # from the last cursor: nothing, and the same cursor back
    tail = client.get(URL, params={"after": everything[-1]["cursor"]}, headers=admin).json()
    assert tail == {"items": [], "next_cursor": everything[-1]["cursor"], "has_more": False}
    # no cursor at all on an empty selection: the "beginning" cursor, which a poller can store
    empty = client.get(URL, params={"since": "2999-01-01T00:00:00Z"}, headers=admin).json()
    assert empty["items"] == [] and decode_seq(empty["next_cursor"]) == 0


def test_items_carry_the_change_and_deletes_have_no_record(client, node, world):
    items = _all(client, world.headers["admin"], types="households", limit=500)
    b3 = world.records["households"]["b3"]["id"]
    ops = [(i["operation"], i["version"]) for i in items if i["record_id"] == b3]
    assert ops == [("create", 1), ("delete", 2), ("restore", 3)]
    delete = next(i for i in items if i["record_id"] == b3 and i["operation"] == "delete")
    assert delete["record"] is None and delete["lgd"] == {"state": 28, "district": 746, "block": 4002,
                                                          "gram_panchayat": 200002, "village": 500003}
    assert set(delete) == {"seq", "cursor", "record_type", "record_id", "operation", "version", "occurred_at", "actor",
                           "source_system", "lgd_path", "lgd", "record", "changes", "hash", "origin"}
    update = next(i for i in items if i["operation"] == "update" and i["record"]["members_count"] == 9)
    assert update["changes"]["members_count"] == [4, 9]
    assert update["occurred_at"].endswith("Z") and update["actor"] == ROOT.subject
    # personal data never enters the change log, so never the feed
    assert all("head_name" not in (i["record"] or {}) and "phone" not in (i["record"] or {}) for i in items)
    assert len(items[0]["hash"]) == 64 and decode_seq(items[0]["cursor"]) == items[0]["seq"]


def test_type_and_jurisdiction_filters(client, node, world):
    admin = world.headers["admin"]
    log = _log(node)
    two = _all(client, admin, types="households,schemes", limit=3)
    assert [i["seq"] for i in two] == [s for s, t, *_ in log if t in ("households", "schemes")]
    in_745 = _all(client, admin, within="district:745", limit=5)
    assert [i["seq"] for i in in_745] == [s for s, _t, _o, p in log if "/D745/" in p]
    by_path = _all(client, admin, within="/S28/D746/", types="households")
    assert [i["seq"] for i in by_path] == [s for s, t, _o, p in log if t == "households" and p.startswith("/S28/D746/")]
    assert len(by_path) == 3  # create, delete, restore of b3


def test_time_filters_since_inclusive_until_exclusive(client, node, world):
    admin = world.headers["admin"]
    everything = _all(client, admin, limit=500)
    instants = sorted({i["occurred_at"] for i in everything})
    assert len(instants) >= 3  # one per unit of work
    middle = instants[len(instants) // 2]
    since = _all(client, admin, since=middle, limit=500)
    until = _all(client, admin, until=middle, limit=500)
    assert [i["seq"] for i in since] == [i["seq"] for i in everything if i["occurred_at"] >= middle]
    assert [i["seq"] for i in until] == [i["seq"] for i in everything if i["occurred_at"] < middle]
    assert since[0]["occurred_at"] == middle
    # an offset is honoured: the same instant written in IST
    moment = dt.datetime.fromisoformat(middle).astimezone(dt.timezone(dt.timedelta(hours=5, minutes=30)))
    assert [i["seq"] for i in _all(client, admin, since=moment.isoformat(), limit=500)] == [i["seq"] for i in since]


def test_scoping_matrix(client, node, world):
    log = _log(node)
    public = {t for t, permission in node.extras["feed_types"].permissions.items() if permission is None}
    assert "admin_units" in public and "households" not in public
    # anonymous callers read the public types only (the LGD directory)
    anonymous = _all(client, limit=500)
    assert anonymous and {i["record_type"] for i in anonymous} == {"admin_units"}
    assert len(anonymous) == sum(1 for _s, t, *_ in log if t in public)
    types = client.get(URL + "/types").json()["items"]
    assert {t["record_type"] for t in types} == public
    assert all(t["public"] and t["permission"] is None and t["scope"] == ["/"] for t in types)

    # a district official: every readable type, but only in their district (units stay public)
    district = _all(client, world.headers["district"], limit=500)
    assert {i["record_type"] for i in district} >= {"households", "schemes", "entities", "admin_units"}
    assert "accounts" not in {i["record_type"] for i in district}  # no users:manage
    assert all(i["lgd_path"].startswith("/S28/D745/") for i in district if i["record_type"] not in public)
    hh_745 = {world.records["households"][t]["id"] for t in ("a1", "a4")}
    assert {i["record_id"] for i in district if i["record_type"] == "households"} == hh_745
    scopes = {t["record_type"]: t["scope"] for t in
              client.get(URL + "/types", headers=world.headers["district"]).json()["items"]}
    assert scopes["households"] == ["/S28/D745/"] and scopes["admin_units"] == ["/"] and "accounts" not in scopes

    # asking for a type you cannot read is not an error and discloses nothing
    assert _all(client, world.headers["district"], types="accounts") == []
    # a partner in district 746 never sees district 745
    partner = _all(client, world.headers["partner"], types="households,schemes,entities", limit=500)
    assert partner and all(i["lgd_path"].startswith("/S28/D746/") for i in partner)

    # the node administrator also sees account changes (users:manage)
    assert "accounts" in {i["record_type"] for i in _all(client, world.headers["admin"], limit=500)}


def test_read_changes_without_http(node, world):
    feed_types = node.extras["feed_types"]
    official = Principal("x", "person", (Grant("block_official", "/S28/D745/B4001/"),), node.role_permissions)
    with node.db.unit_of_work(write=False) as session:
        page = read_changes(session, feed_types, official, types=["households", "schemes"], limit=500)
        nobody = read_changes(session, feed_types, ANONYMOUS, types=["households"], limit=10, after_seq=7)
    assert page.items and all(i["lgd_path"].startswith("/S28/D745/B4001/") for i in page.items)
    assert {i["record_type"] for i in page.items} == {"households", "schemes"}
    assert nobody.items == [] and nobody.last_seq == 7 and nobody.has_more is False


@pytest.mark.parametrize(("params", "field"), [
    ({"after": "not-a-cursor"}, "after"),
    ({"after": encode_seq(5)[:-2]}, "after"),
    ({"types": "households,nonsense"}, "types"),
    ({"types": ","}, "types"),
    ({"since": "yesterday"}, "since"),
    ({"until": "2026-13-01"}, "until"),
    ({"since": "2026-03-02T00:00:00Z", "until": "2026-03-01T00:00:00Z"}, "until"),
    ({"within": "district:abc"}, "within"),
    ({"limit": "0"}, "limit"),
    ({"cursor": "x"}, "cursor"),
])
def test_bad_parameters_are_422_naming_the_field(client, world, params, field):
    response = client.get(URL, params=params, headers=world.headers["admin"])
    assert response.status_code == 422, response.text
    err = error_of(response)
    assert field in {d["field"] for d in err["details"]} or err["details"][0]["field"].endswith(field), err
    if field == "types" and "nonsense" in params["types"]:
        assert "nonsense" in err["message"]
