"""A committee's world for finance tests: two villages of block 4001, one on a flat tariff, one metered."""

from __future__ import annotations

from jaldpi.core.registry import Strategy
from tests.helpers import ROOT, build_world

V1, V2 = 500001, 500002
FLAT_PLAN = {"code": "TP-FLAT-V1", "village": V1, "kind": "flat", "effective_from": "2025-04-01",
             "flat_amount": "100.00", "exempted_pays_percent": "0", "category_pays_percent": {"sc": "50"},
             "late_fee_percent": "10"}
METERED_PLAN = {"code": "TP-METER-V2", "village": V2, "kind": "metered", "effective_from": "2025-04-01",
                "minimum_charge": "50.00", "slabs": [{"up_to_kl": "10", "rate_per_kl": "5"},
                                                     {"up_to_kl": "20", "rate_per_kl": "8"},
                                                     {"up_to_kl": None, "rate_per_kl": "12"}]}

HOUSEHOLDS = [  # code, village, connected, exempted, social category
    ("HH-GEN", V1, True, False, "general"),
    ("HH-EXEMPT", V1, True, True, "general"),
    ("HH-SC", V1, True, False, "sc"),
    ("HH-NOTAP", V1, False, False, "general"),
    ("HH-M1", V2, True, False, "obc"),
    ("HH-M2", V2, True, False, "obc"),
    ("HH-M3", V2, True, False, "obc"),
    ("HH-M4", V2, True, False, "st"),
]

READINGS = [  # household, date, kl, replaced
    ("HH-M1", "2025-09-30", "100", False), ("HH-M1", "2025-10-31", "125", False),  # 25 kl: 50 + 80 + 60 = 190
    ("HH-M2", "2025-10-01", "0", False), ("HH-M2", "2025-10-31", "4", False),  # 4 kl: 20 < minimum 50
    # HH-M3: no reading in October: minimum charge 50
    ("HH-M4", "2025-09-30", "800", False), ("HH-M4", "2025-10-20", "3", True),  # new meter: 3 kl
    ("HH-M4", "2025-10-31", "14", False),  # + 11 kl = 14 kl: 50 + 32 = 82
]


def build_committee(node) -> dict[str, str]:
    """Units, households, the two plans and October's readings (as ROOT, through the write path)."""
    build_world(node)
    with node.db.unit_of_work() as session:
        households = [{"code": code, "village": village, "members_count": 4, "has_tap_connection": tap,
                       "connected_on": "2025-01-15" if tap else None, "is_exempted": exempted,
                       "social_category": category} for code, village, tap, exempted, category in HOUSEHOLDS]
        for registry, items in (("households", households), ("tariff_plans", [FLAT_PLAN, METERED_PLAN]),
                                ("meter_readings", [{"household": h, "read_on": d, "reading_kl": kl,
                                                     "meter_replaced": r} for h, d, kl, r in READINGS])):
            summary = node.catalogue[registry].import_records(session, ROOT, items, strategy=Strategy.create)
            assert summary.status == "ok", summary.to_dict()
    return {code: code for code, *_ in HOUSEHOLDS}
