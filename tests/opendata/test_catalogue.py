"""The catalogue: DCAT-AP 3 JSON-LD, CKAN package dictionaries with the OGD India fields, schema.org Dataset."""

from __future__ import annotations

import datetime as dt
import re
import uuid

import pytest
from fastapi.testclient import TestClient

from jaldpi.app import create_app
from jaldpi.opendata.catalogue import DCAT_CONTEXT, schema_org_dataset
from jaldpi.opendata.datasets import DATASETS
from jaldpi.opendata.store import latest_release
from tests.conftest import test_settings
from tests.opendata.test_api import build_releases, point_latest

EU = "http://publications.europa.eu/resource/authority"

# Mandatory properties of DCAT-AP 3.0.0 (SEMIC, https://semiceu.github.io/DCAT-AP/releases/3.0.0/, section
# "Main entities" and "Supportive entities"), per class:
#   Catalogue:     dct:description, dct:publisher, dct:title (dcat:dataset was mandatory up to DCAT-AP 2.1.1 and is
#                  checked too: our catalogue lists datasets)
#   Dataset:       dct:description, dct:title
#   Distribution:  dcat:accessURL
#   Agent:         foaf:name
#   Checksum:      spdx:algorithm, spdx:checksumValue
#   Location, Licence Document, Period of Time: none mandatory
MANDATORY = {
    "dcat:Catalog": ["dct:description", "dct:publisher", "dct:title", "dcat:dataset"],
    "dcat:Dataset": ["dct:description", "dct:title"],
    "dcat:Distribution": ["dcat:accessURL"],
    "foaf:Agent": ["foaf:name"],
    "spdx:Checksum": ["spdx:algorithm", "spdx:checksumValue"],
}
# Recommended properties we publish for every dataset (DCAT-AP 3 "recommended", plus the list).
DATASET_PUBLISHED = ["dct:publisher", "dct:license", "dct:spatial", "dct:accrualPeriodicity", "dcat:theme",
                     "dcat:keyword", "dct:issued", "dct:modified", "dcat:distribution", "dcat:landingPage"]
DISTRIBUTION_PUBLISHED = ["dcat:downloadURL", "dcat:mediaType", "dct:format", "spdx:checksum", "dct:license",
                          "dcat:byteSize"]

# CKAN's package dictionary essentials (ckan/logic/schema.py default_show_package_schema and the API guide) and
# their JSON types; resources and tags are lists of dicts, extras a list of {key, value} strings.
CKAN_PACKAGE = {"id": str, "name": str, "title": str, "notes": str, "license_id": str, "license_title": str,
                "license_url": str, "url": str, "version": str, "state": str, "type": str, "private": bool,
                "metadata_created": str, "metadata_modified": str, "owner_org": str, "organization": dict,
                "num_resources": int, "num_tags": int, "resources": list, "tags": list, "extras": list,
                "groups": list, "isopen": bool}
CKAN_RESOURCE = {"id": str, "package_id": str, "url": str, "name": str, "format": str, "mimetype": str,
                 "hash": str, "size": int, "position": int, "state": str, "created": str, "last_modified": str}


@pytest.fixture(scope="module")
def published(migrated_database, tmp_path_factory):
    directory = tmp_path_factory.mktemp("opendata-catalogue")
    point_latest(directory, build_releases(migrated_database, directory)[-1])
    settings = test_settings(migrated_database, opendata_dir=directory)
    app = create_app(settings, migrated_database)
    with TestClient(app, base_url="https://data.example.gov.in") as client:
        yield client, latest_release(settings)


def _nodes(value, found=None):
    """Every JSON object in a JSON-LD document, depth first."""
    found = [] if found is None else found
    if isinstance(value, dict):
        found.append(value)
        for child in value.values():
            _nodes(child, found)
    elif isinstance(value, list):
        for child in value:
            _nodes(child, found)
    return found


def _of_type(document, rdf_type):
    return [n for n in _nodes(document) if n.get("@type") == rdf_type]


def test_dcat_catalog_is_json_ld_with_a_complete_context(published):
    client, _ = published
    response = client.get("/opendata/v1/catalog.jsonld")
    assert response.headers["content-type"] == "application/ld+json"
    document = response.json()
    assert document["@context"] == DCAT_CONTEXT
    for prefix, iri in DCAT_CONTEXT.items():
        assert re.fullmatch(r"https?://\S+[#/]", iri), prefix
    # every compact IRI used as a key, @type or @id resolves through the context (else JSON-LD drops it)
    compact = re.compile(r"^([a-z]+):(?!//)")
    for node in _nodes(document["@graph"]):
        names = [k for k in node if not k.startswith("@")]
        names += [node[k] for k in ("@type", "@id") if isinstance(node.get(k), str)]
        for name in names:
            match = compact.match(name)
            if match and not name.startswith(("urn:", "http")):
                assert match.group(1) in DCAT_CONTEXT, name
            elif not name.startswith(("urn:", "http")):
                pytest.fail(f"term {name!r} is not a compact IRI or an IRI")


def test_dcat_mandatory_properties_of_every_class(published):
    client, release = published
    document = client.get("/opendata/v1/catalog.jsonld").json()
    for rdf_type, properties in MANDATORY.items():
        nodes = _of_type(document, rdf_type)
        assert nodes, f"no {rdf_type} in the catalogue"
        for node in nodes:
            missing = [p for p in properties if node.get(p) in (None, [], "")]
            assert not missing, (rdf_type, node.get("@id"), missing)
    [catalog] = _of_type(document, "dcat:Catalog")
    assert len(catalog["dcat:dataset"]) == len(DATASETS)
    files = sum(len(entry["files"]) for entry in release.manifest["datasets"].values())
    # csv, parquet and datapackage per dataset, plus the village points of tap_coverage
    assert len(_of_type(document, "dcat:Distribution")) == files == 3 * len(DATASETS) + 1


def test_dcat_dataset_properties(published):
    client, release = published
    document = client.get("/opendata/v1/catalog.jsonld").json()
    datasets = {d["dct:identifier"]: d for d in _of_type(document, "dcat:Dataset")}
    tap = datasets["tap_coverage"]
    for prop in DATASET_PUBLISHED:
        assert tap.get(prop), prop
    assert {t["@language"] for t in tap["dct:title"]} == {"en", "hi"}
    assert {t["@value"] for t in tap["dct:title"]} == set(DATASETS["tap_coverage"].title.values())
    assert {t["@language"] for t in tap["dct:description"]} == {"en", "hi"}
    assert tap["dct:license"] == {"@id": "https://data.gov.in/government-open-data-license-india"}
    assert tap["dct:accrualPeriodicity"] == {"@id": f"{EU}/frequency/DAILY"}
    assert all(t["@id"].startswith(f"{EU}/data-theme/") for t in tap["dcat:theme"])
    assert {k["@value"] for k in tap["dcat:keyword"]} == set(DATASETS["tap_coverage"].keywords)
    assert tap["dct:issued"] == {"@value": release.built_at, "@type": "xsd:dateTime"}
    assert dt.datetime.fromisoformat(release.built_at).tzinfo is not None
    places = tap["dct:spatial"]
    assert places[0] == {"@id": f"{EU}/country/IND"}
    assert places[1]["dct:identifier"] == "LGD state 28" and places[1]["skos:prefLabel"]["@value"] == "Andhra Pradesh"
    assert tap["@id"] == "https://data.example.gov.in/citizen/data/tap_coverage"

    distributions = {d["dct:format"]["@id"].rsplit("/", 1)[1]: d for d in tap["dcat:distribution"]}
    assert set(distributions) == {"CSV", "PARQUET", "GEOJSON", "JSON"}
    csv_dist = distributions["CSV"]
    for prop in DISTRIBUTION_PUBLISHED:
        assert csv_dist.get(prop), prop
    url = "https://data.example.gov.in/opendata/v1/datasets/tap_coverage/download/csv"
    assert csv_dist["dcat:accessURL"] == {"@id": url} and csv_dist["dcat:downloadURL"] == {"@id": url}
    assert csv_dist["dcat:mediaType"] == {"@id": "http://www.iana.org/assignments/media-types/text/csv"}
    checksum = csv_dist["spdx:checksum"]
    assert checksum["spdx:algorithm"] == {"@id": "spdx:checksumAlgorithm_sha256"}
    assert checksum["spdx:checksumValue"]["@value"] == release.manifest["datasets"]["tap_coverage"]["sha256"]["csv"]
    assert int(csv_dist["dcat:byteSize"]["@value"]) == release.file("tap_coverage", "csv").stat().st_size
    # every distribution URL answers, with the media type the catalogue states
    for dist in tap["dcat:distribution"]:
        response = client.get(dist["dcat:downloadURL"]["@id"])
        assert response.status_code == 200
        assert response.headers["content-type"].split(";")[0] == dist["dcat:mediaType"]["@id"].split(
            "media-types/")[1]


def test_ckan_package_has_ckans_fields_and_types(published):
    client, release = published
    package = client.get("/opendata/v1/api/3/action/package_show", params={"id": "tap-coverage"}).json()["result"]
    for key, kind in CKAN_PACKAGE.items():
        assert isinstance(package[key], kind), (key, package.get(key))
    uuid.UUID(package["id"])
    assert re.fullmatch(r"[a-z0-9_-]{2,100}", package["name"])
    assert package["license_id"] == "GODL-India"
    assert package["license_title"] == "Government Open Data License - India"
    assert package["license_url"] == "https://data.gov.in/government-open-data-license-india"
    assert package["num_resources"] == len(package["resources"]) == 4
    assert package["num_tags"] == len(package["tags"])
    assert dt.datetime.fromisoformat(package["metadata_modified"])
    for resource in package["resources"]:
        for key, kind in CKAN_RESOURCE.items():
            assert isinstance(resource[key], kind), (key, resource.get(key))
        assert resource["package_id"] == package["id"]
        assert resource["url"].startswith("https://data.example.gov.in/opendata/v1/datasets/tap_coverage/download/")
    csv_resource = next(r for r in package["resources"] if r["format"] == "CSV")
    assert csv_resource["hash"] == release.manifest["datasets"]["tap_coverage"]["sha256"]["csv"]
    assert csv_resource["size"] == release.file("tap_coverage", "csv").stat().st_size
    assert {t["name"] for t in package["tags"]} == set(DATASETS["tap_coverage"].keywords)
    assert all(set(e) == {"key", "value"} and isinstance(e["value"], str) for e in package["extras"])


def test_ckan_extras_carry_the_ogd_fields(published):
    client, _ = published
    package = client.get("/opendata/v1/api/3/action/package_show",
                         params={"id": "water-quality-tests"}).json()["result"]
    extras = {e["key"]: e["value"] for e in package["extras"]}
    assert extras["sector"] == "Drinking Water Quality"
    assert extras["jurisdiction"] == "Andhra Pradesh (LGD state 28)"
    assert extras["granularity"] == "state, district, block"
    assert extras["frequency"] == "daily"
    assert "API" in extras["access_method"] and "Download" in extras["access_method"]
    assert extras["title_hi"] == DATASETS["water_quality_tests"].title["hi"]
    assert [r["format"] for r in package["resources"]] == ["CSV", "Parquet", "JSON"]  # no points: no GeoJSON


@pytest.mark.parametrize("lang", ["en", "hi"])
def test_schema_org_dataset(published, lang):
    _, release = published
    spec = DATASETS["tap_coverage"]
    markup = schema_org_dataset(spec, release, "https://data.example.gov.in/", lang)
    assert markup["@context"] == "https://schema.org/" and markup["@type"] == "Dataset"
    assert markup["name"] == spec.title[lang] and markup["description"] == spec.description[lang]
    assert markup["inLanguage"] == lang
    assert markup["url"] == "https://data.example.gov.in/citizen/data/tap_coverage"
    assert markup["license"] == "https://data.gov.in/government-open-data-license-india"
    assert markup["isAccessibleForFree"] is True
    assert markup["spatialCoverage"]["name"] == "Andhra Pradesh (LGD state 28)"
    formats = {d["encodingFormat"] for d in markup["distribution"]}
    assert formats == {"text/csv", "application/vnd.apache.parquet", "application/geo+json", "application/json"}
    assert all(d["@type"] == "DataDownload" and d["contentUrl"].startswith("https://data.example.gov.in/opendata/")
               for d in markup["distribution"])
    names = {v["name"] for v in markup["variableMeasured"]}
    assert "households" in names and "households_suppressed" not in names
    # Google's Dataset rich results need a description of 50 to 5000 characters
    assert 50 <= len(markup["description"]) <= 5000
