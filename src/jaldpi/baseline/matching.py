"""Match (state, district, block, village) names of an external file to LGD units in the node.

* **state, district**: :class:`jaldpi.admin_units.names.NameMatcher` (exact, alias, fuzzy; alias table
  ``admin_units/name_aliases.json``).
* **block**, within the matched district: exact (same normalisation), then the alias table's ``blocks`` section
  (keyed by the LGD state name: ``{"alias": "LGD block name"}``), then exact within the whole state when the name
  names one block only (districts were re-drawn: Telangana 2016 and 2019), then fuzzy within the district at or
  above the cutoff (ties refused). A block whose district did not match is looked up in its state (exact or alias,
  one block only).
* **village**, among the *village units present in the node* (the LGD directory has no village file; villages come
  from an LGD village file, the sandbox, or a state's own load) under the matched block, or under the matched
  district when the block did not match: exact after normalisation (one village only), then fuzzy at or above
  ``village_cutoff`` (ties refused). Where the node holds no village under that block (or district), the village is
  unmatched with the reason "no village registry under this block" (or "... district").

Every level says how it matched (exact / alias / fuzzy / None), with the fuzzy score or the reason it did not.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from jaldpi.admin_units.names import ALIASES_FILE, DEFAULT_CUTOFF, NameMatcher, Unit, _Index, load_aliases, normalise
from jaldpi.admin_units.paths import letters

LEVELS = ("state", "district", "block", "village")


@dataclass(frozen=True)
class LevelMatch:
    unit: Unit | None
    method: str | None  # exact | alias | fuzzy | None
    score: float | None = None
    reason: str | None = None


@dataclass(frozen=True)
class RowMatch:
    levels: dict[str, LevelMatch]
    lgd_path: str | None  # of the deepest unit matched


_NONE = LevelMatch(None, None)


_QUALIFIERS = {"rural", "urban", "new", "old", "east", "west", "north", "south", "i", "ii", "iii", "1", "2", "3",
               "kalan", "khurd", "bujurg", "buzurg"}


def _qualifiers(name: str) -> set[str]:
    """Words that tell two otherwise equal names apart: fuzzy matching must not cross them."""
    return set(normalise(name).split()) & _QUALIFIERS


def load_block_aliases(path: Path | None = None) -> dict[str, dict[str, str]]:
    data = json.loads((path or ALIASES_FILE).read_text(encoding="utf-8"))
    return {normalise(s, directions=False): {normalise(k): normalise(v) for k, v in table.items()}
            for s, table in data.get("blocks", {}).items()}


class BaselineMatcher:
    def __init__(self, units: list[Unit], paths: dict[Any, str], *, aliases: dict[str, Any] | None = None,
                 block_aliases: dict[str, dict[str, str]] | None = None, cutoff: float = DEFAULT_CUTOFF,
                 village_cutoff: float = DEFAULT_CUTOFF) -> None:
        by_level: dict[str, list[Unit]] = {lv: [] for lv in LEVELS}
        for u in units:
            if u.level in by_level:
                by_level[u.level].append(u)
        self.names = NameMatcher(by_level["state"], by_level["district"],
                                 aliases=aliases if aliases is not None else load_aliases(), cutoff=cutoff)
        self.block_aliases = block_aliases if block_aliases is not None else load_block_aliases()
        self.cutoff, self.village_cutoff = cutoff, village_cutoff
        self.paths = paths
        self.by_id = {u.id: u for u in units}
        path_to_id = {paths[u.id]: u.id for u in units if u.level in ("district", "block") and u.id in paths}
        district_state = {d.id: d.parent_id for d in by_level["district"]}
        blocks_by_district: dict[Any, list[Unit]] = {}
        blocks_by_state: dict[Any, list[Unit]] = {}
        for b in by_level["block"]:
            blocks_by_district.setdefault(b.parent_id, []).append(b)
            blocks_by_state.setdefault(district_state.get(b.parent_id), []).append(b)
        self._blocks_by_district = blocks_by_district
        self._blocks_by_state = blocks_by_state
        self._block_index: dict[Any, _Index] = {}
        self._state_block_index: dict[Any, _Index] = {}
        # villages under each block and each district, from their jurisdiction paths
        b_letter, d_letter = letters()["block"], letters()["district"]
        self._villages: dict[Any, list[Unit]] = {}
        for v in by_level["village"]:
            path = paths.get(v.id) or ""
            parts = path.strip("/").split("/")
            for i, seg in enumerate(parts):
                if seg[:1] in (b_letter, d_letter):
                    owner = path_to_id.get("/" + "/".join(parts[: i + 1]) + "/")
                    if owner is not None:
                        self._villages.setdefault(owner, []).append(v)
        self._village_index: dict[Any, _Index] = {}
        self._block_cache: dict[tuple[Any, Any, str], LevelMatch] = {}
        self._village_cache: dict[tuple[Any, str], LevelMatch] = {}

    @classmethod
    def from_database(cls, session, **kwargs: Any) -> "BaselineMatcher":
        from sqlalchemy import select

        from jaldpi.admin_units.models import AdminUnit

        t = AdminUnit.__table__
        rows = session.execute(select(t.c.id, t.c.code, t.c.lgd_code, t.c.name, t.c.level, t.c.parent_id,
                                      t.c.lgd_path).where(t.c.level.in_(LEVELS), t.c.deleted_at.is_(None))).all()
        units = [Unit(r.id, r.code, r.lgd_code, r.name, r.level, r.parent_id) for r in rows]
        return cls(units, {r.id: r.lgd_path for r in rows}, **kwargs)

    @property
    def has_villages(self) -> bool:
        return bool(self._villages)

    # ------------------------------------------------------------------ blocks
    def _index(self, cache: dict[Any, _Index], source: dict[Any, list[Unit]], key: Any, directions: bool) -> _Index:
        if key not in cache:
            cache[key] = _Index(source.get(key, []), directions=directions)
        return cache[key]

    def match_block(self, state: Unit | None, district: Unit | None, name: str) -> LevelMatch:
        key = (state.id if state else None, district.id if district else None, name)
        if key not in self._block_cache:
            self._block_cache[key] = self._match_block(state, district, name)
        return self._block_cache[key]

    def _match_block(self, state: Unit | None, district: Unit | None, name: str) -> LevelMatch:
        if state is None:
            return LevelMatch(None, None, reason="state not matched")
        if not normalise(name):
            return LevelMatch(None, None, reason="no block name")
        in_state = self._index(self._state_block_index, self._blocks_by_state, state.id, True)
        alias_target = self.block_aliases.get(normalise(state.name, directions=False), {}).get(normalise(name))
        if district is not None:
            in_district = self._index(self._block_index, self._blocks_by_district, district.id, True)
            found = in_district.exact(name)
            if len(found) == 1:
                return LevelMatch(found[0], "exact")
            if len(found) > 1:
                return LevelMatch(None, None, reason=f"block name matches {len(found)} blocks in the district")
        if alias_target:
            found = (in_district.exact(alias_target) if district is not None else []) or in_state.exact(alias_target)
            if len(found) == 1:
                return LevelMatch(found[0], "alias")
        found = in_state.exact(name)
        if len(found) == 1:
            return LevelMatch(found[0], "exact")
        if district is None:
            return LevelMatch(None, None, reason="district not matched; block name not unique or not found in state")
        found, score = in_district.fuzzy(name, self.cutoff)
        found = [u for u in found if _qualifiers(u.name) == _qualifiers(name)]  # "X Urban" is never "X Rural"
        if len(found) == 1:
            return LevelMatch(found[0], "fuzzy", score)
        if len(found) > 1:
            return LevelMatch(None, None, score, reason="block name is equally close to " +
                              ", ".join(sorted(u.name for u in found)))
        return LevelMatch(None, None, reason=f"block not found in {district.name}")

    # ------------------------------------------------------------------ villages
    def match_village(self, owner: Unit | None, owner_level: str, name: str) -> LevelMatch:
        if owner is None:
            return LevelMatch(None, None, reason="district not matched")
        key = (owner.id, name)
        if key not in self._village_cache:
            self._village_cache[key] = self._match_village(owner, owner_level, name)
        return self._village_cache[key]

    def _match_village(self, owner: Unit, owner_level: str, name: str) -> LevelMatch:
        if owner.id not in self._villages:
            return LevelMatch(None, None, reason=f"no village registry under this {owner_level}")
        if not normalise(name, directions=False):
            return LevelMatch(None, None, reason="no village name")
        index = self._index(self._village_index, self._villages, owner.id, False)
        found = index.exact(name)
        if len(found) == 1:
            return LevelMatch(found[0], "exact")
        if len(found) > 1:
            return LevelMatch(None, None, reason=f"village name matches {len(found)} villages in this {owner_level}")
        found, score = index.fuzzy(name, self.village_cutoff)
        found = [u for u in found if _qualifiers(u.name) == _qualifiers(name)]
        if len(found) == 1:
            return LevelMatch(found[0], "fuzzy", score)
        if len(found) > 1:
            return LevelMatch(None, None, score, reason=f"village name is equally close to {len(found)} villages")
        return LevelMatch(None, None, reason=f"village not found in this {owner_level}")

    # ------------------------------------------------------------------ rows
    def match(self, state_name: str, district_name: str, block_name: str, village_name: str) -> RowMatch:
        st = self.names.match_state(state_name)
        state = LevelMatch(st.unit, st.method, st.score, st.reason)
        if st.unit is None:
            levels = {"state": state, "district": LevelMatch(None, None, reason="state not matched"),
                      "block": LevelMatch(None, None, reason="state not matched"),
                      "village": LevelMatch(None, None, reason="state not matched")}
            return RowMatch(levels, None)
        dm = self.names.match_district(state_name, district_name)
        district = LevelMatch(dm.unit, dm.method, dm.score, dm.reason)
        block = self.match_block(st.unit, dm.unit, block_name)
        if block.unit is not None:
            village = self.match_village(block.unit, "block", village_name)
        else:
            village = self.match_village(dm.unit, "district", village_name)
        levels = {"state": state, "district": district, "block": block, "village": village}
        deepest = next((m.unit for m in (village, block, district, state) if m.unit is not None), None)
        return RowMatch(levels, self.paths.get(deepest.id) if deepest is not None else None)


__all__ = ["LEVELS", "BaselineMatcher", "LevelMatch", "RowMatch", "load_block_aliases"]
