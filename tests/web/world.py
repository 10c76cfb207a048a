"""A sandbox-like world for the Citizen Corner: the two-district state of tests/helpers.py with village centroids and
Hindi names, households (one carrying planted personal data), schemes, water samples, supply records of the last
days, and a built open-data release.

Households and taps (disclosure threshold 10):
* 500001 Alpha One (Hindi अल्फा एक): 12 households, all with a tap -> Har Ghar Jal;
* 500002 Alpha Two: 15 households, 7 with a tap -> in progress;
* 500004 Alpha East One: 4 households, 0 taps -> not started, counts suppressed (4 < 10);
* 500003 Beta One: 20 households, 20 taps -> Har Ghar Jal.
Water: 500001 has a lab sample of its source 20 days ago failing on arsenic (collected by the planted collector
name) and a lab sample of a tap 5 days ago within limits: the village is unsafe (arsenic).
Supply: 500001 got 3.0 kL on each of the last 10 days (12 x 5 persons = 60 persons: 50 lpcd, below the 55 norm),
on schedule.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from jaldpi.app import create_app
from jaldpi.core.registry import Strategy
from jaldpi.opendata.build import build_release
from tests.conftest import test_settings
from tests.helpers import ROOT, UNITS

PLANTED_HEAD_NAME = "Zubeida Plantedname Khatun"
PLANTED_PHONE = "9123456780"
PLANTED_COLLECTOR = "Collector Secretname"
CENTROIDS = {500001: (80.10, 16.50), 500002: (80.14, 16.52), 500004: (80.30, 16.40), 500003: (81.00, 17.00)}
HINDI_NAMES = {500001: "अल्फा एक", 745: "अल्फा", 28: "आंध्र प्रदेश"}
TAPS = {500001: (12, 12), 500002: (15, 7), 500004: (4, 0), 500003: (20, 20)}  # village -> (households, with tap)
SUPPLY_DAYS = 10


def citizen_units() -> list[dict]:
    units = []
    for unit in UNITS:
        unit = dict(unit)
        code = unit["lgd_code"]
        if code in HINDI_NAMES and unit["level"] in ("village", "district", "state"):
            unit["name_local"] = HINDI_NAMES[code]
        if unit["level"] == "village":
            unit["attributes"] = {"centroid": list(CENTROIDS[code])}
        units.append(unit)
    return units


def build_citizen_world(node, today: dt.date | None = None) -> dict[str, str]:
    """Writes the world through the registries' one write path; returns the scheme codes by name."""
    today = today or dt.date.today()
    catalogue = node.catalogue
    with node.db.unit_of_work() as session:
        s = catalogue["admin_units"].import_records(session, ROOT, citizen_units(), strategy=Strategy.create)
        assert s.status == "ok", s.to_dict()
    with node.db.unit_of_work() as session:
        households = []
        for village, (count, taps) in TAPS.items():
            for i in range(count):
                households.append({"village": village, "members_count": 5, "has_tap_connection": i < taps})
        households[0] |= {"head_name": PLANTED_HEAD_NAME, "phone": PLANTED_PHONE}
        s = catalogue["households"].import_records(session, ROOT, households, strategy=Strategy.create)
        assert s.status == "ok", s.to_dict()
        schemes = [
            {"name": "Alpha Jal Yojana", "scheme_type": "mvs", "villages": [500001, 500002],
             "lifecycle_status": "commissioned", "commissioned_on": "2024-03-15",
             "attributes": {"supply_schedule": {"start": "06:00", "end": "08:00"}}},
            {"name": "Alpha East SVS", "scheme_type": "svs", "villages": [500004], "lifecycle_status": "sanctioned"},
        ]
        s = catalogue["schemes"].import_records(session, ROOT, schemes, strategy=Strategy.create)
        assert s.status == "ok", s.to_dict()
        scheme_codes = {item["name"]: row.code for item, row in zip(schemes, s.rows, strict=True)}
        lab = catalogue["entities"].import_records(session, ROOT, [{
            "entity_type": "water_quality_lab", "name": "Alpha District Lab", "admin_unit": {"code": "LGD-D745"},
            "lab_level": "district"}], strategy=Strategy.create)
        assert lab.status == "ok", lab.to_dict()
        point = catalogue["sampling_points"].import_records(session, ROOT, [
            {"point_type": "source", "admin_unit": 500001, "name": "Borewell near school"},
            {"point_type": "household_tap", "admin_unit": 500001, "name": "Tap near the panchayat office"}],
            strategy=Strategy.create)
        assert point.status == "ok", point.to_dict()
        when = dt.datetime.combine(today, dt.time(8), dt.UTC)
        samples = [
            {"sampling_point": str(point.rows[0].id), "test_kind": "lab", "lab": str(lab.rows[0].id),
             "collected_at": (when - dt.timedelta(days=20)).isoformat(), "collected_by": PLANTED_COLLECTOR,
             "results": [{"parameter": "arsenic", "value": "0.08"}]},
            {"sampling_point": str(point.rows[1].id), "test_kind": "lab", "lab": str(lab.rows[0].id),
             "collected_at": (when - dt.timedelta(days=5)).isoformat(), "collected_by": PLANTED_COLLECTOR,
             "results": [{"parameter": "fluoride", "value": "0.5"}]},
        ]
        s = catalogue["samples"].import_records(session, ROOT, samples, strategy=Strategy.create)
        assert s.status == "ok", s.to_dict()
    with node.db.unit_of_work() as session:
        records = [{"scheme": scheme_codes["Alpha Jal Yojana"], "village": 500001,
                    "supply_date": (today - dt.timedelta(days=i)).isoformat(), "supplied": True,
                    "start_time": "06:00", "end_time": "08:00", "volume_supplied_kl": 3.0}
                   for i in range(1, SUPPLY_DAYS + 1)]
        s = catalogue["supply_records"].import_records(session, ROOT, records)
        assert s.status == "ok", s.to_dict()
    return scheme_codes


def citizen_app(database, opendata_dir: Path, *, release: bool = True):
    """An app whose open-data directory is ``opendata_dir``, with the world written and (optionally) released."""
    settings = test_settings(database, opendata_dir=opendata_dir)
    app = create_app(settings, database)
    build_citizen_world(app.state.node)
    if release:
        build_release(database, settings, force=True)
    return app
