"""Cell suppression: hand-made cases and property tests over random LGD-like hierarchies."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from jaldpi.opendata.disclosure import (
    Relation,
    audit,
    hierarchy_relations,
    primary,
    protect,
    row_relations,
    suppress_rows,
    violation,
)

K = 10


def test_primary_suppresses_one_to_k_minus_one_and_publishes_zero():
    values = {("a", "n"): 0, ("b", "n"): 1, ("c", "n"): 9, ("d", "n"): 10, ("e", "n"): 250}
    assert primary(values, K) == {("b", "n"), ("c", "n")}


def test_village_of_seven_households_its_sibling_is_suppressed_and_the_gp_total_published():
    rows = [
        {"key": "gp", "parent": None, "households": 32},
        {"key": "v1", "parent": "gp", "households": 7},
        {"key": "v2", "parent": "gp", "households": 25},
    ]
    outcome = suppress_rows(rows, key="key", parent_key="parent", count_columns=["households"], row_totals=[],
                            derived={}, k=K)
    by_key = {r["key"]: r for r in rows}
    assert by_key["v1"]["households"] is None and by_key["v1"]["households_suppressed"] is True
    assert by_key["v2"]["households"] is None and by_key["v2"]["households_suppressed"] is True  # complementary
    assert by_key["gp"]["households"] == 32 and by_key["gp"]["households_suppressed"] is False
    assert (outcome.suppressed_cells, outcome.primary_cells, outcome.problems) == (2, 1, [])


def test_the_smallest_non_zero_sibling_is_chosen_as_complement():
    values = {("gp", "n"): 118, ("v1", "n"): 3, ("v2", "n"): 0, ("v3", "n"): 40, ("v4", "n"): 75}
    relations = hierarchy_relations({"gp": None, "v1": "gp", "v2": "gp", "v3": "gp", "v4": "gp"}, ["n"])
    assert protect(values, relations, K) == {("v1", "n"), ("v3", "n")}


def test_suppressed_siblings_summing_below_k_take_another_sibling():
    # 3 + 4 = 7 would be published implicitly as gp - published siblings
    values = {("gp", "n"): 57, ("v1", "n"): 3, ("v2", "n"): 4, ("v3", "n"): 50}
    relations = hierarchy_relations({"gp": None, "v1": "gp", "v2": "gp", "v3": "gp"}, ["n"])
    hidden = protect(values, relations, K)
    assert hidden == {("v1", "n"), ("v2", "n"), ("v3", "n")}
    assert audit(values, relations, hidden, K) == []


def test_an_only_child_takes_its_parent_with_it():
    values = {("block", "n"): 6, ("gp", "n"): 6}
    relations = hierarchy_relations({"block": None, "gp": "block"}, ["n"])
    assert protect(values, relations, K) == {("block", "n"), ("gp", "n")}


def test_when_siblings_cannot_hide_a_cell_the_parent_is_suppressed_and_its_siblings_next():
    parent_of = {"state": None, "d1": "state", "d2": "state", "g1": "d1", "g2": "d1"}
    values = {("state", "n"): 120, ("d1", "n"): 5, ("d2", "n"): 115, ("g1", "n"): 5, ("g2", "n"): 0}
    relations = hierarchy_relations(parent_of, ["n"])
    hidden = protect(values, relations, K)
    assert ("g1", "n") in hidden and ("d1", "n") in hidden and ("d2", "n") in hidden
    assert ("g2", "n") not in hidden  # a zero hides nothing
    assert audit(values, relations, hidden, K) == []


def test_within_a_row_total_equals_with_plus_without():
    # 20 households, 3 with tap: "without" (17) would give "with" away
    rows = [{"key": "v", "parent": None, "households": 20, "with": 3, "without": 17, "pct": 15.0}]
    suppress_rows(rows, key="key", parent_key="parent", count_columns=["households", "with", "without"],
                  row_totals=[("households", ("with", "without"))], derived={"pct": ("households", "with")}, k=K)
    row = rows[0]
    assert row["with"] is None and row["without"] is None and row["pct"] is None
    assert row["households"] == 20 and row["pct_suppressed"] is True and row["households_suppressed"] is False


def test_derived_cells_follow_their_sources_only():
    rows = [{"key": "v", "parent": None, "households": 50, "with": 25, "without": 25, "pct": 50.0}]
    suppress_rows(rows, key="key", parent_key="parent", count_columns=["households", "with", "without"],
                  row_totals=[("households", ("with", "without"))], derived={"pct": ("households", "with")}, k=K)
    assert rows[0]["pct"] == 50.0 and rows[0]["pct_suppressed"] is False


def test_violation_names_the_problem():
    relation = Relation(("p", "n"), (("a", "n"), ("b", "n")))
    values = {("p", "n"): 20, ("a", "n"): 4, ("b", "n"): 3 + 13}
    assert violation(relation, values, {("a", "n")}, K) == "single suppressed cell"
    values[("b", "n")] = 3
    values[("p", "n")] = 7
    assert violation(relation, values, {("a", "n"), ("b", "n")}, K) == "suppressed parts sum to 7 < 10"


# --- property tests -------------------------------------------------------------------------------------------


@st.composite
def hierarchies(draw):
    """A random tree (state -> districts -> blocks -> villages) with household and tap counts at the leaves."""
    parent_of: dict[str, str | None] = {"S": None}
    leaves: list[str] = []
    for d in range(draw(st.integers(1, 3))):
        district = f"S/D{d}"
        parent_of[district] = "S"
        for b in range(draw(st.integers(1, 3))):
            block = f"{district}/B{b}"
            parent_of[block] = district
            for v in range(draw(st.integers(1, 4))):
                village = f"{block}/V{v}"
                parent_of[village] = block
                leaves.append(village)
    small = st.integers(0, 14)
    counts = {leaf: draw(st.one_of(small, st.integers(0, 400))) for leaf in leaves}
    taps = {leaf: draw(st.integers(0, counts[leaf])) for leaf in leaves}
    return parent_of, counts, taps


def _rows(parent_of, counts, taps):
    totals = {key: [0, 0] for key in parent_of}
    for leaf, n in counts.items():
        key: str | None = leaf
        while key is not None:
            totals[key][0] += n
            totals[key][1] += taps[leaf]
            key = parent_of[key]
    return [{"key": key, "parent": parent_of[key], "households": t[0], "with": t[1], "without": t[0] - t[1]}
            for key, t in totals.items()]


def _published_linear_recoveries(rows, relations, k):
    """For each relation: what a reader computes from published cells (the value of a lone suppressed cell, or the
    sum of the suppressed parts). Returns the recovered (cell set, value) pairs that disclose something."""
    published = {}
    for row in rows:
        for column in ("households", "with", "without"):
            if not row[f"{column}_suppressed"]:
                published[(row["key"], column)] = row[column]
    disclosures = []
    for relation in relations:
        hidden = [cell for cell in relation.cells if cell not in published]
        if len(hidden) == 1:
            disclosures.append((tuple(hidden), "single"))
        elif hidden and relation.total in published:
            recovered = published[relation.total] - sum(published[c] for c in relation.parts if c in published)
            if 0 < recovered < k:
                disclosures.append((tuple(hidden), recovered))
    return disclosures


@settings(max_examples=150, deadline=None)
@given(hierarchies(), st.integers(3, 12))
def test_no_suppressed_cell_is_recoverable_from_one_relation(tree, k):
    parent_of, counts, taps = tree
    rows = _rows(parent_of, counts, taps)
    truth = {(r["key"], c): r[c] for r in rows for c in ("households", "with", "without")}
    outcome = suppress_rows(rows, key="key", parent_key="parent", count_columns=["households", "with", "without"],
                            row_totals=[("households", ("with", "without"))], derived={}, k=k)
    assert outcome.problems == []
    relations = hierarchy_relations(parent_of, ["households", "with", "without"]) + row_relations(
        parent_of, "households", ["with", "without"])
    assert _published_linear_recoveries(rows, relations, k) == []
    for row in rows:
        for column in ("households", "with", "without"):
            value = truth[(row["key"], column)]
            if 0 < value < k:  # every small count is hidden, and shown as empty, never as a fake value
                assert row[column] is None and row[f"{column}_suppressed"] is True
            if not row[f"{column}_suppressed"]:
                assert row[column] == value


@settings(max_examples=60, deadline=None)
@given(hierarchies(), st.integers(3, 12))
def test_every_relation_with_a_published_total_hides_two_parts_summing_to_zero_or_at_least_k(tree, k):
    parent_of, counts, taps = tree
    rows = _rows(parent_of, counts, taps)
    truth = {(r["key"], c): r[c] for r in rows for c in ("households", "with", "without")}
    suppress_rows(rows, key="key", parent_key="parent", count_columns=["households", "with", "without"],
                  row_totals=[("households", ("with", "without"))], derived={}, k=k)
    hidden = {(r["key"], c) for r in rows for c in ("households", "with", "without") if r[f"{c}_suppressed"]}
    relations = hierarchy_relations(parent_of, ["households", "with", "without"]) + row_relations(
        parent_of, "households", ["with", "without"])
    for relation in relations:
        hidden_parts = [c for c in relation.parts if c in hidden]
        if relation.total in hidden or not hidden_parts:
            continue
        # the only exact equation a reader has is: total - published parts = sum(hidden parts)
        assert len(hidden_parts) >= 2
        assert sum(truth[c] for c in hidden_parts) == 0 or sum(truth[c] for c in hidden_parts) >= k
