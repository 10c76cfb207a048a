"""Languages: catalogs complete in Hindi, Indian number grouping, readable dates, the language of a request."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from starlette.requests import Request

from jaldpi.web.i18n import Translator, catalog, indian_number, language_of, switch_url


def test_hindi_catalog_has_every_english_key_in_devanagari():
    en, hi = catalog("en"), catalog("hi")
    assert set(en) == set(hi)
    untranslated = [k for k in en if en[k] == hi[k] and not k.startswith(("format.parquet",))]
    assert untranslated == []
    assert hi["hgj.har_ghar_jal"] == "हर घर जल" and "नल कनेक्शन" in hi["village.taps.with_tap"]
    assert hi["village.wq.heading"] == "जल गुणवत्ता"
    for key, text in en.items():  # the same placeholders in both languages
        assert set(re.findall(r"{(\w+)}", text)) == set(re.findall(r"{(\w+)}", hi[key])), key


@pytest.mark.parametrize(("value", "digits", "expected"), [
    (0, 0, "0"), (999, 0, "999"), (1000, 0, "1,000"), (100000, 0, "1,00,000"), (12345678, 0, "1,23,45,678"),
    (1234567.55, 1, "12,34,567.6"), (-250000, 0, "-2,50,000"), (55.0, 1, "55.0"), (None, 0, ""),
])
def test_indian_number_grouping(value, digits, expected):
    assert indian_number(value, digits) == expected


def test_dates_and_unit_names():
    en, hi = Translator("en"), Translator("hi")
    assert en.date(dt.date(2025, 3, 5)) == "5 Mar 2025" and hi.date(dt.date(2025, 3, 5)) == "5 मार्च 2025"
    assert en.date("2026-11-08T08:00:00+00:00") == "8 Nov 2026" and en.date(None) == ""
    assert hi.unit_name("Alpha One", "अल्फा एक") == "अल्फा एक" and en.unit_name("Alpha One", "अल्फा एक") == "Alpha One"
    assert hi.unit_name("Beta One", None) == "Beta One"
    assert en("village.service.of_days", n=3, days=30) == "3 of 30"
    with pytest.raises(KeyError):
        en("no.such.key")


def _request(query: str = "", cookie: str | None = None, accept: str | None = None) -> Request:
    headers = []
    if cookie:
        headers.append((b"cookie", f"jaldpi_lang={cookie}".encode()))
    if accept:
        headers.append((b"accept-language", accept.encode()))
    return Request({"type": "http", "method": "GET", "path": "/citizen/villages", "query_string": query.encode(),
                    "headers": headers})


def test_language_of_a_request_and_the_switch_link():
    assert language_of(_request()) == "en"
    assert language_of(_request(accept="hi-IN,hi;q=0.9,en;q=0.8")) == "hi"
    assert language_of(_request(cookie="hi", accept="en")) == "hi"
    assert language_of(_request("lang=en", cookie="hi")) == "en"
    assert language_of(_request("lang=fr", cookie="xx")) == "en"  # unknown values are ignored
    assert switch_url(_request("q=alpha&lang=en&page=2"), "hi") == "/citizen/villages?q=alpha&page=2&lang=hi"


def test_hindi_pages_show_local_names_only_in_devanagari():
    from jaldpi.web.i18n import Translator

    hindi = Translator("hi")
    assert hindi.unit_name("Alpha One", "अल्फा एक") == "अल्फा एक"
    assert hindi.unit_name("Kerameri", "కెరమెరి") == "Kerameri"  # Telugu: the English name on a Hindi page
    assert hindi.unit_name("Kerameri", None) == "Kerameri"
    assert Translator("en").unit_name("Alpha One", "अल्फा एक") == "Alpha One"
