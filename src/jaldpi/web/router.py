"""Citizen Corner routes (``/citizen/``): public, server-rendered, no login, no JavaScript.

Pages: home with search, village search (``/citizen/villages?q=``), village page, district and state dashboards,
open datasets (``/citizen/data/``) and one dataset (``/citizen/data/{name}``) with schema.org Dataset JSON-LD.
Each page reads with a few set-based queries (``citizen.py``) and the cached rows of the latest open-data release.
The complaint pages (report a problem, track, confirm, reopen) are in ``complaints.py``.
"""

from __future__ import annotations

import datetime as dt
import json
from importlib import resources
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response
from markupsafe import Markup

from jaldpi.opendata.catalogue import schema_org_dataset
from jaldpi.opendata.datasets import DATASETS, DatasetSpec
from jaldpi.opendata.store import Release, latest_release
from jaldpi.standard.codelists import codelist
from jaldpi.web import charts, citizen, complaints
from jaldpi.web.i18n import Translator, language_of
from jaldpi.web.rendering import render

router = APIRouter(include_in_schema=False)
router.include_router(complaints.router)  # report a problem, track it, confirm or reopen it

_STATIC_TYPES = {"css": "text/css; charset=utf-8"}
DOWNLOAD_FORMATS = ("csv", "parquet", "geojson", "datapackage")
# Status tones: the palette and marker shape of each status (charts.py), the words come from the catalogs.
HGJ_TONES = {"har_ghar_jal": "good", "in_progress": "partial", "not_started": "bad", "unknown": "unknown"}
WQ_TONES = {"safe": "good", "unsafe": "bad", "not_tested": "unknown"}
VERDICT_TONES = {"safe": "good", "unsafe": "bad", "incomplete": "partial", "pending": "unknown"}
FUNCTIONAL_TONES = {"functional": "good", "partially_functional": "partial", "non_functional": "bad",
                    "no_data": "unknown"}
CERT_TONES = {"certified": "good", "resolution_uploaded": "partial", "reported": "partial", "returned": "bad",
              "withdrawn": "unknown", "not_reported": "unknown"}


def _node(request: Request):
    return request.app.state.node


def _cache(request: Request) -> str:
    seconds = getattr(_node(request).settings, "opendata_cache_seconds", 300)
    return f"public, max-age={seconds}"


def _code_label(list_name: str, code: str | None, language: str) -> str:
    """The label of ``code`` in code list ``list_name`` in ``language`` (the code itself when unknown)."""
    if code is None:
        return ""
    for entry in codelist(list_name)["items"]:
        if entry["code"] == code:
            return entry["label"].get(language) or entry["label"]["en"]
    return code


def _parameter_label(t: Translator, code: str) -> str:
    key = f"parameter.{code}"
    try:
        return t(key)
    except KeyError:
        return code.replace("_", " ")


def _not_found(request: Request, what: str) -> Response:
    return render(request, "citizen/not_found.html", {"what": what}, status_code=404,
                  cache_control="public, max-age=60")


def _release(request: Request) -> Release | None:
    return latest_release(_node(request).settings)


@router.get("/citizen/static/{name}")
def static_file(name: str) -> Response:
    """The stylesheet (the only static file); cached for a day since it changes only with a release."""
    suffix = name.rsplit(".", 1)[-1]
    if "/" in name or suffix not in _STATIC_TYPES:
        return Response(status_code=404)
    file = resources.files("jaldpi.web").joinpath("static", name)
    if not file.is_file():
        return Response(status_code=404)
    return Response(file.read_bytes(), media_type=_STATIC_TYPES[suffix],
                    headers={"Cache-Control": "public, max-age=86400"})


@router.get("/citizen")
@router.get("/citizen/")
def home(request: Request) -> Response:
    node = _node(request)
    with node.db.unit_of_work(write=False) as session:
        a, stmt = citizen._units_table()
        states = [citizen._unit(r) for r in session.execute(stmt.where(a.c.level == "state").order_by(a.c.name))]
    return render(request, "citizen/home.html", {"states": states}, cache_control=_cache(request))


def _positive_int(value: str | None, default: int | None) -> int | None:
    return int(value) if value and value.isdigit() and int(value) > 0 else default


@router.get("/citizen/villages")
def villages(request: Request, q: str = "", page: str | None = None, block: str | None = None) -> Response:
    """Search villages by name (partial, any case) or LGD code; ``block`` lists the villages of an LGD block."""
    query = q.strip()[:100]
    page_no = _positive_int(page, 1)
    block_code = _positive_int(block, None)
    results, total, block_unit = [], 0, None
    if query or block_code:
        with _node(request).db.unit_of_work(write=False) as session:
            results, total = citizen.search_villages(session, query, page_no, block=block_code)
            if block_code:
                block_unit = citizen.find_unit(session, "block", block_code)
    pages = max(1, -(-total // citizen.SEARCH_PAGE_SIZE))
    return render(request, "citizen/villages.html",
                  {"query": query, "results": results, "total": total, "page": page_no, "pages": pages,
                   "block": block_unit, "block_code": block_code, "searched": bool(query or block_code)},
                  cache_control=_cache(request))


def _coverage_view(row: dict[str, Any] | None) -> dict[str, Any] | None:
    """The tap-coverage cells of one release row, each with its suppression flag."""
    if row is None:
        return None
    cells = {}
    for name in ("households", "households_with_tap", "households_without_tap", "coverage_percent"):
        cells[name] = {"value": row.get(name), "suppressed": bool(row.get(f"{name}_suppressed"))}
    cells["status"] = row.get("har_ghar_jal_status")
    for name in ("villages", "villages_har_ghar_jal", "villages_in_progress", "villages_not_started"):
        cells[name] = row.get(name)
    return cells


@router.get("/citizen/village/{lgd_code}")
def village(request: Request, lgd_code: str) -> Response:
    if not lgd_code.isdigit():
        return _not_found(request, "village")
    node = _node(request)
    settings = node.settings
    release = _release(request)
    index = citizen.release_index(release)
    with node.db.unit_of_work(write=False) as session:
        unit = citizen.find_unit(session, "village", int(lgd_code))
        if unit is None:
            return _not_found(request, "village")
        schemes = citizen.schemes_serving(session, unit)
        quality = citizen.water_quality(session, unit, settings.wq_status_period_days)
        service = citizen.service_level(session, unit, settings)
        open_grievances = citizen.open_grievances(session, unit)
        certification = citizen.certification_status(session, unit)
    coverage = _coverage_view(index.coverage.get(("village", unit.lgd_code))) if index else None
    t = Translator(language_of(request))
    chart = charts.daily_chart(
        t("village.service.chart_title"),
        t("village.service.chart_desc", days=citizen.SERVICE_WINDOW_DAYS, supplied=service["days_supplied"],
          norm=service["norm_lpcd"],
          average=t.number(service["average_lpcd"], 1) if service["average_lpcd"] is not None else t("common.none")),
        service["days"], service["norm_lpcd"],
        labels={"norm": t("village.service.norm_line", norm=service["norm_lpcd"]),
                "first": t.date(service["first"]), "last": t.date(service["last"])})
    return render(request, "citizen/village.html", {
        "unit": unit, "schemes": schemes, "quality": quality, "service": service, "coverage": coverage,
        "release": release, "chart": chart, "now": dt.datetime.now(dt.UTC),
        "label": lambda name, code: _code_label(name, code, t.language),
        "parameter": lambda code: _parameter_label(t, code),
        "hgj_tone": HGJ_TONES, "wq_tone": WQ_TONES, "verdict_tone": VERDICT_TONES, "cert_tone": CERT_TONES,
        "open_grievances": open_grievances, "certification": certification,
        "min_cell": getattr(settings, "opendata_min_cell", 10)}, cache_control=_cache(request))


def _dashboard(request: Request, level: str, lgd_code: str) -> Response:
    if not lgd_code.isdigit():
        return _not_found(request, level)
    node = _node(request)
    settings = node.settings
    release = _release(request)
    index = citizen.release_index(release)
    t = Translator(language_of(request))
    with node.db.unit_of_work(write=False) as session:
        unit = citizen.find_unit(session, level, int(lgd_code))
        if unit is None:
            return _not_found(request, level)
        below = citizen.children(session, unit)
        quality = citizen.quality_counts(session, unit, settings.wq_status_period_days)
    coverage = _coverage_view(index.coverage.get((level, unit.lgd_code))) if index else None
    child_rows = [{"unit": child,
                   "coverage": _coverage_view(index.coverage.get((child.level, child.lgd_code))) if index else None}
                  for child in below]
    service = index.service.get((level, unit.lgd_code)) if index else None
    if service is not None and not service.get("villages"):
        service = None  # no village counted in any published month: say so rather than draw zeros
    place = t.unit_name(unit.name, unit.name_local)
    views: dict[str, Any] = {}
    if coverage:
        hgj = [charts.Bar(t(f"hgj.{status}"), coverage[f"villages_{status}"] or 0,
                          t.number(coverage[f"villages_{status}"]), HGJ_TONES[status])
               for status in ("har_ghar_jal", "in_progress", "not_started")]
        views["hgj_chart"] = charts.bar_chart(t("dash.hgj.chart_title", place=place),
                                              t("dash.hgj.chart_desc", place=place), hgj)
        views["hgj_bars"] = hgj
    wq = [charts.Bar(t(f"wq.{status}"), quality[status], t.number(quality[status]), WQ_TONES[status])
          for status in ("safe", "unsafe", "not_tested")]
    views["wq_chart"] = charts.bar_chart(t("dash.wq.chart_title", place=place), t("dash.wq.chart_desc", place=place),
                                         wq)
    views["wq_bars"] = wq
    if service:
        fn = [charts.Bar(t(f"functional.{status}"), service.get(f"villages_{status}") or 0,
                         t.number(service.get(f"villages_{status}") or 0), FUNCTIONAL_TONES[status])
              for status in ("functional", "partially_functional", "non_functional", "no_data")]
        views["fn_chart"] = charts.bar_chart(t("dash.fn.chart_title", place=place, month=service["month"]),
                                             t("dash.fn.chart_desc", place=place), fn)
        views["fn_bars"] = fn
    if coverage and any(c["coverage"] and c["coverage"]["villages"] for c in child_rows):
        cov = [charts.Bar(t.unit_name(c["unit"].name, c["unit"].name_local),
                          None if not c["coverage"] or c["coverage"]["coverage_percent"]["suppressed"]
                          else c["coverage"]["coverage_percent"]["value"],
                          _percent_text(t, c["coverage"]), "bar")
               for c in child_rows if c["coverage"] and c["coverage"]["villages"]]  # units with villages only
        views["coverage_chart"] = charts.bar_chart(t("dash.coverage.chart_title", place=place),
                                                   t("dash.coverage.chart_desc", place=place), cov, maximum=100)
    markers = citizen.village_markers(index, unit)
    views["map"], views["map_binned"] = charts.village_map(
        t("dash.map.title", place=place), t("dash.map.desc", place=place, villages=t.number(len(markers))),
        markers, HGJ_TONES, max_markers=citizen.MAP_MAX_MARKERS)
    views["map_count"] = len(markers)
    views["legend"] = [(charts.legend_swatch(HGJ_TONES[s]), t(f"hgj.{s}"), sum(1 for m in markers if m["status"] == s))
                       for s in ("har_ghar_jal", "in_progress", "not_started")]
    return render(request, "citizen/dashboard.html", {
        "unit": unit, "level": level, "coverage": coverage, "children": child_rows, "quality": quality,
        "service": service, "release": release, "views": views, "percent": lambda c: _percent_text(t, c),
        "child_level": {"state": "district", "district": "block"}[level],
        "min_cell": getattr(settings, "opendata_min_cell", 10)}, cache_control=_cache(request))


def _percent_text(t: Translator, coverage: dict[str, Any] | None) -> str:
    if not coverage:
        return t("common.no_data")
    cell = coverage["coverage_percent"]
    if cell["suppressed"]:
        return t("common.suppressed_short")
    if cell["value"] is None:
        return t("common.no_data")
    return f"{t.number(cell['value'], 1)}%"


@router.get("/citizen/district/{lgd_code}")
def district(request: Request, lgd_code: str) -> Response:
    return _dashboard(request, "district", lgd_code)


@router.get("/citizen/state/{lgd_code}")
def state(request: Request, lgd_code: str) -> Response:
    return _dashboard(request, "state", lgd_code)


# -------------------------------------------------------------------------------------------------- open data

def _download_url(name: str, fmt: str) -> str:
    return f"/opendata/v1/datasets/{name}/download/{fmt}"


def schema_org(request: Request, spec: DatasetSpec, release: Release | None, language: str) -> dict[str, Any]:
    """The schema.org ``Dataset`` of ``spec``: the open-data catalogue's JSON-LD for a published dataset; before the
    first release (nothing to download yet) the descriptive part of the same shape."""
    base = str(request.base_url).rstrip("/")
    if release is not None and spec.name in release.manifest["datasets"]:
        return schema_org_dataset(spec, release, base_url=base, lang=language)
    settings = _node(request).settings
    return {"@context": "https://schema.org/", "@type": "Dataset", "name": spec.title[language],
            "description": spec.description[language], "url": f"{base}/citizen/data/{spec.name}",
            "identifier": spec.name, "inLanguage": language, "keywords": list(spec.keywords),
            "isAccessibleForFree": True,
            "creator": {"@type": "Organization", "name": f"Jal Jeevan Mission DPI node {settings.node_id}"}}


def _json_ld(data: dict[str, Any]) -> Markup:
    """JSON for a ``<script type="application/ld+json">``: ``<`` escaped so no text can close the script."""
    text = json.dumps({k: v for k, v in data.items() if v is not None}, ensure_ascii=False)
    return Markup(text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026"))


@router.get("/citizen/data")
@router.get("/citizen/data/")
def datasets(request: Request) -> Response:
    release = _release(request)
    entries = [{"spec": spec, "entry": release.manifest["datasets"].get(name) if release else None}
               for name, spec in DATASETS.items()]
    return render(request, "data/index.html", {"datasets": entries, "release": release},
                  cache_control=_cache(request))


@router.get("/citizen/data/{name}")
def dataset(request: Request, name: str) -> Response:
    spec = DATASETS.get(name)
    if spec is None:
        return _not_found(request, "dataset")
    release = _release(request)
    entry = release.manifest["datasets"].get(name) if release else None
    language = language_of(request)
    formats = [f for f in DOWNLOAD_FORMATS if entry and f in entry.get("files", {})]
    disclosure = release.manifest.get("disclosure") if release else None
    return render(request, "data/dataset.html", {
        "spec": spec, "entry": entry, "release": release, "formats": formats, "disclosure": disclosure,
        "download_url": _download_url, "json_ld": _json_ld(schema_org(request, spec, release, language)),
        "columns": [c for c in spec.columns if not c.suppression_flag_for]}, cache_control=_cache(request))
