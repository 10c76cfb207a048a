"""IS 10500:2012 rules engine (jaldpi.water_quality.rules): pure tests, no database.

The per-parameter boundary tests are generated from the reference CSV read here independently of the rule set
(``/work/shared/reference/is10500_2012.csv``), so a transcription error in the shipped JSON shows up as a failure.
"""

from __future__ import annotations

import csv
import json
import re
from decimal import Decimal
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from jaldpi.config import Settings
from jaldpi.water_quality import rules
from jaldpi.water_quality.rules import (
    BELOW_MINIMUM,
    EXCEEDS,
    INCOMPLETE,
    JJM_BASIC_PARAMETERS,
    NOT_APPLICABLE,
    NOT_EVALUABLE,
    SAFE,
    UNSAFE,
    WITHIN_ACCEPTABLE,
    WITHIN_PERMISSIBLE,
    Censored,
    EvaluationContext,
    Missing,
    Range,
    RuleSetError,
    UnknownUnitError,
    default_ruleset,
    load_ruleset,
    parse_value,
    ruleset_from_settings,
)

CSV_PATH = Path("/work/shared/reference/is10500_2012.csv")


def _csv_rows() -> list[dict[str, str]]:
    if not CSV_PATH.is_file():
        return []
    with CSV_PATH.open(encoding="utf-8", newline="") as fh:
        return list(csv.DictReader(fh))


ROWS = _csv_rows()
needs_csv = pytest.mark.skipif(not ROWS, reason=f"reference CSV {CSV_PATH} not present (shared reference data)")

RS = default_ruleset()
NO_ALT = EvaluationContext(alternate_source_available=False)
ALT = EvaluationContext(alternate_source_available=True)
CHLORINATED = EvaluationContext(chlorinated=True, sampling_point="household_tap")


def _d(s: str) -> Decimal | None:
    return Decimal(s) if s else None


def _eps(limit: Decimal) -> Decimal:
    """One unit in the digit after the limit's last stated decimal: 45 -> 0.1, 0.01 -> 0.001, 0 -> 1."""
    if limit == 0:
        return Decimal(1)
    return Decimal(1).scaleb(min(limit.as_tuple().exponent, 0) - 1)


def _kind(row: dict[str, str]) -> str:
    if row["qualitative"] and not row["acceptable_max"] and not row["acceptable_min"]:
        return "qualitative"
    if row["unit"] == "per 100 mL":
        return "bacteriological"
    if row["acceptable_min"] and row["acceptable_max"]:
        return "band"
    if row["acceptable_min"]:
        return "minimum"
    return "max"


def _cases() -> list[tuple]:
    """(code, value, unit, context, expected verdict, expected rejects_source or None, id)."""
    cases = []
    for row in ROWS:
        code, unit, kind = row["code"], row["unit"] or None, _kind(row)
        acc_min, acc_max, perm = _d(row["acceptable_min"]), _d(row["acceptable_max"]), _d(row["permissible_max"])
        relax = perm is not None and row["no_relaxation"] != "yes"

        def add(value, ctx, verdict, rejects=None, tag="", unit=unit, code=code):
            ctx_name = {NO_ALT: "no_alt", ALT: "alt", CHLORINATED: "chlorinated"}.get(ctx, "ctx")
            cases.append((code, value, unit, ctx, verdict, rejects, f"{code}-{tag}-{value}-{ctx_name}"))

        if kind == "qualitative":
            for ctx in (NO_ALT, ALT):
                add(row["qualitative"], ctx, WITHIN_ACCEPTABLE, False, "agreeable")
                add("Not agreeable", ctx, EXCEEDS, None, "disagreeable")
        elif kind == "bacteriological":
            for ctx in (NO_ALT, ALT):
                add("0", ctx, WITHIN_ACCEPTABLE, False, "at")
                add("1", ctx, EXCEEDS, None, "above")
        elif kind == "band":
            for ctx in (NO_ALT, ALT):
                for lim in (acc_min, acc_max):
                    add(str(lim), ctx, WITHIN_ACCEPTABLE, False, "at")
                add(str(acc_min - _eps(acc_min)), ctx, BELOW_MINIMUM, True, "below_min")
                add(str(acc_min + _eps(acc_min)), ctx, WITHIN_ACCEPTABLE, False, "above_min")
                add(str(acc_max - _eps(acc_max)), ctx, WITHIN_ACCEPTABLE, False, "below_max")
                add(str(acc_max + _eps(acc_max)), ctx, EXCEEDS, True, "above_max")
        elif kind == "minimum":
            for ctx in (CHLORINATED, EvaluationContext(chlorinated=True, alternate_source_available=True)):
                add(str(acc_min), ctx, WITHIN_ACCEPTABLE, False, "at_min")
                add(str(acc_min - _eps(acc_min)), ctx, BELOW_MINIMUM, False, "below_min")
                add(str(acc_min + _eps(acc_min)), ctx, WITHIN_ACCEPTABLE, False, "above_min")
                if perm is not None:  # the permissible column read as an upper bound
                    add(str(perm), ctx, WITHIN_ACCEPTABLE, False, "at_upper")
                    add(str(perm + _eps(perm)), ctx, EXCEEDS, False, "above_upper")
            add(str(acc_min - _eps(acc_min)), EvaluationContext(chlorinated=False), NOT_APPLICABLE, False, "unchlor")
        else:
            for ctx in (NO_ALT, ALT):
                add(str(acc_max), ctx, WITHIN_ACCEPTABLE, False, "at_acc")
                if acc_max > 0:
                    add(str(acc_max - _eps(acc_max)), ctx, WITHIN_ACCEPTABLE, False, "below_acc")
                above = str(acc_max + _eps(acc_max))
                if relax and ctx is NO_ALT:
                    add(above, ctx, WITHIN_PERMISSIBLE, False, "above_acc")
                    add(str(perm), ctx, WITHIN_PERMISSIBLE, False, "at_perm")
                    add(str(perm - _eps(perm)), ctx, WITHIN_PERMISSIBLE, False, "below_perm")
                elif relax:  # alternate source: the acceptable limit is the bar, the source is not rejected yet
                    add(above, ctx, EXCEEDS, False, "above_acc")
                    add(str(perm), ctx, EXCEEDS, False, "at_perm")
                    add(str(perm - _eps(perm)), ctx, EXCEEDS, False, "below_perm")
                else:
                    add(above, ctx, EXCEEDS, True, "above_acc")
                if relax:
                    add(str(perm + _eps(perm)), ctx, EXCEEDS, True, "above_perm")
    return cases


CASES = _cases()


@needs_csv
def test_every_csv_parameter_is_in_the_rule_set_with_the_same_values():
    by_code = {p["code"]: p for p in RS.document["parameters"]}
    assert [r["code"] for r in ROWS] == [p["code"] for p in RS.document["parameters"]]
    for row in ROWS:
        p = by_code[row["code"]]
        assert p["name"] == row["name"]
        assert (p["basis"] or "") == row["basis"]
        assert (p["unit"] or "") == row["unit"]
        assert p["table"] == int(row["table"])
        for f in ("acceptable_min", "acceptable_max", "permissible_max"):
            assert _d(p[f] or "") == _d(row[f]), (row["code"], f)
        assert p["no_relaxation"] == (row["no_relaxation"] == "yes")
        assert (p["qualitative"] or "") == row["qualitative"]
        assert (p["notes"] or "") == row["notes"]
        assert p["units"] or row["qualitative"], f"{row['code']} has no accepted units"


@needs_csv
@pytest.mark.parametrize("code,value,unit,ctx,expected,rejects", [c[:6] for c in CASES], ids=[c[6] for c in CASES])
def test_every_parameter_at_around_its_limits(code, value, unit, ctx, expected, rejects):
    kwargs = {"magnesium": "10"} if code == "sulphate" else {}  # sulphate's 400 needs magnesium <= 30 shown
    r = RS.evaluate_value(code, value, unit, ctx, **kwargs)
    assert r.verdict == expected, r
    if rejects is not None:
        assert r.rejects_source is rejects, r
    if expected == EXCEEDS and r.rule == "not_detectable":
        assert r.requires_repeat_sample and r.bacteriological_positive


@needs_csv
def test_generated_cases_cover_every_parameter():
    assert {c[0] for c in CASES} == {r["code"] for r in ROWS}
    assert len(CASES) > 400


# ------------------------------------------------------------------------------------------------ rule set identity

def test_base_version_and_hash():
    assert RS.version == "IS10500:2012"
    assert RS.edition == "IS 10500:2012"
    assert RS.amendments == ()
    assert len(RS.content_hash) == 64
    assert load_ruleset() is RS  # compiled once, cached


def test_overrides_change_version_and_verdict_arsenic_no_relaxation():
    assert RS.evaluate_value("arsenic", "0.03").verdict == WITHIN_PERMISSIBLE  # 2012 base text
    strict = load_ruleset(overrides={"arsenic": {"permissible_max": None}})
    assert re.fullmatch(r"IS10500:2012\+overrides:[0-9a-f]{12}", strict.version)
    assert strict.content_hash != RS.content_hash
    r = strict.evaluate_value("arsenic", "0.03")
    assert (r.verdict, r.rejects_source, r.rule) == (EXCEEDS, True, "no_relaxation")
    # the same overrides spelt differently give the same version
    same = load_ruleset(overrides={"arsenic": {"permissible_max": None, "no_relaxation": True}})
    assert same.version == strict.version


def test_overrides_iron_permissible_1991():
    assert RS.evaluate_value("iron", "0.5").verdict == EXCEEDS
    rs91 = load_ruleset(overrides={"iron": {"permissible_max": "1.0"}})
    assert rs91.version != RS.version
    assert rs91.evaluate_value("iron", "0.5").verdict == WITHIN_PERMISSIBLE
    assert rs91.evaluate_value("iron", "1.01").verdict == EXCEEDS
    # the 2012 Fe+Mn note still applies unless also overridden
    assert rs91.evaluate_sample({"iron": "0.5"}).contaminants == ["iron+manganese"]
    rs91b = load_ruleset(overrides={"iron": {"permissible_max": "1.0"}, "iron_manganese": {"enabled": False}})
    assert rs91b.evaluate_sample({"iron": "0.5"}).verdict == SAFE


def test_overrides_boron_uranium_and_rule_values():
    assert RS.evaluate_value("boron", "2.0").verdict == EXCEEDS
    assert load_ruleset(overrides={"boron": {"permissible_max": "2.4"}}).evaluate_value("boron", "2.0").verdict \
        == WITHIN_PERMISSIBLE
    assert RS.evaluate_value("uranium", "31", "ppb").verdict == EXCEEDS
    assert load_ruleset(overrides={"uranium": {"acceptable_max": "0.06"}}).evaluate_value(
        "uranium", "31", "ppb").verdict == WITHIN_ACCEPTABLE
    loose = load_ruleset(overrides={"iron_manganese": {"max": "0.5"}})
    assert loose.evaluate_sample({"iron": "0.2", "manganese": "0.2"}).contaminants == []


@pytest.mark.parametrize("bad", [
    {"nosuch": {"acceptable_max": "1"}},
    {"arsenic": {"acceptable": "1"}},
    {"arsenic": {"acceptable_max": "abc"}},
    {"arsenic": {"acceptable_max": "-1"}},
    {"arsenic": {"no_relaxation": "yes"}},
    {"iron_manganese": {"max": None}},
    {"arsenic": {"permissible_max": "0.001"}},  # below the acceptable limit
])
def test_invalid_overrides_are_refused(bad):
    with pytest.raises(RuleSetError):
        load_ruleset(overrides=bad)


def test_overrides_from_settings_and_file(tmp_path, monkeypatch):
    f = tmp_path / "overrides.json"
    f.write_text(json.dumps({"arsenic": {"permissible_max": None}, "boron": {"permissible_max": "2.4"}}))
    s = Settings(wq_rule_overrides_file=f, wq_rule_overrides={"boron": {"permissible_max": "1.0"}})
    rs = ruleset_from_settings(s)
    assert rs.overrides["arsenic"] == {"permissible_max": None, "no_relaxation": True}
    assert rs.overrides["boron"]["permissible_max"] == "1"  # settings win over the file, field by field
    assert "+overrides:" in rs.version
    monkeypatch.delenv("JALDPI_WQ_RULE_OVERRIDES", raising=False)
    assert ruleset_from_settings(Settings()) is RS
    monkeypatch.setenv("JALDPI_WQ_RULE_OVERRIDES", '{"arsenic": {"permissible_max": null}}')
    env_rs = ruleset_from_settings(Settings())
    assert env_rs.version == load_ruleset(overrides={"arsenic": {"permissible_max": None}}).version


def test_ftk_parameters_setting_default():
    assert Settings().wq_ftk_parameters == list(rules.DEFAULT_FTK_PARAMETERS)


# ------------------------------------------------------------------------------------------------ cross-parameter rules

def test_iron_plus_manganese_fails_when_each_is_within():
    v = RS.evaluate_sample({"iron": "0.25", "manganese": "0.1"})
    assert v.result("iron").verdict == WITHIN_ACCEPTABLE and v.result("manganese").verdict == WITHIN_ACCEPTABLE
    assert (v.verdict, v.contaminants, v.source_rejected) == (UNSAFE, ["iron+manganese"], True)
    c = v.combined[0]
    assert (c.rule, c.label, c.verdict, c.total, c.limit) == ("iron_manganese", "iron+manganese", EXCEEDS,
                                                              Decimal("0.35"), Decimal("0.3"))
    ok = RS.evaluate_sample({"iron": "0.2", "manganese": "0.05"})
    assert ok.verdict == SAFE and ok.combined[0].verdict == WITHIN_ACCEPTABLE


def test_iron_plus_manganese_boundary_exact():
    assert RS.evaluate_sample({"iron": "0.2", "manganese": "0.1"}).verdict == SAFE  # 0.3 is not above 0.3
    assert RS.evaluate_sample({"iron": "0.2", "manganese": "0.11"}).contaminants == ["iron+manganese"]
    assert RS.evaluate_sample({"iron": "0.25", "manganese": "0.25"}).contaminants == ["iron+manganese"]
    # manganese within permissible alone, but the pair is not
    v = RS.evaluate_sample({"iron": "0.05", "manganese": "0.28"})
    assert v.within_permissible == ["manganese"] and v.contaminants == ["iron+manganese"]


def test_iron_plus_manganese_partial_and_censored():
    only_iron = RS.evaluate_sample({"iron": "0.25"})
    assert only_iron.verdict == SAFE and only_iron.combined[0].verdict == NOT_EVALUABLE  # manganese not reported
    assert RS.evaluate_sample({"iron": "0.25", "manganese": "BDL"}).combined[0].verdict == WITHIN_ACCEPTABLE
    assert RS.evaluate_sample({"iron": "0.25", "manganese": "<0.1"}).combined[0].verdict == NOT_EVALUABLE
    assert RS.evaluate_sample({"iron": "0.25", "manganese": "<0.05"}).combined[0].verdict == WITHIN_ACCEPTABLE
    assert RS.evaluate_sample({"iron": "-", "manganese": "0.31"}).contaminants == ["manganese", "iron+manganese"]
    assert RS.evaluate_sample({"iron": "0.25", "manganese": ">0.05"}).contaminants == ["iron+manganese"]


def test_sulphate_magnesium():
    assert RS.evaluate_sample({"sulphate": "300", "magnesium": "30"}).result("sulphate").verdict == WITHIN_PERMISSIBLE
    v = RS.evaluate_sample({"sulphate": "300", "magnesium": "30.1"})
    r = v.result("sulphate")
    assert (r.verdict, r.rule, r.limit, r.rejects_source) == (EXCEEDS, "sulphate/magnesium", Decimal(200), True)
    assert v.result("magnesium").verdict == WITHIN_PERMISSIBLE
    # magnesium not reported / missing / censored above 30: the extension is not shown
    assert RS.evaluate_sample({"sulphate": "300"}).result("sulphate").verdict == EXCEEDS
    assert RS.evaluate_sample({"sulphate": "300", "magnesium": "-"}).result("sulphate").verdict == EXCEEDS
    assert RS.evaluate_sample({"sulphate": "300", "magnesium": "<50"}).result("sulphate").verdict == EXCEEDS
    assert RS.evaluate_sample({"sulphate": "300", "magnesium": "BDL"}).result("sulphate").verdict == WITHIN_PERMISSIBLE
    # the bar is 200 anyway with an alternate source; 400 rejects regardless
    assert RS.evaluate_sample({"sulphate": "300", "magnesium": "10"}, ALT).result("sulphate").verdict == EXCEEDS
    assert RS.evaluate_sample({"sulphate": "401", "magnesium": "10"}).result("sulphate").rejects_source
    assert RS.evaluate_sample({"sulphate": "200", "magnesium": "90"}).result("sulphate").verdict == WITHIN_ACCEPTABLE
    # magnesium reported as CaCO3
    assert RS.evaluate_sample({"sulphate": "300", "magnesium": ("100", "mg/L as CaCO3")}).result(
        "sulphate").verdict == WITHIN_PERMISSIBLE  # 24.28 Mg
    assert RS.evaluate_value("sulphate", "300", magnesium="12").verdict == WITHIN_PERMISSIBLE
    assert RS.evaluate_value("sulphate", "300").verdict == EXCEEDS


def test_colour_toxic_suspected():
    assert RS.evaluate_value("colour", "10", "Hazen").verdict == WITHIN_PERMISSIBLE
    toxic = EvaluationContext(toxic_substances_suspected=True)
    r = RS.evaluate_value("colour", "10", "Hazen", toxic)
    assert (r.verdict, r.rule, r.rejects_source) == (EXCEEDS, "colour/toxic", True)
    assert RS.evaluate_value("colour", "5", "Hazen", toxic).verdict == WITHIN_ACCEPTABLE
    assert RS.evaluate_value("colour", "10", None, ALT).verdict == EXCEEDS
    assert not RS.evaluate_value("colour", "10", None, ALT).rejects_source
    assert RS.evaluate_value("colour", "16").verdict == EXCEEDS


def test_free_residual_chlorine():
    frc = "free_residual_chlorine"
    assert RS.evaluate_value(frc, "0.1").verdict == NOT_APPLICABLE  # not chlorinated (default)
    assert RS.evaluate_value(frc, "0.1", context={"chlorinated": False}).verdict == NOT_APPLICABLE
    assert RS.evaluate_value(frc, "0.1", context=CHLORINATED).verdict == BELOW_MINIMUM
    assert RS.evaluate_value(frc, "0.2", context=CHLORINATED).verdict == WITHIN_ACCEPTABLE
    assert RS.evaluate_value(frc, "0.1", context={"chlorinated": True}).verdict == BELOW_MINIMUM  # point unknown
    assert RS.evaluate_value(frc, "0.1", context={"chlorinated": True, "sampling_point": "source"}).verdict \
        == NOT_APPLICABLE
    assert RS.evaluate_value(frc, "0.1", context={"chlorinated": True, "sampling_point": "treatment_plant_outlet"}
                             ).verdict == NOT_APPLICABLE
    viral = EvaluationContext(chlorinated=True, sampling_point="school", viral_protection_required=True)
    assert RS.evaluate_value(frc, "0.3", context=viral).verdict == BELOW_MINIMUM
    assert RS.evaluate_value(frc, "0.5", context=viral).verdict == WITHIN_ACCEPTABLE
    hi = RS.evaluate_value(frc, "1.2", context=CHLORINATED)
    assert (hi.verdict, hi.rule, hi.rejects_source) == (EXCEEDS, "upper_bound", False)
    assert RS.evaluate_value(frc, "1", context=CHLORINATED).verdict == WITHIN_ACCEPTABLE
    assert RS.evaluate_value(frc, "BDL", context=CHLORINATED).verdict == BELOW_MINIMUM
    assert RS.evaluate_value(frc, "<0.1", context=CHLORINATED).verdict == BELOW_MINIMUM
    assert RS.evaluate_value(frc, "<0.5", context=CHLORINATED).verdict == NOT_EVALUABLE
    v = RS.evaluate_sample({frc: "0.1", "ph": "7"}, CHLORINATED)
    assert (v.verdict, v.contaminants) == (UNSAFE, [frc])
    v = RS.evaluate_sample({frc: "0.1", "ph": "7"})
    assert (v.verdict, v.not_applicable) == (SAFE, [frc])


def test_ph_band_both_sides():
    assert RS.evaluate_value("ph", "6.49").verdict == BELOW_MINIMUM
    assert RS.evaluate_value("ph", "6.5").verdict == WITHIN_ACCEPTABLE
    assert RS.evaluate_value("ph", "8.5").verdict == WITHIN_ACCEPTABLE
    assert RS.evaluate_value("ph", "8.51").verdict == EXCEEDS
    assert RS.evaluate_value("ph", "9", context=NO_ALT).verdict == EXCEEDS  # no relaxation without alternate source
    assert RS.evaluate_value("ph", "6-7").verdict == NOT_EVALUABLE
    v = RS.evaluate_sample({"ph": "5.9", "tds": "300"})
    assert (v.verdict, v.contaminants, v.source_rejected) == (UNSAFE, ["ph"], True)


@pytest.mark.parametrize("value,expected", [
    ("absent", WITHIN_ACCEPTABLE), ("Absent", WITHIN_ACCEPTABLE), ("not detected", WITHIN_ACCEPTABLE),
    ("ND", WITHIN_ACCEPTABLE), ("0", WITHIN_ACCEPTABLE), (0, WITHIN_ACCEPTABLE), ("<1", WITHIN_ACCEPTABLE),
    ("<1.8", WITHIN_ACCEPTABLE), ("negative", WITHIN_ACCEPTABLE), (False, WITHIN_ACCEPTABLE),
    ("present", EXCEEDS), ("Detected", EXCEEDS), ("positive", EXCEEDS), ("1", EXCEEDS), (3, EXCEEDS),
    (">200", EXCEEDS), ("TNTC", EXCEEDS), (True, EXCEEDS), ("-", NOT_EVALUABLE), ("maybe", NOT_EVALUABLE),
])
def test_coliforms(value, expected):
    for code in ("e_coli", "total_coliform"):
        r = RS.evaluate_value(code, value, None)
        assert r.verdict == expected, (code, value, r)
        assert r.requires_repeat_sample is (expected == EXCEEDS)
        assert r.bacteriological_positive is (expected == EXCEEDS)


def test_coliform_sample_and_applicability():
    v = RS.evaluate_sample({"e_coli": "present", "total_coliform": ("12", "CFU/100 mL"), "ph": "7.2"})
    assert (v.verdict, v.contaminants) == (UNSAFE, ["e_coli", "total_coliform"])
    assert v.bacteriological_positive and v.requires_repeat_sample and not v.source_rejected
    # total coliform: treated water entering/in distribution (Table 6); not for untreated source water
    src = EvaluationContext(sampling_point="source")
    v = RS.evaluate_sample({"e_coli": "absent", "total_coliform": "present"}, src)
    assert (v.verdict, v.not_applicable) == (SAFE, ["total_coliform"])
    assert RS.evaluate_value("total_coliform", "present", context={"sampling_point": "source", "treated": True}
                             ).verdict == EXCEEDS
    assert RS.evaluate_value("e_coli", "present", context=src).verdict == EXCEEDS
    assert RS.evaluate_value("e_coli", "5", "MPN/100 mL").verdict == EXCEEDS
    assert RS.evaluate_value("e_coli", "5", "mg/L").verdict == NOT_EVALUABLE


# ------------------------------------------------------------------------------------------------ censored and missing

def test_parse_censored_and_missing():
    assert parse_value("BDL") == Censored(True, None)
    assert parse_value("ND") == Censored(True, None)
    assert parse_value("<0.1") == Censored(True, Decimal("0.1"))
    assert parse_value("< 0.1") == Censored(True, Decimal("0.1"))
    assert parse_value("<=0.1") == Censored(True, Decimal("0.1"), inclusive=True)
    assert parse_value(">200") == Censored(False, Decimal("200"))
    assert parse_value("BDL (0.01)") == Censored(True, Decimal("0.01"))
    for m in ("-", "NA", "", "  ", "n/a", None, "—"):
        assert isinstance(parse_value(m), Missing), m
    assert parse_value("0.5-1.0") == Range(Decimal("0.5"), Decimal("1.0"))
    assert parse_value("1,200") == Decimal(1200)
    assert parse_value(0.1) == Decimal("0.1")  # via repr, not the binary float
    assert not isinstance(parse_value("0,5"), Decimal)  # a decimal comma is not guessed


@pytest.mark.parametrize("code,value,unit,expected", [
    ("fluoride", "BDL", None, WITHIN_ACCEPTABLE),
    ("fluoride", "<0.1", None, WITHIN_ACCEPTABLE),
    ("fluoride", "< 0.1", "mg/L", WITHIN_ACCEPTABLE),
    ("arsenic", "<0.01", None, WITHIN_ACCEPTABLE),
    ("arsenic", "<0.05", None, NOT_EVALUABLE),
    ("arsenic", "<50", "ppb", NOT_EVALUABLE),
    ("arsenic", "<5", "ppb", WITHIN_ACCEPTABLE),
    ("tds", ">2000", None, EXCEEDS),
    ("tds", ">200", None, NOT_EVALUABLE),
    ("turbidity", ">200", "NTU", EXCEEDS),
    ("nitrate", ">45", None, EXCEEDS),
    ("fluoride", ">1.5", None, EXCEEDS),
    ("fluoride", ">1.0", None, NOT_EVALUABLE),
    ("nitrate", "<10", "mg/L as N", WITHIN_ACCEPTABLE),  # <44.27 NO3
    ("nitrate", "<11", "mg/L as N", NOT_EVALUABLE),  # <48.697 NO3
    ("nitrate", "<10", "mg/L", WITHIN_ACCEPTABLE),
    ("iron", "-", None, NOT_EVALUABLE),
])
def test_censored_values(code, value, unit, expected):
    r = RS.evaluate_value(code, value, unit)
    assert r.verdict == expected, r


def test_censored_and_missing_are_kept_not_zero():
    r = RS.evaluate_value("arsenic", "<5", "ppb")
    assert r.value == Censored(True, Decimal("0.005")) and r.to_dict()["value"] == "<0.005"
    assert r.to_dict()["value_kind"] == "censored"
    m = RS.evaluate_value("arsenic", "-")
    assert isinstance(m.value, Missing) and m.verdict == NOT_EVALUABLE
    assert m.to_dict()["value"] is None and m.to_dict()["value_kind"] == "missing"
    assert RS.evaluate_value("arsenic", None).verdict == NOT_EVALUABLE
    v, unit = RS.normalise("arsenic", "BDL", "ppb")
    assert v == Censored(True, None) and unit == "mg/L"


# ------------------------------------------------------------------------------------------------ units

def test_nitrate_as_n_boundary():
    # 45 mg/L NO3 = 10.1649 mg/L NO3-N: 10.16 x 4.427 = 44.978 (within), 10.17 x 4.427 = 45.023 (over)
    r = RS.evaluate_value("nitrate", "10.16", "mg/L as N")
    assert r.value == Decimal("44.97832") and r.verdict == WITHIN_ACCEPTABLE
    for unit in ("mg/L as N", "NO3-N", "mg/L NO3-N", "nitrate-N", "mg/l as n"):
        r = RS.evaluate_value("nitrate", "10.17", unit)
        assert r.value == Decimal("45.02259") and r.verdict == EXCEEDS, unit
    assert RS.evaluate_value("nitrate", "10.1648", "NO3-N").verdict == WITHIN_ACCEPTABLE  # 44.99957
    assert RS.evaluate_value("nitrate", "10.1649", "NO3-N").verdict == EXCEEDS  # 45.00001
    assert RS.evaluate_value("nitrate", "45", "mg/L").verdict == WITHIN_ACCEPTABLE
    assert RS.evaluate_value("nitrate", "45.1", "mg/L as NO3").verdict == EXCEEDS


def test_ppb_ppm_conversions():
    r = RS.evaluate_value("arsenic", "10", "ppb")
    assert r.value == Decimal("0.010") and r.verdict == WITHIN_ACCEPTABLE
    assert RS.evaluate_value("arsenic", "10.1", "ug/L").verdict == WITHIN_PERMISSIBLE
    assert RS.evaluate_value("arsenic", "10.1", "µg/L", ALT).verdict == EXCEEDS
    assert RS.evaluate_value("arsenic", "51", "ppb").rejects_source
    assert RS.evaluate_value("arsenic", "12 ppb").value == Decimal("0.012")  # unit written in the value
    assert RS.evaluate_value("uranium", "30", "ppb").verdict == WITHIN_ACCEPTABLE
    assert RS.evaluate_value("uranium", "30.5", "ppb").verdict == EXCEEDS
    assert RS.evaluate_value("iron", "0.3", "ppm").verdict == WITHIN_ACCEPTABLE
    assert RS.evaluate_value("iron", "301", "ppb").verdict == EXCEEDS
    # ug/L-canonical pesticides: the reverse
    assert RS.evaluate_value("atrazine", "0.002", "mg/L").value == Decimal("2.000")
    assert RS.evaluate_value("atrazine", "0.0021", "ppm").verdict == EXCEEDS
    assert RS.evaluate_value("atrazine", "2", "ppb").verdict == WITHIN_ACCEPTABLE
    assert RS.evaluate_value("gross_alpha", "100", "mBq/L").verdict == WITHIN_ACCEPTABLE
    assert RS.evaluate_value("calcium", "200", "mg/L as CaCO3").value == Decimal("80.0800")


def test_unknown_unit():
    r = RS.evaluate_value("arsenic", "10", "furlongs")
    assert (r.verdict, r.rule) == (NOT_EVALUABLE, "unit")
    with pytest.raises(UnknownUnitError):
        RS.normalise("arsenic", "10", "furlongs")
    assert RS.evaluate_value("nitrate", "10", "NTU").verdict == NOT_EVALUABLE


# ------------------------------------------------------------------------------------------------ samples

def test_sample_verdicts_name_contaminants():
    sample = {"ph": "7.4", "tds": "620", "turbidity": ("0.8", "NTU"), "chloride": "180", "total_alkalinity": "240",
              "total_hardness": "260", "sulphate": "90", "iron": ("0.45", "ppm"), "arsenic": ("32", "ppb"),
              "fluoride": "1.8", "nitrate": ("12.1", "mg/L as N"), "total_coliform": "absent", "e_coli": "absent"}
    v = RS.evaluate_sample(sample, NO_ALT, required=JJM_BASIC_PARAMETERS)
    assert v.verdict == UNSAFE
    assert v.contaminants == ["iron", "fluoride", "nitrate", "iron+manganese"]
    assert set(v.within_permissible) == {"tds", "total_alkalinity", "total_hardness", "arsenic"}
    assert v.source_rejected and not v.bacteriological_positive and not v.requires_repeat_sample
    assert v.ruleset_version == "IS10500:2012"
    d = v.to_dict()
    json.dumps(d)  # JSON-ready
    assert d["results"][0]["value"] == "7.4" and d["verdict"] == "unsafe"


def test_safe_and_incomplete():
    safe = {"ph": "7.4", "tds": "320", "turbidity": "0.8", "chloride": "180", "total_alkalinity": "150",
            "total_hardness": "160", "sulphate": "90", "iron": "0.1", "arsenic": "BDL", "fluoride": "0.8",
            "nitrate": "12", "total_coliform": "absent", "e_coli": "absent"}
    assert RS.evaluate_sample(safe, required=JJM_BASIC_PARAMETERS).verdict == SAFE
    # a required parameter missing or not evaluable: incomplete
    v = RS.evaluate_sample({**safe, "arsenic": "-"}, required=JJM_BASIC_PARAMETERS)
    assert (v.verdict, v.not_evaluated) == (INCOMPLETE, ["arsenic"])
    v = RS.evaluate_sample({k: x for k, x in safe.items() if k != "e_coli"}, required=JJM_BASIC_PARAMETERS)
    assert (v.verdict, v.not_evaluated) == (INCOMPLETE, ["e_coli"])
    # default required = everything submitted
    assert RS.evaluate_sample({**safe, "arsenic": "<0.05"}).verdict == INCOMPLETE
    # a parameter outside `required` may be missing
    assert RS.evaluate_sample({**safe, "manganese": "-"}, required=JJM_BASIC_PARAMETERS).verdict == SAFE
    # nothing evaluable
    assert RS.evaluate_sample({"arsenic": "-", "iron": "NA"}).verdict == INCOMPLETE
    assert RS.evaluate_sample({}).verdict == INCOMPLETE
    assert RS.evaluate_sample({"free_residual_chlorine": "0.5"}).verdict == INCOMPLETE  # only not_applicable
    # an exceedance wins over missing values
    assert RS.evaluate_sample({"arsenic": "-", "fluoride": "2"}).verdict == UNSAFE
    # unknown codes are reported, not dropped silently
    v = RS.evaluate_sample({"ph": "7", "arsnic": "0.001"})
    assert (v.verdict, v.unrecognised) == (INCOMPLETE, ["arsnic"])


def test_sample_input_shapes_and_aliases():
    as_list = [{"parameter": "Arsenic", "value": "12", "unit": "ppb"}, {"parameter": "E. coli", "value": "absent"},
               {"parameter": "sulfate", "value": "100"}]
    v = RS.evaluate_sample(as_list)
    assert [r.code for r in v.results] == ["arsenic", "e_coli", "sulphate"]
    assert v.result("arsenic").verdict == WITHIN_PERMISSIBLE
    v2 = RS.evaluate_sample({"arsenic": {"value": "12", "unit": "ppb"}})
    assert v2.result("arsenic").value == Decimal("0.012")
    with pytest.raises(ValueError):
        RS.evaluate_sample([{"parameter": "arsenic", "value": "1"}, {"parameter": "total_arsenic", "value": "1"}])

    class Obj:
        def __init__(self, parameter, value, unit=None):
            self.parameter, self.value, self.unit = parameter, value, unit

    assert RS.evaluate_sample([Obj("fluoride", Decimal("1.2"))]).result("fluoride").verdict == WITHIN_PERMISSIBLE


def test_qualitative_odour_taste():
    assert RS.evaluate_value("odour", "Agreeable").verdict == WITHIN_ACCEPTABLE
    assert RS.evaluate_value("taste", "not agreeable").verdict == EXCEEDS
    assert RS.evaluate_value("odour", "-").verdict == NOT_EVALUABLE
    assert RS.evaluate_value("odour", "3").verdict == NOT_EVALUABLE


# ------------------------------------------------------------------------------------------------ field test kits

def test_ftk_ranges_conservative():
    v = RS.evaluate_ftk({"fluoride": "0.5-1.0", "nitrate": "45", "iron": "0.3", "ph": "7.0-8.0",
                         "chloride": "200-250", "total_hardness": "150", "h2s": "negative"})
    assert (v.verdict, v.contaminants, v.screening, v.requires_lab_confirmation) == (SAFE, [], True, False)
    v = RS.evaluate_ftk({"fluoride": "1.0-1.5", "nitrate": "45-50", "iron": "0.3-0.5", "ph": "6.0-7.0",
                         "total_alkalinity": ">200", "arsenic": "0.01-0.025"})
    assert v.verdict == UNSAFE
    assert v.contaminants == ["fluoride", "nitrate", "iron", "ph", "total_alkalinity", "arsenic"]
    assert v.requires_lab_confirmation and not v.source_rejected
    assert v.result("ph").verdict == BELOW_MINIMUM
    # the acceptable limit is the bar even without an alternate source (screening)
    assert RS.evaluate_ftk({"fluoride": "1.2"}, NO_ALT).verdict == UNSAFE
    assert RS.evaluate_ftk({"fluoride": "1.5"}).result("fluoride").rule == "ftk_screening"


def test_ftk_h2s_and_chlorine_and_config():
    v = RS.evaluate_ftk({"h2s_vial": "positive"})
    assert (v.verdict, v.bacteriological_positive, v.requires_lab_confirmation) == (UNSAFE, True, True)
    assert v.contaminants == ["h2s_vial"]
    assert RS.evaluate_ftk({"bacteria": "black"}).verdict == UNSAFE
    frc = "free_residual_chlorine"
    assert RS.evaluate_ftk({frc: "0.1-0.3"}, CHLORINATED).result(frc).verdict == BELOW_MINIMUM
    assert RS.evaluate_ftk({frc: "0.2-0.5"}, CHLORINATED).verdict == SAFE
    assert RS.evaluate_ftk({frc: "0.5-1.5"}, CHLORINATED).result(frc).verdict == EXCEEDS
    assert RS.evaluate_ftk({frc: "0.1"}).result(frc).verdict == NOT_APPLICABLE
    # not on the node's FTK list
    v = RS.evaluate_ftk({"lead": "0.5", "ph": "7"})
    assert (v.verdict, v.unrecognised) == (INCOMPLETE, ["lead"])
    v = RS.evaluate_ftk({"lead": "0.5"}, ftk_parameters=["lead"])
    assert v.contaminants == ["lead"]
    v = RS.evaluate_ftk({"fluoride": "-"})
    assert v.verdict == INCOMPLETE


# ------------------------------------------------------------------------------------------------ properties

_SEVERITY = {WITHIN_ACCEPTABLE: 0, WITHIN_PERMISSIBLE: 1, EXCEEDS: 2}
_MAX_CODES = sorted(c for c, p in RS.parameters.items() if p.kind == "max" and c != "sulphate")


@settings(max_examples=300, deadline=None)
@given(code=st.sampled_from(_MAX_CODES),
       a=st.decimals(min_value=0, max_value=5000, places=4, allow_nan=False, allow_infinity=False),
       b=st.decimals(min_value=0, max_value=5000, places=4, allow_nan=False, allow_infinity=False),
       alt=st.booleans())
def test_verdict_monotonic_in_value(code, a, b, alt):
    lo, hi = sorted((a, b))
    ctx = ALT if alt else NO_ALT
    va = RS.evaluate_value(code, lo, None, ctx).verdict
    vb = RS.evaluate_value(code, hi, None, ctx).verdict
    assert _SEVERITY[va] <= _SEVERITY[vb], (code, lo, va, hi, vb)


@settings(max_examples=300, deadline=None)
@given(code=st.sampled_from(_MAX_CODES),
       x=st.decimals(min_value=0, max_value=5000, places=4, allow_nan=False, allow_infinity=False))
def test_censored_below_never_worse_than_its_limit(code, x):
    """<x is at worst not_evaluable; when x itself is within acceptable, <x is too (never judged as zero-or-worse)."""
    v_limit = RS.evaluate_value(code, x).verdict
    v_cens = RS.evaluate_value(code, f"<{x}").verdict
    if v_limit == WITHIN_ACCEPTABLE:
        assert v_cens == WITHIN_ACCEPTABLE
    else:
        assert v_cens in (NOT_EVALUABLE, WITHIN_ACCEPTABLE)


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=20))
def test_parsing_never_crashes(text):
    parse_value(text)
    RS.evaluate_value("arsenic", text)
    RS.evaluate_value("e_coli", text)
