"""Server-side SVG charts and the village map: small inline SVG, no scripts, readable without colour.

Every chart has ``role="img"``, a ``<title>`` and a ``<desc>`` (its text alternative), and the pages put the same
numbers in a table for screen readers. Colours are the palette of ``static/site.css`` (contrast ratios there);
status is also carried by the marker's shape and by the words of the legend, never by colour alone.
Coordinates are rounded to one decimal place of a pixel to keep the markup small (page weight under 200 KB).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Any

from markupsafe import Markup, escape

COLOURS = {"good": "#1b6e20", "partial": "#8a4b00", "bad": "#b00020", "unknown": "#595959", "bar": "#0a4f8a",
           "ink": "#1a1a1a", "grid": "#c8d1da"}
SHAPES = ("circle", "square", "triangle", "diamond")  # one per status tone, in the order of TONES
TONES = ("good", "partial", "bad", "unknown")

def _n(value: float) -> str:
    text = f"{value:.1f}"
    return text[:-2] if text.endswith(".0") else text


def _heading(title: str, desc: str, kind: str) -> tuple[str, str]:
    """The <title>/<desc> of a chart and the id they are referenced by: derived from their text so that the same
    page renders byte for byte the same (stable ETags and caches) and two charts of one page do not collide."""
    uid = hashlib.blake2s(f"{kind}|{title}|{desc}".encode(), digest_size=4).hexdigest()
    return (f"chart{uid}", f'<title id="chart{uid}t">{escape(title)}</title><desc id="chart{uid}d">{escape(desc)}'
                           "</desc>")


@dataclass(frozen=True)
class Bar:
    label: str
    value: float | None  # None: no data (drawn as an empty bar with the text given in ``shown``)
    shown: str  # the value as the page writes it (Indian grouping, units, "suppressed")
    tone: str = "bar"  # a key of COLOURS


def bar_chart(title: str, desc: str, bars: list[Bar], *, maximum: float | None = None, width: int = 560) -> Markup:
    """Horizontal bars, one row per bar, the label on the left and the value written at the end of the bar."""
    row, label_w, gap = 26, 190, 6
    height = row * len(bars) + gap
    top = maximum if maximum is not None else max([b.value or 0 for b in bars] + [1])
    span = width - label_w - 90
    uid, head = _heading(title, desc, "bar")
    parts = [f'<svg class="chart" role="img" aria-labelledby="{uid}t {uid}d" viewBox="0 0 {width} {height}" '
             f'xmlns="http://www.w3.org/2000/svg" font-size="13" font-family="sans-serif">{head}']
    for i, b in enumerate(bars):
        y = gap + i * row
        w = 0 if not b.value or top <= 0 else max(1.0, span * b.value / top)
        parts.append(f'<text x="{label_w - 6}" y="{y + 15}" text-anchor="end" fill="{COLOURS["ink"]}">'
                     f"{escape(b.label)}</text>")
        parts.append(f'<rect x="{label_w}" y="{y}" width="{_n(w)}" height="{row - 8}" '
                     f'fill="{COLOURS.get(b.tone, COLOURS["bar"])}"/>')
        parts.append(f'<text x="{_n(label_w + w + 6)}" y="{y + 15}" fill="{COLOURS["ink"]}">{escape(b.shown)}</text>')
    parts.append("</svg>")
    return Markup("".join(parts))


def daily_chart(title: str, desc: str, days: list[dict[str, Any]], norm: float, *, labels: dict[str, str],
                width: int = 600, height: int = 180) -> Markup:
    """Litres per person per day over the window: a column per day (hatched grey when nothing was supplied), and
    the norm as a dashed line. ``labels``: ``norm`` (text at the line), ``first``/``last`` (dates on the axis)."""
    left, right, top_pad, bottom = 40, 8, 10, 24
    values = [d["lpcd"] or 0 for d in days]
    top = max(values + [norm * 1.25])
    plot_w, plot_h = width - left - right, height - top_pad - bottom
    step = plot_w / max(1, len(days))
    uid, head = _heading(title, desc, "daily")

    def y_of(v: float) -> float:
        return top_pad + plot_h * (1 - v / top)

    parts = [f'<svg class="chart" role="img" aria-labelledby="{uid}t {uid}d" viewBox="0 0 {width} {height}" '
             f'xmlns="http://www.w3.org/2000/svg" font-size="11" font-family="sans-serif">{head}',
             f'<line x1="{left}" y1="{_n(top_pad + plot_h)}" x2="{width - right}" y2="{_n(top_pad + plot_h)}" '
             f'stroke="{COLOURS["ink"]}"/>',
             f'<text x="{left - 4}" y="{_n(y_of(0) + 4)}" text-anchor="end">0</text>',
             f'<text x="{left - 4}" y="{_n(y_of(top) + 8)}" text-anchor="end">{int(top)}</text>']
    for i, day in enumerate(days):
        x = left + i * step + 1
        if day["supplied"] and day["lpcd"]:
            tone = "good" if day["lpcd"] >= norm else "partial"
            parts.append(f'<rect x="{_n(x)}" y="{_n(y_of(day["lpcd"]))}" width="{_n(step - 2)}" '
                         f'height="{_n(plot_h * day["lpcd"] / top)}" fill="{COLOURS[tone]}"/>')
        elif not day["supplied"]:  # a short grey tick marks a day without supply (or without a record)
            parts.append(f'<rect x="{_n(x)}" y="{_n(top_pad + plot_h - 4)}" width="{_n(step - 2)}" height="4" '
                         f'fill="{COLOURS["unknown"]}"/>')
    y = y_of(norm)
    parts.append(f'<line x1="{left}" y1="{_n(y)}" x2="{width - right}" y2="{_n(y)}" stroke="{COLOURS["bad"]}" '
                 'stroke-dasharray="6 4" stroke-width="2"/>')
    parts.append(f'<text x="{width - right}" y="{_n(y - 4)}" text-anchor="end" fill="{COLOURS["bad"]}">'
                 f'{escape(labels["norm"])}</text>')
    parts.append(f'<text x="{left}" y="{height - 6}">{escape(labels["first"])}</text>')
    parts.append(f'<text x="{width - right}" y="{height - 6}" text-anchor="end">{escape(labels["last"])}</text>')
    parts.append("</svg>")
    return Markup("".join(parts))


def marker(shape: str, x: float, y: float, r: float, colour: str) -> str:
    """One map marker; the shape tells the status apart without colour."""
    if shape == "circle":
        return f'<circle cx="{_n(x)}" cy="{_n(y)}" r="{_n(r)}" fill="{colour}"/>'
    if shape == "square":
        return f'<rect x="{_n(x - r)}" y="{_n(y - r)}" width="{_n(2 * r)}" height="{_n(2 * r)}" fill="{colour}"/>'
    if shape == "triangle":
        return (f'<path d="M{_n(x)} {_n(y - r * 1.2)}L{_n(x + r * 1.1)} {_n(y + r * 0.9)}'
                f'H{_n(x - r * 1.1)}Z" fill="{colour}"/>')
    return f'<path d="M{_n(x)} {_n(y - r * 1.3)}L{_n(x + r)} {_n(y)}L{_n(x)} {_n(y + r * 1.3)}L{_n(x - r)} {_n(y)}Z" ' \
           f'fill="{colour}"/>'


def legend_swatch(tone: str) -> Markup:
    """A small SVG of the marker of ``tone`` for the legend (decorative: the legend's words carry the meaning)."""
    shape = SHAPES[TONES.index(tone)]
    return Markup(f'<svg width="16" height="16" viewBox="0 0 16 16" aria-hidden="true" focusable="false">'
                  f'{marker(shape, 8, 8, 5, COLOURS[tone])}</svg>')


def village_map(title: str, desc: str, markers: list[dict[str, Any]], tone_of: dict[str, str], *,
                max_markers: int, size: int = 480) -> tuple[Markup, bool]:
    """An SVG scatter of villages at their centroids (equirectangular, scaled to fit), one marker per village
    shaped and coloured by its status tone; with more than ``max_markers`` villages, the villages are binned into
    a grid and each cell shows the status most of its villages have (returned flag: True when binned)."""
    uid, head = _heading(title, desc, "map")
    open_tag = (f'<svg class="map" role="img" aria-labelledby="{uid}t {uid}d" viewBox="0 0 {size} {size}" '
                f'xmlns="http://www.w3.org/2000/svg">{head}')
    if not markers:
        return Markup(open_tag + "</svg>"), False
    lons, lats = [m["lon"] for m in markers], [m["lat"] for m in markers]
    west, east, south, north = min(lons), max(lons), min(lats), max(lats)
    span = max(east - west, north - south, 1e-6)
    pad = 12

    def xy(lon: float, lat: float) -> tuple[float, float]:
        return pad + (lon - west) / span * (size - 2 * pad), pad + (north - lat) / span * (size - 2 * pad)

    parts = [open_tag, f'<rect width="{size}" height="{size}" fill="#ffffff"/>']
    binned = len(markers) > max_markers
    if binned:
        cells = int(max_markers ** 0.5)
        groups: dict[tuple[int, int], dict[str, int]] = {}
        for m in markers:
            x, y = xy(m["lon"], m["lat"])
            key = (int(x * cells / size), int(y * cells / size))
            tones = groups.setdefault(key, {})
            tone = tone_of.get(m["status"], "unknown")
            tones[tone] = tones.get(tone, 0) + 1
        cell = size / cells
        for (cx, cy), tones in sorted(groups.items()):
            tone = max(tones, key=lambda t: (tones[t], -TONES.index(t)))
            parts.append(marker(SHAPES[TONES.index(tone)], (cx + .5) * cell, (cy + .5) * cell, cell * .4,
                                COLOURS[tone]))
    else:
        radius = 5 if len(markers) < 200 else 3.5
        for m in sorted(markers, key=lambda m: m["lgd_code"]):
            tone = tone_of.get(m["status"], "unknown")
            x, y = xy(m["lon"], m["lat"])
            parts.append(marker(SHAPES[TONES.index(tone)], x, y, radius, COLOURS[tone]))
    parts.append("</svg>")
    return Markup("".join(parts)), binned
