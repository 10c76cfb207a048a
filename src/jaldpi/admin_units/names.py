"""Match state and district *names* (as external files write them) to LGD administrative units.

Public data often carries names, not LGD codes, and spells them differently from the LGD directory
("Ananthapuramu" / "ANANTAPUR", "Jammu&Kashmir", "E. Singhbhum", "North 24 Parganas" / "24 PARAGANAS NORTH").
:class:`NameMatcher` matches in this order, and says which way each name matched:

1. **exact**: equal after :func:`normalise` (case, accents, punctuation, ``&`` -> ``and``, spacing, a leading
   "The", trailing "district" / "UT", direction words East/Purba/Purbi/E., West/Paschim/W., North/Uttar/N.,
   South/Dakshin/S. read as one word each, and word order). A name with alternatives ("Allahabad/ Prayagraj",
   "KAIMUR (BHABUA)") also matches on each alternative when that alternative names one unit only;
2. **alias**: the alias table (``name_aliases.json`` next to this module, or one given): old names, renamed
   districts, spelling variants, states merged into a union territory, a state whose districts moved to a new
   state (Jammu and Kashmir -> Ladakh, Andhra Pradesh -> Telangana) via ``state_also_search``;
3. **fuzzy**: :func:`difflib.SequenceMatcher` ratio on the normalised names within the matched state, at or above
   ``cutoff`` (default 0.85). Two names with different direction words never fuzzy-match ("East Singhbhum" is not
   "West Singhbhum"), and a tie between two candidates is refused as ambiguous. Every fuzzy match carries its
   score so a report can list it for review.

A district is looked up only within its state (and the states in ``state_also_search``); names that do not match
come back with ``method=None`` and a reason, never a guess.
"""

from __future__ import annotations

import difflib
import json
import re
import unicodedata
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ALIASES_FILE = Path(__file__).with_name("name_aliases.json")
DEFAULT_CUTOFF = 0.85

_DIRECTIONS = {
    "e": "east", "east": "east", "purba": "east", "purbi": "east", "poorvi": "east", "purva": "east",
    "w": "west", "west": "west", "paschim": "west", "pashchim": "west", "paschimi": "west",
    "n": "north", "north": "north", "uttar": "north",
    "s": "south", "south": "south", "dakshin": "south", "dakshina": "south",
}
_SUFFIXES = ("district", "dist", "distt", "ut", "u t", "union territory")


def _plain(name: Any) -> str:
    text = unicodedata.normalize("NFKD", str(name or "")).encode("ascii", "ignore").decode().lower()
    text = text.replace("&", " and ")
    return re.sub(r"[^a-z0-9]+", " ", text).strip()


def normalise(name: Any, *, directions: bool = True) -> str:
    """``"The  Dadra & Nagar-Haveli UT"`` -> ``"dadra and nagar haveli"``; ``"E. Singhbhum"`` -> ``"east singhbhum"``.

    Direction words are canonicalised only when ``directions`` (district names; not state names, where "Uttar" is
    part of "Uttar Pradesh").
    """
    text = _plain(name)
    text = re.sub(r"^the ", "", text)
    for suffix in _SUFFIXES:
        if text.endswith(" " + suffix):
            text = text[: -len(suffix) - 1].strip()
    if directions:
        words = text.split()
        # a lone initial is a direction ("E. Singhbhum", "W Singhbhum"); initials of an acronym are not ("S.A.S Nagar")
        initials_are_directions = sum(len(w) == 1 for w in words) == 1
        text = " ".join(_DIRECTIONS.get(w, w) if len(w) > 1 or initials_are_directions else w for w in words)
    return text


def _key(normalised: str) -> str:
    """Order- and spacing-free key: "dinajpur south" == "south dinajpur", "bara banki" == "barabanki"."""
    return "".join(sorted(normalised.split()))


def _compact(normalised: str) -> str:
    return normalised.replace(" ", "")


def _alternatives(name: Any) -> list[str]:
    """Parts of a name with alternatives: "Allahabad/ Prayagraj" -> ["Allahabad", "Prayagraj"]; "KAIMUR (BHABUA)"
    -> ["KAIMUR", "BHABUA"]."""
    text = str(name or "")
    if not re.search(r"[/()]", text):
        return []
    return [p.strip() for p in re.split(r"[/()]", text) if p.strip()]


def _directions_of(normalised: str) -> set[str]:
    return {w for w in normalised.split() if w in ("east", "west", "north", "south")}


@dataclass(frozen=True)
class Unit:
    """An LGD unit as the matcher needs it."""

    id: Any
    code: str
    lgd_code: int | None
    name: str
    level: str
    parent_id: Any = None


@dataclass(frozen=True)
class Match:
    unit: Unit | None
    method: str | None  # exact | alias | fuzzy | None (unmatched)
    score: float | None = None  # fuzzy matches: the SequenceMatcher ratio
    reason: str | None = None  # why not matched
    state: Unit | None = None  # for districts: the state matched

    @property
    def matched(self) -> bool:
        return self.unit is not None


class _Index:
    """Units of one level (within one parent) by their normalised keys."""

    def __init__(self, units: list[Unit], directions: bool) -> None:
        self.directions = directions
        self.units = units
        self.by_key: dict[str, list[Unit]] = {}
        self.by_alternative: dict[str, list[Unit]] = {}
        self.norm: dict[Any, str] = {}
        for u in units:
            n = normalise(u.name, directions=directions)
            self.norm[u.id] = n
            raw = normalise(u.name, directions=False)  # "UTTAR KASHI" is not "north kashi" to everyone
            for k in {_key(n), _compact(n), _key(raw), _compact(raw)}:
                self.by_key.setdefault(k, []).append(u)
            for part in _alternatives(u.name):
                pn = normalise(part, directions=directions)
                for k in {_key(pn), _compact(pn)}:
                    self.by_alternative.setdefault(k, []).append(u)

    def _get(self, index: dict[str, list[Unit]], name: Any) -> list[Unit]:
        n = normalise(name, directions=self.directions)
        raw = normalise(name, directions=False)
        return (index.get(_compact(n)) or index.get(_key(n)) or index.get(_compact(raw)) or index.get(_key(raw))
                or [])

    def exact(self, name: Any) -> list[Unit]:
        found = self._get(self.by_key, name)
        if found:
            return _unique(found)
        hits: list[Unit] = []
        for part in _alternatives(name):  # the given name has alternatives: "Faizabad / Ayodhya"
            hits += self._get(self.by_key, part)
        if not hits:  # the unit's name has alternatives: "KAIMUR (BHABUA)"
            hits = self._get(self.by_alternative, name)
        return _unique(hits)

    def fuzzy(self, name: Any, cutoff: float) -> tuple[list[Unit], float | None]:
        n = normalise(name, directions=self.directions)
        dirs = _directions_of(n) if self.directions else set()
        scored: list[tuple[float, Unit]] = []
        for u in self.units:
            un = self.norm[u.id]
            udirs = _directions_of(un) if self.directions else set()
            if dirs and udirs and dirs != udirs:
                continue  # East X is never West X
            score = max(difflib.SequenceMatcher(None, _compact(n), _compact(un)).ratio(),
                        difflib.SequenceMatcher(None, _key(n), _key(un)).ratio())
            if score >= cutoff:
                scored.append((score, u))
        if not scored:
            return [], None
        scored.sort(key=lambda s: -s[0])
        best = scored[0][0]
        return [u for s, u in scored if s == best], round(best, 3)


def _unique(units: list[Unit]) -> list[Unit]:
    seen: dict[Any, Unit] = {}
    for u in units:
        seen.setdefault(u.id, u)
    return list(seen.values())


def load_aliases(path: Path | None = None) -> dict[str, Any]:
    data = json.loads((path or ALIASES_FILE).read_text(encoding="utf-8"))
    return {
        "states": {normalise(k, directions=False): normalise(v, directions=False)
                   for k, v in data.get("states", {}).items()},
        "state_also_search": {normalise(k, directions=False): [normalise(x, directions=False) for x in v]
                              for k, v in data.get("state_also_search", {}).items()},
        "districts": {normalise(s, directions=False): {normalise(k): normalise(v) for k, v in d.items()}
                      for s, d in data.get("districts", {}).items()},
    }


class NameMatcher:
    """Match (state name, district name) pairs to LGD units; results are cached per distinct name."""

    def __init__(self, states: list[Unit], districts: list[Unit], *, aliases: dict[str, Any] | None = None,
                 cutoff: float = DEFAULT_CUTOFF) -> None:
        self.cutoff = cutoff
        self.aliases = aliases if aliases is not None else load_aliases()
        self.states = _Index(states, directions=False)
        self.state_by_norm = {normalise(s.name, directions=False): s for s in states}
        by_parent: dict[Any, list[Unit]] = {}
        for d in districts:
            by_parent.setdefault(d.parent_id, []).append(d)
        self.districts = {s.id: _Index(by_parent.get(s.id, []), directions=True) for s in states}
        self._state_cache: dict[str, Match] = {}
        self._cache: dict[tuple[str, str], Match] = {}

    @classmethod
    def from_database(cls, session, **kwargs: Any) -> "NameMatcher":
        """States and districts of the admin-units registry (not deleted)."""
        from sqlalchemy import select

        from jaldpi.admin_units.models import AdminUnit

        t = AdminUnit.__table__
        rows = session.execute(select(t.c.id, t.c.code, t.c.lgd_code, t.c.name, t.c.level, t.c.parent_id).where(
            t.c.level.in_(("state", "district")), t.c.deleted_at.is_(None))).all()
        units = [Unit(r.id, r.code, r.lgd_code, r.name, r.level, r.parent_id) for r in rows]
        return cls([u for u in units if u.level == "state"], [u for u in units if u.level == "district"], **kwargs)

    # ------------------------------------------------------------------ states
    def match_state(self, name: Any) -> Match:
        key = str(name or "")
        if key not in self._state_cache:
            self._state_cache[key] = self._match_state(name)
        return self._state_cache[key]

    def _match_state(self, name: Any) -> Match:
        if not normalise(name, directions=False):
            return Match(None, None, reason="no state name")
        found = self.states.exact(name)
        if len(found) == 1:
            return Match(found[0], "exact")
        if len(found) > 1:
            return Match(None, None, reason=f"state name matches {len(found)} states")
        target = self.aliases["states"].get(normalise(name, directions=False))
        if target and target in self.state_by_norm:
            return Match(self.state_by_norm[target], "alias")
        found, score = self.states.fuzzy(name, self.cutoff)
        if len(found) == 1:
            return Match(found[0], "fuzzy", score)
        if len(found) > 1:
            return Match(None, None, score, reason="state name is equally close to " +
                         ", ".join(sorted(u.name for u in found)))
        return Match(None, None, reason="state not found")

    # ------------------------------------------------------------------ districts
    def match_district(self, state_name: Any, district_name: Any) -> Match:
        key = (str(state_name or ""), str(district_name or ""))
        if key not in self._cache:
            self._cache[key] = self._match_district(state_name, district_name)
        return self._cache[key]

    def _search_states(self, state: Unit) -> list[Unit]:
        extra = self.aliases["state_also_search"].get(normalise(state.name, directions=False), [])
        return [state] + [self.state_by_norm[s] for s in extra if s in self.state_by_norm]

    def _match_district(self, state_name: Any, district_name: Any) -> Match:
        st = self.match_state(state_name)
        if st.unit is None:
            return Match(None, None, reason=st.reason or "state not found")
        if not normalise(district_name):
            return Match(None, None, reason="no district name", state=st.unit)
        states = self._search_states(st.unit)
        # 1. exact, in the state first, then in the states also searched
        for s in states:
            found = self.districts[s.id].exact(district_name)
            if len(found) == 1:
                return Match(found[0], "exact", state=st.unit)
            if len(found) > 1:
                return Match(None, None, reason=f"district name matches {len(found)} districts", state=st.unit)
        # 2. alias (the alias table is keyed by the LGD state's name)
        n = normalise(district_name)
        candidates = [n, *(normalise(p) for p in _alternatives(district_name))]
        for s in states:
            table = self.aliases["districts"].get(normalise(s.name, directions=False), {})
            for c in candidates:
                if c in table:
                    for target_state in states:  # an alias may name a district now in a successor state
                        found = self.districts[target_state.id].exact(table[c])
                        if len(found) == 1:
                            return Match(found[0], "alias", state=st.unit)
        # 3. fuzzy, within the state and the states also searched
        best: tuple[float, list[Unit]] | None = None
        for s in states:
            found, score = self.districts[s.id].fuzzy(district_name, self.cutoff)
            if found and (best is None or score > best[0]):
                best = (score, found)
            elif found and score == best[0]:
                best = (score, best[1] + found)
        if best is not None:
            if len(best[1]) == 1:
                return Match(best[1][0], "fuzzy", best[0], state=st.unit)
            return Match(None, None, best[0], state=st.unit, reason="district name is equally close to " +
                         ", ".join(sorted(u.name for u in best[1])))
        return Match(None, None, reason=f"district not found in {st.unit.name}", state=st.unit)


__all__ = ["ALIASES_FILE", "DEFAULT_CUTOFF", "Match", "NameMatcher", "Unit", "load_aliases", "normalise"]
