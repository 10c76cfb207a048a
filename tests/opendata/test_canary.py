"""Canary personal data planted in a sandbox world never reaches a dataset, a download or a log; the sandbox
world's datasets agree with the domain services."""

from __future__ import annotations

import datetime as dt
import logging

from jaldpi.core.registry import Strategy
from jaldpi.opendata.build import build_release
from jaldpi.opendata.datasets import DATASETS
from jaldpi.people.schemas import _verhoeff_ok
from jaldpi.sandbox.generate import Scale, generate
from jaldpi.sandbox.lgd import SEED_DIR
from jaldpi.service_delivery.service import Rules, functionality
from tests.conftest import test_settings
from tests.helpers import ROOT

TINY = Scale("tiny", "one", (2, 3), (1, 2), (4, 8))


def _verhoeff_check_digit(number: str) -> str:
    """The digit that makes ``number`` + digit pass the Aadhaar Verhoeff check the schema applies."""
    return next(d for d in "0123456789" if _verhoeff_ok(number + d))


AADHAAR = "73921846502" + _verhoeff_check_digit("73921846502")
CANARIES = {"name": "Zorbaxelline Quintrapuvati", "phone": "9812376450", "aadhaar": AADHAAR,
            "ration_card": "RC-CANARY-55501"}


def test_canary_personal_data_appears_in_no_file_and_no_log(node, database, tmp_path, caplog):
    generate(node.db, node.catalogue, seed=5, scale=TINY, lgd_dir=SEED_DIR)
    with node.db.unit_of_work(write=False) as session:
        from sqlalchemy import select

        from jaldpi.admin_units.models import AdminUnit

        village = session.execute(select(AdminUnit.lgd_code).where(AdminUnit.level == "village")
                                  .order_by(AdminUnit.lgd_code).limit(1)).scalar_one()
    items = [{"village": village, "members_count": 3, "has_tap_connection": True, "head_name": CANARIES["name"],
              "phone": CANARIES["phone"], "ration_card": CANARIES["ration_card"],
              "external_ids": {"canary": f"CANARY-EXT-7{i}"}} for i in range(12)]
    items[0]["aadhaar"] = CANARIES["aadhaar"]  # an identity number is unique to one household
    with node.db.unit_of_work() as session:
        summary = node.catalogue["households"].import_records(session, ROOT, items, strategy=Strategy.create)
        assert summary.status == "ok", summary.to_dict()
    settings = test_settings(database, opendata_dir=tmp_path / "od", opendata_dp_seed=3)
    with caplog.at_level(logging.DEBUG):
        release = build_release(node.db, settings)
    needles = [*CANARIES.values(), AADHAAR[-4:] + "\"", "CANARY-EXT-7", "Kamala"]
    files = [p for p in release.directory.rglob("*") if p.is_file()]
    # manifest; every dataset x (csv, parquet, datapackage); 1 geojson
    assert len(files) == 1 + len(DATASETS) * 3 + 1
    for path in files:
        data = path.read_bytes()
        for needle in needles:
            assert needle.encode() not in data, (path.name, needle)
    for needle in needles:
        assert needle not in caplog.text
    # the synthetic households' own personal data (names, phones) do not leak either: no column can hold them
    assert all(not column.startswith(("head", "phone", "aadhaar", "ration", "collected_by", "created_by"))
               for entry in release.manifest["datasets"] for column in release.rows(entry)[0])


def test_sandbox_datasets_agree_with_the_domain_services(node, database, tmp_path):
    generate(node.db, node.catalogue, seed=5, scale=TINY, lgd_dir=SEED_DIR)
    settings = test_settings(database, opendata_dir=tmp_path / "od", opendata_dp_seed=3, opendata_service_months=1)
    release = build_release(node.db, settings)
    tap = release.rows("tap_coverage")
    state = next(r for r in tap if r["level"] == "state")
    villages = [r for r in tap if r["level"] == "village"]
    assert state["villages"] == len(villages) > 0 and state["households"] > 0
    assert release.manifest["datasets"]["tap_coverage"]["metadata"]["villages_without_point"] == 0
    inventory = release.rows("scheme_inventory")
    schemes = sum(r["count"] for r in inventory if r["level"] == "state" and r["asset"] == "scheme")
    from sqlalchemy import func, select

    from jaldpi.assets.models import Scheme
    from jaldpi.water_quality.models import Sample

    with node.db.unit_of_work(write=False) as session:
        assert schemes == session.execute(select(func.count()).select_from(Scheme)).scalar_one()
        judged = session.execute(select(func.count()).select_from(Sample)
                                 .where(Sample.verdict.in_(("safe", "unsafe")))).scalar_one()
        month = dt.date.today().strftime("%Y-%m")
        expected = functionality(session, ROOT, month, Rules.from_settings(settings), "state")
    wq = [r for r in release.rows("water_quality_tests") if r["level"] == "state" and r["parameter"] == "all"
          and r["period"].startswith("FY")]
    assert sum(r["samples_tested"] for r in wq) == judged  # every judged sample falls in one financial year
    service = [r for r in release.rows("service_levels") if r["level"] == "state"]
    if expected["units"]:
        unit = expected["units"][0]
        assert service[0]["villages"] == unit["villages"]
        assert service[0]["villages_functional"] == unit["functional"]
