"""Village Action Plans: a registry record with validation that names each problem; and the sandbox seed."""

from __future__ import annotations

from tests.certification.conftest import upload
from tests.helpers import build_records, error_of


def _plan(records, **changes) -> dict:
    plan = {
        "village": 500001, "period_from": "2024-04-01", "period_to": "2029-03-31",
        "baseline_households": 120, "baseline_population": 540, "baseline_households_with_tap": 30,
        "sources": [records["natural_resources"]["a1"]["id"]], "source_yields_lph": [3200.5],
        "quality_issues": ["fluoride"], "om_arrangement": "vwsc", "scheme_decision": "svs",
        "scheme": records["schemes"]["a1"]["id"], "households_willing_to_contribute": 102,
        "estimated_cost_inr": "1850000.50", "schedule_start": "2024-07-01", "schedule_end": "2025-12-31",
        "grey_water_management": "Soak pits at every standpost", "approved_by_gram_sabha_on": "2024-05-12",
    }
    return plan | changes


def test_a_plan_is_recorded_with_its_derived_share(hgj_client, hgj_node, people):
    records = build_records(hgj_node, registries=("natural_resources", "schemes"))
    document = upload(hgj_client, people["vwsc"], "village_action_plan")
    response = hgj_client.post("/api/v1/village_action_plans", headers=people["vwsc"],
                               json=_plan(records, documents=[document["id"]]))
    assert response.status_code == 201, response.text
    plan = response.json()
    assert plan["willing_to_contribute_pct"] == "85.00" and plan["estimated_cost_inr"] == "1850000.50"
    assert plan["document_ids"] == [document["id"]] and plan["lgd"]["village"] == 500001
    # scoped like every registry: another district does not see it
    assert hgj_client.get(f"/api/v1/village_action_plans/{plan['id']}",
                          headers=people["other_district"]).status_code == 404
    listed = hgj_client.get("/api/v1/village_action_plans", params={"scheme_decision": "svs"},
                            headers=people["district"]).json()
    assert [p["id"] for p in listed["items"]] == [plan["id"]]


def test_plan_validation_names_each_problem(hgj_client, hgj_node, people):
    records = build_records(hgj_node, registries=("natural_resources", "schemes", "entities"))
    cases = [
        ({"period_to": "2023-03-31"}, "period_to"),
        ({"baseline_households_with_tap": 500}, "baseline_households_with_tap"),
        ({"baseline_population": 100}, "baseline_households"),
        ({"households_willing_to_contribute": 121}, "households_willing_to_contribute"),
        ({"schedule_end": "2024-01-01"}, "schedule_end"),
        ({"source_yields_lph": [1.0, 2.0]}, "source_yields_lph"),
        ({"quality_issues": ["unobtainium"]}, "quality_issues"),
        ({"scheme_decision": "join_mvs"}, "scheme"),  # the scheme named is an SVS
        ({"scheme_decision": "join_mvs", "scheme": None}, "scheme"),
        ({"scheme": records["schemes"]["a4"]["id"]}, "scheme"),  # serves another village
        ({"om_arrangement": "the_temple_trust"}, "om_arrangement"),
        ({"village": 745}, "village"),
        ({"sources": [records["entities"]["a1"]["id"]]}, "sources.0"),
        ({"estimated_cost_inr": "-5"}, "estimated_cost_inr"),
    ]
    for changes, field in cases:
        response = hgj_client.post("/api/v1/village_action_plans", headers=people["vwsc"],
                                   json=_plan(records, **changes))
        assert response.status_code == 422, (changes, response.text)
        fields = [d["field"] for d in error_of(response)["details"]]
        assert field in fields, (changes, fields)
    # and the VWSC operator of village 500001 cannot plan for village 500002
    response = hgj_client.post("/api/v1/village_action_plans", headers=people["vwsc"],
                               json=_plan(records, village=500002, sources=[], source_yields_lph=[],
                                          scheme_decision="svs", scheme=None))
    assert response.status_code == 403


def test_sandbox_seed_writes_every_stage_and_runs_twice(hgj_node, world):
    from sqlalchemy import update

    from jaldpi.certification.sandbox import seed_demo
    from jaldpi.people.models import Household

    build_records(hgj_node, {f"v{i}": code for i, code in enumerate((500001, 500002, 500003, 500004))},
                  registries=("households", "natural_resources", "schemes"))
    with hgj_node.db.unit_of_work() as session:
        session.execute(update(Household).values(has_tap_connection=True))
    first = seed_demo(hgj_node, seed=3)
    assert first["hgj_certified"] == 4 and first["village_action_plans"] == 4
    assert sum(v for k, v in first.items() if k.startswith("hgj_")) == 4  # four villages in the world
    second = seed_demo(hgj_node, seed=3)
    assert second == {"hgj_reported": 0, "hgj_resolution_uploaded": 0, "hgj_returned": 0, "hgj_certified": 0,
                      "village_action_plans": 0}
