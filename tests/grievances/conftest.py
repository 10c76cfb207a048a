"""A node of its own per test (its notifications go to a temporary directory, its SMS gateway has a token), with
the helpers' world: villages 500001 and 500002 (block 4001, district 745), 500004 (block 4003), 500003 (district
746); a village operator at 500001 and block officials of 4001 and 4003, each with an SMS contact."""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json

import pytest
from fastapi.testclient import TestClient

from jaldpi.core.security import Grant, Principal
from jaldpi.standard.codelists import role_permissions
from tests.conftest import test_settings
from tests.helpers import build_world, make_account

V1 = "/S28/D745/B4001/G200001/V500001/"
V2 = "/S28/D745/B4001/G200001/V500002/"
V4 = "/S28/D745/B4003/G200003/V500004/"
BLOCK_4001 = "/S28/D745/B4001/"
GATEWAY_TOKEN = "gateway-secret-for-tests"
CITIZEN = "9876500001"
OPERATOR_PHONE = "9000000001"
BLOCK_PHONE = "9000000002"
T0 = dt.datetime(2030, 1, 1, 6, 0, tzinfo=dt.UTC)


@pytest.fixture(scope="session")
def _grievance_app(migrated_database, tmp_path_factory):
    """One app per backend (building it costs about a second): its outbox directory is emptied for every test."""
    from jaldpi.app import create_app

    settings = test_settings(migrated_database, notifications_dir=tmp_path_factory.mktemp("outbox"),
                             sms_gateway_token=GATEWAY_TOKEN, gc_first_threshold=0)
    return create_app(settings, migrated_database)


@pytest.fixture
def gapp(_grievance_app, database):
    from jaldpi.notifications.testing import clear_sent_messages

    clear_sent_messages(_grievance_app.state.node.settings)
    return _grievance_app


@pytest.fixture
def gnode(gapp):
    return gapp.state.node


@pytest.fixture
def gclient(gapp):
    with TestClient(gapp) as c:
        yield c


@pytest.fixture
def engine(gnode):
    return gnode.extras["workflows"]


@pytest.fixture
def world(gnode):
    return build_world(gnode)


def staff(node, username: str, role: str, path: str, phone: str | None = None, language: str = "en") -> Principal:
    """An account holding ``role`` over ``path`` (with an SMS contact when ``phone`` is given)."""
    from jaldpi.notifications.service import add_contact

    make_account(node, username, role, path)
    if phone:
        admin = Principal("test-admin", "person", (Grant("node_admin", "/"),), role_permissions())
        with node.db.unit_of_work() as session:
            add_contact(session, node.settings, admin, channel="sms", address=phone, language=language,
                        account=username)
    return Principal(username, "person", (Grant(role, path),), role_permissions(), source_system="test-node")


@pytest.fixture
def operator(gnode, world):
    return staff(gnode, "vwsc-500001", "vwsc_operator", V1, OPERATOR_PHONE)


@pytest.fixture
def block(gnode, world):
    return staff(gnode, "block-4001", "block_official", BLOCK_4001, BLOCK_PHONE)


def sms(client, text: str, sender: str = CITIZEN, message_id: str | None = None, *, sign: bool = False,
        form: bool = False):
    body = {"from": sender, "text": text, "message_id": message_id or f"m-{abs(hash((text, sender)))}"}
    if form:
        return client.post("/sms/v1/inbound", data=body, headers={"X-Gateway-Token": GATEWAY_TOKEN})
    raw = json.dumps(body).encode()
    headers = {"Content-Type": "application/json"}
    if sign:
        headers["X-Gateway-Signature"] = "sha256=" + hmac.new(GATEWAY_TOKEN.encode(), raw, hashlib.sha256).hexdigest()
    else:
        headers["X-Gateway-Token"] = GATEWAY_TOKEN
    return client.post("/sms/v1/inbound", content=raw, headers=headers)


def sent(node, to: str | None = None) -> list[dict]:
    """SMS the node has sent (dispatching what is queued first), optionally only those to ``to``."""
    from jaldpi.notifications.service import dispatch_pending
    from jaldpi.notifications.testing import sent_messages

    dispatch_pending(node.db, node.settings)
    return [m for m in sent_messages(node.settings, "sms") if to is None or m["to"].endswith(to[-10:])]
