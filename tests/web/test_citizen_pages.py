"""The Citizen Corner pages on a sandbox-like world (tests/web/world.py) with a built open-data release."""

from __future__ import annotations

import json
import re
from html.parser import HTMLParser

import pytest
from fastapi.testclient import TestClient

from jaldpi.core.registry import Strategy
from jaldpi.opendata.build import build_release
from jaldpi.opendata.datasets import DATASETS
from tests.conftest import test_settings
from tests.helpers import ROOT
from tests.web.world import PLANTED_COLLECTOR, PLANTED_HEAD_NAME, PLANTED_PHONE, citizen_app

PAGE_LIMIT = 200_000  # bytes: issue 6, every public page under 200 KB


@pytest.fixture
def citizen(database, tmp_path):
    with TestClient(citizen_app(database, tmp_path / "opendata")) as c:
        yield c


class Page(HTMLParser):
    """The parts of a page the tests look at: h1s, the html lang, links, inputs and labels, JSON-LD, landmarks."""

    def __init__(self, html: str):
        super().__init__()
        self.lang, self.h1, self.links, self.inputs, self.labels = None, [], [], [], set()
        self.tags: list[str] = []
        self.json_ld: list[str] = []
        self._in: str | None = None
        self.feed(html)

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        self.tags.append(tag)
        if tag == "html":
            self.lang = a.get("lang")
        elif tag == "h1":
            self._in, self.h1 = "h1", [*self.h1, ""]
        elif tag == "a":
            self.links.append(a.get("href"))
        elif tag in ("input", "select", "textarea") and a.get("type") != "hidden":
            self.inputs.append(a.get("id"))
        elif tag == "label":
            self.labels.add(a.get("for"))
        elif tag == "script" and a.get("type") == "application/ld+json":
            self._in = "ld"
            self.json_ld.append("")

    def handle_endtag(self, tag):
        if tag in ("h1", "script"):
            self._in = None

    def handle_data(self, data):
        if self._in == "h1":
            self.h1[-1] += data
        elif self._in == "ld":
            self.json_ld[-1] += data


def facts(html: str) -> dict[str, str]:
    """The figures of the ``facts`` lists: label -> the text of its <b> (tags stripped)."""
    out = {}
    for label, value in re.findall(r"<li>([^<]+?) <b>(.*?)</b>", html, flags=re.S):
        out[label.strip()] = re.sub(r"<[^>]+>", "", value).strip()
    return out


def test_search_by_name_code_and_block(citizen):
    r = citizen.get("/citizen/villages", params={"q": "alpha"})
    assert r.status_code == 200
    assert "3 villages found" in r.text
    for name in ("Alpha One", "Alpha Two", "Alpha East One"):
        assert f"<b>{name}</b>" in r.text
    assert "Gram panchayat Alpha GP" in r.text and "Block <a href=\"/citizen/villages?block=4001\">Alpha Block</a>" \
        in r.text and 'District <a href="/citizen/district/745">Alpha</a>' in r.text
    r = citizen.get("/citizen/villages", params={"q": "pHa tW"})  # partial, any case
    assert "1 villages found" in r.text and "<b>Alpha Two</b>" in r.text
    r = citizen.get("/citizen/villages", params={"q": "500003"})
    assert "<b>Beta One</b>" in r.text and "<b>Alpha One</b>" not in r.text
    r = citizen.get("/citizen/villages", params={"q": "nowhere%_"})
    assert r.status_code == 200 and "No village matches" in r.text and "nowhere%_" in r.text
    r = citizen.get("/citizen/villages")
    assert "Type a village name or its LGD code above." in r.text
    r = citizen.get("/citizen/villages", params={"block": "4001"})
    assert "Villages of Alpha Block block" in r.text and "2 villages found" in r.text
    assert "<b>Alpha East One</b>" not in r.text
    home = citizen.get("/citizen/")
    assert 'action="/citizen/villages"' in home.text and 'href="/citizen/state/28"' in home.text
    assert 'href="/citizen/"' in citizen.get("/").text  # the node's home page links here
    r = citizen.get("/citizen/villages", params={"q": "अल्फा", "lang": "hi"})  # the Hindi name of 500001
    assert "<b>अल्फा एक</b>" in r.text


def test_village_page_in_english(citizen):
    r = citizen.get("/citizen/village/500001")
    assert r.status_code == 200, r.text
    assert r.headers["cache-control"].startswith("public, max-age=")
    page = Page(r.text)
    assert page.lang == "en" and page.h1 == ["Alpha One: drinking water"]
    html = r.text
    assert "<b>Alpha Jal Yojana</b> — Multi Village Scheme; stage: Commissioned; commissioned on 15 Mar 2024" in html
    assert '<span class="badge s-good">Har Ghar Jal</span>' in html
    assert '<span class="badge s-bad">Unsafe</span>' in html and "above the limit: Arsenic" in html
    assert html.count("<td>Laboratory</td>") == 2 and "Source (before treatment)" in html
    figures = facts(html)
    assert figures["Days with supply"] == "10 of 30"
    assert figures["Average litres per person per day"].startswith("50.0")
    assert figures["Days on schedule"] == "10 of 30"
    assert figures["Days with potable water"] == "0 of 30"  # the arsenic makes no day potable
    assert "(norm: 55)" in html
    svg = re.search(r"<svg class=\"chart\".*?</svg>", html, flags=re.S).group(0)
    assert "<title" in svg and "<desc" in svg and "water on 10 days, average 50.0 litres" in svg
    assert "<caption>Litres per person per day</caption>" in html  # the chart's data table
    assert "Data as of" in html and "Water quality and supply as recorded on" in html
    assert 'href="/citizen/village/500001?lang=hi"' in html


def test_village_page_in_hindi_and_the_language_is_remembered(citizen):
    r = citizen.get("/citizen/village/500001", params={"lang": "hi"})
    assert r.status_code == 200
    assert "jaldpi_lang=hi" in r.headers["set-cookie"]
    page = Page(r.text)
    assert page.lang == "hi" and page.h1 == ["अल्फा एक: पेयजल"]  # name_local in Hindi
    for words in ("हर घर जल", "नल कनेक्शन", "जल गुणवत्ता", "असुरक्षित", "आर्सेनिक", "प्रयोगशाला", "15 मार्च 2024",
                  "बहु ग्राम योजना", "30 में से 10"):
        assert words in r.text, words
    again = citizen.get("/citizen/village/500001")  # the cookie set above
    assert Page(again.text).lang == "hi" and 'href="/citizen/village/500001?lang=en"' in again.text
    english = citizen.get("/citizen/village/500001", params={"lang": "en"})
    assert Page(english.text).lang == "en"
    fresh = TestClient(citizen.app)
    assert Page(fresh.get("/citizen/", headers={"accept-language": "hi-IN,hi;q=0.9"}).text).lang == "hi"


def test_suppressed_cells_are_shown_as_suppressed_never_as_the_number(citizen):
    for lang, words in (("en", "hidden for privacy"), ("hi", "सुरक्षा हेतु छिपाया गया")):
        r = citizen.get("/citizen/village/500004", params={"lang": lang})  # 4 households, none with a tap
        assert r.status_code == 200
        figures = facts(r.text)
        households = figures["Households" if lang == "en" else "परिवार"]
        coverage = figures["Tap coverage" if lang == "en" else "नल कवरेज"]
        assert words in households and words in coverage
        assert "4" not in "".join(figures.values())  # the true count (4 households) appears nowhere
        assert ("Counts of fewer than 10 households are not published" in r.text
                or "10 से कम परिवारों की संख्या" in r.text)
        assert "not_started" not in r.text and ("Not started" in r.text or "शुरू नहीं हुआ" in r.text)


def test_unknown_places_get_a_friendly_404(citizen):
    for url in ("/citizen/village/999999", "/citizen/village/not-a-code", "/citizen/district/1", "/citizen/state/99",
                "/citizen/data/no_such_dataset"):
        r = citizen.get(url)
        assert r.status_code == 404, url
        page = Page(r.text)
        assert page.h1 == ["Page not found"] and "village-q" in page.inputs and "/citizen/" in page.links
    assert "इस एलजीडी कोड का कोई गाँव नहीं मिला" in citizen.get("/citizen/village/999999?lang=hi").text


def test_district_and_state_dashboards(citizen):
    r = citizen.get("/citizen/district/745")
    assert r.status_code == 200
    html = r.text
    assert Page(html).h1 == ["Alpha district: drinking water"]
    assert html.count('<svg class="chart"') >= 3 and html.count("<desc") >= 4
    mapped = re.search(r'<svg class="map".*?</svg>', html, flags=re.S).group(0)
    assert len(re.findall(r"<(circle|rect x|path)", mapped)) == 3  # three villages of district 745, one each
    assert "Har Ghar Jal (1)" in html and "In progress (1)" in html and "Not started (1)" in html
    assert 'href="/citizen/villages?block=4001"' in html and 'href="/citizen/villages?block=4003"' in html
    assert "<caption>Villages by water quality</caption>" in html  # the charts' tables
    assert re.search(r'<th scope="row">Unsafe</th><td class="n">1</td>', html)
    state = citizen.get("/citizen/state/28", params={"lang": "hi"})
    assert state.status_code == 200 and Page(state.text).h1 == ["आंध्र प्रदेश: पेयजल"]
    assert 'href="/citizen/district/745"' in state.text and 'href="/citizen/district/746"' in state.text
    assert "गाँवों का नक्शा" in state.text


def test_open_data_pages_with_schema_org(citizen):
    r = citizen.get("/citizen/data/")
    assert r.status_code == 200
    for spec in DATASETS.values():
        assert spec.title["en"] in r.text and f'href="/citizen/data/{spec.name}"' in r.text
    assert DATASETS["tap_coverage"].title["hi"] in citizen.get("/citizen/data/?lang=hi").text
    r = citizen.get("/citizen/data/tap_coverage", params={"lang": "en"})
    page = Page(r.text)
    assert len(page.json_ld) == 1
    ld = json.loads(page.json_ld[0])
    assert ld["@type"] == "Dataset" and ld["name"] == DATASETS["tap_coverage"].title["en"]
    assert ld["license"] and ld["keywords"] and ld["dateModified"] and ld["creator"]["@type"] == "Organization"
    urls = {d["contentUrl"] for d in ld["distribution"]}
    assert {u.rsplit("/opendata/v1/", 1)[1] for u in urls} >= {
        f"datasets/tap_coverage/download/{fmt}" for fmt in ("csv", "parquet", "geojson", "datapackage")}
    for fmt in ("csv", "parquet", "geojson", "datapackage"):
        href = f"/opendata/v1/datasets/tap_coverage/download/{fmt}"
        assert href in page.links
    assert "Household counts below 10 are left empty" in r.text
    assert "<code>households</code>" in r.text and "<code>households_suppressed</code>" not in r.text
    hindi = citizen.get("/citizen/data/tap_coverage?lang=hi")
    assert json.loads(Page(hindi.text).json_ld[0])["name"] == DATASETS["tap_coverage"].title["hi"]
    dp = citizen.get("/citizen/data/household_connections_dp")
    assert "differential privacy" in dp.text and "geojson" not in "".join(
        link for link in Page(dp.text).links if link)
    csv_text = citizen.get("/opendata/v1/datasets/tap_coverage/download/csv").text  # the publication's route
    assert csv_text.startswith("level,lgd_code,name")


def _public_pages() -> list[str]:
    pages = ["/citizen/", "/citizen/villages", "/citizen/villages?q=alpha", "/citizen/villages?block=4001",
             "/citizen/village/500001", "/citizen/village/500002", "/citizen/village/500003", "/citizen/village/500004",
             "/citizen/district/745", "/citizen/district/746", "/citizen/state/28", "/citizen/data/",
             "/citizen/village/424242"]
    return pages + [f"/citizen/data/{name}" for name in DATASETS]


def test_every_page_is_light_accessible_and_free_of_personal_data(citizen):
    for lang in ("en", "hi"):
        for url in _public_pages():
            r = citizen.get(url, params={"lang": lang})
            assert r.status_code in (200, 404), url
            assert len(r.content) < PAGE_LIMIT, (url, len(r.content))
            for secret in (PLANTED_HEAD_NAME, PLANTED_PHONE, PLANTED_COLLECTOR, "Plantedname", "Secretname"):
                assert secret not in r.text, (url, secret)
            page = Page(r.text)
            assert page.lang == lang and len(page.h1) == 1, url
            assert {"header", "nav", "main", "footer"} <= set(page.tags), url
            assert page.links[0] == "#main", url  # the skip link comes first
            assert all(i and i in page.labels for i in page.inputs), url  # every control has a <label for>
            assert "<script" not in r.text.replace('<script type="application/ld+json">', ""), url  # no JavaScript
            assert "http://" not in r.text.replace("http://www.w3.org/2000/svg", "").replace(
                "http://testserver", ""), url  # no external resources
    css = citizen.get("/citizen/static/site.css")
    assert css.status_code == 200 and css.headers["content-type"].startswith("text/css")
    assert "url(" not in css.text and "@import" not in css.text and "@font-face" not in css.text


def test_pages_render_before_the_first_release(database, tmp_path):
    with TestClient(citizen_app(database, tmp_path / "opendata", release=False)) as c:
        village = c.get("/citizen/village/500001")
        assert village.status_code == 200 and "Tap coverage figures are not published yet." in village.text
        assert "above the limit: Arsenic" in village.text  # live figures do not wait for a release
        district = c.get("/citizen/district/745")
        assert district.status_code == 200 and "No village locations are published yet." in district.text
        data = c.get("/citizen/data/tap_coverage")
        assert data.status_code == 200 and "No release has been published yet." in data.text
        assert json.loads(Page(data.text).json_ld[0])["@type"] == "Dataset"


def test_a_district_with_hundreds_of_villages_stays_under_200_kb(database, tmp_path):
    app = citizen_app(database, tmp_path / "opendata", release=False)
    node = app.state.node
    many = [{"level": "village", "lgd_code": 600000 + i, "name": f"Gamma Village {i:03d}",
             "parent": {"code": "LGD-G200001"},
             "attributes": {"centroid": [80.0 + (i % 30) * 0.01, 16.0 + (i // 30) * 0.01]}} for i in range(700)]
    with node.db.unit_of_work() as session:
        s = node.catalogue["admin_units"].import_records(session, ROOT, many, strategy=Strategy.create)
        assert s.status == "ok", s.to_dict()
    build_release(database, test_settings(database, opendata_dir=tmp_path / "opendata"), force=True)
    with TestClient(app) as c:
        for url in ("/citizen/district/745", "/citizen/state/28", "/citizen/villages?block=4001",
                    "/citizen/villages?q=gamma", "/citizen/data/tap_coverage"):
            for lang in ("en", "hi"):
                r = c.get(url, params={"lang": lang})
                assert r.status_code == 200 and len(r.content) < PAGE_LIMIT, (url, lang, len(r.content))
        search = c.get("/citizen/villages", params={"q": "gamma", "lang": "en"}).text
        assert "700 villages found" in search and "Page 1 of 35" in search and 'rel="next"' in search
        assert search.count('href="/citizen/village/6') == 20
        last = c.get("/citizen/villages", params={"q": "gamma", "page": "35"}).text
        assert "Gamma Village 699" in last and 'rel="prev"' in last and 'rel="next"' not in last
        district = c.get("/citizen/district/745", params={"lang": "en"}).text
        assert "Not started (701)" in district  # the legend counts every village: 700 new ones and 500004
        mapped = re.search(r'<svg class="map".*?</svg>', district, flags=re.S).group(0)
        assert len(re.findall(r"<(circle|rect x|path)", mapped)) == 703


def test_pages_are_gzipped_for_clients_that_accept_it(citizen):
    r = citizen.get("/citizen/village/500001", headers={"accept-encoding": "gzip"})
    assert r.headers["content-encoding"] == "gzip" and "Accept-Encoding" in r.headers["vary"]
    assert int(r.headers["content-length"]) < len(r.content)  # sent compressed, read back whole
    plain = citizen.get("/citizen/village/500001", headers={"accept-encoding": "identity"})
    assert "content-encoding" not in plain.headers and plain.text == r.text
