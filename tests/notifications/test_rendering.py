"""Templates: files per language, Hindi falling back to English, strict variables, Subject lines."""

from __future__ import annotations

import pytest

from jaldpi.core.errors import ValidationFailed
from jaldpi.notifications import rendering
from jaldpi.notifications.service import render


def test_english_and_hindi_render_with_subject_line():
    subject, body = render("notifications_test", "en", {"node": "ap-node"})
    assert subject == "jaldpi test message from ap-node"
    assert body.startswith("This is a test message from the Jal Jeevan Mission node ap-node.")
    assert "Subject:" not in body
    subject_hi, body_hi = render("notifications_test", "hi", {"node": "ap-node"})
    assert subject_hi == "ap-node से jaldpi परीक्षण संदेश"
    assert "जल जीवन मिशन" in body_hi


def test_missing_hindi_falls_back_to_english(tmp_path, monkeypatch):
    (tmp_path / "demo_event.en.txt").write_text("Tap {{ code }} repaired.\n", encoding="utf-8")
    monkeypatch.setattr(rendering, "TEMPLATE_DIR", tmp_path)
    rendering._environment.cache_clear()
    try:
        assert render("demo_event", "hi", {"code": "GRV-1"}) == (None, "Tap GRV-1 repaired.")
        assert rendering.available() == ["demo_event"]
    finally:
        rendering._environment.cache_clear()


@pytest.mark.parametrize(("template", "language", "context", "field", "words"), [
    ("notifications_test", "en", {}, "context", "'node' is undefined"),
    ("no_such_template", "en", {}, "template", "no file no_such_template.en.txt"),
    ("../secrets", "en", {}, "template", "lower-case letters"),
    ("notifications_test", "ta", {"node": "x"}, "language", "one of"),
])
def test_render_refusals_name_the_problem(template, language, context, field, words):
    with pytest.raises(ValidationFailed) as caught:
        render(template, language, context)
    detail = caught.value.details[0]
    assert detail["field"] == field and words in (caught.value.message + detail["problem"])


def test_every_shipped_template_has_english_and_real_hindi():
    for name in rendering.available():
        hindi = rendering.TEMPLATE_DIR / f"{name}.hi.txt"
        if hindi.exists():
            text = hindi.read_text(encoding="utf-8")
            assert any("\u0900" <= ch <= "\u097f" for ch in text), f"{hindi.name} has no Devanagari"
