"""Static accessibility checks: the palette's contrast (WCAG 2.1 >= 4.5:1 for text), focus styles, chart text."""

from __future__ import annotations

import re
from importlib import resources

from jaldpi.web import charts

CSS = resources.files("jaldpi.web").joinpath("static", "site.css").read_text(encoding="utf-8")


def _luminance(colour: str) -> float:
    channels = [int(colour[i:i + 2], 16) / 255 for i in (1, 3, 5)]
    r, g, b = [c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def contrast(a: str, b: str) -> float:
    hi, lo = sorted((_luminance(a), _luminance(b)), reverse=True)
    return (hi + 0.05) / (lo + 0.05)


PALETTE = dict(re.findall(r"--([a-z]+): (#[0-9a-f]{6});", CSS))


def test_text_colours_meet_wcag_aa_on_their_backgrounds():
    pairs = [("ink", "paper"), ("ink", "panel"), ("link", "paper"), ("link", "panel"), ("paper", "bar"),
             ("ink", "focus"), ("muted", "paper"), ("muted", "panel")]
    pairs += [(tone, "paper") for tone in ("good", "partial", "bad", "unknown")]  # badges: white on the tone
    for fg, bg in pairs:
        assert contrast(PALETTE[fg], PALETTE[bg]) >= 4.5, (fg, bg, round(contrast(PALETTE[fg], PALETTE[bg]), 2))


def test_charts_use_the_palette_and_ink_is_readable_on_white():
    for tone in ("good", "partial", "bad", "unknown"):
        assert charts.COLOURS[tone] == PALETTE[tone]
    assert contrast(charts.COLOURS["ink"], "#ffffff") >= 4.5


def test_focus_is_visible_and_a_skip_link_exists():
    assert re.search(r"a:focus-visible[^{]*\{[^}]*outline: 3px solid var\(--focus\)", CSS)
    assert ".skip:focus" in CSS
