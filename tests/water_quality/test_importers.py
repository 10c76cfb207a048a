"""Lab-result importers: column mapping, cells as reported, place-name matching, the generic lab format, idempotent
re-import, and the real CGWB groundwater-quality file checked against an independent count of exceedances."""

from __future__ import annotations

import datetime as dt
import time
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import func, select

from jaldpi.admin_units.names import NameMatcher, Unit, normalise
from jaldpi.water_quality import importers as im
from jaldpi.water_quality.importers import classify, map_columns, parse_coordinate, parse_header
from jaldpi.water_quality.models import Sample
from tests.conftest import SHARED_DATA
from tests.helpers import ROOT

CGWB_FILE = SHARED_DATA / "cgwb" / "nhs_groundwater_quality_pre_monsoon_2023.xlsx"
LGD_DIR = SHARED_DATA / "lgd"


# ------------------------------------------------------------------------------------------------ fixtures


@pytest.fixture
def wq(node):
    """The node's catalogue (sampling points and samples are evaluated and drive workflows exactly as in production)."""
    return node.catalogue


def _small_lgd(node) -> None:
    """Two states with a few districts, named as the LGD files name them."""
    units = [
        {"level": "state", "lgd_code": 28, "name": "ANDHRA PRADESH"},
        {"level": "state", "lgd_code": 1, "name": "JAMMU AND KASHMIR"},
        {"level": "state", "lgd_code": 37, "name": "LADAKH"},
        {"level": "state", "lgd_code": 19, "name": "WEST BENGAL"},
        {"level": "state", "lgd_code": 21, "name": "ODISHA"},
        {"level": "district", "lgd_code": 502, "name": "ANANTAPUR", "parent": {"code": "LGD-S28"}},
        {"level": "district", "lgd_code": 515, "name": "SPSR NELLORE", "parent": {"code": "LGD-S28"}},
        {"level": "district", "lgd_code": 520, "name": "VISAKHAPATANAM", "parent": {"code": "LGD-S28"}},
        {"level": "district", "lgd_code": 3, "name": "JAMMU", "parent": {"code": "LGD-S1"}},
        {"level": "district", "lgd_code": 9, "name": "LEH LADAKH", "parent": {"code": "LGD-S37"}},
        {"level": "district", "lgd_code": 310, "name": "DINAJPUR DAKSHIN", "parent": {"code": "LGD-S19"}},
        {"level": "district", "lgd_code": 317, "name": "MEDINIPUR EAST", "parent": {"code": "LGD-S19"}},
        {"level": "district", "lgd_code": 318, "name": "MEDINIPUR WEST", "parent": {"code": "LGD-S19"}},
        {"level": "district", "lgd_code": 372, "name": "SONEPUR", "parent": {"code": "LGD-S21"}},
        {"level": "block", "lgd_code": 4001, "name": "ALPHA BLOCK", "parent": {"code": "LGD-D502"}},
        {"level": "gram_panchayat", "lgd_code": 200001, "name": "ALPHA GP", "parent": {"code": "LGD-B4001"}},
        {"level": "village", "lgd_code": 500001, "name": "ALPHA ONE", "parent": {"code": "LGD-G200001"}},
        {"level": "block", "lgd_code": 4002, "name": "BETA BLOCK", "parent": {"code": "LGD-D520"}},
        {"level": "gram_panchayat", "lgd_code": 200002, "name": "BETA GP", "parent": {"code": "LGD-B4002"}},
        {"level": "village", "lgd_code": 500002, "name": "BETA ONE", "parent": {"code": "LGD-G200002"}},
    ]
    with node.db.unit_of_work() as session:
        summary = node.catalogue["admin_units"].import_records(session, ROOT, units)
        assert summary.status == "ok", summary.to_dict()


def _write_csv(path: Path, lines: list[str]) -> Path:
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


# ------------------------------------------------------------------------------------------------ pure parts


@pytest.mark.parametrize("header, name, unit", [
    ("EC (µS/cm at", "ec", "uS/cm"),
    ("EC (μS/cm at 25 °C)", "ec", "uS/cm"),
    ("Electrical Conductivity (uS/cm at 25°C)", "electrical conductivity", "uS/cm"),
    ("EC [umhos/cm]", "ec", "uS/cm"),
    ("As (ppb)", "as", "ppb"),
    ("Fe (ppm)", "fe", "ppm"),
    ("arsenic [ug/l]", "arsenic", "ug/L"),
    ("Nitrate (mg/l as N)", "nitrate", "mg/L as N"),
    ("  Total  Hardness ", "total hardness", None),
    ("\ufeffCl (mg/L)", "cl", "mg/L"),
])
def test_header_normalisation(header, name, unit):
    h = parse_header(header)
    assert (h.name, h.unit) == (name, unit)


def test_cgwb_header_maps_to_rule_set_codes_and_attributes():
    header = ["S. No.", "State", "District", "Location", "Longitude", "Latitude", "Year", "pH", "EC (µS/cm at",
              "CO3 (mg/L)", "HCO3", "Cl (mg/L)", "F (mg/L)", "SO4", "NO3", "PO4", "Total Hardness", "Ca (mg/L)",
              "Mg (mg/L)", "Na (mg/L)", "K (mg/L)", "Fe (ppm)", "As (ppb)", "U (ppb)"]
    cols = {c.header: (c.kind, c.key, c.unit) for c in map_columns(header, im.CGWB_FIELDS)}
    assert cols["State"] == ("field", "state", None)
    assert cols["pH"] == ("result", "ph", None)
    assert cols["EC (µS/cm at"] == ("other_result", "electrical_conductivity", "uS/cm")
    assert cols["Cl (mg/L)"] == ("result", "chloride", "mg/L")
    assert cols["F (mg/L)"] == ("result", "fluoride", "mg/L")
    assert cols["SO4"] == ("result", "sulphate", "mg/L")
    assert cols["NO3"] == ("result", "nitrate", "mg/L as NO3")
    assert cols["Total Hardness"] == ("result", "total_hardness", "mg/L as CaCO3")
    assert cols["Ca (mg/L)"] == ("result", "calcium", "mg/L")
    assert cols["Mg (mg/L)"] == ("result", "magnesium", "mg/L")
    assert cols["Fe (ppm)"] == ("result", "iron", "ppm")
    assert cols["As (ppb)"] == ("result", "arsenic", "ppb")
    assert cols["U (ppb)"] == ("result", "uranium", "ppb")
    for other in ("CO3 (mg/L)", "HCO3", "PO4", "Na (mg/L)", "K (mg/L)"):
        assert cols[other][0] == "other_result", other


def test_generic_headers_use_rule_set_names_and_units():
    cols = {c.header: (c.kind, c.key, c.unit) for c in map_columns(
        ["sampling_point", "collected_at", "arsenic [ppb]", "nitrate [mg/L as N]", "NO3-N", "Total arsenic",
         "Free residual chlorine (mg/L)", "Odd column"], im.LAB_FIELDS)}
    assert cols["sampling_point"] == ("field", "sampling_point", None)
    assert cols["arsenic [ppb]"] == ("result", "arsenic", "ppb")
    assert cols["nitrate [mg/L as N]"] == ("result", "nitrate", "mg/L as N")
    assert cols["NO3-N"] == ("result", "nitrate", "mg/L as N")
    assert cols["Total arsenic"][:2] == ("result", "arsenic")
    assert cols["Free residual chlorine (mg/L)"] == ("result", "free_residual_chlorine", "mg/L")
    assert cols["Odd column"] == ("attribute", "Odd column", None)


@pytest.mark.parametrize("value, kind", [
    (0.18, "numeric"), (7, "numeric"), (Decimal("0.5"), "numeric"), ("0.50", "numeric"), ("0", "numeric"),
    ("BDL", "censored"), ("bdl", "censored"), ("<0.01", "censored"), ("< 0.01 mg/L", "censored"), ("ND", "censored"),
    ("n.d.", "censored"), (">200", "censored"),
    ("-", "missing"), ("", "missing"), (None, "missing"), ("NA", "missing"), ("N/A", "missing"),
    ("#REF!", "unparseable"), ("#VALUE!", "unparseable"), (dt.datetime(2023, 1, 1), "unparseable"),
    (float("nan"), "unparseable"), (True, "unparseable"),
])
def test_cells_are_classified_not_converted(value, kind):
    assert classify(value) == kind
    if kind in ("censored", "missing") and isinstance(value, str) and value:
        assert im.reported(value) == value.strip()  # passed on as reported, never as 0


def test_coordinates():
    assert parse_coordinate("`21.933853") == pytest.approx(21.933853)
    assert parse_coordinate("74 41 25") == pytest.approx(74 + 41 / 60 + 25 / 3600)
    assert parse_coordinate("92/6501767") is None
    assert parse_coordinate("#VALUE!") is None
    assert im.point_geometry(77.5, 14.7) == ({"type": "Point", "coordinates": [77.5, 14.7]}, "valid")
    assert im.point_geometry(None, None) == (None, "missing")
    assert im.point_geometry(0, 0)[1] == "invalid"
    assert im.point_geometry(dt.datetime(2023, 1, 1), 14.7)[1] == "invalid"


# ------------------------------------------------------------------------------------------------ names


def _matcher(**kwargs) -> NameMatcher:
    ids = iter(range(1, 100))
    st = {n: Unit(next(ids), f"LGD-S{c}", c, n, "state") for n, c in
          [("ANDHRA PRADESH", 28), ("JAMMU AND KASHMIR", 1), ("LADAKH", 37), ("WEST BENGAL", 19), ("ODISHA", 21),
           ("JHARKHAND", 20), ("THE DADRA AND NAGAR HAVELI AND DAMAN AND DIU", 38), ("UTTARAKHAND", 5),
           ("PUNJAB", 3)]}

    def d(name, code, state):
        return Unit(next(ids), f"LGD-D{code}", code, name, "district", st[state].id)

    districts = [d("ANANTAPUR", 502, "ANDHRA PRADESH"), d("VISAKHAPATANAM", 520, "ANDHRA PRADESH"),
                 d("JAMMU", 3, "JAMMU AND KASHMIR"), d("LEH LADAKH", 9, "LADAKH"),
                 d("DINAJPUR DAKSHIN", 310, "WEST BENGAL"), d("24 PARAGANAS NORTH", 316, "WEST BENGAL"),
                 d("24 PARAGANAS SOUTH", 319, "WEST BENGAL"), d("EAST SINGHBUM", 335, "JHARKHAND"),
                 d("WEST SINGHBHUM", 343, "JHARKHAND"), d("SONEPUR", 372, "ODISHA"),
                 d("DAMAN", 463, "THE DADRA AND NAGAR HAVELI AND DAMAN AND DIU"), d("UTTAR KASHI", 57, "UTTARAKHAND"),
                 d("S.A.S Nagar", 608, "PUNJAB"), d("KAIMUR (BHABUA)", 200, "ODISHA")]
    return NameMatcher(list(st.values()), districts, **kwargs)


def test_normalise_names():
    assert normalise("Jammu&Kashmir", directions=False) == "jammu and kashmir"
    assert normalise("The Dadra & Nagar-Haveli UT", directions=False) == "dadra and nagar haveli"
    assert normalise("E. Singhbhum") == "east singhbhum"
    assert normalise("S.A.S Nagar") == "s a s nagar"  # initials of an acronym are not directions


def test_state_matching_exact_alias_and_union_territories():
    m = _matcher()
    assert (m.match_state("Jammu&Kashmir").unit.lgd_code, m.match_state("Jammu&Kashmir").method) == (1, "exact")
    assert (m.match_state("Orissa").unit.lgd_code, m.match_state("Orissa").method) == (21, "alias")
    assert m.match_state("Daman And Diu").unit.lgd_code == 38
    assert m.match_state("Dadra And Nagar Haveli").unit.lgd_code == 38
    assert m.match_state("Atlantis").unit is None


def test_district_matching_methods_and_report():
    m = _matcher()
    exact = m.match_district("Andhra Pradesh", "anantapur")
    assert (exact.unit.lgd_code, exact.method) == (502, "exact")
    alias = m.match_district("ANDHRA PRADESH", "Ananthapuramu")
    assert (alias.unit.lgd_code, alias.method) == (502, "alias")
    fuzzy = m.match_district("Andhra Pradesh", "Visakhapatnam")
    assert (fuzzy.unit.lgd_code, fuzzy.method) == (520, "fuzzy") and 0.85 <= fuzzy.score < 1
    # direction words: reordered and translated, but East never fuzzy-matches West
    assert m.match_district("West Bengal", "Dakshin Dinajpur").unit.lgd_code == 310
    assert m.match_district("West Bengal", "North 24 Parganas").unit.lgd_code == 316
    assert m.match_district("West Bengal", "South 24 Parganas").unit.lgd_code == 319
    assert m.match_district("Jharkhand", "E. Singhbhum").unit.lgd_code == 335
    assert m.match_district("Jharkhand", "W Singhbhum").unit.lgd_code == 343
    assert m.match_district("Uttarakhand", "Uttarkashi").unit.lgd_code == 57
    assert m.match_district("Punjab", "Sas Nagar").unit.lgd_code == 608
    assert m.match_district("Odisha", "Kaimur").unit.lgd_code == 200  # an alternative inside the LGD name
    assert m.match_district("Odisha", "SONAPUR").method == "alias"
    # a district now in another state (Leh, listed under Jammu & Kashmir in older files)
    assert m.match_district("Jammu & Kashmir", "Leh").unit.lgd_code == 9
    # not matched: a reason, never a guess
    miss = m.match_district("Jammu & Kashmir", "Mahreen")
    assert miss.unit is None and "not found" in miss.reason
    assert m.match_district("Nowhere", "Jammu").unit is None
    strict = _matcher(cutoff=0.99).match_district("Andhra Pradesh", "Visakhapatnam")
    assert strict.unit is None


# ------------------------------------------------------------------------------------------------ end to end


def _count(node, table) -> int:
    with node.db.unit_of_work(write=False) as session:
        return session.execute(select(func.count()).select_from(table)).scalar_one()


def test_cgwb_snippet_import_report_and_idempotent_reimport(node, wq, tmp_path):
    from jaldpi.water_quality.models import SamplingPoint

    _small_lgd(node)
    path = _write_csv(tmp_path / "cgwb.csv", [
        "S. No.,State,District,Location,Longitude,Latitude,Year,pH,EC (µS/cm at,Cl (mg/L),F (mg/L),NO3,"
        "Total Hardness,Fe (ppm),As (ppb),U (ppb),PO4",
        "1,Andhra Pradesh,Ananthapuramu,Site A,77.6,14.7,2023,7.2,800,100,2.1,50,250,-,BDL,-,0.1",
        "2,ANDHRA PRADESH,ANANTAPUR,Site B,77.61,14.71,2023,9.1,900,120,0.5,<1,700,0.2,60,35,#REF!",
        "3,Andhra Pradesh,Visakhapatnam,Site C,83.2,17.7,2023,6.1,300,20,0.2,10,150,0.9,2,1,BDL",
        "4,Jammu&Kashmir,Mahreen,Hore,75.29,32.42,2023,7.0,300,20,0.2,10,150,0.1,1,1,-",
        "5,Atlantis,Deep,Reef,,,2023,7.0,300,20,0.2,10,150,0.1,1,1,-",
        "6,West Bengal,Dakshin Dinajpur,Site D,#VALUE!,25.2,2023,-,-,-,-,-,-,-,-,-,-",
    ])
    report = im.import_file(node.db, wq, path, format="cgwb")
    d = report.to_dict()
    assert d["rows_read"] == 6
    assert d["matched"] == {"total": 4, "exact": 2, "alias": 1, "fuzzy": 1}  # Dakshin Dinajpur is exact
    assert d["unmatched"]["rows"] == 2
    assert {(g["state"], g["district"]) for g in d["unmatched"]["groups"]} == {("Jammu&Kashmir", "Mahreen"),
                                                                              ("Atlantis", "Deep")}
    assert d["fuzzy_matches"][0]["lgd_name"] == "VISAKHAPATANAM" and d["fuzzy_matches"][0]["score"] >= 0.85
    assert d["written"] == {"sampling_points": {"created": 4}, "samples": {"created": 4}}
    assert d["skipped"]["rows"] == 2
    assert d["coordinates"] == {"valid": 4, "missing": 1, "invalid": 1}
    cols = {c["header"]: c for c in d["columns"]}
    assert (cols["As (ppb)"]["numeric"], cols["As (ppb)"]["censored"], cols["As (ppb)"]["missing"]) == (4, 1, 1)
    assert cols["PO4"]["unparseable"] == 1 and cols["PO4"]["kind"] == "other_result"
    assert cols["NO3"]["censored"] == 1 and cols["pH"]["missing"] == 1
    ex = d["exceedances"]
    assert ex["fluoride"]["exceeds"] == 1  # 2.1 > 1.5
    assert ex["nitrate"]["exceeds"] == 1  # 50 > 45
    assert ex["arsenic"]["exceeds"] == 1  # 60 ppb > 0.05 mg/L
    assert ex["uranium"]["exceeds"] == 1  # 35 ppb > 0.03 mg/L
    assert ex["iron"]["exceeds"] == 1  # 0.9 ppm
    assert ex["total_hardness"]["exceeds"] == 1  # 700 > 600
    assert (ex["ph"]["exceeds"], ex["ph"]["below_minimum"]) == (1, 1)
    # a resource survey is judged, but opens no remedial-action case (it is not a drinking-water source test)
    from jaldpi.core.workflow_models import WorkflowCase

    with node.db.engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(WorkflowCase)).scalar_one() == 0
        purposes = {r[0] for r in conn.execute(select(Sample.purpose))}
    assert purposes == {"survey"}

    st, pt = Sample.__table__, SamplingPoint.__table__
    with node.db.unit_of_work(write=False) as session:
        rows = session.execute(select(st, pt.c.name.label("p_name"), pt.c.point_type.label("p_type"),
                                      pt.c.lgd_path.label("p_path"), pt.c.longitude.label("p_lon"),
                                      pt.c.geometry.label("p_geometry"), pt.c.attributes.label("p_attributes"))
                               .join(pt, st.c.sampling_point_id == pt.c.id)).mappings().all()
    by_site = {r["p_name"]: (r, {k[2:]: v for k, v in r.items() if k.startswith("p_")}) for r in rows}
    s, p = by_site["Site A"]
    assert p["type"] == "monitoring_well" and p["path"].endswith("/D502/") and p["lon"] == pytest.approx(77.6)
    assert p["attributes"]["site"] == "Site A" and p["attributes"]["source"] == "cgwb"
    assert s["test_kind"] == "lab" and s["source_system"] == "cgwb-nhs-2023"
    assert s["collected_at"].replace(tzinfo=s["collected_at"].tzinfo or dt.UTC) == im.CGWB_COLLECTED_AT
    results = {r["parameter"]: r for r in s["results"]}
    assert results["arsenic"] == {"parameter": "arsenic", "value": "BDL", "unit": "ppb", "method": None}
    assert results["iron"]["value"] == "-"  # missing as reported, never 0
    assert "electrical_conductivity" not in results
    assert s["attributes"]["other_results"]["electrical_conductivity"] == {"value": 800, "unit": "uS/cm"}
    s2, _ = by_site["Site B"]
    assert s2["attributes"]["unreadable_results"] == {"phosphate": "#REF!"}
    assert {r["parameter"]: r["value"] for r in s2["results"]}["nitrate"] == "<1"
    _, p_d = by_site["Site D"]
    assert p_d["geometry"] is None and p_d["attributes"]["coordinates_as_reported"] == ["#VALUE!", "25.2"]

    again = im.import_file(node.db, wq, path, format="cgwb").to_dict()
    assert again["written"] == {"sampling_points": {"ignored": 4}, "samples": {"ignored": 4}}
    assert again["exceedances"] == ex
    assert _count(node, Sample) == 4 and _count(node, SamplingPoint) == 4


def test_generic_lab_csv_end_to_end(node, wq, tmp_path):

    _small_lgd(node)
    with node.db.unit_of_work() as session:
        summary = wq["sampling_points"].import_records(session, im.importer_principal(), [
            {"point_type": "source", "admin_unit": "LGD-V500001", "name": "Borewell 1",
             "external_ids": {"jjm": "SRC-1"}},
            {"point_type": "source", "admin_unit": "LGD-V500002", "name": "Borewell 2"},
        ])
        assert summary.status == "ok", summary.to_dict()
        code2 = summary.rows[1].code
    path = _write_csv(tmp_path / "lab.csv", [
        "sampling_point,sampling_point_external_id,collected_at,test_kind,external_id,arsenic [ppb],"
        "nitrate [mg/L as N],Fluoride (mg/L),pH,EC (uS/cm),remarks",
        ",jjm:SRC-1,2024-05-14,lab,lab7:S-001,12,11.2,0.8,7.1,640,first",
        f"{code2},,15/05/2024,lab,,BDL,<0.5,2.0,8.9,,",
        "WQP-NOPE,,2024-05-16,lab,,1,1,1,7,,",
        f"{code2},,not a date,lab,,1,1,1,7,,",
    ])
    report = im.import_file(node.db, wq, path).to_dict()
    assert report["format"] == "csv" and report["rows_read"] == 4
    assert report["written"]["samples"] == {"created": 2, "errors": 1}
    reasons = {r["reason"]: r["rows"] for r in report["skipped"]["reasons"]}
    assert reasons["collected_at missing or not a date"] == 1
    assert any(r.startswith("sample refused: reference_not_found") for r in reasons)
    ex = report["exceedances"]
    assert "arsenic" not in ex  # 12 ppb is within the permissible 0.05 mg/L; BDL never exceeds
    assert ex["nitrate"]["exceeds"] == 1  # 11.2 mg/L as N = 49.6 mg/L NO3 > 45
    assert ex["fluoride"]["exceeds"] == 1 and ex["ph"]["exceeds"] == 1
    t = Sample.__table__
    with node.db.unit_of_work(write=False) as session:
        s = session.execute(select(t).where(t.c.source_system == "lab-import").order_by(
            t.c.collected_at)).mappings().all()
    assert len(s) == 2
    # numeric text from a CSV goes on as an exact decimal (stored as the JSON string "11.2")
    assert {r["parameter"]: (r["value"], r["unit"]) for r in s[0]["results"]}["nitrate"] == ("11.2", "mg/L as N")
    assert s[0]["attributes"]["other_results"]["electrical_conductivity"]["unit"] == "uS/cm"
    assert s[0]["attributes"]["remarks"] == "first"
    again = im.import_file(node.db, wq, path).to_dict()
    assert again["written"]["samples"] == {"ignored": 2, "errors": 1}


# ------------------------------------------------------------------------------------------------ the real file


def _independent_exceedances(matched_serials: set[int]) -> dict[str, int]:
    """Read the workbook with openpyxl directly and count values above the limits that apply to a source without an
    alternate source (IS 10500:2012 as in the default rule set): the permissible limit where one exists, else the
    acceptable limit (no relaxation); pH outside 6.5-8.5; sulphate 400 only when magnesium <= 30, else 200; only
    numeric cells count (censored and missing values never exceed); negative values are not judged."""
    from openpyxl import load_workbook

    limits = {"fluoride": ("F (mg/L)", Decimal("1.5")), "nitrate": ("NO3", Decimal("45")),
              "arsenic": ("As (ppb)", Decimal("50")), "iron": ("Fe (ppm)", Decimal("0.3")),
              "uranium": ("U (ppb)", Decimal("30")), "total_hardness": ("Total Hardness", Decimal("600")),
              "chloride": ("Cl (mg/L)", Decimal("1000")), "calcium": ("Ca (mg/L)", Decimal("200")),
              "magnesium": ("Mg (mg/L)", Decimal("100"))}
    wb = load_workbook(CGWB_FILE, read_only=True, data_only=True)
    rows = wb["Table 1"].iter_rows(values_only=True)
    header = list(next(rows))
    col = {h: i for i, h in enumerate(header)}

    def num(v):
        if isinstance(v, bool) or not isinstance(v, int | float):
            return None
        d = Decimal(repr(v)) if isinstance(v, float) else Decimal(v)
        return d if d >= 0 else None

    counts = dict.fromkeys([*limits, "ph_high", "ph_low", "sulphate"], 0)
    for row in rows:
        if row[col["S. No."]] not in matched_serials:
            continue
        for code, (h, limit) in limits.items():
            v = num(row[col[h]])
            if v is not None and v > limit:
                counts[code] += 1
        ph = num(row[col["pH"]])
        if ph is not None:
            counts["ph_high"] += ph > Decimal("8.5")
            counts["ph_low"] += ph < Decimal("6.5")
        so4, mg = num(row[col["SO4"]]), num(row[col["Mg (mg/L)"]])
        if so4 is not None and so4 > (Decimal("400") if mg is not None and mg <= 30 else Decimal("200")):
            counts["sulphate"] += 1
    wb.close()
    return counts


@pytest.mark.slow
def test_real_cgwb_file(node, wq, capsys):
    if not CGWB_FILE.exists() or not (LGD_DIR / "2-district.csv").exists():
        pytest.skip(f"real data not present: {CGWB_FILE} and {LGD_DIR}")
    from jaldpi.admin_units.lgd_import import load

    load(node.db, node.catalogue["admin_units"], [LGD_DIR / "1-state.csv", LGD_DIR / "2-district.csv"])
    started = time.perf_counter()
    report = im.import_file(node.db, wq, CGWB_FILE)
    seconds = time.perf_counter() - started
    d = report.to_dict()
    with capsys.disabled():
        print(f"\n[{node.db.dialect}] CGWB import: {d['rows_read']} rows, matched {d['matched']}, unmatched "
              f"{d['unmatched']['rows']}, {seconds:.1f} s")
    assert d["format"] == "cgwb"
    assert d["rows_read"] == 16776
    assert d["matched"]["total"] + d["unmatched"]["rows"] == d["rows_read"]
    assert d["matched"]["total"] >= 16700  # nearly every row matches an LGD district
    assert d["written"]["samples"].get("created") == d["matched"]["total"]
    assert d["written"]["sampling_points"].get("created") == d["matched"]["total"]
    assert d["skipped"]["rows"] == d["unmatched"]["rows"]
    assert _count(node, Sample) == d["matched"]["total"]

    # independent count of exceedances over the matched rows
    key_serial = {int(g) for g in _matched_serials(node)}
    assert len(key_serial) == d["matched"]["total"]
    expected = _independent_exceedances(key_serial)
    ex = d["exceedances"]
    for code in ("fluoride", "nitrate", "arsenic", "iron", "uranium", "total_hardness", "chloride", "calcium",
                 "magnesium", "sulphate"):
        assert ex.get(code, {}).get("exceeds", 0) == expected[code], code
    assert ex["ph"]["exceeds"] == expected["ph_high"]
    assert ex["ph"]["below_minimum"] == expected["ph_low"]
    assert expected["fluoride"] > 1000 and expected["arsenic"] > 10  # the file does hold exceedances

    again = im.import_file(node.db, wq, CGWB_FILE).to_dict()
    assert again["written"] == {"sampling_points": {"ignored": d["matched"]["total"]},
                                "samples": {"ignored": d["matched"]["total"]}}


def _matched_serials(node) -> list[str]:
    """The S. No. of every imported CGWB sample, from its external id ``state|district|location|S. No.``."""
    from jaldpi.core.models import ExternalIdentifier

    t = ExternalIdentifier.__table__
    with node.db.unit_of_work(write=False) as session:
        values = session.execute(select(t.c.value).where(t.c.record_type == "samples", t.c.system == "cgwb")).scalars()
        return [v.rsplit("|", 1)[1] for v in values]

