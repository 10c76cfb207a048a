"""Checks of the published data standard: the /standard/v1/ index, JSON Schemas, code lists (docs/standard.md).

Schemas are checked with the ``jsonschema`` package against the Draft 2020-12 meta-schema: a hand-written
structural check would accept schemas that real validators reject, and partners validate with those validators.
"""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import unquote, urlsplit

from jaldpi.conformance.checks import check
from jaldpi.conformance.context import WRITE_REGISTRY, RunContext
from jaldpi.conformance.http import Answer, CheckFailed, PrerequisiteFailed

DRAFT_2020_12 = "https://json-schema.org/draft/2020-12/schema"
V1_REGISTRIES = ("admin_units", "entities", "natural_resources", "households", "schemes", "components")
V1_CODELISTS = ("lgd_levels", "entity_types", "entity_statuses", "lab_levels", "committee_roles", "genders",
                "social_categories", "scheme_types", "scheme_lifecycle", "component_types", "component_link_types",
                "resource_types", "source_types", "groundwater_categories", "roles")
SEMVER = re.compile(r"^(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)$")
DEVANAGARI = re.compile(r"[\u0900-\u097F]")


def listing(problems: list[str], limit: int = 3, separator: str = "; ") -> str:
    """The first ``limit`` problems and how many more: a reason stays one readable line."""
    more = f" (and {len(problems) - limit} more)" if len(problems) > limit else ""
    return separator.join(problems[:limit]) + more


def _index(ctx: RunContext) -> tuple[Answer, dict[str, Any]]:
    def build() -> tuple[Answer, dict[str, Any]]:
        answer = ctx.target.get("/standard/v1/")
        body = answer.json_or_none()
        if answer.status != 200 or not isinstance(body, dict):
            raise PrerequisiteFailed(f"no standard index: {answer.label} answered {answer.status} {answer.snippet()}")
        return answer, body
    return ctx.fixture("standard_index", build)


def _schema_links(ctx: RunContext) -> dict[str, dict[str, str]]:
    _, body = _index(ctx)
    schemas = body.get("schemas")
    if not isinstance(schemas, dict) or not schemas:
        raise PrerequisiteFailed("the standard index lists no schemas")
    return {name: links for name, links in schemas.items() if isinstance(links, dict)}


def _schema(ctx: RunContext, href: str) -> tuple[Answer, Any]:
    def build() -> tuple[Answer, Any]:
        answer = ctx.target.get(href)
        return answer, answer.json_or_none()
    return ctx.fixture(f"schema:{href}", build)


def _codelists(ctx: RunContext) -> dict[str, tuple[str | None, Answer, Any]]:
    """name -> (version in the index, answer of its href, body)."""
    def build() -> dict[str, tuple[str | None, Answer, Any]]:
        _, body = _index(ctx)
        lists = body.get("codelists")
        if not isinstance(lists, dict) or not lists:
            raise PrerequisiteFailed("the standard index lists no code lists")
        out = {}
        for name, entry in lists.items():
            entry = entry if isinstance(entry, dict) else {}
            href = entry.get("href") or f"/standard/v1/codelists/{name}"
            answer = ctx.target.get(href)
            out[name] = (entry.get("version"), answer, answer.json_or_none())
        return out
    return ctx.fixture("codelists", build)


@check("STD-001")
def index_names_v1(ctx: RunContext) -> str:
    answer = ctx.target.get("/standard/v1/").expect(200)
    body = answer.json()
    if not isinstance(body, dict):
        raise CheckFailed(f"{answer.label}: expected a JSON object, got {type(body).__name__}")
    if body.get("standard") != "v1":
        raise CheckFailed(f"{answer.label}: expected \"standard\": \"v1\", got {body.get('standard')!r}")
    for key in ("schemas", "codelists"):
        if not isinstance(body.get(key), dict) or not body[key]:
            raise CheckFailed(f"{answer.label}: expected a non-empty object \"{key}\", got {body.get(key)!r:.80}")
    for name, links in body["schemas"].items():
        if not isinstance(links, dict) or not all(isinstance(links.get(k), str) for k in ("input", "record")):
            raise CheckFailed(f"{answer.label}: schemas.{name} should be {{\"input\": href, \"record\": href}}, got "
                              f"{links!r:.80}")
    for name, entry in body["codelists"].items():
        if not isinstance(entry, dict) or not isinstance(entry.get("version"), str):
            raise CheckFailed(f"{answer.label}: codelists.{name} should carry a version, got {entry!r:.80}")
    return f"{len(body['schemas'])} registries and {len(body['codelists'])} code lists listed"


def _pointer(document: Any, fragment: str) -> bool:
    """Whether the JSON pointer ``fragment`` (without '#') resolves in ``document``."""
    node = document
    for part in [p for p in fragment.split("/") if p != ""]:
        part = unquote(part).replace("~1", "/").replace("~0", "~")
        if isinstance(node, dict) and part in node:
            node = node[part]
        elif isinstance(node, list) and part.isdigit() and int(part) < len(node):
            node = node[int(part)]
        else:
            return False
    return True


def _refs(node: Any) -> list[str]:
    found = []
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "$ref" and isinstance(value, str):
                found.append(value)
            else:
                found.extend(_refs(value))
    elif isinstance(node, list):
        for value in node:
            found.extend(_refs(value))
    return found


def _anchors(node: Any) -> set[str]:
    found = set()
    if isinstance(node, dict):
        if isinstance(node.get("$anchor"), str):
            found.add(node["$anchor"])
        for value in node.values():
            found |= _anchors(value)
    elif isinstance(node, list):
        for value in node:
            found |= _anchors(value)
    return found


def _unresolved(ctx: RunContext, href: str, schema: Any) -> list[str]:
    problems = []
    anchors = _anchors(schema)
    for ref in sorted(set(_refs(schema))):
        parts = urlsplit(ref)
        fragment = parts.fragment
        document = schema
        if parts.scheme or parts.path:  # another document: only those the target itself serves can be checked
            if parts.scheme and not ref.startswith(ctx.target.base_url):
                continue  # an absolute URL elsewhere (a published meta-schema): not the target's to serve
            other = ref.split("#", 1)[0].removeprefix(ctx.target.base_url)
            if not other.startswith("/"):
                other = href.rsplit("/", 1)[0] + "/" + other
            answer, document = _schema(ctx, other)
            if answer.status != 200 or document is None:
                problems.append(f"$ref {ref!r}: GET {other} answered {answer.status}")
                continue
        if fragment.startswith("/") or fragment == "":
            if not _pointer(document, fragment):
                problems.append(f"$ref {ref!r} does not resolve")
        elif fragment not in (anchors if document is schema else _anchors(document)):
            problems.append(f"$ref {ref!r}: no $anchor {fragment!r}")
    return problems


@check("STD-002")
def schemas_are_valid(ctx: RunContext) -> str:
    from jsonschema import Draft202012Validator
    from jsonschema.exceptions import SchemaError

    problems = []
    count = 0
    for links in _schema_links(ctx).values():
        for kind in ("input", "record"):
            href = links.get(kind)
            if not isinstance(href, str):
                continue
            count += 1
            answer, schema = _schema(ctx, href)
            if answer.status != 200 or not isinstance(schema, dict):
                problems.append(f"{answer.label}: expected 200 and a JSON object, got {answer.status} "
                                f"{answer.snippet(60)}")
                continue
            if schema.get("$schema") != DRAFT_2020_12:
                problems.append(f"{answer.label}: $schema is {schema.get('$schema')!r}, expected {DRAFT_2020_12!r}")
                continue
            try:
                Draft202012Validator.check_schema(schema)
            except SchemaError as exc:
                where = "/".join(str(p) for p in exc.path) or "(root)"
                problems.append(f"{answer.label}: not a valid 2020-12 schema at {where}: {exc.message:.120}")
                continue
            problems += [f"{answer.label}: {p}" for p in _unresolved(ctx, href, schema)]
    if problems:
        raise CheckFailed(listing(problems))
    return f"{count} schemas valid against the Draft 2020-12 meta-schema, every $ref resolves"


@check("STD-003")
def v1_registries_and_lists_published(ctx: RunContext) -> str:
    links = _schema_links(ctx)
    _, body = _index(ctx)
    missing = [f"schemas.{r}.{kind}" for r in V1_REGISTRIES for kind in ("input", "record")
               if not isinstance(links.get(r, {}).get(kind), str)]
    missing += [f"codelists.{name}" for name in V1_CODELISTS if name not in (body.get("codelists") or {})]
    if missing:
        raise CheckFailed(f"GET /standard/v1/: the index lacks {listing(missing, 6, ', ')}")
    for registry in V1_REGISTRIES:
        for kind in ("input", "record"):
            answer, schema = _schema(ctx, links[registry][kind])
            if answer.status != 200 or not isinstance(schema, dict):
                raise CheckFailed(f"{answer.label}: expected 200 and the {registry} {kind} schema, got "
                                  f"{answer.status} {answer.snippet(60)}")
    return f"{len(V1_REGISTRIES)} registries (input and record schemas) and {len(V1_CODELISTS)} code lists"


@check("STD-004")
def codelists_versioned(ctx: RunContext) -> str:
    problems = []
    lists = _codelists(ctx)
    for name, (index_version, answer, body) in lists.items():
        if answer.status != 200 or not isinstance(body, dict):
            problems.append(f"{answer.label}: expected 200 and the code list, got {answer.status} "
                            f"{answer.snippet(60)}")
            continue
        version = body.get("version")
        if not isinstance(version, str) or not SEMVER.match(version):
            problems.append(f"{answer.label}: version {version!r} is not MAJOR.MINOR.PATCH")
        elif version != index_version:
            problems.append(f"{answer.label}: version {version} but the index says {index_version}")
        if body.get("name", name) != name:
            problems.append(f"{answer.label}: name {body.get('name')!r}, expected {name!r}")
        items = body.get("items")
        if not isinstance(items, list) or not items:
            problems.append(f"{answer.label}: no items")
            continue
        codes = [i.get("code") for i in items if isinstance(i, dict)]
        if any(not isinstance(c, str) or not c for c in codes) or len(codes) != len(items):
            problems.append(f"{answer.label}: an item has no code")
        duplicates = sorted({c for c in codes if isinstance(c, str) and codes.count(c) > 1})
        if duplicates:
            problems.append(f"{answer.label}: duplicate codes {', '.join(duplicates)}")
    if problems:
        raise CheckFailed(listing(problems))
    return f"{len(lists)} code lists served with semantic versions and unique codes"


@check("STD-005")
def codelists_bilingual(ctx: RunContext) -> str:
    problems = []
    labels = 0
    for name, (_, answer, body) in _codelists(ctx).items():
        if not isinstance(body, dict) or not isinstance(body.get("items"), list):
            problems.append(f"{answer.label}: no items to check (HTTP {answer.status})")
            continue
        no_en, no_hi = [], []
        for item in body["items"]:
            if not isinstance(item, dict):
                continue
            label = item.get("label") if isinstance(item.get("label"), dict) else {}
            code = str(item.get("code"))
            if not isinstance(label.get("en"), str) or not label["en"].strip():
                no_en.append(code)
            if not isinstance(label.get("hi"), str) or not DEVANAGARI.search(label["hi"]):
                no_hi.append(code)
            labels += 1
        if no_en:
            problems.append(f"code list {name} ({answer.label}): no English label for {listing(no_en, 4, ', ')}")
        if no_hi:
            problems.append(f"code list {name} ({answer.label}): no Hindi label in Devanagari for "
                            f"{listing(no_hi, 4, ', ')}")
    if problems:
        raise CheckFailed(listing(problems))
    return f"{labels} codes labelled in English and Hindi"


@check("STD-006")
def records_match_record_schema(ctx: RunContext) -> str:
    from jsonschema import Draft202012Validator
    from jsonschema.exceptions import SchemaError

    links = _schema_links(ctx)
    samples: list[tuple[str, str, list[Any]]] = []  # (registry, where from, records)
    answer = ctx.target.get("/api/v1/admin_units", params={"limit": 5}).expect(200)
    samples.append(("admin_units", answer.label, (answer.json() or {}).get("items") or []))
    if ctx.options.credential is not None:
        answer = ctx.target.get(f"/api/v1/{WRITE_REGISTRY}", params={"limit": 5}, token=ctx.token()).expect(200)
        records = list((answer.json() or {}).get("items") or [])
        where = answer.label
        if not ctx.options.read_only:  # include a record the kit wrote, so there is at least one
            try:
                records.append(ctx.created_record("main"))
                where += " and the kit's test record"
            except PrerequisiteFailed:
                pass  # REG-001 reports why the kit could not write
        samples.append((WRITE_REGISTRY, where, records))
    problems = []
    checked = 0
    for registry, where, records in samples:
        href = links.get(registry, {}).get("record")
        if not isinstance(href, str):
            problems.append(f"no record schema for {registry} in the index")
            continue
        schema_answer, schema = _schema(ctx, href)
        try:
            validator = Draft202012Validator(schema)
            for record in records:
                checked += 1
                error = next(iter(sorted(validator.iter_errors(record), key=lambda e: list(e.path))), None)
                if error is not None:
                    field = "/".join(str(p) for p in error.path) or "(record)"
                    problems.append(f"{where}: record {record.get('id') if isinstance(record, dict) else '?'} "
                                    f"does not match {href} at {field}: {error.message:.100}")
        except (SchemaError, TypeError) as exc:
            problems.append(f"{schema_answer.label}: cannot validate with this schema: {exc}")
    if problems:
        raise CheckFailed(listing(problems))
    if not checked:
        raise CheckFailed("GET /api/v1/admin_units?limit=5 returned no records to validate")
    return f"{checked} records match their record schemas"
