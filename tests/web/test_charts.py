"""Server-side SVG: text alternatives, shapes per status, and a bounded map for many villages."""

from __future__ import annotations

import re

from jaldpi.web import charts

TONES = {"har_ghar_jal": "good", "in_progress": "partial", "not_started": "bad"}


def _markers(n: int, status_of) -> list[dict]:
    return [{"lon": 80 + (i % 100) * 0.001, "lat": 16 + (i // 100) * 0.001, "status": status_of(i), "name": f"V{i}",
             "lgd_code": 700000 + i} for i in range(n)]


def test_bar_chart_has_a_title_a_description_and_escapes_text():
    svg = charts.bar_chart("Villages <by> status", "Bar chart", [charts.Bar("Safe & sound", 3, "3", "good"),
                                                                 charts.Bar("Unsafe", None, "hidden", "bad")])
    assert 'role="img"' in svg and "<title" in svg and "<desc" in svg
    assert "Villages &lt;by&gt; status" in svg and "Safe &amp; sound" in svg and ">hidden</text>" in svg
    assert svg.count("<rect") == 2 and 'width="0"' in svg  # the bar without data is empty, not a fake value


def test_each_status_has_its_own_shape():
    svg, binned = charts.village_map("Map", "Villages", _markers(3, lambda i: list(TONES)[i]), TONES,
                                     max_markers=100)
    assert not binned
    assert len(re.findall("<circle", svg)) == 1 and len(re.findall("<rect x", svg)) == 1
    assert len(re.findall("<path", svg)) == 1


def test_a_map_of_many_villages_is_binned_and_stays_small():
    markers = _markers(20_000, lambda i: "har_ghar_jal" if i % 3 else "not_started")
    svg, binned = charts.village_map("Map", "Villages", markers, TONES, max_markers=1500)
    assert binned
    assert len(svg) < 120_000
    assert len(re.findall(r"<(circle|rect x|path)", svg)) <= 1500
