"""A real node for the SDK tests: the app served by uvicorn on a free port, with a small state and two accounts.

One server per backend (and xdist worker) for the whole session; the ``database`` fixture empties the tables before
each test, so every test still starts from an empty node.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import pytest

from jaldpi.client import JaldpiClient, new_id
from tests.helpers import World, build_world, make_account
from tests.liveserver import serve

PASSWORD = "password-123"  # tests.helpers.make_account's password


@pytest.fixture(scope="session")
def live_url(_shared_app) -> Iterator[str]:
    with serve(_shared_app) as base_url:
        yield base_url


@dataclass
class LiveNode:
    """A served node with state 28 (tests.helpers.build_world), a partner system over the state (client id
    ``state-mis``, writes recorded as source system ``state-mis``) and a district official of district 745."""

    url: str
    node: object
    world: World

    def partner(self, **kwargs) -> JaldpiClient:
        return JaldpiClient(self.url, client_id="state-mis", client_secret=PASSWORD, **kwargs)

    def official(self, **kwargs) -> JaldpiClient:
        return JaldpiClient(self.url, username="d745", password=PASSWORD, **kwargs)


@pytest.fixture
def live(app, node, live_url) -> LiveNode:
    world = build_world(node)
    make_account(node, "state-mis", "partner_system", "state:28", kind="system", source_system="state-mis")
    make_account(node, "d745", "district_official", "district:745")
    return LiveNode(live_url, node, world)


@pytest.fixture
def partner(live) -> Iterator[JaldpiClient]:
    with live.partner(backoff_base=0.01) as client:
        yield client


@pytest.fixture
def official(live) -> Iterator[JaldpiClient]:
    with live.official(backoff_base=0.01) as client:
        yield client


def households(village: int, count: int, *, tag: str = "h") -> list[dict]:
    """``count`` valid household rows in ``village``, with client-minted ids and external ids ``mis: <tag><i>``."""
    return [{"id": str(new_id()), "village": village, "members_count": 1 + i % 7, "external_ids": {"mis": f"{tag}{i}"}}
            for i in range(count)]
