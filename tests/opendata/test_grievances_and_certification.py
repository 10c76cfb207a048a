"""The ``grievances`` and ``har_ghar_jal_certification`` datasets on both backends, with hand-checked figures:
complaints filed, resolved, escalated and reopened through the grievance service at known times; a village reported
Har Ghar Jal through the certification API."""

from __future__ import annotations

import datetime as dt
import zoneinfo

import pytest
from fastapi.testclient import TestClient

from jaldpi.grievances import service as grievances
from jaldpi.opendata.build import build_release
from jaldpi.opendata.builders import median, recent_months
from jaldpi.opendata.datasets import DATASETS
from tests.certification.conftest import make_app, report, upload
from tests.conftest import test_settings
from tests.helpers import ROOT, build_world, login_as, make_account

IST = zoneinfo.ZoneInfo("Asia/Kolkata")
SECRET_PHONE, SECRET_NAME = "9811122233", "Bhagwanti Secretname"
SECRET_TEXT = "Pipe burst behind the house of the sarpanch"


@pytest.fixture
def od(database, tmp_path):
    app = make_app(database, tmp_path)
    build_world(app.state.node)
    with TestClient(app) as client:
        yield client, app.state.node, test_settings(database, opendata_dir=tmp_path / "od", opendata_min_cell=2,
                                                    documents_dir=tmp_path / "documents")


def by_key(rows, level, code, category="all", month=None):
    return [r for r in rows if r["level"] == level and r["lgd_code"] == code and r["category"] == category
            and (month is None or r["month"] == month)]


def test_median():
    assert median([]) is None and median([5.0]) == 5.0
    assert median([30.0, 10.0, 20.0]) == 20.0 and median([10.0, 20.0]) == 15.0


def test_grievance_counts_per_block_district_and_state(od):
    client, node, settings = od
    engine = node.extras["workflows"]
    # officials holding the roles the routing looks for: complaints go to the blocks and escalate to the district
    for username, role, within in (("b4001", "block_official", "block:4001"), ("b4003", "block_official",
                                   "block:4003"), ("d745", "district_official", "district:745")):
        make_account(node, username, role, within)
    base = dt.datetime.now(dt.UTC).replace(microsecond=0) - dt.timedelta(days=10)
    month = base.astimezone(IST).strftime("%Y-%m")
    filed = {}
    with node.db.unit_of_work() as session:
        for key, village, category in (("g1", 500001, "no_water"), ("g2", 500001, "no_water"),
                                       ("g3", 500001, "billing"), ("g4", 500004, "leak_burst")):
            filed[key] = grievances.submit_grievance(
                session, node.settings, None, village=village, category=category, description=SECRET_TEXT,
                channel="web", phone=SECRET_PHONE, name=SECRET_NAME, engine=engine, now=base)
    sla = {k: (v["due_at"] - base).total_seconds() / 3600 for k, v in filed.items()}
    assert min(sla.values()) > 20  # g1 and g2 resolve within their time limit, g4 after it

    def resolve(key: str, hours: float) -> None:
        with node.db.unit_of_work() as session:
            grievances.take_transition(session, node.settings, ROOT, filed[key]["reference"], "resolve",
                                       {"resolution_note": "fixed"}, engine=engine,
                                       now=base + dt.timedelta(hours=hours))

    resolve("g1", 10)
    resolve("g2", 20)
    with node.db.unit_of_work() as session:  # g3 and g4 are overdue: escalated once
        escalated = grievances.escalate_overdue(session, node.settings, engine=engine,
                                                now=base + dt.timedelta(hours=max(sla.values()) + 1))
    assert len(escalated) == 2
    resolve("g4", max(sla.values()) + 30)
    with node.db.unit_of_work() as session:  # the citizen does not accept g4's resolution
        grievances.reopen(session, node.settings, filed["g4"]["reference"], filed["g4"]["pin"], "still leaking",
                          engine=engine, now=base + dt.timedelta(hours=max(sla.values()) + 40))
    release = build_release(node.db, settings)
    rows = release.rows("grievances")
    assert {r["level"] for r in rows} == {"state", "district", "block"}  # never a village or GP row
    assert release.manifest["datasets"]["grievances"]["metadata"]["months"] == recent_months(
        dt.date.fromisoformat(release.manifest["as_of"]), 12)
    figures = ("received", "resolved", "resolved_within_sla", "escalated", "reopened", "open",
               "median_resolution_hours", "median_resolution_hours_suppressed")

    def got(level, code, category="all"):
        [row] = by_key(rows, level, code, category, month)
        return tuple(row[f] for f in figures)

    assert got("block", 4001) == (3, 2, 2, 1, 0, 3, 15.0, False)
    assert got("block", 4001, "no_water") == (2, 2, 2, 0, 0, 2, 15.0, False)
    assert got("block", 4001, "billing") == (1, 0, 0, 1, 0, 1, None, False)
    # one resolved complaint: its median would be one citizen's case, withheld (k = 2)
    assert got("block", 4003) == (1, 1, 0, 1, 1, 1, None, True)
    g4_hours = round(max(sla.values()) + 30, 1)
    assert got("district", 745) == (4, 3, 2, 2, 1, 4, 20.0, False)
    assert got("state", 28)[:6] == (4, 3, 2, 2, 1, 4) and got("state", 28)[6] == 20.0 < g4_hours
    assert got("block", 4002) == (0, 0, 0, 0, 0, 0, None, False)  # "no complaint" is published as zeros
    assert by_key(rows, "block", 4002, "no_water", month) == []
    # every unit has an "all" row for each of the 12 months
    assert len([r for r in rows if r["lgd_code"] == 4002]) == 12
    # withheld medians: block 4003 (all, leak_burst) and the leak_burst rows of district 745 and the state
    assert got("district", 745, "leak_burst") == (1, 1, 0, 1, 1, 1, None, True)
    assert release.manifest["datasets"]["grievances"]["suppressed_cells"] == 4
    # nothing about a complaint itself: no text, reference, PIN or contact in any file of the dataset
    for fmt in ("csv", "parquet", "datapackage"):
        data = release.file("grievances", fmt).read_bytes()
        for secret in (SECRET_TEXT, SECRET_PHONE, SECRET_NAME, *(f["reference"] for f in filed.values())):
            assert secret.encode() not in data, (fmt, secret)


def test_certification_per_village_and_counts_above(od):
    client, node, settings = od
    headers = login_as(client, node, "block-4001", "block_official", "block:4001")
    certificate = upload(client, headers, "completion_certificate")
    assert report(client, headers, certificate, reported_on="2025-01-15").status_code in (200, 201)
    release = build_release(node.db, settings)
    rows = release.rows("har_ghar_jal_certification")
    villages = {r["lgd_code"]: r for r in rows if r["level"] == "village"}
    assert villages[500001]["certification_status"] == "reported"
    assert villages[500001]["reported_on"] == dt.date(2025, 1, 15) and villages[500001]["certified_on"] is None
    assert villages[500002]["certification_status"] == "not_reported" and villages[500002]["reported_on"] is None
    above = {(r["level"], r["lgd_code"]): (r["villages"], r["villages_reported"], r["villages_certified"])
             for r in rows if r["level"] != "village"}
    assert above[("block", 4001)] == (2, 1, 0) and above[("district", 745)] == (3, 1, 0)
    assert above[("district", 746)] == (1, 0, 0) and above[("state", 28)] == (4, 1, 0)
    assert above[("gram_panchayat", 200001)] == (2, 1, 0)
    assert all(r["certification_status"] is None for r in rows if r["level"] != "village")
    meta = release.manifest["datasets"]["har_ghar_jal_certification"]["metadata"]
    assert meta["villages_by_status"] == {"not_reported": 3, "reported": 1}
    assert set(DATASETS["har_ghar_jal_certification"].granularity) == {r["level"] for r in rows}
