"""The open-data API /opendata/v1/: anonymous, read-only, paged, cached, rate-limited; CKAN-compatible actions.

Releases are built by the real build (jaldpi.opendata.build.build_release) from a small world written through the
one write path: state 28 with districts 745 and 746, villages 500001-500004 and their households. The API reads
only files, so each module builds twice (two releases) once, and every test starts from a copy of those files.
"""

from __future__ import annotations

import csv
import datetime as dt
import email.utils
import hashlib
import io
import shutil
from pathlib import Path

import httpx
import pytest
from fastapi.testclient import TestClient

from jaldpi.app import create_app
from jaldpi.core.registry import Strategy
from jaldpi.opendata.build import build_release
from jaldpi.opendata.datasets import DATASETS
from jaldpi.opendata.store import latest_pointer, latest_release, list_releases
from jaldpi.standard.codelists import reset_overlay
from tests.conftest import _empty, test_settings
from tests.helpers import ROOT, build_world, error_of
from tests.liveserver import serve

# Households per village: (households, of which with a tap connection). 500004 is below the disclosure threshold.
HOUSEHOLDS = {500001: (40, 40), 500002: (25, 12), 500004: (6, 0), 500003: (30, 15)}
# (level, LGD code) of the tap-coverage rows in release order: by level, then jurisdiction path.
TAP_ROWS = [("state", 28), ("district", 745), ("district", 746), ("block", 4001), ("block", 4003), ("block", 4002),
            ("gram_panchayat", 200001), ("gram_panchayat", 200003), ("gram_panchayat", 200002),
            ("village", 500001), ("village", 500002), ("village", 500004), ("village", 500003)]


def build_releases(database, directory: Path) -> list[str]:
    """Write the small world into ``database`` and build two releases of it into ``directory`` (ids, oldest first;
    LATEST points at the newer). The database is emptied first: other tests of this worker may have left data."""
    _empty(database)
    reset_overlay()
    settings = test_settings(database, opendata_dir=directory, opendata_dp_seed=7)
    node = create_app(settings, database).state.node
    build_world(node)
    households = [{"village": village, "members_count": 4, "social_category": "general" if i % 2 else "sc",
                   "has_tap_connection": i < taps}
                  for village, (count, taps) in HOUSEHOLDS.items() for i in range(count)]
    with node.db.unit_of_work() as session:
        summary = node.catalogue["households"].import_records(session, ROOT, households, strategy=Strategy.create)
        assert summary.status == "ok", summary.to_dict()
    build_release(database, settings, force=True)
    build_release(database, settings, force=True)
    _empty(database)
    return list_releases(settings)


def point_latest(directory: Path, release_id: str) -> None:
    latest_pointer(type("S", (), {"opendata_dir": directory})()).write_text(release_id + "\n", encoding="utf-8")


def restore(pristine: Path, directory: Path, release_id: str) -> None:
    """Make ``directory`` a fresh copy of the built releases, with LATEST at ``release_id``."""
    shutil.rmtree(directory, ignore_errors=True)
    shutil.copytree(pristine, directory)
    point_latest(directory, release_id)


# ---------------------------------------------------------------------------------------------------- fixtures

MAX_PAGE = 5


@pytest.fixture(scope="module")
def built(migrated_database, tmp_path_factory):
    """(pristine directory, [older release id, newer release id])."""
    pristine = tmp_path_factory.mktemp("opendata-built")
    ids = build_releases(migrated_database, pristine)
    assert len(ids) == 2
    return pristine, ids


@pytest.fixture(scope="module")
def opendata_app(migrated_database, tmp_path_factory):
    """An app whose open-data directory is private to this module (the API reads only files, not the database)."""
    directory = tmp_path_factory.mktemp("opendata") / "served"
    directory.mkdir()
    settings = test_settings(migrated_database, opendata_dir=directory, max_page_size=MAX_PAGE,
                             opendata_cache_seconds=120)
    app = create_app(settings, migrated_database)
    return app, directory


@pytest.fixture
def empty_dir(opendata_app):
    """The module's open-data directory, emptied: no release built."""
    app, directory = opendata_app
    shutil.rmtree(directory)
    directory.mkdir()
    return directory


@pytest.fixture
def release_dir(opendata_app, built):
    """The module's open-data directory holding both releases, LATEST at the older one."""
    pristine, ids = built
    restore(pristine, opendata_app[1], ids[0])
    return opendata_app[1]


@pytest.fixture
def api(opendata_app, release_dir):
    app, _ = opendata_app
    with TestClient(app) as client:
        yield client


@pytest.fixture
def release(opendata_app, release_dir):
    return latest_release(opendata_app[0].state.node.settings)


ROUTES = ["/opendata/v1/", "/opendata/v1/datasets", "/opendata/v1/datasets/tap_coverage",
          "/opendata/v1/datasets/tap_coverage/rows", "/opendata/v1/datasets/tap_coverage/download/csv",
          "/opendata/v1/datasets/tap_coverage/download/parquet", "/opendata/v1/datasets/tap_coverage/download/geojson",
          "/opendata/v1/datasets/tap_coverage/download/datapackage", "/opendata/v1/catalog.jsonld",
          "/opendata/v1/api/3/action/package_list", "/opendata/v1/api/3/action/package_show?id=tap-coverage",
          "/opendata/v1/api/3/action/package_search?q=coverage"]


# ---------------------------------------------------------------------------------------------------- no release

def test_every_route_answers_503_no_release_before_the_first_build(opendata_app, empty_dir):
    with TestClient(opendata_app[0]) as client:
        for route in ROUTES:
            response = client.get(route)
            assert response.status_code == 503, route
            if "/api/3/action/" in route:
                body = response.json()
                assert body["success"] is False and body["error"]["__type"] == "Service Unavailable"
                assert "jaldpi opendata build" in body["error"]["message"]
            else:
                err = error_of(response)
                assert err["code"] == "no_release" and "jaldpi opendata build" in err["message"]


# ---------------------------------------------------------------------------------------------------- anonymous

def test_no_endpoint_needs_a_token_over_real_http(opendata_app, release_dir):
    """Served by uvicorn, every route answers 200 to a caller without any Authorization header."""
    with serve(opendata_app[0]) as base_url, httpx.Client(base_url=base_url) as http:
        for route in ROUTES:
            response = http.get(route)
            assert response.status_code == 200, (route, response.text)
            assert "authorization" not in {k.lower() for k in response.request.headers}


def test_index_names_the_release_and_links(api, release):
    body = api.get("/opendata/v1/").json()
    assert body["release_id"] == release.id and body["built_at"] == release.built_at
    assert body["datasets"] == list(DATASETS)
    assert body["node_id"] == "test-node" and body["standard"]
    assert body["licence"]["id"] == "GODL-India"
    assert body["disclosure"]["threshold"] == 10
    for link in body["links"].values():
        assert link.startswith("http://testserver/")
    assert api.get(body["links"]["catalog_dcat"]).status_code == 200


def test_dataset_list_and_metadata(api, release):
    listing = api.get("/opendata/v1/datasets").json()
    assert [d["name"] for d in listing["items"]] == list(DATASETS)
    tap = listing["items"][0]
    assert tap["title"]["hi"] and tap["rows"] == len(TAP_ROWS) and tap["has_points"] is True
    assert tap["granularity"] == ["state", "district", "block", "gram_panchayat", "village"]
    assert "geojson" in tap["links"] and "geojson" not in listing["items"][1]["links"]

    detail = api.get("/opendata/v1/datasets/tap_coverage").json()
    assert [c["name"] for c in detail["columns"]] == DATASETS["tap_coverage"].column_names
    households = next(c for c in detail["columns"] if c["name"] == "households")
    assert households["suppressible"] is True and households["unit"] == "households"
    flag = next(c for c in detail["columns"] if c["name"] == "households_suppressed")
    assert flag["suppression_flag_for"] == "households" and flag["type"] == "boolean"
    entry = release.manifest["datasets"]["tap_coverage"]
    assert entry["suppressed_cells"] > 0  # village 500004 has 6 households
    assert detail["disclosure"] == {"threshold": 10, "method": release.manifest["disclosure"]["method"],
                                    "suppressed_cells": entry["suppressed_cells"], "differential_privacy": None}
    private = api.get("/opendata/v1/datasets/household_connections_dp").json()["disclosure"]
    assert private["differential_privacy"]["epsilon"] == 1.0
    assert {f["format"] for f in detail["files"]} == {"csv", "parquet", "geojson", "datapackage"}
    assert all(len(f["sha256"]) == 64 and f["bytes"] > 0 for f in detail["files"])
    assert detail["ogd"]["jurisdiction"] == "Andhra Pradesh (LGD state 28)"

    err = error_of(api.get("/opendata/v1/datasets/households"))
    assert err["code"] == "not_found" and "tap_coverage" in err["details"][0]["problem"]


# ---------------------------------------------------------------------------------------------------- rows

def _walk(api, url: str, params: dict) -> list[list[dict]]:
    pages = []
    cursor = None
    while True:
        response = api.get(url, params={**params, **({"after": cursor} if cursor else {})})
        assert response.status_code == 200, response.text
        body = response.json()
        pages.append(body["items"])
        cursor = body["next_cursor"]
        if cursor is None:
            assert "link" not in response.headers
            return pages
        assert 'rel="next"' in response.headers["link"]


def test_pages_cover_every_row_once_in_release_order(api, release):
    pages = _walk(api, "/opendata/v1/datasets/tap_coverage/rows", {"limit": 3})
    assert [len(p) for p in pages] == [3, 3, 3, 3, 1]
    walked = [row for page in pages for row in page]
    assert walked == release.rows("tap_coverage")
    assert [(row["level"], row["lgd_code"]) for row in walked] == TAP_ROWS  # each once, none missing
    assert walked[0]["name"] == "Andhra Pradesh" and walked[0]["state_lgd"] == 28


def test_suppressed_cells_are_null_with_a_flag_never_zero(api):
    rows = [r for p in _walk(api, "/opendata/v1/datasets/tap_coverage/rows", {}) for r in p]
    small = next(r for r in rows if r["lgd_code"] == 500004)
    assert small["households"] is None and small["households_suppressed"] is True
    assert small["coverage_percent"] is None and small["coverage_percent_suppressed"] is True
    for row in rows:
        for column in ("households", "households_with_tap", "households_without_tap", "coverage_percent"):
            if row[f"{column}_suppressed"]:
                assert row[column] is None, (row["lgd_code"], column)
            else:
                assert row[column] is not None, (row["lgd_code"], column)


def test_limit_is_capped_by_max_page_size_and_defaults(api):
    body = api.get("/opendata/v1/datasets/tap_coverage/rows", params={"limit": 1000}).json()
    assert len(body["items"]) == MAX_PAGE and body["next_cursor"]
    body = api.get("/opendata/v1/datasets/tap_coverage/rows").json()
    assert len(body["items"]) == MAX_PAGE  # default page size 50 is capped too


def test_level_and_within_filters(api):
    url = "/opendata/v1/datasets/tap_coverage/rows"
    villages = [r for p in _walk(api, url, {"level": "village", "limit": 2}) for r in p]
    assert [r["lgd_code"] for r in villages] == [500001, 500002, 500004, 500003]

    in_alpha = [r for p in _walk(api, url, {"within": "district:745", "limit": 2}) for r in p]
    assert [(r["level"], r["lgd_code"]) for r in in_alpha] == [
        ("district", 745), ("block", 4001), ("block", 4003), ("gram_panchayat", 200001),
        ("gram_panchayat", 200003), ("village", 500001), ("village", 500002), ("village", 500004)]

    by_path = [r for p in _walk(api, url, {"within": "/S28/D745/B4001/", "level": "village"}) for r in p]
    assert [r["lgd_code"] for r in by_path] == [500001, 500002]
    by_code = [r for p in _walk(api, url, {"within": "block:4003"}) for r in p]
    assert [r["lgd_code"] for r in by_code] == [4003, 200003, 500004]
    # a path that contradicts itself matches nothing (block 4002 lies in district 746)
    assert api.get(url, params={"within": "/S28/D745/B4002/"}).json()["items"] == []
    assert api.get(url, params={"within": "/"}).json()["items"][0]["level"] == "state"


@pytest.mark.parametrize(("params", "field"), [
    ({"level": "village"}, "level"),  # water_quality_tests has no village rows
    ({"level": "hamlet"}, "level"),
    ({"within": "district"}, "within"),
    ({"within": "/S28/X/"}, "within"),
    ({"within": "subdistrict:12"}, "within"),
    ({"limit": "0"}, "limit"),
    ({"limit": "ten"}, "limit"),
    ({"after": "not-a-cursor"}, "after"),
    ({"page": "2"}, "page"),
])
def test_bad_row_parameters_are_refused_with_a_clear_422(api, params, field):
    response = api.get("/opendata/v1/datasets/water_quality_tests/rows", params=params)
    assert response.status_code == 422, response.text
    err = error_of(response)
    assert err["details"][0]["field"] == field


def test_a_cursor_stays_on_its_release_and_is_refused_once_the_release_is_gone(api, release_dir, built):
    older, newer = built[1]
    url = "/opendata/v1/datasets/tap_coverage/rows"
    first = api.get(url, params={"limit": 4}).json()
    assert first["release_id"] == older
    point_latest(release_dir, newer)  # a new build became current mid-walk
    assert api.get("/opendata/v1/").json()["release_id"] == newer
    second = api.get(url, params={"limit": 4, "after": first["next_cursor"]}).json()
    assert second["release_id"] == older  # the walk goes on over the release it started on
    assert [(r["level"], r["lgd_code"]) for r in second["items"]] == TAP_ROWS[4:8]

    shutil.rmtree(release_dir / "releases" / older)
    response = api.get(url, params={"limit": 4, "after": second["next_cursor"]})
    assert response.status_code == 409 and error_of(response)["code"] == "release_gone"


# ---------------------------------------------------------------------------------------------------- downloads

@pytest.mark.parametrize(("fmt", "media_type", "filename"), [
    ("csv", "text/csv; charset=utf-8", "tap_coverage.csv"),
    ("parquet", "application/vnd.apache.parquet", "tap_coverage.parquet"),
    ("geojson", "application/geo+json", "tap_coverage.geojson"),
    ("datapackage", "application/json", "datapackage.json"),
])
def test_downloads_carry_media_type_disposition_checksum_etag_and_304(api, release, fmt, media_type, filename):
    url = f"/opendata/v1/datasets/tap_coverage/download/{fmt}"
    response = api.get(url)
    assert response.status_code == 200
    assert response.headers["content-type"] == media_type
    assert response.headers["content-disposition"] == f'attachment; filename="{filename}"'
    digest = hashlib.sha256(response.content).hexdigest()
    assert digest == release.manifest["datasets"]["tap_coverage"]["sha256"][fmt]
    assert response.headers["etag"] == f'"{digest}"'
    built_at = dt.datetime.fromisoformat(release.built_at)
    assert response.headers["last-modified"] == email.utils.format_datetime(built_at, usegmt=True).replace(
        f".{built_at.microsecond:06d}", "")
    assert response.headers["cache-control"] == "public, max-age=120"

    again = api.get(url, headers={"If-None-Match": response.headers["etag"]})
    assert again.status_code == 304 and again.content == b"" and again.headers["etag"] == f'"{digest}"'
    assert api.get(url, headers={"If-None-Match": '"something-else"'}).status_code == 200
    last_modified = response.headers["last-modified"]
    assert api.get(url, headers={"If-Modified-Since": last_modified}).status_code == 304
    day_before = email.utils.format_datetime(built_at - dt.timedelta(days=1), usegmt=True)
    assert api.get(url, headers={"If-Modified-Since": day_before}).status_code == 200


def test_downloaded_csv_is_the_release_table(api):
    text = api.get("/opendata/v1/datasets/tap_coverage/download/csv").text
    rows = list(csv.DictReader(io.StringIO(text)))
    assert list(rows[0]) == DATASETS["tap_coverage"].column_names and len(rows) == len(TAP_ROWS)
    package = api.get("/opendata/v1/datasets/tap_coverage/download/datapackage").json()
    assert package["resources"][0]["path"] == "tap_coverage.csv"


def test_download_errors(api):
    response = api.get("/opendata/v1/datasets/water_quality_tests/download/geojson")
    assert response.status_code == 404 and "village points" in error_of(response)["message"]
    response = api.get("/opendata/v1/datasets/tap_coverage/download/xlsx")
    assert response.status_code == 422 and error_of(response)["details"][0]["field"] == "fmt"
    assert error_of(api.get("/opendata/v1/datasets/nope/download/csv"))["code"] == "not_found"


# ---------------------------------------------------------------------------------------------------- caching

@pytest.mark.parametrize("route", ["/opendata/v1/", "/opendata/v1/datasets", "/opendata/v1/datasets/tap_coverage",
                                   "/opendata/v1/datasets/tap_coverage/rows?limit=2", "/opendata/v1/catalog.jsonld",
                                   "/opendata/v1/api/3/action/package_show?id=tap-coverage"])
def test_json_answers_are_cacheable_with_etag_and_304(api, route):
    response = api.get(route)
    assert response.status_code == 200
    assert response.headers["cache-control"] == "public, max-age=120"
    etag = response.headers["etag"]
    assert etag.startswith('"') and etag.endswith('"')
    assert api.get(route).headers["etag"] == etag  # same release, same request: same tag
    not_modified = api.get(route, headers={"If-None-Match": f'W/"x", {etag}'})
    assert not_modified.status_code == 304 and not_modified.content == b""
    assert not_modified.headers["cache-control"] == "public, max-age=120"


def test_etags_change_with_the_request_and_with_the_release(api, release_dir, built):
    older, newer = built[1]
    one = api.get("/opendata/v1/datasets/tap_coverage/rows?limit=2").headers["etag"]
    two = api.get("/opendata/v1/datasets/tap_coverage/rows?limit=3").headers["etag"]
    assert one != two
    catalogue_before = api.get("/opendata/v1/catalog.jsonld")
    point_latest(release_dir, newer)
    catalogue_after = api.get("/opendata/v1/catalog.jsonld")  # the cached rendering of the old release is not served
    assert catalogue_after.headers["etag"] != catalogue_before.headers["etag"]
    assert newer in catalogue_after.text and older not in catalogue_after.text
    assert api.get("/opendata/v1/catalog.jsonld",
                   headers={"If-None-Match": catalogue_before.headers["etag"]}).status_code == 200


# ---------------------------------------------------------------------------------------------------- CKAN

def _ckan(api, action: str, method: str = "GET", **params):
    url = f"/opendata/v1/api/3/action/{action}"
    response = api.get(url, params=params) if method == "GET" else api.post(url, json=params)
    body = response.json()
    assert set(body) >= {"help", "success"}
    assert body["help"].endswith(f"/opendata/v1/api/3/action/help_show?name={action}")
    return response.status_code, body


def test_ckan_package_list_and_show(api):
    status, body = _ckan(api, "package_list")
    assert status == 200 and body["success"] is True
    assert body["result"] == [name.replace("_", "-") for name in DATASETS]
    assert _ckan(api, "package_list", limit=1, offset=1)[1]["result"] == ["water-quality-tests"]

    status, body = _ckan(api, "package_show", id="tap-coverage")
    package = body["result"]
    assert status == 200 and package["name"] == "tap-coverage" and package["license_id"] == "GODL-India"
    # by package id and by the dataset's own name too
    assert _ckan(api, "package_show", id=package["id"])[1]["result"]["name"] == "tap-coverage"
    assert _ckan(api, "package_show", id="tap_coverage")[1]["result"]["id"] == package["id"]
    # ckanapi and other clients POST a JSON object
    assert _ckan(api, "package_show", method="POST", id="tap-coverage")[1]["result"]["id"] == package["id"]


def test_ckan_errors_have_ckans_shape(api):
    status, body = _ckan(api, "package_show", id="nope")
    assert status == 404 and body["success"] is False
    assert body["error"]["__type"] == "Not Found Error" and "nope" in body["error"]["message"]
    assert "result" not in body
    status, body = _ckan(api, "package_show")
    assert status == 409 and body["error"]["__type"] == "Validation Error" and body["error"]["id"] == ["Missing value"]
    status, body = _ckan(api, "package_search", rows="many")
    assert status == 409 and body["error"]["rows"] == ["Invalid integer"]
    status, body = _ckan(api, "package_search", fq="author:someone")
    assert status == 409 and "author" in body["error"]["message"]
    status, body = _ckan(api, "package_search", sort="color asc")
    assert status == 409 and body["error"]["sort"] == ["Invalid sort"]
    status, body = _ckan(api, "package_create", name="x")
    assert status == 400 and "Action name not known" in body["error"]["message"]


def test_ckan_package_search(api):
    everything = len(DATASETS)
    status, body = _ckan(api, "package_search")
    assert status == 200 and body["result"]["count"] == everything
    assert set(body["result"]) >= {"count", "results", "sort", "facets", "search_facets"}
    assert len(body["result"]["results"]) == MAX_PAGE  # CKAN's default of 10 rows, capped by max_page_size
    found = _ckan(api, "package_search", q="Coverage percent")[1]["result"]
    assert [p["name"] for p in found["results"]] == ["tap-coverage"]
    assert _ckan(api, "package_search", q="*:*")[1]["result"]["count"] == everything
    assert _ckan(api, "package_search", q="no-such-word")[1]["result"]["count"] == 0
    assert [p["name"] for p in _ckan(api, "package_search", q="tags:contamination")[1]["result"]["results"]] == [
        "water-quality-tests"]
    paged = _ckan(api, "package_search", rows=2, start=1, sort="name desc")[1]["result"]
    assert paged["count"] == everything and [p["name"] for p in paged["results"]] == ["tap-coverage",
                                                                                     "service-levels"]
    assert _ckan(api, "package_search", fq="res_format:GeoJSON")[1]["result"]["count"] == 1
    harvest = _ckan(api, "package_search", fq="+dataset_type:dataset metadata_modified:[2025-05-01T00:00:00Z TO *]")
    assert harvest[1]["result"]["count"] == everything
    later = _ckan(api, "package_search", fq="metadata_modified:[2999-01-01T00:00:00Z TO *]")
    assert later[1]["result"]["count"] == 0


def test_ckan_help_show(api):
    status, body = _ckan(api, "help_show", name="package_search")
    assert status == 200 and "rows" in body["result"]
    assert _ckan(api, "help_show", name="nope")[0] == 404


# ---------------------------------------------------------------------------------------------------- rate limit

def test_the_anonymous_rate_limit_covers_open_data(migrated_database, tmp_path, built):
    restore(built[0], tmp_path / "opendata", built[1][0])
    settings = test_settings(migrated_database, opendata_dir=tmp_path / "opendata", anonymous_rate_limit_per_minute=3)
    with TestClient(create_app(settings, migrated_database)) as client:
        statuses = [client.get("/opendata/v1/datasets").status_code for _ in range(3)]
        assert statuses == [200, 200, 200]
        limited = client.get("/opendata/v1/api/3/action/package_list")
        assert limited.status_code == 429
        assert int(limited.headers["retry-after"]) >= 1
        assert error_of(limited)["code"] == "rate_limited"
