"""How the open datasets are described to the outside: DCAT-AP 3 JSON-LD, CKAN package dicts, the national
open-data platform's (OGD India) metadata fields, and schema.org ``Dataset`` markup for the Citizen Corner pages.

Everything here is a pure function of a dataset's spec (:mod:`jaldpi.opendata.datasets`), the built release
(:mod:`jaldpi.opendata.store`: its manifest holds row counts, file checksums, suppression and differential-privacy
facts) and the public base URL of the node, so the same release always yields the same metadata and the router may
cache it per release.

Vocabularies used (sources):

* DCAT-AP 3.0 (SEMIC, https://semiceu.github.io/DCAT-AP/releases/3.0.0/): classes and properties, with the EU
  controlled vocabularies it recommends: frequency (``.../authority/frequency/``), file type
  (``.../authority/file-type/``), data theme (``.../authority/data-theme/``) and country (``.../authority/country/``).
* CKAN action API v3 (https://docs.ckan.org/en/latest/api/): the package dictionary returned by ``package_show``.
* GODL-India, the Government Open Data Licence - India (https://data.gov.in/government-open-data-license-india),
  notified 2017 under the National Data Sharing and Accessibility Policy (NDSAP); the default licence of
  ``settings.opendata_licence``.
"""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

from jaldpi.opendata.datasets import DATASETS, DatasetSpec

# The distributions every dataset has, in the order they are listed, and how each is described.
FORMATS: dict[str, dict[str, str]] = {
    "csv": {"media_type": "text/csv", "http_type": "text/csv; charset=utf-8", "label": "CSV",
            "file_type": "CSV", "extension": "csv"},
    "parquet": {"media_type": "application/vnd.apache.parquet", "http_type": "application/vnd.apache.parquet",
                "label": "Parquet", "file_type": "PARQUET", "extension": "parquet"},
    "geojson": {"media_type": "application/geo+json", "http_type": "application/geo+json", "label": "GeoJSON",
                "file_type": "GEOJSON", "extension": "geojson"},
    "datapackage": {"media_type": "application/json", "http_type": "application/json",
                    "label": "Data Package (JSON)", "file_type": "JSON", "extension": "json"},
}

# Licences a node may publish under (settings.opendata_licence is the key).
LICENCES: dict[str, dict[str, str]] = {
    "GODL-India": {"title": "Government Open Data License - India",
                   "url": "https://data.gov.in/government-open-data-license-india"},
    "CC-BY-4.0": {"title": "Creative Commons Attribution 4.0",
                  "url": "https://creativecommons.org/licenses/by/4.0/"},
    "CC0-1.0": {"title": "Creative Commons CC0 1.0 Universal",
                "url": "https://creativecommons.org/publicdomain/zero/1.0/"},
}

# Sector codes of DatasetSpec.sector -> the label shown on the national platform, and the EU data theme.
SECTORS: dict[str, dict[str, str]] = {
    "drinking_water": {"en": "Drinking Water and Sanitation", "hi": "पेयजल और स्वच्छता", "theme": "ENVI"},
    "water_quality": {"en": "Drinking Water Quality", "hi": "पेयजल गुणवत्ता", "theme": "HEAL"},
    "infrastructure": {"en": "Water Supply Infrastructure", "hi": "जल आपूर्ति अवसंरचना", "theme": "ENVI"},
}

# DatasetSpec.frequency -> code of the EU frequency vocabulary (dct:accrualPeriodicity).
FREQUENCIES: dict[str, str] = {
    "continuous": "CONT", "hourly": "HOURLY", "daily": "DAILY", "weekly": "WEEKLY", "monthly": "MONTHLY",
    "quarterly": "QUARTERLY", "annual": "ANNUAL", "yearly": "ANNUAL", "irregular": "IRREG",
}

EU = "http://publications.europa.eu/resource/authority"
ACCESS_METHOD = "Download (CSV, Parquet, GeoJSON, Data Package) and open JSON API; no registration"

DCAT_CONTEXT: dict[str, Any] = {
    "dcat": "http://www.w3.org/ns/dcat#",
    "dct": "http://purl.org/dc/terms/",
    "foaf": "http://xmlns.com/foaf/0.1/",
    "spdx": "http://spdx.org/rdf/terms#",
    "xsd": "http://www.w3.org/2001/XMLSchema#",
    "skos": "http://www.w3.org/2004/02/skos/core#",
    "locn": "http://www.w3.org/ns/locn#",
    "adms": "http://www.w3.org/ns/adms#",
    "vcard": "http://www.w3.org/2006/vcard/ns#",
    "rdfs": "http://www.w3.org/2000/01/rdf-schema#",
}


def licence(settings) -> dict[str, str]:
    """``{"id", "title", "url"}`` of the node's open-data licence."""
    key = settings.opendata_licence
    known = LICENCES.get(key)
    if known is None:
        raise ValueError(f"opendata_licence {key!r} is not known; use one of {', '.join(LICENCES)}")
    return {"id": key, **known}


def published(release) -> list[DatasetSpec]:
    """The datasets of the release, in catalogue order (datasets the release did not build are left out)."""
    return [spec for name, spec in DATASETS.items() if name in release.manifest.get("datasets", {})]


def formats_of(spec: DatasetSpec, release) -> list[str]:
    """The formats published for a dataset in this release (GeoJSON only for datasets with village points)."""
    files = release.manifest["datasets"][spec.name].get("files", {})
    return [fmt for fmt in FORMATS if fmt in files]


def download_url(base_url: str, name: str, fmt: str) -> str:
    return f"{base_url}/opendata/v1/datasets/{name}/download/{fmt}"


def dataset_url(base_url: str, name: str) -> str:
    """The human page of a dataset (Citizen Corner), used as landing page and identifier."""
    return f"{base_url}/citizen/data/{name}"


def package_id(settings, name: str) -> str:
    """A stable CKAN package id: the same dataset of the same node always has the same id (harvesters key on it)."""
    return str(uuid.uuid5(uuid.NAMESPACE_URL, f"jaldpi:{settings.node_id}:opendata:{name}"))


def file_checksum(release, name: str, fmt: str) -> str | None:
    return release.manifest["datasets"][name].get("sha256", {}).get(fmt)


def file_size(release, name: str, fmt: str) -> int | None:
    path = release.file(name, fmt)
    return path.stat().st_size if path.exists() else None


def built_at(release) -> str:
    """The release's build time as an ISO 8601 string (UTC)."""
    value = release.built_at
    if isinstance(value, dt.datetime):
        return value.isoformat()
    return str(value)


def jurisdiction(release) -> list[dict[str, Any]]:
    """The states a release covers, ``[{"lgd_code", "name"}]``: from the state rows of the tap-coverage dataset
    when present (names), else from the ``state_lgd`` column of any dataset (codes only)."""
    names: dict[int, str | None] = {}
    for spec in published(release):
        for row in release.rows(spec.name):
            code = row.get("lgd_code") if row.get("level") == "state" else row.get("state_lgd")
            if code in (None, ""):
                continue
            code = int(code)
            if row.get("level") == "state" and row.get("name"):
                names[code] = row["name"]
            else:
                names.setdefault(code, None)
        if names and all(names.values()):
            break
    return [{"lgd_code": code, "name": names[code]} for code in sorted(names)]


def jurisdiction_label(states: list[dict[str, Any]]) -> str:
    if not states:
        return "India"
    return "; ".join(f"{s['name']} (LGD state {s['lgd_code']})" if s["name"] else f"LGD state {s['lgd_code']}"
                     for s in states)


def sector_label(spec: DatasetSpec, lang: str = "en") -> str:
    return SECTORS.get(spec.sector, {}).get(lang) or spec.sector


def frequency_uri(spec: DatasetSpec) -> str:
    return f"{EU}/frequency/{FREQUENCIES.get(spec.frequency, 'UNKNOWN')}"


def ogd_fields(spec: DatasetSpec, release) -> dict[str, str]:
    """The national open-data platform's (OGD India) metadata fields of a dataset, as strings."""
    return {
        "sector": sector_label(spec),
        "jurisdiction": jurisdiction_label(jurisdiction(release)),
        "granularity": ", ".join(spec.granularity),
        "frequency": spec.frequency,
        "access_method": ACCESS_METHOD,
    }


def disclosure_of(spec: DatasetSpec, release) -> dict[str, Any]:
    """What protects the dataset: the release's disclosure rule, suppressed cells and differential privacy."""
    entry = release.manifest["datasets"][spec.name]
    return {"threshold": release.manifest.get("disclosure", {}).get("threshold"),
            "method": release.manifest.get("disclosure", {}).get("method"),
            "suppressed_cells": entry.get("suppressed_cells", 0),
            "differential_privacy": entry.get("dp")}


# ------------------------------------------------------------------------------------------- the JSON API's view

def dataset_summary(spec: DatasetSpec, release, settings, base_url: str) -> dict[str, Any]:
    """A dataset as listed by ``GET /opendata/v1/datasets``."""
    entry = release.manifest["datasets"][spec.name]
    return {
        "name": spec.name, "title": spec.title, "description": spec.description,
        "sector": spec.sector, "sector_label": {"en": sector_label(spec, "en"), "hi": sector_label(spec, "hi")},
        "granularity": list(spec.granularity), "frequency": spec.frequency, "keywords": list(spec.keywords),
        "has_points": spec.has_points, "rows": entry.get("rows"), "licence": licence(settings),
        "modified": built_at(release),
        "links": {"self": f"{base_url}/opendata/v1/datasets/{spec.name}",
                  "rows": f"{base_url}/opendata/v1/datasets/{spec.name}/rows",
                  "page": dataset_url(base_url, spec.name),
                  **{fmt: download_url(base_url, spec.name, fmt) for fmt in formats_of(spec, release)}},
    }


def dataset_detail(spec: DatasetSpec, release, settings, base_url: str) -> dict[str, Any]:
    """A dataset with its columns, files and disclosure facts (``GET /opendata/v1/datasets/{name}``)."""
    out = dataset_summary(spec, release, settings, base_url)
    out["columns"] = [{"name": c.name, "type": c.type, "title": c.title, "description": c.description,
                       "unit": c.unit, "suppressible": c.suppressible,
                       "suppression_flag_for": c.suppression_flag_for} for c in spec.columns]
    out["files"] = [{"format": fmt, "media_type": FORMATS[fmt]["media_type"],
                     "url": download_url(base_url, spec.name, fmt), "sha256": file_checksum(release, spec.name, fmt),
                     "bytes": file_size(release, spec.name, fmt)} for fmt in formats_of(spec, release)]
    out["disclosure"] = disclosure_of(spec, release)
    out["ogd"] = ogd_fields(spec, release)
    out["release_id"] = release.id
    return out


# ---------------------------------------------------------------------------------------------------- DCAT-AP 3

def _lang(values: dict[str, str]) -> list[dict[str, str]]:
    return [{"@value": text, "@language": lang} for lang, text in values.items() if text]


def _datetime(value: str) -> dict[str, str]:
    return {"@value": value, "@type": "xsd:dateTime"}


def _publisher(settings) -> dict[str, Any]:
    return {"@id": f"urn:jaldpi:node:{settings.node_id}", "@type": "foaf:Agent",
            "foaf:name": settings.opendata_publisher,
            "dct:identifier": settings.node_id}


def _spatial(release) -> list[dict[str, Any]]:
    places: list[dict[str, Any]] = [{"@id": f"{EU}/country/IND"}]
    for state in jurisdiction(release):
        place: dict[str, Any] = {"@type": "dct:Location", "dct:identifier": f"LGD state {state['lgd_code']}"}
        if state["name"]:
            place["skos:prefLabel"] = {"@value": state["name"], "@language": "en"}
        places.append(place)
    return places


def dcat_catalog(release, settings, base_url: str) -> dict[str, Any]:
    """The node's open-data catalogue as a DCAT-AP 3 JSON-LD document (dcat:Catalog with its dcat:Dataset entries,
    each with one dcat:Distribution per published file)."""
    lic = licence(settings)
    issued = _datetime(built_at(release))
    spatial = _spatial(release)
    datasets = []
    for spec in published(release):
        distributions = []
        for fmt in formats_of(spec, release):
            info = FORMATS[fmt]
            url = download_url(base_url, spec.name, fmt)
            dist: dict[str, Any] = {
                "@id": url, "@type": "dcat:Distribution",
                "dct:title": _lang({"en": f"{spec.title['en']} ({info['label']})",
                                    "hi": f"{spec.title['hi']} ({info['label']})"}),
                "dcat:accessURL": {"@id": url}, "dcat:downloadURL": {"@id": url},
                "dcat:mediaType": {"@id": f"http://www.iana.org/assignments/media-types/{info['media_type']}"},
                "dct:format": {"@id": f"{EU}/file-type/{info['file_type']}"},
                "dct:license": {"@id": lic["url"]},
                "dct:issued": issued, "dct:modified": issued,
            }
            checksum = file_checksum(release, spec.name, fmt)
            if checksum:
                dist["spdx:checksum"] = {"@type": "spdx:Checksum",
                                         "spdx:algorithm": {"@id": "spdx:checksumAlgorithm_sha256"},
                                         "spdx:checksumValue": {"@value": checksum, "@type": "xsd:hexBinary"}}
            size = file_size(release, spec.name, fmt)
            if size is not None:
                dist["dcat:byteSize"] = {"@value": str(size), "@type": "xsd:nonNegativeInteger"}
            if fmt == "datapackage":
                dist["dct:conformsTo"] = {"@id": "https://specs.frictionlessdata.io/data-package/"}
            distributions.append(dist)
        theme = SECTORS.get(spec.sector, {}).get("theme", "ENVI")
        datasets.append({
            "@id": dataset_url(base_url, spec.name), "@type": "dcat:Dataset",
            "dct:identifier": spec.name,
            "dct:title": _lang(spec.title), "dct:description": _lang(spec.description),
            "dct:publisher": {"@id": _publisher(settings)["@id"]},
            "dct:license": {"@id": lic["url"]},
            "dct:accessRights": {"@id": f"{EU}/access-right/PUBLIC"},
            "dct:spatial": spatial,
            "dct:accrualPeriodicity": {"@id": frequency_uri(spec)},
            "dcat:theme": [{"@id": f"{EU}/data-theme/{theme}"}],
            "dcat:keyword": [{"@value": k, "@language": "en"} for k in spec.keywords],
            "dct:issued": issued, "dct:modified": issued,
            "dcat:landingPage": {"@id": dataset_url(base_url, spec.name)},
            "dct:language": [{"@id": f"{EU}/language/ENG"}, {"@id": f"{EU}/language/HIN"}],
            "dct:conformsTo": {"@id": f"{base_url}/standard/v1/"},
            "adms:versionNotes": {"@value": f"release {release.id}", "@language": "en"},
            "dcat:version": release.id,
            "dcat:distribution": distributions,
        })
    return {
        "@context": DCAT_CONTEXT,
        "@graph": [
            {"@id": f"{base_url}/opendata/v1/catalog.jsonld", "@type": "dcat:Catalog",
             "dct:title": _lang({"en": f"Jal Jeevan Mission open data: {settings.node_id}",
                                 "hi": f"जल जीवन मिशन खुला डेटा: {settings.node_id}"}),
             "dct:description": _lang({
                 "en": "Open datasets of a Jal Jeevan Mission DPI node (jaldpi): tap coverage, water quality, "
                       "service levels and schemes, keyed by Local Government Directory (LGD) codes. Household "
                       "counts are protected by disclosure control.",
                 "hi": "जल जीवन मिशन डीपीआई नोड (jaldpi) के खुले डेटासेट: नल कवरेज, जल गुणवत्ता, सेवा स्तर और "
                       "योजनाएँ, स्थानीय सरकार निर्देशिका (एलजीडी) कोड के अनुसार।"}),
             "dct:publisher": _publisher(settings),
             "dct:license": {"@id": lic["url"], "@type": "dct:LicenseDocument",
                             "rdfs:label": lic["title"], "dct:identifier": lic["id"]},
             "dct:language": [{"@id": f"{EU}/language/ENG"}, {"@id": f"{EU}/language/HIN"}],
             "dct:spatial": spatial,
             "dct:issued": issued, "dct:modified": issued,
             "foaf:homepage": {"@id": f"{base_url}/citizen/data/"},
             "dct:conformsTo": {"@id": "https://semiceu.github.io/DCAT-AP/releases/3.0.0/"},
             "dcat:dataset": datasets},
        ],
    }


# ------------------------------------------------------------------------------------------------------- CKAN

def ckan_package(spec: DatasetSpec, release, settings, base_url: str) -> dict[str, Any]:
    """A CKAN package dictionary (the ``result`` of ``package_show``) for one dataset."""
    lic = licence(settings)
    pid = package_id(settings, spec.name)
    modified = built_at(release)
    org = {"id": str(uuid.uuid5(uuid.NAMESPACE_URL, f"jaldpi:{settings.node_id}:publisher")),
           "name": settings.node_id, "title": settings.opendata_publisher, "type": "organization",
           "description": "", "image_url": "", "state": "active", "is_organization": True,
           "approval_status": "approved", "created": modified}
    resources = []
    for position, fmt in enumerate(formats_of(spec, release)):
        info = FORMATS[fmt]
        resources.append({
            "id": str(uuid.uuid5(uuid.NAMESPACE_URL, f"jaldpi:{settings.node_id}:opendata:{spec.name}:{fmt}")),
            "package_id": pid, "url": download_url(base_url, spec.name, fmt),
            "name": f"{spec.name}.{info['extension']}" if fmt != "datapackage" else "datapackage.json",
            "description": f"{spec.title['en']} ({info['label']})",
            "format": info["label"] if fmt != "datapackage" else "JSON",
            "mimetype": info["media_type"], "hash": file_checksum(release, spec.name, fmt) or "",
            "size": file_size(release, spec.name, fmt), "position": position, "state": "active",
            "created": modified, "last_modified": modified, "resource_type": "file", "url_type": None,
        })
    extras = [{"key": key, "value": value} for key, value in ogd_fields(spec, release).items()]
    extras += [{"key": "title_hi", "value": spec.title["hi"]}, {"key": "notes_hi", "value": spec.description["hi"]},
               {"key": "release_id", "value": release.id},
               {"key": "dcat_catalog", "value": f"{base_url}/opendata/v1/catalog.jsonld"}]
    tags = [{"id": str(uuid.uuid5(uuid.NAMESPACE_URL, f"jaldpi:tag:{k}")), "name": k, "display_name": k,
             "state": "active", "vocabulary_id": None} for k in spec.keywords]
    return {
        "id": pid, "name": spec.name.replace("_", "-"), "title": spec.title["en"], "notes": spec.description["en"],
        "type": "dataset", "state": "active", "private": False, "isopen": True,
        "license_id": lic["id"], "license_title": lic["title"], "license_url": lic["url"],
        "url": dataset_url(base_url, spec.name), "version": release.id,
        "author": settings.opendata_publisher, "author_email": None,
        "maintainer": settings.opendata_publisher, "maintainer_email": None,
        "metadata_created": modified, "metadata_modified": modified,
        "owner_org": org["id"], "organization": org, "groups": [],
        "num_resources": len(resources), "num_tags": len(tags),
        "resources": resources, "tags": tags, "extras": extras,
        "relationships_as_object": [], "relationships_as_subject": [],
    }


def ckan_name(spec: DatasetSpec) -> str:
    """CKAN package names allow lowercase letters, digits, ``-`` and ``_``; we publish the dataset name with
    hyphens (the CKAN habit) and accept either spelling, or the package id, in ``package_show``."""
    return spec.name.replace("_", "-")


def find_spec(release, settings, key: str) -> DatasetSpec | None:
    """The published dataset named ``key`` (dataset name, CKAN name or package id), or None."""
    for spec in published(release):
        if key in (spec.name, ckan_name(spec), package_id(settings, spec.name)):
            return spec
    return None


# ------------------------------------------------------------------------------------------------- schema.org

def schema_org_dataset(spec: DatasetSpec, release, base_url: str, lang: str = "en") -> dict[str, Any]:
    """schema.org ``Dataset`` JSON-LD for a dataset page (Google Dataset Search reads it), in ``lang`` (en|hi).

    ``base_url``: the node's public URL without a trailing slash. Licence and publisher come from the release's
    node settings through the manifest (``node_id``) so that the Citizen Corner needs nothing but the release.
    """
    lang = lang if lang in ("en", "hi") else "en"
    base_url = base_url.rstrip("/")
    node_id = release.manifest.get("node_id", "")
    lic_key = release.manifest.get("licence") or "GODL-India"
    lic = LICENCES.get(lic_key, LICENCES["GODL-India"])
    modified = built_at(release)
    states = jurisdiction(release)
    return {
        "@context": "https://schema.org/",
        "@type": "Dataset",
        "@id": dataset_url(base_url, spec.name),
        "name": spec.title[lang],
        "alternateName": spec.title["hi" if lang == "en" else "en"],
        "description": spec.description[lang],
        "url": dataset_url(base_url, spec.name),
        "identifier": spec.name,
        "inLanguage": lang,
        "keywords": list(spec.keywords),
        "license": lic["url"],
        "isAccessibleForFree": True,
        "version": release.id,
        "dateModified": modified,
        "datePublished": modified,
        "creator": {"@type": "Organization", "name": f"Jal Jeevan Mission DPI node {node_id}".strip()},
        "publisher": {"@type": "Organization", "name": f"Jal Jeevan Mission DPI node {node_id}".strip()},
        "spatialCoverage": {"@type": "Place", "name": jurisdiction_label(states)},
        "measurementTechnique": "Aggregated from the node's registries; household counts below the disclosure "
                                "threshold are suppressed",
        "variableMeasured": [
            {"@type": "PropertyValue", "name": c.name, "description": c.title[lang],
             **({"unitText": c.unit} if c.unit else {})}
            for c in spec.columns if c.suppression_flag_for is None],
        "includedInDataCatalog": {"@type": "DataCatalog", "name": "jaldpi open data",
                                  "url": f"{base_url}/opendata/v1/catalog.jsonld"},
        "distribution": [
            {"@type": "DataDownload", "encodingFormat": FORMATS[fmt]["media_type"],
             "contentUrl": download_url(base_url, spec.name, fmt), "name": FORMATS[fmt]["label"]}
            for fmt in formats_of(spec, release)],
    }


__all__ = ["ACCESS_METHOD", "DCAT_CONTEXT", "FORMATS", "LICENCES", "ckan_name", "ckan_package", "dataset_detail",
           "dataset_summary", "dcat_catalog", "find_spec", "ogd_fields", "package_id", "published",
           "schema_org_dataset"]
