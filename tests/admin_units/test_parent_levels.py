"""A bare LGD code names a parent unambiguously: the allowed parent levels come from the child's level."""

from jaldpi.core.registry import Strategy
from tests.helpers import ROOT


def test_bare_lgd_code_parent_resolves_by_the_childs_level(node):
    registry = node.catalogue["admin_units"]
    units = [
        {"level": "state", "lgd_code": 28, "name": "State 28"},
        {"level": "state", "lgd_code": 29, "name": "State 29"},
        # district 28 shares its number with state 28 (LGD codes are unique per level only)
        {"level": "district", "lgd_code": 28, "name": "District 28", "parent": 29},
        {"level": "district", "lgd_code": 700, "name": "District 700", "parent": 28},
        {"level": "block", "lgd_code": 5000, "name": "Block 5000", "parent": 28},
    ]
    with node.db.unit_of_work() as session:
        summary = registry.import_records(session, ROOT, units, strategy=Strategy.create)
        assert summary.status == "ok", summary.to_dict()["rows"]
    with node.db.unit_of_work(write=False) as session:
        district = registry.get(session, ROOT, "LGD-D700")
        block = registry.get(session, ROOT, "LGD-B5000")
        history = registry.history(session, ROOT, "LGD-B5000")
    assert district["lgd_path"] == "/S28/D700/"  # parent 28 for a district means state 28
    assert block["lgd_path"] == "/S29/D28/B5000/"  # parent 28 for a block means district 28
    assert history[0]["record"]["lgd_path"] == "/S29/D28/B5000/" and history[0]["record"]["name"] == "Block 5000"
