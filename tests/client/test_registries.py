"""Registry access through the SDK against a live node: typed reads, pages, writes, versions, history, errors."""

from __future__ import annotations

import uuid

import pytest

from jaldpi.client import (
    AdminUnit,
    Household,
    NotFound,
    OutOfJurisdiction,
    Page,
    Record,
    Scheme,
    ValidationError,
    VersionConflict,
    new_id,
)
from tests.client.conftest import households


def test_typed_records_carry_metadata_and_extra_fields(live, partner, official):
    created = partner.households.create({"village": 500001, "members_count": 4, "head_name": "Kamala Devi",
                                         "external_ids": {"mis": "H-1"}})
    assert isinstance(created, Household)
    assert isinstance(created.id, uuid.UUID) and created.code.startswith("HH-") and created.version == 1
    assert created.village_id == uuid.UUID(live.world.ids["LGD-V500001"])
    assert created.lgd_path == "/S28/D745/B4001/G200001/V500001/" and created.lgd["village"] == 500001
    assert created.external_ids == {"mis": "H-1"}
    assert created.head_name == "K***** D***"  # personal data: the partner system has no pii:read
    assert official.households.get(created.id).head_name == "Kamala Devi"  # a district official has
    assert partner.households.get(created.code) == partner.households.get(created.id) == created
    # a registry the SDK has no model for still reads, as plain Records with every field as an attribute
    unit = partner.registry("admin_units").get("LGD-V500001")
    assert isinstance(unit, AdminUnit) and unit.name == "Alpha One" and unit.level == "village"
    scheme = partner.schemes.create({"name": "Alpha MVS", "scheme_type": "mvs", "villages": [500001, 500002],
                                     "sanctioned_cost_inr": "1250000.50"})
    assert isinstance(scheme, Scheme) and str(scheme.sanctioned_cost_inr) == "1250000.50"
    assert len(scheme.village_ids) == 2
    anything = Record.model_validate({**scheme.model_dump(mode="json"), "brand_new_field": 7})
    assert anything.name == "Alpha MVS" and anything.brand_new_field == 7


def test_models_built_on_the_client_are_sent_as_set(live, partner):
    rid = new_id()
    sent = Household(id=rid, village=500004, members_count=6)  # `village` is input only: kept as an extra field
    assert sent.to_payload() == {"id": str(rid), "village": 500004, "members_count": 6}
    stored = partner.households.create(sent)
    assert stored.id == rid and stored.lgd["block"] == 4003
    # a record read back can be sent back as it is: read-only fields are ignored, the version is checked
    stored.members_count = 7
    again = partner.households.update(stored.id, stored)
    assert (again.version, again.members_count) == (2, 7)


def test_pages_follow_next_cursor_without_duplicates(live, partner):
    rows = households(500001, 23) + households(500003, 4, tag="b")
    partner.households.bulk_push(rows).raise_for_errors()
    first = partner.households.list(limit=5, total=True)
    assert isinstance(first, Page) and len(first.items) == 5 and first.total == 27 and first.has_more
    second = partner.households.list(limit=5, after=first.next_cursor)
    assert {h.id for h in first.items}.isdisjoint(h.id for h in second.items)
    seen = [h.id for h in partner.households.iterate(page_size=4)]
    assert len(seen) == len(set(seen)) == 27
    assert seen == sorted(seen)  # keyset pages in id order
    assert {str(i) for i in seen} == {r["id"] for r in rows}
    # filters, jurisdiction and the district official's narrower view
    assert len(list(partner.households.iterate(within="district:746", page_size=2))) == 4
    assert len(list(partner.households.iterate(village_id=partner.admin_units.get("LGD-V500003").id))) == 4
    with live.official() as official:
        assert len(list(official.households.iterate(page_size=10))) == 23


def test_filters_search_and_lookup(live, partner):
    partner.schemes.bulk_push([
        {"id": str(new_id()), "name": "Alpha Piped Supply", "scheme_type": "svs", "villages": [500001],
         "external_ids": {"imis": "IM-1"}},
        {"id": str(new_id()), "name": "Beta Grid", "scheme_type": "mvs", "villages": [500003, 500001]},
    ]).raise_for_errors()
    assert [s.name for s in partner.schemes.list(q="piped").items] == ["Alpha Piped Supply"]
    assert [s.name for s in partner.schemes.list(scheme_type="mvs").items] == ["Beta Grid"]
    found = partner.schemes.lookup("imis", "IM-1")
    assert isinstance(found, Scheme) and found.name == "Alpha Piped Supply"
    hits = partner.lookup("imis", "IM-1")
    assert [(h.record_type, h.record.id) for h in hits] == [("schemes", found.id)]
    assert isinstance(hits[0].record, Scheme)
    assert partner.lookup("imis", "nope") == []
    with pytest.raises(NotFound):
        partner.schemes.lookup("imis", "nope")
    with pytest.raises(ValidationError) as caught:
        partner.schemes.list(colour="blue")
    assert caught.value.details[0].field == "colour" and "scheme_type" in caught.value.details[0].problem


def test_create_update_version_conflict_delete_and_history(live, partner, official):
    household = official.households.create({"village": 500002, "members_count": 3})
    changed = partner.households.update(household.id, {"members_count": 5}, version=1)
    assert (changed.version, changed.members_count) == (2, 5)
    # the official still holds version 1: the node refuses the lost update
    with pytest.raises(VersionConflict) as caught:
        official.households.update(household.code, {"members_count": 9}, version=household.version)
    assert caught.value.status_code == 409 and caught.value.code == "version_conflict"
    assert caught.value.details[0].field == "version"
    assert partner.households.get(household.id).members_count == 5
    with pytest.raises(VersionConflict):
        official.households.delete(household.id, version=1)
    deleted = official.households.delete(household.id, version=2)
    assert deleted.deleted_at is not None and deleted.version == 3
    with pytest.raises(NotFound):
        partner.households.get(household.id)
    assert [h.id for h in partner.households.iterate(include_deleted=True)] == [household.id]
    history = partner.households.history(household.id)
    assert [(h.version, h.operation, h.actor, h.source_system) for h in history] == [
        (1, "create", "d745", "test-node"), (2, "update", "state-mis", "state-mis"),
        (3, "delete", "d745", "test-node")]
    assert history[1].record["members_count"] == 5 and history[2].record is None


def test_errors_are_mapped_to_exceptions(live, partner, official):
    with pytest.raises(NotFound) as caught:
        partner.households.get(uuid.uuid4())
    assert caught.value.status_code == 404 and caught.value.code == "not_found"
    outside = partner.households.create({"village": 500003, "members_count": 2})  # district 746
    with pytest.raises(NotFound):  # out of the official's jurisdiction reads as missing: no existence oracle
        official.households.get(outside.id)
    with pytest.raises(OutOfJurisdiction) as caught:
        official.households.create({"village": 500003, "members_count": 2})
    assert caught.value.status_code == 403 and caught.value.code == "out_of_jurisdiction"
    with pytest.raises(ValidationError) as caught:
        partner.households.create({"village": 500001, "members_count": 0, "social_category": "none"})
    fields = caught.value.fields()
    assert caught.value.status_code == 422 and {"members_count", "social_category"} <= set(fields)
    assert "greater than or equal to 1" in fields["members_count"]
    assert "members_count" in str(caught.value)
