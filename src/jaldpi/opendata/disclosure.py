"""Statistical disclosure control of household counts: primary and complementary cell suppression.

Pure functions over *cells* (``(row_key, column)``) and their integer values, and *relations*
``total = part_1 + ... + part_n`` that a reader of the published table knows hold (a parent unit's count is the sum
of its children's; within a row, households = with tap + without tap).

Rules (k = ``opendata_min_cell``, default 10):

* **Primary suppression**: a household count from 1 to k-1 is suppressed. Zero is published: "no household in this
  village has a tap" is the programme's public status of the village (Har Ghar Jal / not started) and discloses
  no household's own attribute beyond what that status already says; a zero is never chosen as a complementary
  cell either (it cannot hide anything, see below).
* **Complementary suppression**: in every relation, the suppressed cells must not be recoverable. A relation with
  exactly one suppressed cell gives it away (total minus the published parts, or the sum of the parts), so a
  second cell is suppressed. When the total is published, the suppressed parts' *sum* is published implicitly; it
  must be 0 or at least k, else further parts are suppressed (smallest non-zero first: the least information lost),
  and when no part is left, the total itself. This is iterated over all relations to a fixed point (a cell
  suppressed for one relation can break another: its row, its parent's relation, its children's relation).
* **Derived cells** (percentages and similar) are suppressed together with any household count they are computed
  from (see ``DatasetSpec.derived_columns``).

Guarantee (checked by :func:`audit` after every build and by property tests): in every relation, either no cell
is suppressed, or at least two are, and when the total is published the suppressed parts sum to 0 or >= k.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Hashable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

Cell = tuple[Hashable, str]


@dataclass(frozen=True)
class Relation:
    """``total = sum(parts)``, known to every reader of the published table."""

    total: Cell
    parts: tuple[Cell, ...]

    @property
    def cells(self) -> tuple[Cell, ...]:
        return (self.total, *self.parts)


def primary(values: Mapping[Cell, int], k: int) -> set[Cell]:
    """Cells whose count is small and non-zero: 1 .. k-1."""
    return {cell for cell, value in values.items() if 0 < value < k}


def violation(relation: Relation, values: Mapping[Cell, int], suppressed: set[Cell], k: int) -> str | None:
    """Why ``relation`` lets a reader recover a suppressed cell (or a small sum of them), or None when safe."""
    hidden = [cell for cell in relation.cells if cell in suppressed]
    if not hidden:
        return None
    if len(hidden) == 1:
        return "single suppressed cell"
    if relation.total not in suppressed:
        hidden_sum = sum(values[cell] for cell in hidden)
        if 0 < hidden_sum < k:
            return f"suppressed parts sum to {hidden_sum} < {k}"
    return None


def _complement(relation: Relation, values: Mapping[Cell, int], suppressed: set[Cell], k: int) -> list[Cell]:
    """Cells to suppress so that ``relation`` no longer reveals anything (smallest non-zero parts first)."""
    added: list[Cell] = []
    hidden = {cell for cell in relation.cells if cell in suppressed}
    candidates = sorted((cell for cell in relation.parts if cell not in suppressed and values[cell] > 0),
                        key=lambda cell: (values[cell], str(cell)))
    total_hidden = relation.total in hidden
    hidden_sum = sum(values[cell] for cell in hidden if cell != relation.total)
    for cell in candidates:
        if len(hidden) + len(added) >= 2 and (total_hidden or hidden_sum >= k or hidden_sum == 0):
            return added
        added.append(cell)
        hidden_sum += values[cell]
    if len(hidden) + len(added) >= 2 and (total_hidden or hidden_sum >= k or hidden_sum == 0):
        return added
    if not total_hidden:
        # Not enough in the parts: hide the total as well (it then moves the problem one level up).
        added.append(relation.total)
        if len(hidden) + len(added) >= 2:
            return added
    # The total is hidden and every part is either hidden or zero: a zero part cannot hide anything, and the
    # relation holds only the total and zeros, so the total is zero too, which is never suppressed.
    return added


def protect(values: Mapping[Cell, int], relations: Iterable[Relation], k: int,
            initial: Iterable[Cell] = ()) -> set[Cell]:
    """Primary suppression plus complementary suppression over ``relations`` to a fixed point.

    ``initial``: cells suppressed for another reason (kept). Returns the set of suppressed cells. Runs a worklist:
    a relation is re-checked only when one of its cells was newly suppressed.
    """
    relations = list(relations)
    suppressed = primary(values, k) | set(initial)
    by_cell: dict[Cell, list[int]] = defaultdict(list)
    for index, relation in enumerate(relations):
        for cell in relation.cells:
            by_cell[cell].append(index)
    pending = sorted({i for cell in suppressed for i in by_cell.get(cell, ())})
    queued = set(pending)
    while pending:
        index = pending.pop()
        queued.discard(index)
        relation = relations[index]
        if violation(relation, values, suppressed, k) is None:
            continue
        for cell in _complement(relation, values, suppressed, k):
            if cell in suppressed:
                continue
            suppressed.add(cell)
            for other in by_cell[cell]:
                if other not in queued:
                    queued.add(other)
                    pending.append(other)
        if violation(relation, values, suppressed, k) is not None:  # pragma: no cover - guarded by _complement
            raise RuntimeError(f"disclosure control could not protect {relation}")
    return suppressed


def audit(values: Mapping[Cell, int], relations: Iterable[Relation], suppressed: set[Cell], k: int) -> list[str]:
    """Every remaining problem (empty when the suppression pattern is safe), including unsuppressed small cells."""
    problems = [f"{cell}: {values[cell]} published below {k}" for cell in values
                if 0 < values[cell] < k and cell not in suppressed]
    for relation in relations:
        why = violation(relation, values, suppressed, k)
        if why:
            problems.append(f"{relation.total}: {why}")
    return problems


# --- applying it to dataset rows ------------------------------------------------------------------------------


def hierarchy_relations(parent_of: Mapping[Hashable, Hashable | None], columns: Iterable[str]) -> list[Relation]:
    """For each unit with children and each column: parent = sum(children). ``parent_of``: row key -> parent key."""
    children: dict[Hashable, list[Hashable]] = defaultdict(list)
    for key, parent in parent_of.items():
        if parent is not None:
            children[parent].append(key)
    out = []
    for parent, kids in children.items():
        kids.sort(key=str)
        for column in columns:
            out.append(Relation((parent, column), tuple((kid, column) for kid in kids)))
    return out


def row_relations(keys: Iterable[Hashable], total: str, parts: Iterable[str]) -> list[Relation]:
    parts = tuple(parts)
    return [Relation((key, total), tuple((key, part) for part in parts)) for key in keys]


@dataclass
class Outcome:
    """What suppression did to a table: cells suppressed (primary and complementary), for the metadata."""

    suppressed_cells: int
    primary_cells: int
    derived_cells: int
    problems: list[str]


def suppress_rows(rows: list[dict[str, Any]], *, key: str, parent_key: str, count_columns: list[str],
                  row_totals: list[tuple[str, tuple[str, ...]]], derived: Mapping[str, tuple[str, ...]],
                  k: int) -> Outcome:
    """Protect ``rows`` in place: suppressed cells become None and ``<col>_suppressed`` True (others False).

    ``key``/``parent_key``: row fields naming the row and its parent row (hierarchy relations);
    ``count_columns``: household counts; ``row_totals``: (total column, part columns) relations within a row;
    ``derived``: column -> household-count columns it is computed from.
    """
    values: dict[Cell, int] = {}
    parent_of: dict[Hashable, Hashable | None] = {}
    by_key: dict[Hashable, dict[str, Any]] = {}
    for row in rows:
        row_key = row[key]
        by_key[row_key] = row
        parent_of[row_key] = row.get(parent_key)
        for column in count_columns:
            values[(row_key, column)] = int(row[column] or 0)
    relations = hierarchy_relations({k_: p for k_, p in parent_of.items() if p is None or p in by_key},
                                    count_columns)
    for total, parts in row_totals:
        relations.extend(row_relations(by_key, total, parts))
    suppressed = protect(values, relations, k)
    problems = audit(values, relations, suppressed, k)
    derived_count = 0
    for row_key, row in by_key.items():
        for column in count_columns:
            hidden = (row_key, column) in suppressed
            row[f"{column}_suppressed"] = hidden
            if hidden:
                row[column] = None
        for column, sources in derived.items():
            hidden = any((row_key, source) in suppressed for source in sources)
            row[f"{column}_suppressed"] = hidden
            if hidden:
                row[column] = None
                derived_count += 1
    return Outcome(suppressed_cells=len(suppressed), primary_cells=len(primary(values, k)),
                   derived_cells=derived_count, problems=problems)
