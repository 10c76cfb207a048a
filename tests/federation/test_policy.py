"""The federation policy and ownership rules, without servers."""

from __future__ import annotations

import json

import pytest

from jaldpi.federation.ownership import Topology, normalise_jurisdiction
from jaldpi.federation.policy import FederationPolicy, local_fields_present, pseudonym, strip_local
from jaldpi.people.schemas import PERSONAL_FIELDS
from jaldpi.registries import build_catalogue
from tests.conftest import test_settings

POLICY = FederationPolicy.load()
NATIONAL = Topology("national", "national", "/", (("state-28", "state", "/S28/"), ("state-29", "state", "/S29/")))
STATE = Topology("state-28", "state", "/S28/", (("national", "national", "/"),))


def test_every_registry_is_decided_and_unknown_types_stay_local(database):
    catalogue = build_catalogue(test_settings(database))
    undecided = sorted(set(catalogue.registries) - set(POLICY.types))
    assert undecided == [], f"add these registries to federation/policy.json (exchange true or false): {undecided}"
    assert POLICY.of("accounts") is None and POLICY.of("workflow_cases") is None
    assert POLICY.of("something_new") is None  # deny by default


def test_personal_fields_of_households_are_local():
    assert PERSONAL_FIELDS <= POLICY.types["households"].local_fields
    record = {"members_count": 4, "head_name": "Kamala", "phone": "9876543210"}
    assert strip_local(POLICY.types["households"], record) == {"members_count": 4}
    assert local_fields_present(POLICY.types["households"], record) == ["head_name", "phone"]
    assert local_fields_present(POLICY.types["entities"], {"members": [], "name": "VWSC"}) == ["members"]


def test_pseudonyms_are_stable_keyed_and_not_the_name():
    a = pseudonym("key-1", "state-28", "ravi.kumar")
    assert a == pseudonym("key-1", "state-28", "ravi.kumar") and a.startswith("state-28:p-")
    assert "ravi" not in a and a != pseudonym("key-2", "state-28", "ravi.kumar")
    assert pseudonym("key-1", "state-28", None) is None


@pytest.mark.parametrize(("topology", "record_type", "path", "record", "owner"), [
    (NATIONAL, "households", "/S28/D745/V1/", None, "state-28"),
    (NATIONAL, "households", "/S29/D9/", None, "state-29"),
    (NATIONAL, "households", "/S30/D1/", None, "national"),  # a state without a node of its own
    (NATIONAL, "admin_units", "/S28/D745/", {"level": "district"}, "national"),  # the LGD directory
    (NATIONAL, "admin_units", "/S28/D745/V1/H9/", {"level": "habitation"}, "state-28"),  # surveyed by the state
    (NATIONAL, "codelist_entries", "/", None, "national"),
    (STATE, "schemes", "/S28/D745/", None, "state-28"),
    (STATE, "schemes", "/S29/D1/", None, "national"),  # not ours, and no other state known here
    (STATE, "admin_units", "/S28/", {"level": "state"}, "national"),
    (NATIONAL, "accounts", "/S28/", None, None),  # never exchanged: simply local
])
def test_owner(topology, record_type, path, record, owner):
    assert topology.owner(POLICY, record_type, path, record) == owner


def test_jurisdiction_spelling():
    assert normalise_jurisdiction("S28") == normalise_jurisdiction("/S28") == "/S28/"
    assert normalise_jurisdiction(None) == normalise_jurisdiction("/") == "/"


def test_a_broken_policy_file_is_refused_with_its_name(tmp_path):
    bad = tmp_path / "policy.json"
    bad.write_text(json.dumps({"record_types": {"households": {"exchange": True, "owner": "district"}}}))
    with pytest.raises(ValueError, match="households: owner must be national or jurisdiction"):
        FederationPolicy.load(bad)
    bad.write_text("{not json")
    with pytest.raises(ValueError, match=str(bad)):
        FederationPolicy.load(bad)
