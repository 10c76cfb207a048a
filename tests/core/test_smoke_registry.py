from tests.helpers import build_world, login_as


def test_create_read_household_with_personal_data(client, node):
    world = build_world(node)
    headers = login_as(client, node, "dist745", "district_official", "district:745")
    r = client.post("/api/v1/households", headers=headers, json={
        "village": 500001, "members_count": 5, "head_name": "Sita Devi", "phone": "9876543210",
        "external_ids": {"state_mis": "HH-1"}})
    assert r.status_code == 201, r.text
    rec = r.json()
    assert rec["lgd"] == {"state": 28, "district": 745, "block": 4001, "gram_panchayat": 200001, "village": 500001}
    assert rec["head_name"] == "Sita Devi"
    assert rec["external_ids"] == {"state_mis": "HH-1"}
    assert world.ids["LGD-V500001"] == rec["village_id"]
