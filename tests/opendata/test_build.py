"""Building releases from real registries (both backends): rows, suppression, DP, formats, atomicity, CLI."""

from __future__ import annotations

import csv
import datetime as dt
import json

import duckdb
import pytest
from typer.testing import CliRunner

from jaldpi.cli import app as cli_app
from jaldpi.config import get_settings
from jaldpi.core.registry import Strategy
from jaldpi.opendata.build import build_release
from jaldpi.opendata.builders import BUILDERS, financial_year, recent_months, wq_periods
from jaldpi.opendata.datasets import DATASETS
from jaldpi.opendata.formats import sha256_of
from jaldpi.opendata.store import latest_pointer, latest_release, list_releases, read_csv_rows
from tests.conftest import test_settings
from tests.helpers import ROOT, build_world

# village -> (households, with tap). 500001 (7) is below the threshold; its sibling 500002 must hide too.
HOUSEHOLDS = {500001: (7, 3), 500002: (25, 10), 500004: (30, 30), 500003: (12, 0)}
CATEGORIES = ("sc", "st", "obc", "general")


@pytest.fixture
def od_settings(database, tmp_path):
    return test_settings(database, opendata_dir=tmp_path / "od", opendata_dp_seed=11)


def add_households(node, households=HOUSEHOLDS, **extra) -> None:
    items = [{"village": village, "members_count": 4, "social_category": CATEGORIES[i % 4],
              "has_tap_connection": i < taps, **extra}
             for village, (count, taps) in households.items() for i in range(count)]
    with node.db.unit_of_work() as session:
        summary = node.catalogue["households"].import_records(session, ROOT, items, strategy=Strategy.create)
        assert summary.status == "ok", summary.to_dict()


def by_code(rows, level):
    return {r["lgd_code"]: r for r in rows if r["level"] == level}


def test_tap_coverage_counts_statuses_and_suppression(node, od_settings):
    build_world(node)
    add_households(node)
    release = build_release(node.db, od_settings)
    rows = release.rows("tap_coverage")
    assert [r["level"] for r in rows][:3] == ["state", "district", "district"]
    villages, gps = by_code(rows, "village"), by_code(rows, "gram_panchayat")
    # primary (7 households) and complementary (the sibling in the same GP), the GP total published
    assert villages[500001]["households"] is None and villages[500001]["households_suppressed"] is True
    assert villages[500002]["households"] is None and villages[500002]["households_suppressed"] is True
    assert gps[200001]["households"] == 32 and gps[200001]["households_suppressed"] is False
    assert (gps[200001]["households_with_tap"], gps[200001]["households_without_tap"]) == (13, 19)
    assert gps[200001]["coverage_percent"] == 40.6
    # derived with their sources; published values are the true ones
    assert villages[500001]["coverage_percent"] is None and villages[500001]["coverage_percent_suppressed"] is True
    assert villages[500004]["households"] == 30 and villages[500004]["households_with_tap"] == 30
    assert villages[500004]["coverage_percent"] == 100.0 and villages[500004]["har_ghar_jal_status"] == "har_ghar_jal"
    assert villages[500003]["households_with_tap"] == 0 and villages[500003]["har_ghar_jal_status"] == "not_started"
    assert villages[500002]["har_ghar_jal_status"] == "in_progress"
    state = by_code(rows, "state")[28]
    assert state["households"] == 74 and state["villages"] == 4
    assert (state["villages_har_ghar_jal"], state["villages_in_progress"], state["villages_not_started"]) == (1, 2, 1)
    assert state["har_ghar_jal_status"] is None
    # no small count anywhere, and never a zero standing in for a hidden one
    for row in rows:
        for column in DATASETS["tap_coverage"].household_count_columns:
            assert row[column] is None or row[column] == 0 or row[column] >= 10, (row["lgd_code"], column)
            assert (row[column] is None) == row[f"{column}_suppressed"]
    entry = release.manifest["datasets"]["tap_coverage"]
    assert entry["suppressed_cells"] > 0 and entry["metadata"]["primary_suppressed_cells"] > 0
    assert release.manifest["disclosure"]["threshold"] == 10


def test_threshold_is_a_setting(node, database, tmp_path):
    build_world(node)
    add_households(node)
    settings = test_settings(database, opendata_dir=tmp_path / "od", opendata_min_cell=5, opendata_dp_enabled=False)
    release = build_release(node.db, settings)
    villages = by_code(release.rows("tap_coverage"), "village")
    assert villages[500001]["households"] == 7  # 7 >= 5: published
    assert "household_connections_dp" not in release.manifest["datasets"]
    assert release.manifest["disclosure"]["threshold"] == 5


def test_formats_read_back_and_the_datapackage_is_frictionless(node, od_settings):
    build_world(node)
    add_households(node)
    release = build_release(node.db, od_settings)
    for name, entry in release.manifest["datasets"].items():
        spec = DATASETS[name]
        csv_path = release.file(name, "csv")
        with csv_path.open(encoding="utf-8", newline="") as handle:
            reader = csv.reader(handle)
            header = next(reader)
            body = list(reader)
        assert header == spec.column_names and len(body) == entry["rows"]
        parquet = duckdb.connect().execute(f"SELECT * FROM read_parquet('{release.file(name, 'parquet')}')")
        assert [d[0] for d in parquet.description] == spec.column_names
        assert len(parquet.fetchall()) == entry["rows"]
        assert entry["sha256"]["csv"] == sha256_of(csv_path)
        package = json.loads(release.file(name, "datapackage").read_text(encoding="utf-8"))
        assert package["profile"] == "tabular-data-package" and package["name"].islower()
        assert package["licenses"] == [{"name": "GODL-India", "title": "Government Open Data License - India",
                                        "path": "https://data.gov.in/sites/default/files/"
                                                "Gazette_Notification_OGDL.pdf"}]
        assert package["created"].endswith("Z") and package["sources"]
        assert package["jaldpi:disclosure"]["threshold"] == 10
        formats = {r["format"] for r in package["resources"]}
        assert formats == ({"csv", "parquet", "geojson"} if spec.has_points else {"csv", "parquet"})
        for resource in package["resources"]:
            path = csv_path.parent / resource["path"]
            assert resource["bytes"] == path.stat().st_size
            assert resource["hash"] == f"sha256:{sha256_of(path)}"
            assert set(resource) >= {"name", "path", "format", "mediatype", "profile"}
        table = next(r for r in package["resources"] if r["format"] == "csv")
        assert table["profile"] == "tabular-data-resource"
        fields = table["schema"]["fields"]
        assert [f["name"] for f in fields] == spec.column_names
        assert all(f["type"] in {"string", "integer", "number", "date", "boolean"} and f["description"]
                   for f in fields)
    tap = json.loads(release.file("tap_coverage", "datapackage").read_text())
    flagged = {f["name"] for f in tap["resources"][0]["schema"]["fields"] if f.get("jaldpi:household_count")}
    assert flagged == {"households", "households_with_tap", "households_without_tap"}


def test_geojson_village_points_centroid_or_components(node, od_settings):
    build_world(node)
    add_households(node)
    with node.db.unit_of_work() as session:
        registry = node.catalogue["admin_units"]
        summary = registry.import_records(session, ROOT, [
            {"level": "village", "lgd_code": 500001, "name": "Alpha One", "parent": {"code": "LGD-G200001"},
             "attributes": {"centroid": [78.5, 17.25]}}], strategy=Strategy.create_and_update)
        assert summary.status == "ok", summary.to_dict()
        schemes = node.catalogue["schemes"].import_records(session, ROOT, [
            {"name": "S", "scheme_type": "svs", "villages": [500002], "external_ids": {"test": "s1"}}],
            strategy=Strategy.create)
        assert schemes.status == "ok", schemes.to_dict()
        taps = node.catalogue["components"].import_records(session, ROOT, [
            {"scheme": {"external_id": {"system": "test", "value": "s1"}}, "component_type": "fhtc",
             "village": 500002, "geometry": {"type": "Point", "coordinates": [lon, 17.5]}} for lon in (78.0, 79.0)],
            strategy=Strategy.create)
        assert taps.status == "ok", taps.to_dict()
    release = build_release(node.db, od_settings)
    body = json.loads(release.file("tap_coverage", "geojson").read_text(encoding="utf-8"))
    assert body["type"] == "FeatureCollection"
    points = {f["id"]: f for f in body["features"]}
    assert points[500001]["geometry"] == {"type": "Point", "coordinates": [78.5, 17.25]}
    assert points[500002]["geometry"]["coordinates"] == [78.5, 17.5]  # mean of its taps
    assert points[500001]["properties"]["households"] is None  # the same suppression as the table
    assert points[500001]["properties"]["households_suppressed"] is True
    assert body["jaldpi:villages_without_point"] == 2
    assert release.manifest["datasets"]["tap_coverage"]["metadata"]["villages_without_point"] == 2


def test_dp_release_adds_recorded_noise(node, od_settings):
    build_world(node)
    add_households(node, {500001: (200, 120), 500003: (150, 30)})
    release = build_release(node.db, od_settings)
    entry = release.manifest["datasets"]["household_connections_dp"]
    assert entry["dp"]["epsilon"] == 1.0 and entry["dp"]["delta"] == 0.0
    assert entry["dp"]["mechanism"] == "discrete_laplace" and entry["dp"]["sensitivity"] == 1
    package = json.loads(release.file("household_connections_dp", "datapackage").read_text())
    assert package["jaldpi:differential_privacy"]["epsilon"] == 1.0
    rows = release.rows("household_connections_dp")
    assert len(rows) == 2 * 6 * 2  # districts x (5 categories + unknown) x tap yes/no, empty cells included
    truth = {}
    for village, (count, taps) in {500001: (200, 120), 500003: (150, 30)}.items():
        district = 745 if village == 500001 else 746
        for i in range(count):
            key = (district, CATEGORIES[i % 4], i < taps)
            truth[key] = truth.get(key, 0) + 1
    differences = [r["households_noisy"] - truth.get((r["lgd_code"], r["social_category"],
                                                     r["has_tap_connection"]), 0) for r in rows]
    assert any(d != 0 for d in differences)  # noise was added
    assert all(abs(d) <= 30 for d in differences)  # scale 1: |noise| > 30 has probability ~1e-13 per cell
    assert all(r["households_noisy"] >= 0 for r in rows)


def test_dp_with_opendp_unseeded(node, database, tmp_path):
    build_world(node)
    add_households(node, {500001: (100, 50)})
    settings = test_settings(database, opendata_dir=tmp_path / "od", opendata_dp_epsilon=2.0)
    release = build_release(node.db, settings)
    entry = release.manifest["datasets"]["household_connections_dp"]
    assert entry["dp"]["epsilon"] == 2.0 and entry["dp"]["scale"] == 0.5 and entry["dp"]["library"].startswith("opendp")
    total = sum(r["households_noisy"] for r in release.rows("household_connections_dp"))
    assert abs(total - 100) <= 24 * 15  # 24 cells, scale 0.5


def test_a_failing_builder_leaves_latest_at_the_previous_release(node, od_settings):
    build_world(node)
    add_households(node)
    first = build_release(node.db, od_settings)

    def broken(ctx):
        raise RuntimeError("builder failed")

    with pytest.raises(RuntimeError, match="builder failed"):
        build_release(node.db, od_settings, force=True, builders={"tap_coverage": BUILDERS["tap_coverage"],
                                                                  "scheme_inventory": broken})
    assert latest_release(od_settings).id == first.id
    assert list_releases(od_settings) == [first.id]
    assert not list((od_settings.opendata_dir / "releases").glob(".building-*"))


def test_builds_are_idempotent_and_old_releases_are_pruned(node, od_settings):
    build_world(node)
    add_households(node)
    first = build_release(node.db, od_settings)
    assert build_release(node.db, od_settings).id == first.id  # nothing changed: nothing built
    second = build_release(node.db, od_settings, force=True)
    assert second.id > first.id and latest_pointer(od_settings).read_text().strip() == second.id
    for name in ("tap_coverage", "scheme_inventory", "water_quality_tests"):  # same data, same bytes
        assert first.manifest["datasets"][name]["sha256"]["csv"] == second.manifest["datasets"][name]["sha256"]["csv"]
    add_households(node, {500004: (3, 3)})
    third = build_release(node.db, od_settings, keep=2)  # the data changed: a new release
    assert list_releases(od_settings) == [second.id, third.id]
    assert by_code(third.rows("tap_coverage"), "village")[500004]["households"] == 33


def test_periods_and_months():
    today = dt.date(2025, 5, 10)
    assert financial_year(today) == 2025 and financial_year(dt.date(2025, 3, 31)) == 2024
    assert wq_periods(today, 2) == [("last_365_days", dt.date(2024, 5, 11), today),
                                    ("FY2025-26", dt.date(2025, 4, 1), dt.date(2026, 3, 31)),
                                    ("FY2024-25", dt.date(2024, 4, 1), dt.date(2025, 3, 31))]
    assert recent_months(dt.date(2025, 2, 3), 3) == ["2024-12", "2025-01", "2025-02"]


def test_cli_build_and_list(monkeypatch, node, database, tmp_path):
    build_world(node)
    add_households(node)
    runner = CliRunner()
    monkeypatch.setenv("JALDPI_DATABASE_URL", database.url)
    monkeypatch.setenv("JALDPI_OPENDATA_DIR", str(tmp_path / "cli-od"))
    monkeypatch.setenv("JALDPI_ENV", "test")
    get_settings.cache_clear()
    try:
        built = runner.invoke(cli_app, ["opendata", "build", "--keep", "3"])
        assert built.exit_code == 0, built.output
        summary = json.loads(built.stdout.strip().splitlines()[-1])
        assert summary["datasets"]["tap_coverage"]["rows"] == 13
        looped = runner.invoke(cli_app, ["opendata", "build", "--loop", "--interval", "1", "--rounds", "1",
                                         "--force"])
        assert looped.exit_code == 0, looped.output
        listed = runner.invoke(cli_app, ["opendata", "list"])
        assert listed.exit_code == 0, listed.output
        lines = [json.loads(line) for line in listed.stdout.strip().splitlines()]
        assert len(lines) == 2 and [line["latest"] for line in lines] == [False, True]
        assert lines[0]["release_id"] == summary["release_id"]
    finally:
        get_settings.cache_clear()


def test_rows_are_typed_and_cached(node, od_settings):
    build_world(node)
    add_households(node)
    release = build_release(node.db, od_settings)
    rows = release.rows("water_quality_tests")
    assert rows is release.rows("water_quality_tests")
    assert isinstance(rows[0]["period_start"], dt.date) and isinstance(rows[0]["samples_tested"], int)
    assert read_csv_rows(release.file("tap_coverage", "csv"), "tap_coverage")[0]["households_suppressed"] in (
        True, False)
    with pytest.raises(KeyError):
        release.file("water_quality_tests", "geojson")
