"""Unit tests of the LGD CSV parser (no database): header detection and each trap of the real files."""

from __future__ import annotations

import csv
import io

import pytest

from jaldpi.admin_units.lgd_import import (
    LOAD_ORDER,
    detect_kind,
    parse_census,
    parse_code,
    parse_file,
    parse_rows,
    plan,
    read_csv,
)
from tests.admin_units import lgd_snippets as s


def rows_of(lines: list[str]) -> tuple[list[str], list[tuple[int, list[str]]]]:
    data = list(csv.reader(io.StringIO("\n".join(lines))))
    return data[0], [(i + 2, r) for i, r in enumerate(data[1:])]


def parse(kind: str, lines: list[str], **kw):
    header, rows = rows_of(lines)
    return parse_rows(kind, header, rows, **kw)


@pytest.mark.parametrize("header,kind", [
    (s.STATE_HEADER, "state"), (s.DISTRICT_HEADER, "district"), (s.SUBDISTRICT_HEADER, "subdistrict"),
    (s.BLOCK_HEADER, "block"), (s.ULB_HEADER, "urban_local_body"), (s.TLB_HEADER, "traditional_local_body"),
    (s.TYPES_HEADER, "local_body_type"), (s.VILLAGE_HEADER, "village"), (s.GP_HEADER, "gram_panchayat"),
    ("\ufeffSTATE CODE , state name", "state"),  # BOM, case and spaces do not matter
    ("Scheme Id,Scheme Name,Village", None), ("", None),
])
def test_kind_is_detected_from_the_header(header, kind):
    assert detect_kind(next(csv.reader([header])) if header else []) == kind


def test_codes_quoted_padded_and_none():
    assert parse_code('"259500"') == 259500  # quoted number
    assert parse_code(' 35 ') == 35
    assert parse_code('"\"35\""') == 35  # doubly quoted
    assert parse_code("0") is None and parse_code("") is None and parse_code("12a") is None
    for none in ("0", "00", "00000", "000000", "", "  ", "-"):
        assert parse_census(none) is None, none
    assert parse_census("02925") == "02925"  # Census codes stay zero-padded strings
    assert parse_census('"804041"') == "804041"


def test_states_flag_two_names_versions_and_census_none():
    parsed = parse("state", s.STATES)
    ap, ladakh = parsed.records
    assert (ap.lgd_code, ap.name, ap.name_local, ap.lgd_version) == (28, "ANDHRA PRADESH", "ఆంధ్ర ప్రదేశ్", 2)
    assert ap.attributes == {"state_or_ut": "S"} and ladakh.attributes == {"state_or_ut": "U"}
    assert ap.parent_level is None
    assert (ladakh.census2001_code, ladakh.census2011_code) == (None, None)  # "" and "00" mean none
    assert (ap.census2001_code, ap.census2011_code) == ("28", "28")


def test_blocks_duplicate_header_read_by_position():
    header, _ = rows_of(s.BLOCKS)
    assert header[7] != header[8] and header[7].strip() == header[8]  # "Block Name " and "Block Name"
    dict_row = next(csv.DictReader(io.StringIO("\n".join(s.BLOCKS))))
    assert dict_row["Block Name"] == "ఆల్ఫా"  # what a DictReader keyed on the stripped name would give
    parsed = parse("block", s.BLOCKS)
    alpha, beta = parsed.records
    assert (alpha.name, alpha.name_local) == ("ALPHA BLOCK", "ఆల్ఫా")
    assert (beta.name, beta.name_local, beta.lgd_version) == ("BETA BLOCK", None, 5)
    assert (alpha.parent_level, alpha.parent_code) == ("district", 745)


def test_districts_and_subdistricts_parents_and_census_zeros():
    d = parse("district", s.DISTRICTS)
    assert [(r.lgd_code, r.parent_level, r.parent_code) for r in d.records] == [
        (745, "state", 28), (746, "state", 28), (747, "state", 37)]
    assert d.records[0].census2011_code is None and d.records[1].census2011_code == "502"
    assert d.records[0].lgd_version is None and not d.warnings  # no version column in the district file
    sd = parse("subdistrict", s.SUBDISTRICTS)
    a, b = sd.records
    assert (a.parent_level, a.parent_code, a.lgd_version) == ("district", 745, 3)
    assert (a.census2001_code, a.census2011_code) == (None, "05001")  # "0" is none
    assert b.census2011_code is None  # "00000"


def test_local_bodies_types_and_panchayati_raj_codes():
    types = parse("local_body_type", s.TYPES).local_body_types
    assert types[5] == {"name": "Municipality", "category": "Urban"}
    ulb = parse("urban_local_body", s.ULBS, local_body_types=types)
    a, b = ulb.records
    assert a.attributes == {"local_body_type_code": 5, "local_body_type_name": "Municipality"}
    assert (a.parent_level, a.parent_code, a.lgd_version, a.census2011_code) == ("state", 28, 6, "804041")
    assert (b.name_local, b.census2011_code) == ("బీటా", None)  # "000000" is none
    tlb = parse("traditional_local_body", s.TLBS, local_body_types=types)
    x, y = tlb.records
    assert (x.lgd_code, x.name, x.name_local, x.parent_level, x.parent_code) == (259500, "1Ayouk", "1Ayouk",
                                                                                  "state", 37)
    # Panchayati Raj codes are kept as attributes, not used as parents; "0" means none
    assert x.attributes == {"local_body_type_code": 11, "local_body_type_name": "Village Council",
                            "block_panchayat_code": 259698}
    assert y.attributes == {"local_body_type_code": 20, "local_body_type_name": "Constitutional Body"}
    assert y.name_local is None


def test_unknown_urban_type_is_a_warning_not_a_skip():
    parsed = parse("urban_local_body", s.ULBS[:2], local_body_types={})
    assert len(parsed.records) == 1 and parsed.warnings[0].reason == "unknown local body type"
    assert "local_body_type_name" not in parsed.records[0].attributes


def test_bad_rows_are_skipped_with_reasons_never_raised():
    lines = [s.BLOCK_HEADER,
             "1,28,AP,745,ALPHA,4001,1,ALPHA BLOCK,",
             "2,28,AP,745,ALPHA,,1,NO CODE,",
             "3,28,AP,745,ALPHA,40X2,1,LETTERS,",
             "4,28,AP,745,ALPHA,0,1,ZERO,",
             "5,28,AP,745,ALPHA,4003,1,,",
             "6,28,AP,0,ALPHA,4004,1,NO PARENT,",
             "7,28,AP,745,ALPHA,4001,2,ALPHA BLOCK RENAMED,",
             "8,28,AP,746,BETA,4001,1,ALPHA BLOCK,",
             "9,28,AP,745,ALPHA,4005,,NO VERSION,",
             "Total,,,,,,,,",
             "10,28,AP,745"]
    parsed = parse("block", lines)
    assert parsed.rows_read == 11
    assert [r.lgd_code for r in parsed.records] == [4001, 4005]
    reasons = [(n.line, n.reason) for n in parsed.skipped]
    assert reasons == [(3, "missing code"), (4, "non-numeric code"), (5, "missing code"), (6, "missing name"),
                       (7, "missing parent code"), (8, "duplicate code within file"), (11, "missing code"),
                       (12, "missing code")]
    assert "name 'ALPHA BLOCK' vs 'ALPHA BLOCK RENAMED'" in parsed.skipped[5].detail
    # a repeat that differs only in its parent (a block listed under two districts) is merged, not lost
    assert [(n.line, n.reason) for n in parsed.merged] == [(9, "duplicate code merged")]
    assert parsed.records[0].attributes == {"also_district_codes": [746]}
    assert parsed.records[0].parent_code == 745  # the first listing wins
    assert parsed.records[1].lgd_version is None and parsed.warnings[0].reason == "no version"
    assert parsed.rows_read == len(parsed.records) + len(parsed.skipped) + len(parsed.merged)


def test_traditional_local_body_repeat_with_other_district_panchayat_is_merged():
    lines = [s.TLB_HEADER,
             '"253928","3",Golakpur,গোলকপুর,"11",Village Council,"261496","261502","16",TRIPURA',
             '"253928","3",Golakpur,গোলকপুর,"11",Village Council,"261496","261503","16",TRIPURA',
             '"253928","3",Golakpur,গোলকপুর,"11",Village Council,"261496","261503","16",TRIPURA']
    parsed = parse("traditional_local_body", lines)
    assert len(parsed.records) == 1 and len(parsed.merged) == 2 and not parsed.skipped
    assert parsed.records[0].attributes["district_panchayat_code"] == 261502
    assert parsed.records[0].attributes["also_district_panchayat_codes"] == [261503]


def test_villages_and_gram_panchayats_are_read_when_given():
    v = parse("village", [s.VILLAGE_HEADER, "1,28,AP,745,ALPHA,5001,Alpha Mandal,500001,2,Alpha One,,0,000000",
                          "2,28,AP,745,ALPHA,0,-,500002,1,No Tehsil,,,"])
    a, b = v.records
    assert (a.parent_level, a.parent_code, a.subdistrict_code, a.lgd_version) == ("subdistrict", 5001, 5001, 2)
    assert a.item()["subdistrict"] == {"code": "LGD-T5001"} and a.item()["parent"] == {"code": "LGD-T5001"}
    assert (b.parent_level, b.parent_code, b.subdistrict_code) == ("district", 745, None)
    g = parse("gram_panchayat", [s.GP_HEADER, "28,745,4001,200001,1,Alpha GP,", "28,745,0,200002,1,No Block GP,"])
    assert [(r.parent_level, r.parent_code) for r in g.records] == [("block", 4001), ("district", 745)]


def test_read_csv_bom_blank_lines_and_missing_final_newline(tmp_path):
    path = tmp_path / "x.csv"
    path.write_bytes(("\ufeff" + s.STATE_HEADER + "\r\n\r\n1,28,2,AP,AP,28,28,S\r\n\r\n2,37,1,LA,LA,,00,U")
                     .encode("utf-8"))
    header, rows = read_csv(path)
    assert header[0] == "S.No." and [r[1] for _, r in rows] == ["28", "37"]
    assert [line for line, _ in rows] == [3, 5]  # file line numbers, for the report
    assert parse_file(path).kind == "state"


def test_unrecognised_file_is_reported_not_loaded(tmp_path):
    path = s.write(tmp_path, "1-state.csv", ["Scheme,Village", "A,B"])  # the file name does not matter
    parsed = parse_file(path)
    assert parsed.kind is None and parsed.rows_read == 1 and "not recognised" in parsed.note


def test_plan_orders_files_by_kind_not_name(tmp_path):
    folder = s.write_directory(tmp_path / "lgd")
    parsed = plan([folder])
    kinds = [p.kind for p in parsed]
    assert kinds == [k for k in LOAD_ORDER if k in kinds]
    assert kinds[0] == "local_body_type" and kinds[1] == "state" and kinds[-1] == "traditional_local_body"
    ulb = next(p for p in parsed if p.kind == "urban_local_body")
    assert ulb.records[1].attributes["local_body_type_name"] == "Town Panchayat"  # named from the type file
    blocks = next(p for p in parsed if p.kind == "block")
    assert blocks.rows_read == 2  # the last line has no newline and still counts
