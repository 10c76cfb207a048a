"""The open-data API, ``/opendata/v1/``: anonymous, read-only, cached, rate-limited like every anonymous call.

It serves the current release built by ``jaldpi opendata build`` (:mod:`jaldpi.opendata.store`): the index, the
dataset list and metadata, paged rows, file downloads, the DCAT-AP 3 catalogue and a CKAN-compatible action API
(``/opendata/v1/api/3/action/package_list | package_show | package_search | help_show``) so that existing portals
(data.gov.in's OGD platform, any CKAN harvester) can harvest the node.

Caching: a release never changes once built, so every answer is a function of the release id and the request.
JSON answers carry ``ETag`` = hash of both (304 on ``If-None-Match``), downloads carry the file's SHA-256 from the
manifest; all carry ``Cache-Control: public, max-age=settings.opendata_cache_seconds``. Rendered metadata
(catalogue, dataset descriptions, CKAN packages) is kept in memory per release.
"""

from __future__ import annotations

import base64
import datetime as dt
import email.utils
import hashlib
import re
import threading
from collections.abc import Callable
from typing import Any

import orjson
from fastapi import APIRouter, Request
from fastapi.responses import FileResponse, Response

from jaldpi.admin_units.paths import levels_by_letter
from jaldpi.core.api import node_of
from jaldpi.core.bulkio import json_default
from jaldpi.core.errors import Conflict, JaldpiError, NotFound, ValidationFailed
from jaldpi.opendata import catalogue
from jaldpi.opendata.datasets import DATASETS, LEVELS, DatasetSpec
from jaldpi.opendata.store import Release, latest_release, open_release

router = APIRouter(prefix="/opendata/v1", tags=["open data"])

JSON = "application/json"
JSON_LD = "application/ld+json"


class NoRelease(JaldpiError):
    """No release has been built on this node yet."""

    status_code = 503
    code = "no_release"


# ---------------------------------------------------------------------------------------------------- helpers

def _release(request: Request) -> Release:
    release = latest_release(node_of(request).settings)
    if release is None:
        raise NoRelease("no open-data release has been built on this node yet: run `jaldpi opendata build`")
    return release


def _base_url(request: Request) -> str:
    return str(request.base_url).rstrip("/")


def _refuse_unknown(request: Request, allowed: set[str]) -> None:
    unknown = sorted(set(request.query_params) - allowed)
    if unknown:
        raise ValidationFailed(f"unknown query parameter '{unknown[0]}'",
                               details=[{"field": k, "problem": "not a parameter of this endpoint; known: "
                                         + (", ".join(sorted(allowed)) or "none")} for k in unknown])


def _spec(release: Release, name: str) -> DatasetSpec:
    spec = DATASETS.get(name)
    if spec is None or name not in release.manifest.get("datasets", {}):
        raise NotFound(f"no open dataset named '{name}'",
                       details=[{"field": "name", "problem": "known: " + ", ".join(
                           s.name for s in catalogue.published(release))}])
    return spec


def _http_date(iso: str) -> str:
    moment = dt.datetime.fromisoformat(iso)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=dt.UTC)
    return email.utils.format_datetime(moment.astimezone(dt.UTC), usegmt=True)


def _cache_headers(request: Request, release: Release, etag: str) -> dict[str, str]:
    return {"ETag": etag, "Last-Modified": _http_date(release.built_at),
            "Cache-Control": f"public, max-age={node_of(request).settings.opendata_cache_seconds}"}


def _not_modified(request: Request, etag: str, release: Release) -> bool:
    """True when the client's copy is current: ``If-None-Match`` lists the ETag (it wins over dates, RFC 9110),
    or, without it, ``If-Modified-Since`` is not before the release's build time."""
    if_none_match = request.headers.get("if-none-match")
    if if_none_match is not None:
        tags = {t.strip().removeprefix("W/") for t in if_none_match.split(",")}
        return "*" in tags or etag in tags
    since = request.headers.get("if-modified-since")
    if since:
        try:
            client_time = email.utils.parsedate_to_datetime(since)
        except (TypeError, ValueError):
            return False
        built = email.utils.parsedate_to_datetime(_http_date(release.built_at))
        return client_time.tzinfo is not None and client_time >= built
    return False


class _RenderCache:
    """Rendered answers of the current release, keyed by request; emptied when the release changes.

    Bounded: keys include the base URL (the Host header), which a client chooses, so past ``max_entries`` the
    cache starts afresh rather than grow without limit.
    """

    max_entries = 512

    def __init__(self) -> None:
        self.release_id: str | None = None
        self.entries: dict[str, bytes] = {}
        self.lock = threading.Lock()

    def get(self, release_id: str, key: str, render: Callable[[], bytes]) -> bytes:
        with self.lock:
            if self.release_id == release_id and key in self.entries:
                return self.entries[key]
        body = render()
        with self.lock:
            if self.release_id != release_id or len(self.entries) >= self.max_entries:
                self.release_id, self.entries = release_id, {}
            self.entries[key] = body
        return body


def _render_cache(request: Request) -> _RenderCache:
    extras = node_of(request).extras
    cache = extras.get("opendata_render_cache")
    if cache is None:
        cache = extras.setdefault("opendata_render_cache", _RenderCache())
    return cache


def _request_key(request: Request, extra: str = "") -> str:
    query = "&".join(f"{k}={v}" for k, v in sorted(request.query_params.multi_items()))
    return f"{_base_url(request)}{request.url.path}?{query}#{extra}"


def _json_answer(request: Request, release: Release, build: Callable[[], Any], *, cache: bool = False,
                 media_type: str = JSON, status_code: int = 200, extra_key: str = "",
                 headers: dict[str, str] | None = None) -> Response:
    """A JSON answer with ETag (release id + request), Cache-Control and Last-Modified; 304 when current.

    ``cache``: keep the rendered body in memory for the life of the release (metadata, not row pages).
    """
    key = _request_key(request, extra_key)
    etag = '"' + hashlib.sha256(f"{release.id}\n{key}".encode()).hexdigest()[:32] + '"'
    all_headers = {**_cache_headers(request, release, etag), **(headers or {})}
    if _not_modified(request, etag, release):
        return Response(status_code=304, headers=all_headers)

    def render() -> bytes:
        return orjson.dumps(build(), default=json_default)

    body = _render_cache(request).get(release.id, key, render) if cache else render()
    return Response(body, status_code=status_code, media_type=media_type, headers=all_headers)


# ---------------------------------------------------------------------------------------------------- index

@router.get("/", summary="Open data: the current release and where everything is")
def index(request: Request) -> Response:
    _refuse_unknown(request, set())
    release = _release(request)
    settings = node_of(request).settings
    base = _base_url(request)

    def build() -> dict[str, Any]:
        return {
            "release_id": release.id, "built_at": release.built_at,
            "node_id": release.manifest.get("node_id"), "standard": release.manifest.get("standard"),
            "licence": catalogue.licence(settings), "disclosure": release.manifest.get("disclosure"),
            "datasets": [spec.name for spec in catalogue.published(release)],
            "links": {
                "datasets": f"{base}/opendata/v1/datasets",
                "catalog_dcat": f"{base}/opendata/v1/catalog.jsonld",
                "ckan_package_list": f"{base}/opendata/v1/api/3/action/package_list",
                "ckan_package_search": f"{base}/opendata/v1/api/3/action/package_search",
                "citizen_data": f"{base}/citizen/data/",
            },
        }

    return _json_answer(request, release, build, cache=True)


@router.get("/datasets", summary="The open datasets of the current release, with their metadata")
def list_datasets(request: Request) -> Response:
    _refuse_unknown(request, set())
    release = _release(request)
    settings = node_of(request).settings
    base = _base_url(request)
    return _json_answer(request, release, lambda: {
        "release_id": release.id, "built_at": release.built_at,
        "items": [catalogue.dataset_summary(spec, release, settings, base) for spec in catalogue.published(release)],
    }, cache=True)


@router.get("/datasets/{name}", summary="One open dataset: columns, files, suppression and privacy facts")
def dataset_metadata(request: Request, name: str) -> Response:
    _refuse_unknown(request, set())
    release = _release(request)
    spec = _spec(release, name)
    settings = node_of(request).settings
    return _json_answer(request, release,
                        lambda: catalogue.dataset_detail(spec, release, settings, _base_url(request)), cache=True)


# ---------------------------------------------------------------------------------------------------- rows

_SEGMENT = re.compile(r"([A-Z])(\d+)")


def _within_filter(request: Request, value: str) -> list[tuple[str, int]]:
    """``within`` (a path /S28/D745/ or level:code) -> [(level, lgd code)] that a row must all lie in."""
    resolved = node_of(request).extras["resolve_within"](value)
    by_letter = levels_by_letter()
    out = []
    for letter, code in _SEGMENT.findall(resolved):
        level = by_letter.get(letter)
        if level not in LEVELS:
            raise ValidationFailed(f"within: open datasets are not keyed by {level or letter} units",
                                   details=[{"field": "within", "problem": "use a unit of level "
                                             + ", ".join(LEVELS)}])
        out.append((level, int(code)))
    return out


def _row_within(row: dict[str, Any], units: list[tuple[str, int]]) -> bool:
    for level, code in units:
        if row.get("level") == level:
            if row.get("lgd_code") != code:
                return False
        elif row.get(f"{level}_lgd") != code:
            return False
    return True


def _encode_cursor(release_id: str, position: int) -> str:
    raw = orjson.dumps({"r": release_id, "p": position})
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _decode_cursor(cursor: str) -> tuple[str, int]:
    try:
        data = orjson.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
        release_id, position = data["r"], data["p"]
        if not isinstance(release_id, str) or not isinstance(position, int) or position < 0:
            raise ValueError
        return release_id, position
    except (ValueError, TypeError, KeyError, orjson.JSONDecodeError) as exc:
        raise ValidationFailed("invalid cursor",
                               details=[{"field": "after", "problem": "not a cursor issued by this API"}]) from exc


@router.get("/datasets/{name}/rows", summary="Rows of an open dataset, in pages")
def dataset_rows(request: Request, name: str, level: str | None = None, within: str | None = None,
                 limit: str | None = None, after: str | None = None) -> Response:
    """Rows in the release's order. ``level``: one of the dataset's granularity levels; ``within``: an LGD unit
    (``district:745``) or path (``/S28/D745/``); ``limit``: page size, capped by the node's max_page_size;
    ``after``: the previous page's ``next_cursor``. A cursor stays on the release it was issued for (while that
    release is kept on disk), so a walk through the pages never skips or repeats a row even across a new build."""
    _refuse_unknown(request, {"level", "within", "limit", "after"})
    settings = node_of(request).settings
    release = _release(request)
    position = 0
    if after:
        release_id, position = _decode_cursor(after)
        if release_id != release.id:
            older = open_release(settings, release_id)
            if older is None:
                raise Conflict(f"the cursor belongs to release {release_id}, which is no longer kept; start again "
                               "without `after`", code="release_gone",
                               details=[{"field": "after", "problem": f"release {release_id} is gone"}])
            release = older
    spec = _spec(release, name)
    if level is not None and level not in spec.granularity:
        raise ValidationFailed(f"level: {name} has no rows at level '{level}'",
                               details=[{"field": "level", "problem": "expected one of "
                                         + ", ".join(spec.granularity)}])
    size = settings.default_page_size
    if limit is not None:
        if not limit.isdigit() or int(limit) < 1:
            raise ValidationFailed("limit must be a positive integer",
                                   details=[{"field": "limit", "problem": f"not a positive integer: {limit!r}"}])
        size = int(limit)
    size = min(size, settings.max_page_size)
    units = _within_filter(request, within) if within else []

    def build() -> dict[str, Any]:
        rows = release.rows(name)
        items: list[dict[str, Any]] = []
        next_position: int | None = None
        for index in range(position, len(rows)):
            row = rows[index]
            if (level is not None and row.get("level") != level) or (units and not _row_within(row, units)):
                continue
            if len(items) == size:
                next_position = index  # another matching row exists: the next page starts here
                break
            items.append(row)
        return {"dataset": name, "release_id": release.id, "items": items,
                "next_cursor": _encode_cursor(release.id, next_position) if next_position is not None else None}

    body = build()
    headers = {}
    if body["next_cursor"]:
        headers["Link"] = f'<{request.url.include_query_params(after=body["next_cursor"])}>; rel="next"'
    return _json_answer(request, release, lambda: body, headers=headers)


# ---------------------------------------------------------------------------------------------------- downloads

@router.get("/datasets/{name}/download/{fmt}", summary="Download a dataset file: csv, parquet, geojson or "
            "datapackage (Frictionless datapackage.json)")
def download(request: Request, name: str, fmt: str) -> Response:
    _refuse_unknown(request, set())
    release = _release(request)
    spec = _spec(release, name)
    if fmt not in catalogue.FORMATS:
        raise ValidationFailed(f"unknown format '{fmt}'", details=[{"field": "fmt", "problem": "expected one of "
                                                                     + ", ".join(catalogue.FORMATS)}])
    try:
        path = release.file(name, fmt)
    except KeyError as exc:
        raise NotFound(f"{name} has no {fmt} file" + (" (it has no village points)" if fmt == "geojson" else ""),
                       details=[{"field": "fmt", "problem": "published formats: "
                                 + ", ".join(catalogue.formats_of(spec, release))}]) from exc
    checksum = catalogue.file_checksum(release, name, fmt) or _sha256_of(path)
    etag = f'"{checksum}"'
    headers = _cache_headers(request, release, etag)
    if _not_modified(request, etag, release):
        return Response(status_code=304, headers=headers)
    filename = "datapackage.json" if fmt == "datapackage" else f"{name}.{catalogue.FORMATS[fmt]['extension']}"
    return FileResponse(path, media_type=catalogue.FORMATS[fmt]["http_type"], filename=filename,
                        headers=headers)


_FILE_HASHES: dict[str, str] = {}


def _sha256_of(path) -> str:
    """SHA-256 of a release file the manifest has no checksum for (release files never change: cached)."""
    key = str(path)
    if key not in _FILE_HASHES:
        digest = hashlib.sha256()
        with open(path, "rb") as handle:
            for chunk in iter(lambda: handle.read(1 << 20), b""):
                digest.update(chunk)
        _FILE_HASHES[key] = digest.hexdigest()
    return _FILE_HASHES[key]


# ---------------------------------------------------------------------------------------------------- DCAT

@router.get("/catalog.jsonld", summary="The open-data catalogue as DCAT-AP 3 JSON-LD")
def dcat_catalog(request: Request) -> Response:
    _refuse_unknown(request, set())
    release = _release(request)
    settings = node_of(request).settings
    return _json_answer(request, release, lambda: catalogue.dcat_catalog(release, settings, _base_url(request)),
                        cache=True, media_type=JSON_LD)


# ---------------------------------------------------------------------------------------------------- CKAN

class CkanError(Exception):
    """An error of the CKAN-compatible API, answered in CKAN's shape ``{"success": false, "error": {...}}``."""

    def __init__(self, status_code: int, kind: str, message: str, fields: dict[str, list[str]] | None = None):
        super().__init__(message)
        self.status_code, self.kind, self.message, self.fields = status_code, kind, message, fields or {}


def _ckan_help(request: Request, action: str) -> str:
    return f"{_base_url(request)}/opendata/v1/api/3/action/help_show?name={action}"


def _ckan_int(params: dict[str, Any], key: str, default: int, minimum: int) -> int:
    value = params.get(key, default)
    if isinstance(value, bool) or not (isinstance(value, int) or (isinstance(value, str) and value.isdigit())):
        raise CkanError(409, "Validation Error", f"{key}: Invalid integer", {key: ["Invalid integer"]})
    value = int(value)
    if value < minimum:
        raise CkanError(409, "Validation Error", f"{key}: Must be at least {minimum}",
                        {key: [f"Must be at least {minimum}"]})
    return value


def _ckan_refuse_unknown(params: dict[str, Any], allowed: set[str]) -> None:
    unknown = sorted(set(params) - allowed)
    if unknown:
        raise CkanError(409, "Validation Error", f"unknown parameter '{unknown[0]}'; known: "
                        + ", ".join(sorted(allowed)), {k: ["The input field is not known"] for k in unknown})


def _package_list(request: Request, params: dict[str, Any]) -> list[str]:
    """Names of all published datasets (packages). Parameters: ``limit``, ``offset``."""
    _ckan_refuse_unknown(params, {"limit", "offset"})
    release = _release(request)
    names = [catalogue.ckan_name(spec) for spec in catalogue.published(release)]
    offset = _ckan_int(params, "offset", 0, 0)
    limit = _ckan_int(params, "limit", len(names), 0) if "limit" in params else len(names)
    return names[offset:offset + limit]


def _package(request: Request, release: Release, spec: DatasetSpec) -> dict[str, Any]:
    settings = node_of(request).settings
    body = _render_cache(request).get(
        release.id, f"ckan:{_base_url(request)}:{spec.name}",
        lambda: orjson.dumps(catalogue.ckan_package(spec, release, settings, _base_url(request))))
    return orjson.loads(body)


def _package_show(request: Request, params: dict[str, Any]) -> dict[str, Any]:
    """One dataset as a CKAN package. Parameter: ``id`` (package name or id)."""
    _ckan_refuse_unknown(params, {"id", "use_default_schema", "include_tracking"})
    key = params.get("id")
    if not key or not isinstance(key, str):
        raise CkanError(409, "Validation Error", "id: Missing value", {"id": ["Missing value"]})
    release = _release(request)
    spec = catalogue.find_spec(release, node_of(request).settings, key)
    if spec is None:
        raise CkanError(404, "Not Found Error", f"Not found: no dataset '{key}'")
    return _package(request, release, spec)


_FQ_TERM = re.compile(r'\+?(\w+):(\[[^\]]*\]|"[^"]*"|\S+)')
_SORT_FIELDS = {"name", "title_string", "metadata_modified", "metadata_created", "score"}


def _fq_predicates(fq: str) -> list[Callable[[dict[str, Any]], bool]]:
    """A small, exact subset of Solr filter queries, enough for harvesters: ``field:value`` terms (all must hold)
    on name, tags, res_format, organization, license_id, dataset_type/type, and ``metadata_modified:[A TO B]``."""
    predicates: list[Callable[[dict[str, Any]], bool]] = []
    rest = _FQ_TERM.sub("", fq).strip()
    if rest:
        raise CkanError(409, "Validation Error", f"fq: cannot read {rest!r}; use field:value terms",
                        {"fq": ["Unsupported filter query"]})
    for field, raw in _FQ_TERM.findall(fq):
        value = raw.strip('"')
        if field == "metadata_modified" or field == "metadata_created":
            match = re.fullmatch(r"\[(\S+) TO (\S+)\]", raw)
            if not match:
                raise CkanError(409, "Validation Error", f"fq: {field} takes a range [A TO B]",
                                {"fq": ["Unsupported filter query"]})
            low, high = match.groups()
            predicates.append(lambda p, f=field, lo=low, hi=high: (lo == "*" or p[f] >= lo.removesuffix("Z"))
                              and (hi == "*" or p[f] <= hi.removesuffix("Z")))
        elif field == "name":
            predicates.append(lambda p, v=value: p["name"] == v)
        elif field == "tags":
            predicates.append(lambda p, v=value: v in {t["name"] for t in p["tags"]})
        elif field == "res_format":
            predicates.append(lambda p, v=value: v.lower() in {r["format"].lower() for r in p["resources"]})
        elif field == "organization":
            predicates.append(lambda p, v=value: p["organization"]["name"] == v)
        elif field == "license_id":
            predicates.append(lambda p, v=value: p["license_id"] == v)
        elif field in ("dataset_type", "type"):
            predicates.append(lambda p, v=value: p["type"] == v)
        else:
            raise CkanError(409, "Validation Error", f"fq: field '{field}' is not searchable here; use name, tags, "
                            "res_format, organization, license_id, dataset_type or metadata_modified",
                            {"fq": [f"Unsupported field {field}"]})
    return predicates


def _package_search(request: Request, params: dict[str, Any]) -> dict[str, Any]:
    """Search datasets. Parameters: ``q`` (words, all must appear in name, title, notes or tags; ``*:*`` = all),
    ``fq`` (field:value filters), ``sort`` (``name asc``, ``metadata_modified desc``, ...), ``rows``, ``start``."""
    _ckan_refuse_unknown(params, {"q", "fq", "sort", "rows", "start", "include_private", "include_drafts",
                                  "facet", "facet.field", "facet.limit"})
    settings = node_of(request).settings
    release = _release(request)
    rows = _ckan_int(params, "rows", 10, 0)
    rows = min(rows, settings.max_page_size)
    start = _ckan_int(params, "start", 0, 0)
    q = str(params.get("q") or "").strip()
    fq = str(params.get("fq") or "").strip()
    predicates = _fq_predicates(fq)
    if q and q != "*:*":
        field_terms = " ".join(m.group(0) for m in _FQ_TERM.finditer(q))
        predicates += _fq_predicates(field_terms) if field_terms else []
        words = _FQ_TERM.sub(" ", q).lower().split()
    else:
        words = []
    packages = [_package(request, release, spec) for spec in catalogue.published(release)]

    def text_of(p: dict[str, Any]) -> str:
        extras = " ".join(str(e["value"]) for e in p["extras"])
        return " ".join([p["name"], p["title"], p["notes"], extras, *(t["name"] for t in p["tags"])]).lower()

    found = [p for p in packages if all(pred(p) for pred in predicates) and all(w in text_of(p) for w in words)]
    sort = str(params.get("sort") or "score desc, metadata_modified desc")
    for clause in reversed([c.strip() for c in sort.split(",") if c.strip()]):
        parts = clause.split()
        if len(parts) != 2 or parts[0] not in _SORT_FIELDS or parts[1] not in ("asc", "desc"):
            raise CkanError(409, "Validation Error", f"sort: cannot sort by {clause!r}; use one of "
                            + ", ".join(sorted(_SORT_FIELDS)) + " with asc or desc", {"sort": ["Invalid sort"]})
        field, direction = parts
        if field == "score":
            continue  # no relevance ranking: every match scores the same, catalogue order breaks ties
        sort_key = "title" if field == "title_string" else field
        found.sort(key=lambda p, k=sort_key: p[k], reverse=direction == "desc")
    return {"count": len(found), "results": found[start:start + rows], "sort": sort, "facets": {},
            "search_facets": {}}


def _help_show(request: Request, params: dict[str, Any]) -> str:
    """The documentation of an action. Parameter: ``name``."""
    _ckan_refuse_unknown(params, {"name"})
    action = ACTIONS.get(str(params.get("name") or ""))
    if action is None:
        raise CkanError(404, "Not Found Error", "Not found: no such action; known: " + ", ".join(sorted(ACTIONS)))
    return (action.__doc__ or "").strip()


ACTIONS: dict[str, Callable[[Request, dict[str, Any]], Any]] = {
    "package_list": _package_list, "package_show": _package_show, "package_search": _package_search,
    "help_show": _help_show,
}


async def _ckan_params(request: Request) -> dict[str, Any]:
    """CKAN clients send parameters in the query string (GET) or as a JSON object or form (POST, e.g. ckanapi)."""
    params: dict[str, Any] = dict(request.query_params)
    if request.method == "POST":
        content_type = request.headers.get("content-type", "")
        raw = await request.body()
        if "json" in content_type or (raw.strip().startswith(b"{") and "form" not in content_type):
            try:
                body = orjson.loads(raw) if raw.strip() else {}
            except orjson.JSONDecodeError as exc:
                raise CkanError(400, "Bad Request", "the request body is not valid JSON") from exc
            if not isinstance(body, dict):
                raise CkanError(400, "Bad Request", "the request body must be a JSON object")
            params.update(body)
        elif raw:
            params.update(dict(await request.form()))
    return params


async def ckan_action(request: Request, action: str) -> Response:
    """CKAN-compatible action API: package_list, package_show, package_search, help_show (GET with query
    parameters, or POST with a JSON object as ckanapi sends)."""
    from starlette.concurrency import run_in_threadpool

    try:
        handler = ACTIONS.get(action)
        if handler is None:
            raise CkanError(400, "Bad Request", f"Bad request - Action name not known: {action}")
        params = await _ckan_params(request)
        result = await run_in_threadpool(handler, request, params)
    except CkanError as exc:
        return _ckan_error(request, action, exc.status_code, {"__type": exc.kind, "message": exc.message,
                                                              **exc.fields})
    except NoRelease as exc:
        return _ckan_error(request, action, 503, {"__type": "Service Unavailable", "message": exc.message})
    release = _release(request)
    envelope = {"help": _ckan_help(request, action), "success": True, "result": result}
    if request.method == "POST":
        return Response(orjson.dumps(envelope, default=json_default), media_type=JSON,
                        headers={"Cache-Control": "no-store"})
    return _json_answer(request, release, lambda: envelope)


def _ckan_error(request: Request, action: str, status_code: int, error: dict[str, Any]) -> Response:
    body = {"help": _ckan_help(request, action), "success": False, "error": error}
    return Response(orjson.dumps(body), status_code=status_code, media_type=JSON)


for _method in ("GET", "POST"):  # one operation per method: OpenAPI operation ids must be unique
    router.add_api_route("/api/3/action/{action}", ckan_action, methods=[_method],
                         operation_id=f"opendata_ckan_action_{_method.lower()}",
                         summary=f"CKAN-compatible action API ({_method})")
