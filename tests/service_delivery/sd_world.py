"""A small service-delivery world on the two-district state of tests/helpers.py: households and commissioned
single-village schemes (schedule 06:00-08:00) for villages 500001, 500002, 500004 (district 745) and 500003 (746)."""

from __future__ import annotations

import datetime as dt

from jaldpi.core.registry import Strategy
from tests.helpers import ROOT, build_world

V1 = "/S28/D745/B4001/G200001/V500001/"
V2 = "/S28/D745/B4001/G200001/V500002/"
V4 = "/S28/D745/B4003/G200003/V500004/"
V3 = "/S28/D746/B4002/G200002/V500003/"

# village -> (households, members each): 20, 15, 10 and 16 persons
HOUSEHOLDS = {500001: (5, 4), 500002: (3, 5), 500004: (2, 5), 500003: (4, 4)}
SCHEDULE = {"start": "06:00", "end": "08:00"}


def build_sd(node, chlorinated: tuple[int, ...] = (500001,)) -> dict[int, str]:
    """Returns scheme codes by village LGD code."""
    build_world(node)
    with node.db.unit_of_work() as session:
        households = [{"village": v, "members_count": m, "has_tap_connection": True}
                      for v, (n, m) in HOUSEHOLDS.items() for _ in range(n)]
        s = node.catalogue["households"].import_records(session, ROOT, households, strategy=Strategy.create)
        assert s.status == "ok", s.to_dict()
        schemes = [{"name": f"SVS {v}", "scheme_type": "svs", "villages": [v], "lifecycle_status": "commissioned",
                    "attributes": {"supply_schedule": SCHEDULE, "chlorinated": v in chlorinated}}
                   for v in HOUSEHOLDS]
        s = node.catalogue["schemes"].import_records(session, ROOT, schemes, strategy=Strategy.create)
        assert s.status == "ok", s.to_dict()
        return {v: row.code for v, row in zip(HOUSEHOLDS, s.rows, strict=True)}


def days(month: str = "2026-10", count: int | None = None) -> list[str]:
    first = dt.date.fromisoformat(month + "-01")
    out = []
    d = first
    while d.month == first.month and (count is None or len(out) < count):
        out.append(d.isoformat())
        d += dt.timedelta(days=1)
    return out


def record(scheme: str, village: int, day: str, **fields) -> dict:
    base = {"scheme": scheme, "village": village, "supply_date": day, "supplied": True,
            "start_time": "06:00", "end_time": "08:00"}
    return base | fields


def write(node, records: list[dict]) -> None:
    with node.db.unit_of_work() as session:
        s = node.catalogue["supply_records"].import_records(session, ROOT, records)
        assert s.status == "ok", s.to_dict()
