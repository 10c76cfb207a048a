"""The sandbox seeds a few grievances in various states, through the service; running it twice adds nothing."""

from __future__ import annotations

from jaldpi.grievances.sandbox import PLANS, seed_demo
from tests.helpers import build_records


def test_seed_demo_writes_grievances_in_several_states_once(gnode, world):
    build_records(gnode, registries=("schemes",))
    counts = seed_demo(gnode)
    villages = counts.pop("villages")
    assert villages == 3  # the three villages the helper's schemes serve
    assert counts == {"assigned": villages, "in_progress": villages, "resolved": villages, "closed": villages,
                      "rejected": villages, "reopened": villages}
    assert sum(counts.values()) == villages * len(PLANS)
    again = seed_demo(gnode)
    assert again == counts
