"""National code-list extensions: the ``codelist_entries`` registry, validation through the overlay, publication."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from jaldpi.assets.schemas import SchemeIn
from jaldpi.core.ids import new_id
from jaldpi.core.models import utcnow
from jaldpi.core.registry import Strategy
from jaldpi.standard import codelists
from jaldpi.standard.codelists import (
    bind_overlay,
    codes,
    effective_codes,
    extensible_codelists,
    load_overlay,
    refresh_overlay,
    reset_overlay,
)
from jaldpi.standard.models import CodelistEntry
from tests.helpers import ROOT, build_world, error_of, login_as

SOLAR = {"codelist": "scheme_types", "value": "solar",
         "label": {"en": "Solar-powered scheme", "hi": "सौर ऊर्जा योजना"},
         "description": "A single village scheme whose pumps run on solar power"}
SOLAR_SCHEME = {"name": "Alpha Solar", "scheme_type": "solar", "villages": [500001]}


@pytest.fixture
def admin(client, node):
    build_world(node)
    return login_as(client, node, "national_admin", "node_admin", "/")


def add(client, headers, entry=SOLAR):
    return client.post("/api/v1/codelist_entries", json=entry, headers=headers)


def problems(response) -> str:
    err = error_of(response)
    return " | ".join([err["message"]] + [str(d["problem"]) for d in err["details"]])


def test_a_code_added_by_the_national_admin_validates_at_once(client, node, admin):
    district = login_as(client, node, "alpha_official", "district_official", "district:745")
    before = client.post("/api/v1/schemes", json=SOLAR_SCHEME, headers=district)
    assert before.status_code == 422
    assert "scheme_types" in problems(before) and "'svs'" in problems(before)

    r = add(client, admin)
    assert r.status_code == 201, r.text
    entry = r.json()
    assert entry["code"] == "scheme_types:solar" and entry["lgd_path"] == "/" and entry["version"] == 1
    assert entry["label"] == SOLAR["label"] and entry["source_system"] == "test-node"

    scheme = client.post("/api/v1/schemes", json=SOLAR_SCHEME, headers=district)
    assert scheme.status_code == 201, scheme.text
    assert scheme.json()["scheme_type"] == "solar"
    assert client.get("/api/v1/schemes?scheme_type=solar", headers=district).json()["items"][0]["id"] \
        == scheme.json()["id"]


def test_added_codes_work_in_bulk_imports_and_in_codes(client, node, admin):
    group = {"codelist": "entity_types", "value": "water_user_group",
             "label": {"en": "Water user group", "hi": "जल उपयोगकर्ता समूह"}}
    action = {"codelist": "remedial_actions", "value": "blending",
              "label": {"en": "Blending with a safe source", "hi": "सुरक्षित स्रोत से मिश्रण"}}
    r = client.post("/api/v1/codelist_entries/bulk", json=[group, action], headers=admin)
    assert r.status_code == 200 and r.json()["stats"]["created"] == 2, r.text
    assert "blending" in codes("remedial_actions")  # what the remedial-action workflow checks against

    ndjson = b'{"entity_type": "water_user_group", "name": "Alpha WUG", "admin_unit": 500001}\n'
    r = client.post("/api/v1/entities/bulk", content=ndjson, headers={**admin,
                                                                       "Content-Type": "application/x-ndjson"})
    assert r.status_code == 200 and r.json()["stats"]["created"] == 1, r.text


def test_only_a_national_grant_with_standard_write_adds_codes(client, node, admin):
    for username, role, within in (("alpha_official", "district_official", "district:745"),
                                   ("state_person", "state_official", "state:28")):
        r = add(client, login_as(client, node, username, role, within))
        assert r.status_code == 403, r.text
        assert error_of(r)["code"] == "out_of_jurisdiction"
    assert add(client, {}).status_code == 401
    assert client.get("/api/v1/codelist_entries").json()["items"] == []  # public read: nothing was written
    assert "solar" not in effective_codes("scheme_types")


@pytest.mark.parametrize(("entry", "status", "field", "words"), [
    ({**SOLAR, "codelist": "pipe_colours"}, 422, "codelist", ["unknown code list 'pipe_colours'", "scheme_types"]),
    ({**SOLAR, "codelist": "roles", "value": "auditor"}, 422, "codelist", ["roles", "permissions"]),
    ({**SOLAR, "codelist": "lgd_levels", "value": "ward"}, 422, "codelist", ["lgd_levels", "path"]),
    ({**SOLAR, "codelist": "component_types", "value": "solar_panel"}, 422, "codelist",
     ["component_types", "geometry"]),
    ({**SOLAR, "value": "svs"}, 422, "value", ["'svs' is already a code of scheme_types", "shipped"]),
    ({**SOLAR, "value": "solar_pump"}, 422, "value", ["schemes.scheme_type", "at most 8"]),
    ({**SOLAR, "value": "Solar Pump"}, 422, "value", ["snake_case"]),
    ({**SOLAR, "label": {"en": "Solar"}}, 422, "label.hi", ["required"]),
    ({**SOLAR, "label": {"en": "Solar", "hi": "Saur"}}, 422, "label.hi", ["Devanagari"]),
    ({**SOLAR, "code": "SOLAR-1"}, 422, "value", ["scheme_types:solar"]),
])
def test_refusals_say_what_is_wrong(client, admin, entry, status, field, words):
    r = add(client, admin, entry)
    assert r.status_code == status, r.text
    err = error_of(r)
    assert err["code"] == "validation_failed"
    assert field in [d["field"] for d in err["details"]], err
    for word in words:
        assert word in problems(r), (word, err)


def test_an_added_code_cannot_be_added_again(client, admin):
    assert add(client, admin).status_code == 201
    again = add(client, admin, {**SOLAR, "label": {"en": "Solar again", "hi": "फिर से सौर"}})
    assert again.status_code == 409
    assert error_of(again)["code"] == "already_exists" and "scheme_types:solar" in problems(again)
    twice = client.post("/api/v1/codelist_entries/bulk", headers=admin, json=[
        {**SOLAR, "codelist": "entity_statuses", "value": "suspended"},
        {**SOLAR, "codelist": "entity_statuses", "value": "suspended"}])
    assert twice.status_code == 422
    assert twice.json()["rows"][0]["errors"][0]["code"] == "duplicate_in_payload"


def test_updates_relabel_but_never_rename(client, admin):
    assert add(client, admin).status_code == 201
    key = "/api/v1/codelist_entries/scheme_types:solar"
    for change, field in (({"value": "sun"}, "value"), ({"codelist": "genders"}, "value")):
        r = client.patch(key, json=change, headers=admin)
        assert r.status_code == 422, r.text
        assert field in [d["field"] for d in error_of(r)["details"]]
        assert "never change" in problems(r)
    # a bulk update that sends a matching new code is refused by the rule on the stored entry
    entry_id = client.get(key).json()["id"]
    r = client.post("/api/v1/codelist_entries/bulk?strategy=update", headers=admin,
                    json=[{**SOLAR, "id": entry_id, "code": "scheme_types:sun", "value": "sun"}])
    assert r.status_code == 422
    error = r.json()["rows"][0]["errors"][0]
    assert error["code"] == "rule_violation" and error["field"] == "value" and "never changes" in error["message"]

    relabelled = client.patch(key, json={"label": {"en": "Solar powered", "hi": "सौर संचालित"}}, headers=admin)
    assert relabelled.status_code == 200, relabelled.text
    assert relabelled.json()["version"] == 2 and relabelled.json()["label"]["en"] == "Solar powered"
    item = next(i for i in client.get("/standard/v1/codelists/scheme_types").json()["items"] if i["code"] == "solar")
    assert item["label"]["en"] == "Solar powered"


def test_the_standard_publishes_extensions_with_the_bumped_version(client, admin):
    before = client.get("/standard/v1/").json()["codelists"]["scheme_types"]
    assert before["version"] == before["shipped_version"] == "1.0.0" and before["extensions"] == 0
    assert "solar" not in client.get("/openapi.json").json()["components"]["schemas"]["SchemeIn"]["properties"][
        "scheme_type"]["enum"]
    assert add(client, admin).status_code == 201

    index = client.get("/standard/v1/").json()["codelists"]["scheme_types"]
    assert index == {"version": "1.1.0", "shipped_version": "1.0.0", "extensions": 1,
                     "href": "/standard/v1/codelists/scheme_types"}
    published = client.get("/standard/v1/codelists/scheme_types").json()
    assert published["version"] == "1.1.0"
    assert [i["code"] for i in published["items"]] == ["svs", "mvs", "solar"]
    solar = published["items"][-1]
    assert solar["extension"] is True and solar["added_by"] == "test-node" and solar["entry"] == "scheme_types:solar"
    assert solar["label"] == SOLAR["label"] and solar["description"] == SOLAR["description"]
    assert all("extension" not in i for i in published["items"][:2])
    assert client.get("/standard/v1/codelists").json()["scheme_types"] == published

    schema = client.get("/standard/v1/schemas/schemes.json").json()
    assert schema["properties"]["scheme_type"]["enum"] == ["svs", "mvs", "solar"]
    record = client.get("/standard/v1/schemas/schemes.record.json").json()
    assert "solar" in str(record["properties"]["scheme_type"])
    openapi = client.get("/openapi.json").json()["components"]["schemas"]["SchemeIn"]
    assert openapi["properties"]["scheme_type"]["enum"] == ["svs", "mvs", "solar"]

    # every later change moves the version on: a relabel raises the patch number
    key = "/api/v1/codelist_entries/scheme_types:solar"
    client.patch(key, json={"description": "Pumps on solar power"}, headers=admin)
    assert client.get("/standard/v1/").json()["codelists"]["scheme_types"]["version"] == "1.1.1"


def test_a_deleted_entry_is_deprecated_never_removed(client, node, admin):
    assert add(client, admin).status_code == 201
    r = client.delete("/api/v1/codelist_entries/scheme_types:solar", headers=admin)
    assert r.status_code == 200 and r.json()["deleted_at"]
    published = client.get("/standard/v1/codelists/scheme_types").json()
    assert published["version"] == "1.1.1" and published["extensions"] == 1  # never lower than before
    assert published["items"][-1]["code"] == "solar" and published["items"][-1]["deprecated"] is True
    # data already carrying the code stays valid, and clients that cached the list keep working
    scheme = client.post("/api/v1/schemes", json=SOLAR_SCHEME, headers=admin)
    assert scheme.status_code == 201, scheme.text


def test_a_rolled_back_write_leaves_the_codes_unchanged(node):
    registry = node.catalogue["codelist_entries"]
    with pytest.raises(RuntimeError, match="abort"):
        with node.db.unit_of_work() as session:
            assert registry.import_records(session, ROOT, [SOLAR], strategy=Strategy.create).status == "ok"
            raise RuntimeError("abort")
    assert "solar" not in effective_codes("scheme_types")
    with node.db.unit_of_work() as session:
        assert registry.import_records(session, ROOT, [SOLAR], strategy=Strategy.create).status == "ok"
        assert "solar" not in effective_codes("scheme_types")  # not before the commit
    assert "solar" in effective_codes("scheme_types")


def test_another_process_loads_the_codes_from_the_database(client, node, admin):
    assert add(client, admin).status_code == 201
    reset_overlay()  # a fresh process: nothing loaded, nothing bound
    with pytest.raises(ValueError, match="scheme_types"):
        SchemeIn.model_validate(SOLAR_SCHEME)
    with node.db.unit_of_work(write=False) as session:
        assert load_overlay(session) == 1
    assert SchemeIn.model_validate(SOLAR_SCHEME).scheme_type == "solar"

    reset_overlay()
    with TestClient(client.app):  # start-up of the app (its lifespan) loads them too
        assert "solar" in effective_codes("scheme_types")

    reset_overlay()
    bind_overlay(node.db)  # command-line tools only name the database: the first need reads it
    assert "solar" in codes("scheme_types")


def _insert_behind_the_overlay(node, entry: dict) -> None:
    """Write an entry as another process would (a federation pull run from the command line): no refresh here."""
    now = utcnow()
    row = {**entry, "id": new_id(), "code": f"{entry['codelist']}:{entry['value']}", "version": 1, "lgd_path": "/",
           "created_at": now, "updated_at": now, "source_system": "national-node"}
    with node.db.unit_of_work() as session:
        session.execute(CodelistEntry.__table__.insert().values(row))


def test_a_miss_rereads_the_codes_at_most_every_reload_seconds(node):
    refresh_overlay(node.db, reload_seconds=3600)  # loaded just now, nothing in the table
    _insert_behind_the_overlay(node, SOLAR)
    with pytest.raises(ValueError, match="scheme_types"):  # a miss within reload_seconds of the load: no re-read
        SchemeIn.model_validate(SOLAR_SCHEME)
    reset_overlay()
    refresh_overlay(node.db, reload_seconds=0)  # every miss re-reads
    _insert_behind_the_overlay(node, {**SOLAR, "value": "hybrid", "label": {"en": "Hybrid", "hi": "मिश्रित"}})
    assert SchemeIn.model_validate({**SOLAR_SCHEME, "scheme_type": "hybrid"}).scheme_type == "hybrid"
    published = codelists.effective_codelist("scheme_types")
    assert [i["code"] for i in published["items"]][2:] == ["solar", "hybrid"]
    assert published["items"][-1]["added_by"] == "national-node"


def test_only_lists_of_plain_codes_are_extensible():
    extensible = set(extensible_codelists())
    assert {"scheme_types", "entity_types", "remedial_actions", "sample_purposes", "genders"} <= extensible
    assert not extensible & {"roles", "lgd_levels", "component_types", "scheme_lifecycle", "sample_verdicts",
                             "test_kinds", "observed_properties", "sampling_point_types"}
