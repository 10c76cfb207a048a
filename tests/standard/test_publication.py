"""The published data standard: schemas, code lists (English and Hindi), and the OpenAPI document."""

from __future__ import annotations

import pytest

from jaldpi.registries import build_catalogue

REGISTRY_NAMES = ["admin_units", "entities", "natural_resources", "households", "schemes", "components",
                  "sampling_points", "samples", "supply_records", "codelist_entries",
                  # operations (issue 7)
                  "documents", "component_estimates", "progress_updates", "maintenance_plans", "maintenance_tasks",
                  "breakdown_tickets", "repairs", "condition_assessments", "grievances", "tariff_plans",
                  "meter_readings", "collections", "expenditures", "community_contributions", "demand_runs",
                  "hgj_certifications", "village_action_plans"]


def _check_schema_structure(schema: dict, path: str = "#") -> None:
    """Structural check of a JSON Schema 2020-12 document, used when the jsonschema package is absent."""
    assert isinstance(schema, dict | bool), path
    if isinstance(schema, bool):
        return
    if "type" in schema:
        types = schema["type"] if isinstance(schema["type"], list) else [schema["type"]]
        assert set(types) <= {"object", "array", "string", "integer", "number", "boolean", "null"}, path
    for key in ("properties", "$defs", "patternProperties"):
        for name, sub in schema.get(key, {}).items():
            _check_schema_structure(sub, f"{path}/{key}/{name}")
    for key in ("anyOf", "oneOf", "allOf", "prefixItems"):
        for i, sub in enumerate(schema.get(key, [])):
            _check_schema_structure(sub, f"{path}/{key}/{i}")
    for key in ("items", "additionalProperties", "not"):
        if key in schema:
            _check_schema_structure(schema[key], f"{path}/{key}")
    if "required" in schema:
        assert set(schema["required"]) <= set(schema.get("properties", {})), path
    if "enum" in schema:
        assert isinstance(schema["enum"], list) and schema["enum"], path


def _resolve_refs(schema: dict, root: dict) -> None:
    if isinstance(schema, dict):
        ref = schema.get("$ref")
        if ref:
            assert ref.startswith("#/$defs/") and ref.split("/")[-1] in root.get("$defs", {}), ref
        for v in schema.values():
            _resolve_refs(v, root)
    elif isinstance(schema, list):
        for v in schema:
            _resolve_refs(v, root)


def test_index_lists_every_schema_and_code_list(client):
    index = client.get("/standard/v1/").json()
    assert index["standard"] == "v1"
    assert sorted(index["schemas"]) == sorted(REGISTRY_NAMES)
    lists = client.get("/standard/v1/codelists").json()
    assert set(index["codelists"]) == set(lists) and "roles" in lists
    for entry in index["codelists"].values():
        assert client.get(entry["href"]).json()["version"] == entry["version"]


@pytest.mark.parametrize("name", REGISTRY_NAMES)
def test_schemas_are_valid_json_schema_2020_12(client, name):
    index = client.get("/standard/v1/").json()["schemas"][name]
    for kind in ("input", "record"):
        r = client.get(index[kind])
        assert r.status_code == 200
        schema = r.json()
        assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
        assert schema["type"] == "object" and schema["properties"]
        _resolve_refs(schema, schema)
        try:
            import jsonschema
        except ImportError:
            _check_schema_structure(schema)
        else:
            jsonschema.Draft202012Validator.check_schema(schema)
    inp = client.get(index["input"]).json()
    assert inp.get("additionalProperties") is False  # unknown fields are refused
    if name == "households":
        assert {"head_name", "phone", "aadhaar", "ration_card"} <= set(inp["properties"])


def test_input_schema_accepts_what_the_api_accepts(client):
    try:
        import jsonschema
    except ImportError:
        pytest.skip("jsonschema not installed")
    schema = client.get("/standard/v1/schemas/entities.json").json()
    jsonschema.validate({"entity_type": "vwsc", "name": "A", "admin_unit": 500001}, schema)
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate({"entity_type": "nope", "name": "A", "admin_unit": 500001}, schema)


def test_every_code_list_item_has_english_and_hindi_labels(client):
    lists = client.get("/standard/v1/codelists").json()
    assert lists
    for name, cl in lists.items():
        assert cl["name"] == name and cl["version"].count(".") == 2
        assert cl["title"]["en"] and cl["title"]["hi"]
        codes = [i["code"] for i in cl["items"]]
        assert codes and len(codes) == len(set(codes)), name
        for item in cl["items"]:
            assert item["label"]["en"].strip() and item["label"]["hi"].strip(), (name, item["code"])
            assert any("\u0900" <= ch <= "\u097f" for ch in item["label"]["hi"]), (name, item["code"])
    assert client.get("/standard/v1/codelists/nope").status_code == 404
    assert client.get("/standard/v1/schemas/nope.json").status_code == 404


def test_openapi_is_3_1_and_has_every_registry_path(client, settings):
    doc = client.get("/openapi.json").json()
    assert doc["openapi"].startswith("3.1")
    names = set(build_catalogue(settings).registries)
    assert names == set(REGISTRY_NAMES)
    for name in names:
        base = f"/api/v1/{name}"
        assert {"get", "post"} <= set(doc["paths"][base])
        assert {"get", "patch", "delete"} <= set(doc["paths"][f"{base}/{{key}}"])
        assert "get" in doc["paths"][f"{base}/{{key}}/history"]
        assert "post" in doc["paths"][f"{base}/bulk"]
    for path in ("/api/v1/auth/token", "/api/v1/auth/me", "/api/v1/accounts", "/api/v1/lookup"):
        assert path in doc["paths"]
    params = {p["name"] for p in doc["paths"]["/api/v1/entities"]["get"]["parameters"]}
    assert {"limit", "after", "total", "q", "within", "format", "entity_type", "women_rule_met"} <= params
