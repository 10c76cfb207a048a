"""Shared set-up for webhook tests: the two-district world, partner accounts, writes as ROOT, a dispatcher."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from jaldpi.core.registry import Strategy
from jaldpi.webhooks.dispatcher import Dispatcher
from tests.conftest import test_settings
from tests.helpers import ROOT, build_world, login_as, record_payload


@pytest.fixture
def world(client, node):
    build_world(node)
    return SimpleNamespace(
        partner=login_as(client, node, "partner745", "partner_system", "district:745", kind="system"),
        partner746=login_as(client, node, "partner746", "partner_system", "district:746", kind="system"),
        admin=login_as(client, node, "hook-admin", "node_admin", "/"),
    )


def write(node, registry: str, items: list[dict], strategy: Strategy = Strategy.create) -> list[str]:
    """Write through the one write path as ROOT; returns the ids of the rows."""
    with node.db.unit_of_work() as session:
        summary = node.catalogue[registry].import_records(session, ROOT, items, strategy=strategy)
        assert summary.status == "ok", summary.to_dict()
    return [str(row.id) for row in summary.rows]


def households(node, *villages: int) -> list[str]:
    return write(node, "households", [record_payload("households", v, f"h{i}") | {"external_ids": {}}
                                      for i, v in enumerate(villages)])


@pytest.fixture
def make_dispatcher(node, database):
    """A dispatcher with settings overrides (e.g. zero backoff); jitter fixed at its maximum (deterministic)."""
    made = []

    def build(**overrides) -> Dispatcher:
        settings = test_settings(database, **overrides)
        dispatcher = Dispatcher(node.db, settings, node.extras["feed_types"], node.role_permissions,
                                jitter=lambda: 1.0)
        made.append(dispatcher)
        return dispatcher

    yield build
    for dispatcher in made:
        dispatcher.close()


def subscribe(client, headers, url: str, **body) -> dict:
    response = client.post("/api/v1/webhooks", json={"url": url, "event_types": ["*"], **body}, headers=headers)
    assert response.status_code == 201, response.text
    return response.json()
