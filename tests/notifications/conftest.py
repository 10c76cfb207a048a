"""Shared set-up for notification tests: settings whose file backend writes under the test's tmp_path."""

from __future__ import annotations

import pytest

from tests.conftest import test_settings
from tests.helpers import build_world, make_account


@pytest.fixture
def nsettings(database, tmp_path):
    """Test settings with the outbox files in tmp_path, no backoff jitter to wait for (base 60 s as shipped)."""
    return test_settings(database, notifications_dir=tmp_path / "notifications")


@pytest.fixture
def world(node):
    return build_world(node)


@pytest.fixture
def staff(node, world):
    """Operators and engineers at different depths of district 745: who notify_role should pick."""
    paths = {
        "op-a1": ("vwsc_operator", "village:500001"),
        "op-a4": ("vwsc_operator", "village:500004"),
        "block-eng": ("block_official", "block:4001"),
        "district-eng": ("district_official", "district:745"),
        "district-eng-2": ("block_official", "district:745"),
    }
    for username, (role, within) in paths.items():
        make_account(node, username, role, within)
    return paths
