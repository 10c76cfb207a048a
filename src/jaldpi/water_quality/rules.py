"""IS 10500:2012 rules engine: load a versioned rule set (with per-node overrides), normalise reported values, judge
parameters, samples and field-test-kit readings. Pure Python, no database.

The rule set is data (``rulesets/is10500_2012.json``); this module is the part of the standard that is stated in
words (relaxation only without an alternate source, iron + manganese, sulphate/magnesium, colour/toxic substances,
free residual chlorine, the pH band, the bacteriological "not detectable in 100 mL"). See docs/water_quality.md.

Typical use::

    rs = ruleset_from_settings()                      # or load_ruleset(overrides={...})
    verdict = rs.evaluate_sample({"arsenic": ("12", "ppb"), "nitrate": ("10.2", "mg/L as N"), "e_coli": "absent"},
                                 EvaluationContext(alternate_source_available=False))
    verdict.verdict, verdict.contaminants, verdict.to_dict()

Values are compared as :class:`~decimal.Decimal`, never as floats. Censored values (``BDL``, ``<0.1``, ``>200``) stay
censored (:class:`Censored`) and missing values (``-``, ``NA``, blank) stay missing (:class:`Missing`): neither is ever
turned into zero.
"""

from __future__ import annotations

import functools
import hashlib
import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

RULESET_DIR = Path(__file__).with_name("rulesets")
DEFAULT_RULESET = "is10500_2012"

# Per-parameter verdicts
WITHIN_ACCEPTABLE = "within_acceptable"
WITHIN_PERMISSIBLE = "within_permissible"
EXCEEDS = "exceeds"
BELOW_MINIMUM = "below_minimum"
NOT_EVALUABLE = "not_evaluable"
NOT_APPLICABLE = "not_applicable"
PARAMETER_VERDICTS = (WITHIN_ACCEPTABLE, WITHIN_PERMISSIBLE, EXCEEDS, BELOW_MINIMUM, NOT_EVALUABLE, NOT_APPLICABLE)
ADVERSE = frozenset((EXCEEDS, BELOW_MINIMUM))

# Sample verdicts (code list sample_verdicts)
SAFE, UNSAFE, INCOMPLETE = "safe", "unsafe", "incomplete"

#: The 13 basic parameters every JJM source is tested for (JJM water-quality monitoring and surveillance framework).
#: Pass as ``required=`` to make a routine lab sample ``incomplete`` unless all 13 were judged.
JJM_BASIC_PARAMETERS = ("ph", "tds", "turbidity", "chloride", "total_alkalinity", "total_hardness", "sulphate", "iron",
                        "arsenic", "fluoride", "nitrate", "total_coliform", "e_coli")
BACTERIOLOGICAL_PARAMETERS = ("e_coli", "total_coliform")
#: The common field-test-kit set (the official list was not found); the node's list is ``Settings.wq_ftk_parameters``.
DEFAULT_FTK_PARAMETERS = ("ph", "turbidity", "chloride", "total_hardness", "total_alkalinity", "iron", "fluoride",
                          "nitrate", "free_residual_chlorine", "arsenic", "h2s_vial")

_PARAM_OVERRIDE_FIELDS = frozenset(("acceptable_min", "acceptable_max", "permissible_max", "no_relaxation", "notes"))
_LIMIT_FIELDS = ("acceptable_min", "acceptable_max", "permissible_max")
_RULE_OVERRIDE_FIELDS = {
    "iron_manganese": {"max": "limit", "enabled": "bool"},
    "sulphate_magnesium": {"condition_max": "limit", "enabled": "bool"},
    "colour_toxic": {"enabled": "bool"},
    "chlorine_residual": {"minimum_viral_protection": "limit", "consumer_end_sampling_points": "list"},
    "bacteriological": {"untreated_sampling_points": "list"},
}

ZERO = Decimal(0)
ONE = Decimal(1)


class RuleSetError(ValueError):
    """The rule set file or an override is invalid."""


class UnknownUnitError(ValueError):
    """A reported unit is not among the parameter's accepted aliases."""


class UnknownParameterError(KeyError):
    """A parameter code (or alias) is not in the rule set."""


# ================================================================================================ reported values

@dataclass(frozen=True, slots=True)
class Censored:
    """A censored value: ``below=True`` for ``<limit`` / ``BDL`` / ``ND``, ``below=False`` for ``>limit``.

    ``limit`` is the detection (or quantification/counting) limit, ``None`` when the lab gave none (``BDL``, ``ND``).
    ``inclusive`` is True for ``<=`` / ``>=``. Never a number: the true value is only known to lie on one side.
    """

    below: bool
    limit: Decimal | None = None
    inclusive: bool = False

    def __str__(self) -> str:
        if self.limit is None:
            return "BDL" if self.below else ">?"
        op = ("<=" if self.inclusive else "<") if self.below else (">=" if self.inclusive else ">")
        return f"{op}{_fmt(self.limit)}"

    def scaled(self, factor: Decimal) -> Censored:
        return self if self.limit is None or factor == ONE else Censored(self.below, self.limit * factor,
                                                                         self.inclusive)


@dataclass(frozen=True, slots=True)
class Range:
    """A range reading (field-kit colour chart ``0.5-1.0``): the true value lies between ``low`` and ``high``."""

    low: Decimal
    high: Decimal

    def __str__(self) -> str:
        return f"{_fmt(self.low)}-{_fmt(self.high)}"

    def scaled(self, factor: Decimal) -> Range:
        return self if factor == ONE else Range(self.low * factor, self.high * factor)


@dataclass(frozen=True, slots=True)
class Missing:
    """No value reported (``-``, ``NA``, blank, ``None``): kept as missing, never zero."""

    raw: str = ""

    def __str__(self) -> str:
        return self.raw


@dataclass(frozen=True, slots=True)
class Text:
    """A word: qualitative readings (``agreeable``, ``not_agreeable``, ``detected``) or something unparseable."""

    token: str

    def __str__(self) -> str:
        return self.token


Parsed = Decimal | Censored | Range | Missing | Text

_MISSING_TOKENS = frozenset(("", "-", "--", "---", "—", "–", "na", "n/a", "n.a.", "n.a", "nr", "not reported",
                             "not tested", "not analysed", "not analyzed", "nt", "null", "nan", "none reported", "?"))
_NONDETECT_TOKENS = frozenset(("bdl", "b.d.l.", "b.d.l", "nd", "n.d.", "n.d", "not detected", "not detectable",
                               "below detection limit", "below detectable limit", "<dl", "< dl", "<lod", "< lod",
                               "nil", "absent", "negative", "-ve", "neg", "not present", "no growth"))
_DETECTED_TOKENS = frozenset(("present", "detected", "positive", "+ve", "+", "pos", "tntc", "too numerous to count",
                              "yes", "black", "blackened", "colour change", "color change"))
_AGREEABLE_TOKENS = frozenset(("agreeable", "acceptable", "unobjectionable", "not objectionable", "odourless",
                               "odorless", "tasteless", "no odour", "no odor", "ok", "normal", "none"))
_DISAGREEABLE_TOKENS = frozenset(("not agreeable", "disagreeable", "non agreeable", "non-agreeable", "objectionable",
                                  "unacceptable", "not acceptable", "unpleasant", "bad", "foul", "salty", "bitter",
                                  "metallic"))

_NUM = r"(?:[1-9]\d{0,2}(?:,\d{2})*,\d{3}|\d+(?:\.\d*)?|\.\d+)(?:[eE][-+]?\d+)?"
_VALUE_RE = re.compile(rf"^(?P<op><=|>=|=<|=>|<|>|≤|≥|less than|more than|greater than|below|above)?\s*"
                       rf"(?P<num>{_NUM})\s*(?P<unit>[^\d\s.,<>=].*)?$", re.IGNORECASE)
_RANGE_RE = re.compile(rf"^(?P<lo>{_NUM})\s*(?:-|–|—|to)\s*(?P<hi>{_NUM})\s*(?P<unit>[^\d\s.,<>=].*)?$",
                       re.IGNORECASE)
_BDL_WITH_LIMIT_RE = re.compile(rf"^(?:bdl|nd|b\.d\.l\.?|n\.d\.?)\s*[\(\[]?\s*(?:<|<=|dl\s*=?|lod\s*=?)?\s*"
                                rf"(?P<num>{_NUM})\s*[\)\]]?$", re.IGNORECASE)
_BELOW_OPS = frozenset(("<", "<=", "=<", "≤", "less than", "below"))
_INCLUSIVE_OPS = frozenset(("<=", "=<", "≤", ">=", "=>", "≥"))


def _fmt(d: Decimal) -> str:
    """A Decimal as a plain string (no exponent)."""
    s = format(d, "f")
    if "." in s:
        s = s.rstrip("0").rstrip(".")
    return s or "0"


def _dec(s: str) -> Decimal:
    return Decimal(s.replace(",", ""))


@functools.lru_cache(maxsize=65536)
def _parse_str(raw: str) -> tuple[Parsed, str | None]:
    s = raw.strip()
    low = " ".join(s.lower().split())
    if low in _MISSING_TOKENS:
        return Missing(s), None
    if low in _NONDETECT_TOKENS:
        return Censored(True, None), None
    m = _RANGE_RE.match(s)
    if m:
        lo, hi = _dec(m["lo"]), _dec(m["hi"])
        if lo > hi:
            lo, hi = hi, lo
        return Range(lo, hi), (m["unit"].strip() if m["unit"] else None)
    m = _VALUE_RE.match(s)
    if m:
        try:
            num = _dec(m["num"])
        except InvalidOperation:  # pragma: no cover - the regex only admits valid numbers
            return Text(low), None
        if not num.is_finite():
            return Text(low), None
        unit = m["unit"].strip() if m["unit"] else None
        op = m["op"]
        if op is None:
            return num, unit
        op = op.lower()
        return Censored(op in _BELOW_OPS, num, op in _INCLUSIVE_OPS), unit
    m = _BDL_WITH_LIMIT_RE.match(s)
    if m:
        return Censored(True, _dec(m["num"])), None
    if low in _DETECTED_TOKENS:
        return Text("detected"), None
    if low in _DISAGREEABLE_TOKENS:
        return Text("not_agreeable"), None
    if low in _AGREEABLE_TOKENS:
        return Text("agreeable"), None
    return Text(low), None


def parse_reported(raw: Any) -> tuple[Parsed, str | None]:
    """Parse a value as reported into ``(parsed, unit_written_in_the_value)``.

    Numbers (int, Decimal, float via its shortest repr, numeric strings) become :class:`~decimal.Decimal`;
    ``BDL``/``ND``/``nil``/``absent`` become ``Censored(below=True, limit=None)``; ``<0.1``, ``< 0.1``, ``<=0.1``,
    ``BDL (0.01)`` become ``Censored(True, 0.1)``; ``>200`` becomes ``Censored(False, 200)``; ``0.5-1.0`` a
    :class:`Range`; ``-``, ``NA``, blank, ``None`` :class:`Missing`; words (``present``, ``agreeable``) :class:`Text`
    with a canonical token. A unit written after the number (``12 ppb``) is returned as the second item.
    """
    if type(raw) is str:
        return _parse_str(raw)
    if raw is None:
        return Missing(""), None
    if isinstance(raw, bool):
        return Text("detected" if raw else "not_detected"), None
    if isinstance(raw, Decimal):
        return (raw, None) if raw.is_finite() else (Text(str(raw).lower()), None)
    if isinstance(raw, int):
        return Decimal(raw), None
    if isinstance(raw, float):
        if raw != raw or raw in (float("inf"), float("-inf")):
            return (Missing("nan"), None) if raw != raw else (Text("inf"), None)
        return Decimal(repr(raw)), None
    if isinstance(raw, str):
        return _parse_str(raw)
    return Text(str(raw).strip().lower()), None


def parse_value(raw: Any) -> Parsed:
    """Like :func:`parse_reported` without the embedded unit."""
    return parse_reported(raw)[0]


@functools.lru_cache(maxsize=4096)
def unit_key(unit: str) -> str:
    """Normalise a unit spelling for alias lookup: case, micro sign, spaces, 'litre', 'mg/l' variants."""
    u = unit.strip().lower().replace("µ", "u").replace("μ", "u")
    for a, b in (("litre", "l"), ("liter", "l"), ("lit.", "l"), ("ml", "ml"), ("mgl-1", "mg/l"), ("mg l-1", "mg/l"),
                 ("ugl-1", "ug/l"), ("ug l-1", "ug/l"), ("(", " "), (")", " "), ("₃", "3")):
        u = u.replace(a, b)
    return "".join(u.split())


# ================================================================================================ context

@dataclass(frozen=True, slots=True)
class EvaluationContext:
    """What the standard's words depend on, about the sample and its source.

    * ``alternate_source_available``: IS 10500's permissible limits apply only "in the absence of alternate source";
      when True the acceptable limit is the bar.
    * ``toxic_substances_suspected``: colour may only be relaxed to 15 Hazen if toxic substances are not suspected.
    * ``chlorinated``: free residual chlorine applies only to chlorinated supplies (False: ``not_applicable``).
    * ``sampling_point``: code list ``sampling_point_types``; free residual chlorine is judged only at consumer-end
      points (``None`` is taken as consumer end); total coliform does not apply at ``source`` (untreated water).
    * ``viral_protection_required``: free residual chlorine minimum 0.5 instead of 0.2 mg/L.
    * ``treated``: whether the water is treated water entering or in distribution (total coliform applies);
      ``None`` derives it from ``sampling_point`` (``source`` = untreated, anything else = treated/unknown: applies).
    """

    alternate_source_available: bool = False
    toxic_substances_suspected: bool = False
    chlorinated: bool = False
    sampling_point: str | None = None
    viral_protection_required: bool = False
    treated: bool | None = None

    @classmethod
    def from_mapping(cls, data: Mapping[str, Any] | None) -> EvaluationContext:
        if not data:
            return DEFAULT_CONTEXT
        names = cls.__dataclass_fields__.keys()
        unknown = set(data) - set(names)
        if unknown:
            raise ValueError(f"unknown context fields: {sorted(unknown)}")
        return cls(**dict(data))


DEFAULT_CONTEXT = EvaluationContext()


def _as_context(ctx: EvaluationContext | Mapping[str, Any] | None) -> EvaluationContext:
    if ctx is None:
        return DEFAULT_CONTEXT
    if isinstance(ctx, EvaluationContext):
        return ctx
    return EvaluationContext.from_mapping(ctx)


# ================================================================================================ results

def _jsonable(v: Any) -> Any:
    if isinstance(v, Decimal):
        return _fmt(v)
    if isinstance(v, (Censored, Range, Text)):
        return str(v)
    if isinstance(v, Missing):
        return None
    return v


def _value_kind(v: Any) -> str:
    if isinstance(v, Decimal):
        return "number"
    if isinstance(v, Censored):
        return "censored"
    if isinstance(v, Range):
        return "range"
    if isinstance(v, Missing):
        return "missing"
    return "qualitative" if v is not None else "none"


@dataclass(slots=True)
class ParameterResult:
    """The verdict on one parameter.

    ``value`` is the normalised value in the canonical ``unit`` (Decimal, :class:`Censored`, :class:`Range`,
    :class:`Missing` or :class:`Text`); ``limit`` is the bar that decided it; ``rule`` names the rule
    (``acceptable_max``, ``permissible_max``, ``no_relaxation``, ``alternate_source``, ``sulphate/magnesium``,
    ``colour/toxic``, ``ph_band``, ``minimum``, ``upper_bound``, ``not_detectable``, ``qualitative``,
    ``ftk_screening``, ``unit``, ``value``, ``applicability``); ``reason`` says it in words.
    """

    code: str
    verdict: str
    value: Any
    unit: str | None
    reported_value: Any = None
    reported_unit: str | None = None
    limit: Decimal | None = None
    rule: str | None = None
    reason: str | None = None
    rejects_source: bool = False
    requires_repeat_sample: bool = False
    bacteriological_positive: bool = False

    def to_dict(self) -> dict[str, Any]:
        rv = self.reported_value
        return {
            "parameter": self.code,
            "verdict": self.verdict,
            "value": _jsonable(self.value),
            "value_kind": _value_kind(self.value),
            "unit": self.unit,
            "reported_value": _fmt(rv) if isinstance(rv, Decimal) else (None if rv is None else str(rv)),
            "reported_unit": self.reported_unit,
            "limit": _jsonable(self.limit),
            "rule": self.rule,
            "reason": self.reason,
            "rejects_source": self.rejects_source,
            "requires_repeat_sample": self.requires_repeat_sample,
            "bacteriological_positive": self.bacteriological_positive,
        }


@dataclass(slots=True)
class CombinedResult:
    """A rule over several parameters (``iron+manganese``): ``total`` is the known lower bound of the sum."""

    rule: str
    label: str
    parameters: tuple[str, ...]
    verdict: str
    total: Decimal | None
    limit: Decimal
    reason: str

    def to_dict(self) -> dict[str, Any]:
        return {"rule": self.rule, "label": self.label, "parameters": list(self.parameters), "verdict": self.verdict,
                "total": _jsonable(self.total), "limit": _jsonable(self.limit), "reason": self.reason}


@dataclass(slots=True)
class SampleVerdict:
    """The verdict on a sample.

    * ``verdict``: ``safe`` | ``unsafe`` | ``incomplete`` (see :meth:`RuleSet.evaluate_sample`);
    * ``contaminants``: parameter codes that exceed or are below their minimum, then combined-rule labels that
      failed (``iron+manganese``);
    * ``within_permissible``: parameters accepted only through the relaxation (no alternate source);
    * ``not_evaluated``: required parameters that could not be judged (missing, censored above the bar, unknown unit,
      not reported); ``unrecognised``: submitted codes not in the rule set;
    * ``screening`` / ``requires_lab_confirmation``: field-test-kit results (an adverse one must go to a lab).
    """

    verdict: str
    contaminants: list[str]
    bacteriological_positive: bool
    requires_repeat_sample: bool
    source_rejected: bool
    ruleset_version: str
    ruleset_hash: str
    within_permissible: list[str] = field(default_factory=list)
    not_evaluated: list[str] = field(default_factory=list)
    not_applicable: list[str] = field(default_factory=list)
    unrecognised: list[str] = field(default_factory=list)
    screening: bool = False
    requires_lab_confirmation: bool = False
    results: list[ParameterResult] = field(default_factory=list)
    combined: list[CombinedResult] = field(default_factory=list)

    def result(self, code: str) -> ParameterResult:
        for r in self.results:
            if r.code == code:
                return r
        raise KeyError(code)

    def to_dict(self) -> dict[str, Any]:
        return {
            "verdict": self.verdict,
            "contaminants": list(self.contaminants),
            "bacteriological_positive": self.bacteriological_positive,
            "requires_repeat_sample": self.requires_repeat_sample,
            "source_rejected": self.source_rejected,
            "ruleset_version": self.ruleset_version,
            "ruleset_hash": self.ruleset_hash,
            "within_permissible": list(self.within_permissible),
            "not_evaluated": list(self.not_evaluated),
            "not_applicable": list(self.not_applicable),
            "unrecognised": list(self.unrecognised),
            "screening": self.screening,
            "requires_lab_confirmation": self.requires_lab_confirmation,
            "results": [r.to_dict() for r in self.results],
            "combined": [c.to_dict() for c in self.combined],
        }


# ================================================================================================ intervals
# Every parsed value is reduced to an interval (lo, lo_exclusive, hi, hi_exclusive); hi None = unbounded.
# A verdict is only given when the whole interval is on one side of the bar; otherwise not_evaluable.

def _interval(v: Parsed) -> tuple[Decimal, bool, Decimal | None, bool] | None:
    if isinstance(v, Decimal):
        return v, False, v, False
    if isinstance(v, Censored):
        if v.below:
            # BDL/ND without a stated limit: assumed below any limit of the standard (the lab's method is expected to
            # detect at the limit). A stated limit is used as is.
            return (ZERO, False, ZERO, False) if v.limit is None else (ZERO, False, v.limit, not v.inclusive)
        return (v.limit if v.limit is not None else ZERO), not v.inclusive, None, False
    if isinstance(v, Range):
        return v.low, False, v.high, False
    return None


def _le(hi: Decimal | None, bar: Decimal) -> bool:
    """Certainly <= bar."""
    return hi is not None and hi <= bar


def _gt(lo: Decimal, lo_ex: bool, bar: Decimal) -> bool:
    """Certainly > bar."""
    return lo > bar or (lo_ex and lo == bar)


def _lt(hi: Decimal | None, hi_ex: bool, bar: Decimal) -> bool:
    """Certainly < bar."""
    return hi is not None and (hi < bar or (hi_ex and hi == bar))


# ================================================================================================ compiled parameter

class _Param:
    """One parameter, compiled: Decimal limits, unit factors by normalised key, a per-raw-unit cache."""

    __slots__ = ("code", "name", "kind", "unit", "table", "acc_min", "acc_max", "perm_max", "no_relaxation",
                 "factors", "_unit_cache", "order", "status")

    def __init__(self, p: Mapping[str, Any], order: int) -> None:
        self.code: str = p["code"]
        self.name: str = p["name"]
        self.kind: str = p["kind"]
        self.unit: str | None = p["unit"]
        self.table: int = p["table"]
        self.acc_min = _opt_dec(p.get("acceptable_min"))
        self.acc_max = _opt_dec(p.get("acceptable_max"))
        self.no_relaxation: bool = bool(p.get("no_relaxation"))
        pm = _opt_dec(p.get("permissible_max"))
        # The effective permissible limit for max-limited parameters: none when "no relaxation"
        self.perm_max = pm if (pm is not None and (not self.no_relaxation or self.kind == "minimum")) else None
        if self.perm_max is not None and self.acc_max is not None and self.perm_max < self.acc_max:
            raise RuleSetError(f"{self.code}: permissible_max {pm} below acceptable_max {self.acc_max}")
        self.factors: dict[str, Decimal] = {}
        for u in p.get("units", ()):
            self.factors[unit_key(u["unit"])] = Decimal(u["factor"])
        if self.unit:
            self.factors.setdefault(unit_key(self.unit), ONE)
        self._unit_cache: dict[str, Decimal | None] = {}
        self.order = order
        self.status: str = p.get("status", "verified")

    def factor(self, unit: str | None) -> Decimal | None:
        """Factor to the canonical unit; ``None`` when the unit is unknown. No unit means the canonical unit."""
        if not unit:
            return ONE
        try:
            return self._unit_cache[unit]
        except KeyError:
            f = self.factors.get(unit_key(unit))
            if f is None and self.unit is None and unit_key(unit) in ("", "-"):
                f = ONE
            if len(self._unit_cache) < 1024:
                self._unit_cache[unit] = f
            return f


def _opt_dec(v: Any) -> Decimal | None:
    if v is None or v == "":
        return None
    try:
        d = Decimal(str(v))
    except InvalidOperation as exc:
        raise RuleSetError(f"not a decimal limit: {v!r}") from exc
    if not d.is_finite() or d < 0:
        raise RuleSetError(f"not a valid limit: {v!r}")
    return d


# ================================================================================================ rule set

def _canonical_json(obj: Any) -> str:
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def _norm_limit(v: Any, where: str) -> str | None:
    if v is None:
        return None
    if isinstance(v, float):
        v = repr(v)
    try:
        d = Decimal(str(v).strip())
    except InvalidOperation as exc:
        raise RuleSetError(f"{where}: not a decimal: {v!r}") from exc
    if not d.is_finite() or d < 0:
        raise RuleSetError(f"{where}: not a valid limit: {v!r}")
    return _fmt(d)


def normalise_overrides(overrides: Mapping[str, Mapping[str, Any]] | None, base: Mapping[str, Any]) -> dict:
    """Validate overrides against the base rule set and return them in canonical form (limits as decimal strings).

    Keys are parameter codes (fields ``acceptable_min``, ``acceptable_max``, ``permissible_max``, ``no_relaxation``,
    ``notes``) or rule ids (see ``_RULE_OVERRIDE_FIELDS``). Setting ``permissible_max`` to a value without
    ``no_relaxation`` implies ``no_relaxation: false``; setting it to null implies ``no_relaxation: true``.
    """
    if not overrides:
        return {}
    codes = {p["code"] for p in base["parameters"]}
    out: dict[str, dict[str, Any]] = {}
    for key, fields in overrides.items():
        if not isinstance(fields, Mapping):
            raise RuleSetError(f"override {key!r}: expected an object of fields")
        norm: dict[str, Any] = {}
        if key in codes:
            unknown = set(fields) - _PARAM_OVERRIDE_FIELDS
            if unknown:
                raise RuleSetError(f"override {key!r}: unknown fields {sorted(unknown)}; "
                                   f"allowed: {sorted(_PARAM_OVERRIDE_FIELDS)}")
            for f, v in fields.items():
                if f in _LIMIT_FIELDS:
                    norm[f] = _norm_limit(v, f"{key}.{f}")
                elif f == "no_relaxation":
                    if not isinstance(v, bool):
                        raise RuleSetError(f"{key}.no_relaxation: expected true or false")
                    norm[f] = v
                else:
                    norm[f] = None if v is None else str(v)
            if "permissible_max" in norm and "no_relaxation" not in norm:
                norm["no_relaxation"] = norm["permissible_max"] is None
        elif key in _RULE_OVERRIDE_FIELDS:
            allowed = _RULE_OVERRIDE_FIELDS[key]
            unknown = set(fields) - set(allowed)
            if unknown:
                raise RuleSetError(f"override {key!r}: unknown fields {sorted(unknown)}; allowed: {sorted(allowed)}")
            for f, v in fields.items():
                kind = allowed[f]
                if kind == "limit":
                    if v is None:
                        raise RuleSetError(f"{key}.{f}: a rule limit cannot be null (use enabled: false)")
                    norm[f] = _norm_limit(v, f"{key}.{f}")
                elif kind == "bool":
                    if not isinstance(v, bool):
                        raise RuleSetError(f"{key}.{f}: expected true or false")
                    norm[f] = v
                else:
                    if not isinstance(v, (list, tuple)) or not all(isinstance(x, str) for x in v):
                        raise RuleSetError(f"{key}.{f}: expected a list of strings")
                    norm[f] = sorted(v)
        else:
            raise RuleSetError(f"override {key!r}: neither a parameter code nor a rule id of {base['id']}")
        if norm:
            out[key] = norm
    return out


def apply_overrides(base: Mapping[str, Any], overrides: Mapping[str, Mapping[str, Any]]) -> dict[str, Any]:
    """The effective rule set document: a deep copy of ``base`` with normalised ``overrides`` applied."""
    doc = json.loads(json.dumps(base))
    by_code = {p["code"]: p for p in doc["parameters"]}
    for key, fields in overrides.items():
        target = by_code.get(key)
        if target is None:
            target = doc["rules"].setdefault(key, {})
        for f, v in fields.items():
            target[f] = v
        if key in by_code:
            target["overridden"] = sorted(fields)
    doc["overrides"] = overrides
    return doc


@functools.cache
def _base_document(name: str) -> str:
    if not re.fullmatch(r"[a-z0-9_]+", name):
        raise RuleSetError(f"invalid rule set name {name!r}")
    path = RULESET_DIR / f"{name}.json"
    if not path.is_file():
        raise RuleSetError(f"no rule set {name!r} in {RULESET_DIR}")
    return path.read_text(encoding="utf-8")


def available_rulesets() -> list[str]:
    return sorted(p.stem for p in RULESET_DIR.glob("*.json"))


class RuleSet:
    """A compiled, effective rule set: the shipped document plus overrides. Immutable once built.

    ``version`` is ``IS10500:2012`` for the base text, with ``+<amendment>`` per applied amendment and
    ``+overrides:<12 hex>`` (sha256 of the canonical overrides) when overrides apply. ``content_hash`` is the sha256
    of the canonical JSON of the effective document.
    """

    def __init__(self, document: Mapping[str, Any], overrides: Mapping[str, Mapping[str, Any]] | None = None) -> None:
        norm = normalise_overrides(overrides, document)
        doc = apply_overrides(document, norm)
        self.document: dict[str, Any] = doc
        self.id: str = doc["id"]
        self.edition: str = doc["edition"]
        self.amendments: tuple[str, ...] = tuple(doc.get("amendments_applied") or ())
        self.overrides: dict[str, dict[str, Any]] = norm
        version = doc.get("version_label") or self.edition.replace(" ", "")
        for a in self.amendments:
            version += f"+{a}"
        self.overrides_hash: str | None = None
        if norm:
            self.overrides_hash = hashlib.sha256(_canonical_json(norm).encode()).hexdigest()
            version += f"+overrides:{self.overrides_hash[:12]}"
        self.version: str = version
        self.content_hash: str = hashlib.sha256(_canonical_json(doc).encode()).hexdigest()

        self.parameters: dict[str, _Param] = {}
        self._lookup: dict[str, str] = {}
        for i, p in enumerate(doc["parameters"]):
            cp = _Param(p, i)
            if cp.code in self.parameters:
                raise RuleSetError(f"parameter {cp.code} defined twice")
            self.parameters[cp.code] = cp
        for p in doc["parameters"]:
            for name in (p["code"], *p.get("aliases", ())):
                self._add_lookup(name, p["code"])
        rules = doc.get("rules", {})
        for rid in rules:
            if rid in self.parameters:
                raise RuleSetError(f"rule id {rid} clashes with a parameter code")

        fem = rules.get("iron_manganese", {})
        self.fe_mn_enabled = fem.get("enabled", True) and "max" in fem
        self.fe_mn_max = Decimal(fem["max"]) if "max" in fem else None
        self.fe_mn_label = fem.get("label", "iron+manganese")
        self.fe_mn_params = tuple(fem.get("parameters", ("iron", "manganese")))
        sm = rules.get("sulphate_magnesium", {})
        self.so4_mg_enabled = sm.get("enabled", True) and "condition_max" in sm
        self.so4_mg_max = Decimal(sm["condition_max"]) if "condition_max" in sm else None
        self.colour_toxic_enabled = rules.get("colour_toxic", {}).get("enabled", True)
        frc = rules.get("chlorine_residual", {})
        self.frc_viral_min = _opt_dec(frc.get("minimum_viral_protection"))
        self.consumer_end_points = frozenset(frc.get("consumer_end_sampling_points",
                                                     ("household_tap", "school", "anganwadi", "public_stand_post")))
        bac = rules.get("bacteriological", {})
        self.untreated_points = frozenset(bac.get("untreated_sampling_points", ("source",)))

        ftk = doc.get("field_test_kit", {})
        self._ftk_lookup: dict[str, str] = {}
        self.ftk_pseudo: dict[str, str] = {}
        for code, spec in ftk.items():
            if isinstance(spec, Mapping) and "judged_as" in spec:
                if spec["judged_as"] not in self.parameters:
                    raise RuleSetError(f"field_test_kit.{code} judged_as unknown parameter")
                self.ftk_pseudo[code] = spec["judged_as"]
                self._ftk_lookup_add(code, code)
                for a in spec.get("aliases", ()):
                    self._ftk_lookup_add(a, code)

    def _add_lookup(self, name: str, code: str) -> None:
        for k in {name, name.lower(), _code_key(name)}:
            prev = self._lookup.get(k)
            if prev is not None and prev != code:
                raise RuleSetError(f"alias {name!r} names both {prev} and {code}")
            self._lookup[k] = code

    def _ftk_lookup_add(self, name: str, code: str) -> None:
        for k in {name, name.lower(), _code_key(name)}:
            self._ftk_lookup[k] = code

    # ------------------------------------------------------------------------------------------------ lookups

    def resolve(self, name: str) -> str | None:
        """The parameter code for a code or alias (case-insensitive), or None."""
        code = self._lookup.get(name)
        if code is None:
            code = self._lookup.get(_code_key(name))
        return code

    def describe(self) -> dict[str, Any]:
        return {"id": self.id, "edition": self.edition, "version": self.version, "content_hash": self.content_hash,
                "amendments_applied": list(self.amendments), "overrides": self.overrides,
                "parameters": len(self.parameters)}

    def __repr__(self) -> str:
        return f"RuleSet({self.version!r}, {self.content_hash[:12]})"

    # ------------------------------------------------------------------------------------------------ normalising

    def normalise(self, code: str, value: Any, unit: str | None = None) -> tuple[Parsed, str | None]:
        """``(value in the canonical unit, canonical unit)``: censored and missing values stay so.

        Raises :class:`UnknownParameterError` or :class:`UnknownUnitError`.
        """
        resolved = self.resolve(code)
        if resolved is None:
            raise UnknownParameterError(code)
        p = self.parameters[resolved]
        parsed, embedded = parse_reported(value)
        f = p.factor(unit or embedded)
        if f is None:
            raise UnknownUnitError(f"unit {unit or embedded!r} is not accepted for {p.code} "
                                   f"(canonical {p.unit!r})")
        return _scale(parsed, f), p.unit

    # ------------------------------------------------------------------------------------------------ one parameter

    def evaluate_value(self, code: str, value: Any, unit: str | None = None,
                       context: EvaluationContext | Mapping[str, Any] | None = None, *,
                       magnesium: Any = None) -> ParameterResult:
        """Judge one reported value. ``magnesium`` (reported value in mg/L, optional) lets sulphate use its
        extended limit; without it sulphate is judged against 200 (the condition is not shown)."""
        ctx = _as_context(context)
        resolved = self.resolve(code)
        if resolved is None:
            raise UnknownParameterError(code)
        mg_iv = None
        if resolved == "sulphate" and magnesium is not None:
            mp = self.parameters.get("magnesium")
            if mp is not None:
                mv, me = parse_reported(magnesium)
                f = mp.factor(me)
                mg_iv = _interval(_scale(mv, f)) if f is not None else None
        return self._evaluate(self.parameters[resolved], value, unit, ctx, mg_iv, mg_known=magnesium is not None)

    def _evaluate(self, p: _Param, raw: Any, unit: str | None, ctx: EvaluationContext,
                  mg_iv: tuple | None = None, mg_known: bool = False) -> ParameterResult:
        parsed, embedded = parse_reported(raw)
        if unit is None or unit == "":
            unit = embedded
        kind = p.kind
        # applicability first: a value (or its absence) does not matter where the rule does not apply
        if kind == "minimum":
            if not ctx.chlorinated:
                return ParameterResult(p.code, NOT_APPLICABLE, parsed, p.unit, raw, unit, None, "applicability",
                                       "applies only when the water is chlorinated (IS 10500:2012 Table 2)")
            if ctx.sampling_point is not None and ctx.sampling_point not in self.consumer_end_points:
                return ParameterResult(p.code, NOT_APPLICABLE, parsed, p.unit, raw, unit, None, "applicability",
                                       f"tested at the consumer end only (IS 10500:2012 Table 2); sampling point "
                                       f"{ctx.sampling_point!r}")
        elif kind == "bacteriological" and p.code == "total_coliform" and not self._tc_applies(ctx):
            return ParameterResult(p.code, NOT_APPLICABLE, parsed, p.unit, raw, unit, None, "applicability",
                                   "total coliform applies to treated water entering or in the distribution system "
                                   "(IS 10500:2012 Table 6)")
        if isinstance(parsed, Missing):
            return ParameterResult(p.code, NOT_EVALUABLE, parsed, p.unit, raw, unit, None, "value",
                                   "missing value" + (f" (reported {parsed.raw!r})" if parsed.raw else ""))
        if kind == "qualitative":
            return self._qualitative(p, parsed, raw, unit)
        if kind == "bacteriological":
            return self._bacteriological(p, parsed, raw, unit)
        f = p.factor(unit)
        if f is None:
            return ParameterResult(p.code, NOT_EVALUABLE, parsed, p.unit, raw, unit, None, "unit",
                                   f"unit {unit!r} not accepted for {p.code} (canonical {p.unit!r})")
        value = _scale(parsed, f)
        iv = _interval(value)
        if iv is None:
            return ParameterResult(p.code, NOT_EVALUABLE, value, p.unit, raw, unit, None, "value",
                                   f"not a value: {str(value)!r}")
        if iv[0] < ZERO:
            return ParameterResult(p.code, NOT_EVALUABLE, value, p.unit, raw, unit, None, "value",
                                   "negative value")
        if kind == "band":
            return self._band(p, value, iv, raw, unit)
        if kind == "minimum":
            return self._minimum(p, value, iv, raw, unit, ctx)
        return self._max(p, value, iv, raw, unit, ctx, mg_iv, mg_known)

    def _tc_applies(self, ctx: EvaluationContext) -> bool:
        """IS 10500:2012 Table 6: total coliform "shall not be detectable" in treated water entering and within the
        distribution system; for untreated water only E. coli / thermotolerant coliform is specified."""
        if ctx.treated is not None:
            return ctx.treated
        return ctx.sampling_point not in self.untreated_points

    # ------------------------------------------------------------------------------------------------ the rules

    def _max(self, p: _Param, value: Parsed, iv: tuple, raw: Any, unit: str | None, ctx: EvaluationContext,
             mg_iv: tuple | None, mg_known: bool) -> ParameterResult:
        """Max-limited parameters (Tables 1 to 5).

        IS 10500:2012 (Foreword; column headings of Tables 1-4): values above the *acceptable* limit render the water
        not suitable, but may be tolerated **in the absence of an alternate source** up to the *permissible* limit,
        above which the source has to be rejected. "No relaxation" parameters have no permissible limit: the
        acceptable limit is also the rejection limit.

        Conditions on the relaxation stated in the tables' remarks:

        * colour (Table 1): "may be extended to 15 only if toxic substances are not suspected, in the absence of
          alternate sources";
        * sulphate (Table 2): "may be extended to 400 provided that magnesium does not exceed 30" -- magnesium must be
          shown to be <= 30; not reported (or not evaluable) means the extension is not shown and 200 is the bar.
        """
        lo, lo_ex, hi, _ = iv
        acc = p.acc_max
        if acc is None:  # a parameter whose limit a node removed by override
            return ParameterResult(p.code, NOT_EVALUABLE, value, p.unit, raw, unit, None, "no_limit",
                                   "no limit in the effective rule set")
        perm = p.perm_max
        cond_rule = None
        cond_reason = ""
        if perm is not None:
            if p.code == "colour" and self.colour_toxic_enabled and ctx.toxic_substances_suspected:
                perm, cond_rule = None, "colour/toxic"
                cond_reason = "; no relaxation: toxic substances suspected (IS 10500:2012 Table 1, colour)"
            elif p.code == "sulphate" and self.so4_mg_enabled:
                if mg_iv is None or not _le(mg_iv[2], self.so4_mg_max):
                    perm, cond_rule = None, "sulphate/magnesium"
                    why = ("magnesium exceeds" if mg_iv is not None and _gt(mg_iv[0], mg_iv[1], self.so4_mg_max)
                           else "magnesium not shown to be at most")
                    if not mg_known and mg_iv is None:
                        why = "magnesium not reported, so not shown to be at most"
                    cond_reason = (f"; no extension: {why} {_fmt(self.so4_mg_max)} mg/L "
                                   f"(IS 10500:2012 Table 2, sulphate)")
        reject_bar = perm if perm is not None else acc
        relax = perm is not None and not ctx.alternate_source_available

        if _le(hi, acc):
            return ParameterResult(p.code, WITHIN_ACCEPTABLE, value, p.unit, raw, unit, acc, "acceptable_max",
                                   None)
        if _gt(lo, lo_ex, reject_bar):
            rule = "permissible_max" if perm is not None else (cond_rule or "no_relaxation")
            reason = (f"above the permissible limit {_fmt(perm)}: source to be rejected" if perm is not None else
                      f"above the limit {_fmt(acc)} (no relaxation){cond_reason}")
            return ParameterResult(p.code, EXCEEDS, value, p.unit, raw, unit, reject_bar, rule, reason,
                                   rejects_source=True)
        above_acc = _gt(lo, lo_ex, acc)
        if not relax:
            if above_acc:
                # perm is not None here (else reject_bar == acc and we returned above): alternate source available
                return ParameterResult(p.code, EXCEEDS, value, p.unit, raw, unit, acc, "alternate_source",
                                       f"above the acceptable limit {_fmt(acc)}; an alternate source is available, "
                                       f"so the permissible limit does not apply")
            return ParameterResult(p.code, NOT_EVALUABLE, value, p.unit, raw, unit, acc, "acceptable_max",
                                   f"{value} cannot be judged against {_fmt(acc)}{cond_reason}")
        if above_acc and _le(hi, perm):
            return ParameterResult(p.code, WITHIN_PERMISSIBLE, value, p.unit, raw, unit, perm, "permissible_max",
                                   f"above the acceptable limit {_fmt(acc)}, within the permissible limit "
                                   f"{_fmt(perm)} (no alternate source)")
        return ParameterResult(p.code, NOT_EVALUABLE, value, p.unit, raw, unit, acc, "acceptable_max",
                               f"{value} cannot be judged against {_fmt(acc)} / {_fmt(perm)}")

    def _band(self, p: _Param, value: Parsed, iv: tuple, raw: Any, unit: str | None) -> ParameterResult:
        """pH (IS 10500:2012 Table 1): 6.5 to 8.5, no relaxation -- a band: below 6.5 is ``below_minimum``,
        above 8.5 ``exceeds``; either rejects the source (no permissible limit)."""
        lo, lo_ex, hi, hi_ex = iv
        mn, mx = p.acc_min, p.acc_max
        if mn is not None and _lt(hi, hi_ex, mn):
            return ParameterResult(p.code, BELOW_MINIMUM, value, p.unit, raw, unit, mn, "ph_band",
                                   f"below {_fmt(mn)} (band {_fmt(mn)}-{_fmt(mx)}, no relaxation)",
                                   rejects_source=True)
        if mx is not None and _gt(lo, lo_ex, mx):
            return ParameterResult(p.code, EXCEEDS, value, p.unit, raw, unit, mx, "ph_band",
                                   f"above {_fmt(mx)} (band {_fmt(mn)}-{_fmt(mx)}, no relaxation)",
                                   rejects_source=True)
        if (mn is None or lo >= mn) and (mx is None or _le(hi, mx)):
            return ParameterResult(p.code, WITHIN_ACCEPTABLE, value, p.unit, raw, unit, None, "ph_band", None)
        return ParameterResult(p.code, NOT_EVALUABLE, value, p.unit, raw, unit, None, "ph_band",
                               f"{value} cannot be judged against the band")

    def _minimum(self, p: _Param, value: Parsed, iv: tuple, raw: Any, unit: str | None,
                 ctx: EvaluationContext) -> ParameterResult:
        """Free residual chlorine (IS 10500:2012 Table 2 and remarks): **minimum** 0.2 mg/L, "to be applicable only
        when water is chlorinated; tested at consumer end; when protection against viral infection is required, it
        should be minimum 0.5 mg/l". The bare ``1`` in the permissible column is read as an **upper bound**
        (ambiguous in the text): above it the verdict is ``exceeds`` (over-chlorination), which does not reject the
        source. Applicability (chlorinated, consumer end) is checked by the caller."""
        lo, lo_ex, hi, hi_ex = iv
        mn = p.acc_min
        why = ""
        if ctx.viral_protection_required and self.frc_viral_min is not None:
            mn, why = self.frc_viral_min, " (protection against viral infection required)"
        upper = p.perm_max
        if mn is not None and _lt(hi, hi_ex, mn):
            return ParameterResult(p.code, BELOW_MINIMUM, value, p.unit, raw, unit, mn, "minimum",
                                   f"below the minimum {_fmt(mn)}{why}")
        if upper is not None and _gt(lo, lo_ex, upper):
            return ParameterResult(p.code, EXCEEDS, value, p.unit, raw, unit, upper, "upper_bound",
                                   f"above {_fmt(upper)} (the permissible column read as an upper bound)")
        if (mn is None or lo >= mn) and (upper is None or _le(hi, upper)):
            return ParameterResult(p.code, WITHIN_ACCEPTABLE, value, p.unit, raw, unit, mn, "minimum", None)
        return ParameterResult(p.code, NOT_EVALUABLE, value, p.unit, raw, unit, mn, "minimum",
                               f"{value} cannot be judged against the minimum {_fmt(mn) if mn is not None else '-'}")

    def _bacteriological(self, p: _Param, parsed: Parsed, raw: Any, unit: str | None) -> ParameterResult:
        """E. coli / thermotolerant coliform and total coliform (IS 10500:2012 Table 6): "shall not be detectable in
        any 100 ml sample". Any detection (a count above 0, ``>n``, ``present``/``detected``/``positive``) is
        ``exceeds`` and requires a repeat sample (the minimum action on detection, Table 6 notes). ``0``, ``<1``
        (any censored-below count), ``absent``/``not detected``/``BDL`` are compliant."""
        if unit:
            f = p.factor(unit)
            if f is None:
                return ParameterResult(p.code, NOT_EVALUABLE, parsed, p.unit, raw, unit, None, "unit",
                                       f"unit {unit!r} not accepted for {p.code} (counts per 100 mL)")
        detected: bool | None
        if isinstance(parsed, Text):
            detected = True if parsed.token == "detected" else (
                False if parsed.token in ("not_detected",) else None)
        elif isinstance(parsed, Censored):
            detected = not parsed.below  # <1 MPN/100 mL = not detected; >200 = detected
        elif isinstance(parsed, Decimal):
            detected = None if parsed < ZERO else parsed > ZERO
        elif isinstance(parsed, Range):
            detected = True if parsed.low > ZERO else (False if parsed.high == ZERO else None)
        else:
            detected = None
        if detected is None:
            return ParameterResult(p.code, NOT_EVALUABLE, parsed, p.unit, raw, unit, ZERO, "not_detectable",
                                   f"not a presence/absence or count: {str(parsed)!r}")
        if detected:
            return ParameterResult(p.code, EXCEEDS, parsed, p.unit, raw, unit, ZERO, "not_detectable",
                                   "detected; shall not be detectable in any 100 mL sample: repeat sampling "
                                   "(IS 10500:2012 Table 6)", requires_repeat_sample=True,
                                   bacteriological_positive=True)
        return ParameterResult(p.code, WITHIN_ACCEPTABLE, parsed, p.unit, raw, unit, ZERO, "not_detectable", None)

    def _qualitative(self, p: _Param, parsed: Parsed, raw: Any, unit: str | None) -> ParameterResult:
        """Odour and taste (IS 10500:2012 Table 1): "Agreeable"."""
        token = parsed.token if isinstance(parsed, Text) else None
        if token == "agreeable":
            return ParameterResult(p.code, WITHIN_ACCEPTABLE, parsed, None, raw, unit, None, "qualitative", None)
        if token == "not_agreeable":
            return ParameterResult(p.code, EXCEEDS, parsed, None, raw, unit, None, "qualitative",
                                   "not agreeable (IS 10500:2012 Table 1)")
        return ParameterResult(p.code, NOT_EVALUABLE, parsed, None, raw, unit, None, "qualitative",
                               f"expected agreeable / not agreeable, got {str(parsed)!r}")

    # ------------------------------------------------------------------------------------------------ samples

    def evaluate_sample(self, results: Any, context: EvaluationContext | Mapping[str, Any] | None = None, *,
                        required: Iterable[str] | None = None) -> SampleVerdict:
        """Judge a sample.

        ``results``: a mapping ``{parameter: value}`` where value is a reported value, a ``(value, unit)`` pair or
        ``{"value": ..., "unit": ...}``; or an iterable of ``{"parameter", "value", "unit"}`` mappings or objects with
        those attributes (``schemas.ResultIn``). Parameter names may be codes or aliases.

        Verdict:

        * ``unsafe``: some parameter ``exceeds`` or is ``below_minimum``, or a combined rule (iron+manganese)
          fails -- whatever else is missing;
        * ``incomplete``: nothing is adverse, but some *required* parameter was not judged (missing, censored above
          the bar, unknown unit, unparseable, or -- for an explicit ``required`` list -- not reported at all), or a
          submitted code is not in the rule set, or nothing at all could be judged;
        * ``safe``: otherwise, i.e. every required parameter was judged within limits (``not_applicable`` counts as
          judged).

        ``required`` defaults to every submitted parameter: a sample is only ``safe`` if everything the lab reported
        could be judged. Pass :data:`JJM_BASIC_PARAMETERS` for a routine source test (all 13 must be judged) or
        :data:`BACTERIOLOGICAL_PARAMETERS` for a bacteriological round.
        """
        ctx = _as_context(context)
        items, unrecognised = self._items(results)
        params = self.parameters
        out: dict[str, Any] = {}
        deferred = None
        evaluate = self._evaluate
        for code, raw, unit in items:
            if code == "sulphate" and self.so4_mg_enabled:
                deferred = (raw, unit)
                out[code] = None  # keeps the submitted order; judged once magnesium is known
                continue
            out[code] = evaluate(params[code], raw, unit, ctx)
        if deferred is not None:
            mg = out.get("magnesium")
            mg_iv = _result_interval(mg)
            out["sulphate"] = evaluate(params["sulphate"], deferred[0], deferred[1], ctx, mg_iv,
                                       mg_known=mg is not None)
        combined = []
        if self.fe_mn_enabled and any(c in out for c in self.fe_mn_params):
            cr = self._iron_manganese(out)
            if cr is not None:
                combined.append(cr)
        return self._verdict(list(out.values()), combined, unrecognised, required)

    def _items(self, results: Any) -> tuple[list[tuple[str, Any, str | None]], list[str]]:
        items: list[tuple[str, Any, str | None]] = []
        unrecognised: list[str] = []
        seen: set[str] = set()
        if isinstance(results, Mapping):
            for name, v in results.items():
                tv = type(v)
                if tv is tuple:
                    raw, unit = (v[0], v[1]) if len(v) > 1 else (v[0], None)
                elif tv is not str and (tv is dict or isinstance(v, Mapping)):
                    raw, unit = v.get("value"), v.get("unit")
                else:
                    raw, unit = v, None
                self._add_item(items, unrecognised, seen, name, raw, unit)
        else:
            for r in results:
                if isinstance(r, Mapping):
                    name, raw, unit = r["parameter"], r.get("value"), r.get("unit")
                else:
                    name, raw, unit = r.parameter, r.value, getattr(r, "unit", None)
                self._add_item(items, unrecognised, seen, name, raw, unit)
        return items, unrecognised

    def _add_item(self, items: list, unrecognised: list, seen: set, name: str, raw: Any, unit: str | None) -> None:
        code = self._lookup.get(name) or self.resolve(name)
        if code is None:
            unrecognised.append(name)
            return
        if code in seen:
            raise ValueError(f"parameter {code} reported twice")
        seen.add(code)
        items.append((code, raw, unit))

    def _iron_manganese(self, out: Mapping[str, ParameterResult]) -> CombinedResult | None:
        """IS 10500:2012 Table 2, note: "Total concentration of manganese (as Mn) and iron (as Fe) shall not exceed
        0.3 mg/l". Checked on the sum of the known bounds: it fails when the lower bound of the sum exceeds 0.3 --
        also when each is within its own limit (e.g. iron 0.2 + manganese 0.2) or when only one was reported and it
        alone exceeds 0.3. When a component is not reported or not evaluable and the rest does not already exceed,
        the combined rule is ``not_evaluable`` but does not make the sample incomplete (it is not a parameter)."""
        cap = self.fe_mn_max
        lo_sum = ZERO
        lo_ex_any = False
        hi_sum: Decimal | None = ZERO
        for c in self.fe_mn_params:
            iv = _result_interval(out.get(c))
            if iv is None:
                hi_sum = None
                continue
            lo_sum += iv[0]
            lo_ex_any = lo_ex_any or iv[1]
            hi_sum = None if hi_sum is None or iv[2] is None else hi_sum + iv[2]
        params = self.fe_mn_params
        if lo_sum > cap or (lo_ex_any and lo_sum == cap):
            return CombinedResult("iron_manganese", self.fe_mn_label, params, EXCEEDS, lo_sum, cap,
                                  f"iron + manganese {_fmt(lo_sum)} exceeds {_fmt(cap)} mg/L "
                                  f"(IS 10500:2012 Table 2, note)")
        if hi_sum is not None and hi_sum <= cap:
            return CombinedResult("iron_manganese", self.fe_mn_label, params, WITHIN_ACCEPTABLE, lo_sum, cap,
                                  f"iron + manganese at most {_fmt(hi_sum)} mg/L")
        return CombinedResult("iron_manganese", self.fe_mn_label, params, NOT_EVALUABLE, lo_sum, cap,
                              "iron + manganese cannot be judged: a component is missing, censored or not reported")

    def _verdict(self, results: list[ParameterResult], combined: list[CombinedResult], unrecognised: list[str],
                 required: Iterable[str] | None, *, screening: bool = False) -> SampleVerdict:
        contaminants: list[str] = []
        within_perm: list[str] = []
        not_eval: list[str] = []
        not_appl: list[str] = []
        bac = repeat = rejected = False
        judged = 0
        for r in results:
            v = r.verdict
            if v in ADVERSE:
                contaminants.append(r.code)
                judged += 1
            elif v == NOT_EVALUABLE:
                not_eval.append(r.code)
            elif v == NOT_APPLICABLE:
                not_appl.append(r.code)
            else:
                judged += 1
                if v == WITHIN_PERMISSIBLE:
                    within_perm.append(r.code)
            if r.bacteriological_positive:
                bac = True
            if r.requires_repeat_sample:
                repeat = True
            if r.rejects_source:
                rejected = True
        for c in combined:
            if c.verdict == EXCEEDS:
                contaminants.append(c.label)
                rejected = True  # the note has no relaxation: above it, as above any no-relaxation limit
        if required is None:
            missing_required = not_eval
        else:
            req = self._required(required if type(required) is tuple else tuple(required))
            judged_codes = {r.code for r in results if r.verdict != NOT_EVALUABLE}
            missing_required = [c for c in req if c not in judged_codes]
        if contaminants:
            verdict = UNSAFE
        elif missing_required or unrecognised or judged == 0:
            verdict = INCOMPLETE
        else:
            verdict = SAFE
        if required is not None:
            extra = [c for c in missing_required if c not in not_eval]
            not_eval = not_eval + extra
        return SampleVerdict(verdict, contaminants, bac, repeat, rejected and not screening, self.version,
                             self.content_hash, within_perm, not_eval, not_appl, unrecognised, screening,
                             screening and bool(contaminants), results, combined)

    @functools.lru_cache(maxsize=64)  # noqa: B019 - rule sets are few and live as long as the process
    def _required(self, required: tuple[str, ...]) -> tuple[str, ...]:
        return tuple(self.resolve(c) or self._ftk_lookup.get(c) or c for c in required)

    # ------------------------------------------------------------------------------------------------ field test kits

    def evaluate_ftk(self, readings: Any, context: EvaluationContext | Mapping[str, Any] | None = None, *,
                     ftk_parameters: Iterable[str] | None = None,
                     required: Iterable[str] | None = None) -> SampleVerdict:
        """Judge field-test-kit readings. A field kit gives a **screening result**: an adverse one must be confirmed
        by a laboratory (JJM water-quality framework), so the verdict carries ``screening=True`` and
        ``requires_lab_confirmation`` when adverse, and never rejects a source.

        Readings are colour-chart values or ranges (``"0.5-1.0"``, ``"1.5"``, ``"<0.2"``, ``">2"``) in the
        parameter's canonical unit unless a unit is given, or presence/absence for the H2S vial (``h2s_vial``;
        aliases ``h2s``, ``bacteria``), which is judged like E. coli. Judged **conservatively against the acceptable
        limit** (never the permissible one): adverse when the range's upper bound exceeds the acceptable maximum, or
        its lower bound is under a minimum (pH 6.5, free residual chlorine 0.2/0.5). ``ftk_parameters`` is the
        node's list (``Settings.wq_ftk_parameters``; default :data:`DEFAULT_FTK_PARAMETERS`): a reading of another
        parameter is ``not_evaluable`` and listed in ``unrecognised``.
        """
        ctx = _as_context(context)
        allowed = set(DEFAULT_FTK_PARAMETERS if ftk_parameters is None else ftk_parameters)
        out: list[ParameterResult] = []
        unrecognised: list[str] = []
        seen: set[str] = set()
        for name, raw, unit in self._ftk_items(readings):
            code = self._ftk_lookup.get(name) or self._ftk_lookup.get(_code_key(name)) or self.resolve(name)
            if code is None or code not in allowed:
                unrecognised.append(name)
                if code is not None:
                    out.append(ParameterResult(code, NOT_EVALUABLE, parse_value(raw), None, raw, unit, None,
                                               "ftk_parameters", "not a field-test-kit parameter on this node"))
                continue
            if code in seen:
                raise ValueError(f"parameter {code} reported twice")
            seen.add(code)
            out.append(self._ftk_one(code, raw, unit, ctx))
        return self._verdict(out, [], unrecognised, required, screening=True)

    def _ftk_items(self, readings: Any) -> Iterable[tuple[str, Any, str | None]]:
        if isinstance(readings, Mapping):
            for k, v in readings.items():
                if isinstance(v, tuple):
                    yield k, v[0], (v[1] if len(v) > 1 else None)
                elif isinstance(v, Mapping):
                    yield k, v.get("value"), v.get("unit")
                else:
                    yield k, v, None
        else:
            for r in readings:
                if isinstance(r, Mapping):
                    yield r["parameter"], r.get("value"), r.get("unit")
                else:
                    yield r.parameter, r.value, getattr(r, "unit", None)

    def _ftk_one(self, code: str, raw: Any, unit: str | None, ctx: EvaluationContext) -> ParameterResult:
        judged_as = self.ftk_pseudo.get(code)
        if judged_as is not None:
            r = self._bacteriological(self.parameters[judged_as], parse_value(raw), raw, unit)
            r.code = code
            r.unit = None
            r.requires_repeat_sample = False
            if r.verdict == EXCEEDS:
                r.rule, r.reason = "ftk_screening", "H2S vial positive: screening result, confirm in a laboratory"
            return r
        p = self.parameters[code]
        if p.kind in ("qualitative", "bacteriological"):
            r = self._evaluate(p, raw, unit, ctx)
            r.requires_repeat_sample = False
            r.rejects_source = False
            return r
        if p.kind == "minimum":
            na = self._evaluate(p, None, None, ctx)
            if na.verdict == NOT_APPLICABLE:
                na.value, na.reported_value, na.reported_unit = parse_value(raw), raw, unit
                return na
        parsed, embedded = parse_reported(raw)
        unit = unit or embedded
        if isinstance(parsed, Missing):
            return ParameterResult(code, NOT_EVALUABLE, parsed, p.unit, raw, unit, None, "value", "missing value")
        f = p.factor(unit)
        if f is None:
            return ParameterResult(code, NOT_EVALUABLE, parsed, p.unit, raw, unit, None, "unit",
                                   f"unit {unit!r} not accepted for {code}")
        value = _scale(parsed, f)
        iv = _interval(value)
        if iv is None or iv[0] < ZERO:
            return ParameterResult(code, NOT_EVALUABLE, value, p.unit, raw, unit, None, "value",
                                   f"not a reading: {str(value)!r}")
        lo, _, hi, _ = iv
        mn = p.acc_min
        if p.kind == "minimum" and ctx.viral_protection_required and self.frc_viral_min is not None:
            mn = self.frc_viral_min
        mx = p.acc_max if p.kind != "minimum" else p.perm_max
        if mn is not None and lo < mn:
            return ParameterResult(code, BELOW_MINIMUM, value, p.unit, raw, unit, mn, "ftk_screening",
                                   f"reading reaches below the minimum {_fmt(mn)}: screening result, confirm in a "
                                   f"laboratory")
        if mx is not None and (hi is None or hi > mx):
            return ParameterResult(code, EXCEEDS, value, p.unit, raw, unit, mx, "ftk_screening",
                                   f"reading reaches above the acceptable limit {_fmt(mx)}: screening result, "
                                   f"confirm in a laboratory")
        if mx is None and mn is None:
            return ParameterResult(code, NOT_EVALUABLE, value, p.unit, raw, unit, None, "no_limit",
                                   "no limit in the effective rule set")
        return ParameterResult(code, WITHIN_ACCEPTABLE, value, p.unit, raw, unit, mx if mx is not None else mn,
                               "ftk_screening", None)


def _result_interval(r: ParameterResult | None) -> tuple | None:
    """The interval of a result's normalised value, or None when there is none to use (not reported, missing,
    unknown unit, unparseable, negative, not applicable)."""
    if r is None or r.verdict == NOT_APPLICABLE or (r.verdict == NOT_EVALUABLE and r.rule in ("unit", "value")):
        return None
    return _interval(r.value)


def _code_key(name: str) -> str:
    return re.sub(r"[\s\-./]+", "_", name.strip().lower()).strip("_")


def _scale(v: Parsed, f: Decimal) -> Parsed:
    if f == ONE:
        return v
    if isinstance(v, Decimal):
        return v * f
    if isinstance(v, (Censored, Range)):
        return v.scaled(f)
    return v


# ================================================================================================ loading

def _read_overrides_file(path: Path) -> dict[str, Any]:
    text = Path(path).read_text(encoding="utf-8")
    if Path(path).suffix.lower() in (".yaml", ".yml"):
        try:
            import yaml  # type: ignore[import-untyped]
        except ImportError as exc:  # pragma: no cover - PyYAML is not a dependency
            raise RuleSetError(f"{path}: YAML overrides need PyYAML; use JSON") from exc
        data = yaml.safe_load(text) or {}
    else:
        data = json.loads(text)
    if not isinstance(data, dict):
        raise RuleSetError(f"{path}: expected an object keyed by parameter code or rule id")
    return data


def merge_overrides(*layers: Mapping[str, Mapping[str, Any]] | None) -> dict[str, dict[str, Any]]:
    """Merge override layers field by field; later layers win."""
    out: dict[str, dict[str, Any]] = {}
    for layer in layers:
        for k, fields in (layer or {}).items():
            out.setdefault(k, {}).update(fields)
    return out


@functools.lru_cache(maxsize=32)
def _load_cached(name: str, overrides_json: str) -> RuleSet:
    return RuleSet(json.loads(_base_document(name)), json.loads(overrides_json) or None)


def load_ruleset(name: str = DEFAULT_RULESET, overrides: Mapping[str, Mapping[str, Any]] | None = None, *,
                 overrides_file: str | Path | None = None) -> RuleSet:
    """The compiled rule set ``rulesets/<name>.json`` with ``overrides`` (file first, then the mapping) applied.
    Cached: the same name and overrides give the same :class:`RuleSet` object."""
    layers = []
    if overrides_file:
        layers.append(_read_overrides_file(Path(overrides_file)))
    layers.append(overrides or {})
    merged = merge_overrides(*layers)
    return _load_cached(name, _canonical_json(merged))


def ruleset_from_settings(settings: Any = None) -> RuleSet:
    """The node's effective rule set from ``Settings`` (``wq_ruleset``, ``wq_rule_overrides_file``,
    ``wq_rule_overrides``)."""
    if settings is None:
        from jaldpi.config import get_settings

        settings = get_settings()
    return load_ruleset(getattr(settings, "wq_ruleset", DEFAULT_RULESET),
                        getattr(settings, "wq_rule_overrides", None) or None,
                        overrides_file=getattr(settings, "wq_rule_overrides_file", None))


def default_ruleset() -> RuleSet:
    """The shipped base text (IS 10500:2012, no amendments, no overrides)."""
    return load_ruleset()


# ------------------------------------------------------------------------------------------------ module shortcuts

def evaluate_sample(results: Any, context: EvaluationContext | Mapping[str, Any] | None = None, *,
                    ruleset: RuleSet | None = None, required: Iterable[str] | None = None) -> SampleVerdict:
    """:meth:`RuleSet.evaluate_sample` on ``ruleset`` (default: the shipped base rule set)."""
    return (ruleset or default_ruleset()).evaluate_sample(results, context, required=required)


def evaluate_value(code: str, value: Any, unit: str | None = None,
                   context: EvaluationContext | Mapping[str, Any] | None = None, *,
                   ruleset: RuleSet | None = None) -> ParameterResult:
    """:meth:`RuleSet.evaluate_value` on ``ruleset`` (default: the shipped base rule set)."""
    return (ruleset or default_ruleset()).evaluate_value(code, value, unit, context)


def evaluate_ftk(readings: Any, context: EvaluationContext | Mapping[str, Any] | None = None, *,
                 ruleset: RuleSet | None = None, ftk_parameters: Iterable[str] | None = None) -> SampleVerdict:
    """:meth:`RuleSet.evaluate_ftk` on ``ruleset`` (default: the shipped base rule set)."""
    return (ruleset or default_ruleset()).evaluate_ftk(readings, context, ftk_parameters=ftk_parameters)


def normalise_value(code: str, value: Any, unit: str | None = None, *,
                    ruleset: RuleSet | None = None) -> tuple[Parsed, str | None]:
    """:meth:`RuleSet.normalise` on ``ruleset`` (default: the shipped base rule set)."""
    return (ruleset or default_ruleset()).normalise(code, value, unit)
