"""Languages of the web pages: English and Hindi message catalogs, Indian number format, readable dates.

The language of a request is, in order: ``?lang=hi|en`` (and then remembered in the ``jaldpi_lang`` cookie), the
cookie, the browser's ``Accept-Language`` (Hindi when it prefers ``hi``), else English. Every label on a page comes
from ``messages_<lang>.json`` in this package; a key missing from Hindi falls back to English, a key missing from
both is a programming error (``KeyError``, caught by the tests that render every page in both languages).
"""

from __future__ import annotations

import datetime as dt
import functools
import json
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from importlib import resources
from urllib.parse import urlencode

from starlette.requests import Request

LANGUAGES = ("en", "hi")
DEFAULT_LANGUAGE = "en"
LANGUAGE_COOKIE = "jaldpi_lang"
LANGUAGE_COOKIE_MAX_AGE = 365 * 24 * 3600  # seconds: a citizen's choice is remembered for a year

_MONTHS = {
    "en": ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"],
    "hi": ["जनवरी", "फ़रवरी", "मार्च", "अप्रैल", "मई", "जून", "जुलाई", "अगस्त", "सितंबर", "अक्टूबर", "नवंबर",
           "दिसंबर"],
}


@functools.cache
def catalog(language: str) -> dict[str, str]:
    """The message catalog of ``language`` (``messages_<language>.json`` shipped in this package)."""
    if language not in LANGUAGES:
        raise ValueError(f"unsupported language {language!r}; supported: {', '.join(LANGUAGES)}")
    text = resources.files("jaldpi.web").joinpath(f"messages_{language}.json").read_text(encoding="utf-8")
    return json.loads(text)


def language_of(request: Request) -> str:
    """The language to answer ``request`` in (query parameter, then cookie, then Accept-Language, then English)."""
    asked = request.query_params.get("lang")
    if asked in LANGUAGES:
        return asked
    remembered = request.cookies.get(LANGUAGE_COOKIE)
    if remembered in LANGUAGES:
        return remembered
    accept = request.headers.get("accept-language", "")
    first = accept.split(",")[0].split(";")[0].strip().lower()
    if first.startswith("hi"):
        return "hi"
    return DEFAULT_LANGUAGE


def indian_number(value: int | float | Decimal | None, digits: int = 0) -> str:
    """``value`` grouped the Indian way (lakh, crore): 1234567.5 -> "12,34,567.5" with ``digits`` decimals.

    ``None`` gives an empty string: callers show a "no data" text instead of a number they do not have.
    """
    if value is None:
        return ""
    quantum = Decimal(1).scaleb(-digits)
    rounded = Decimal(str(value)).quantize(quantum, rounding=ROUND_HALF_UP)
    sign = "-" if rounded < 0 else ""
    whole, _, fraction = f"{abs(rounded):f}".partition(".")
    if len(whole) > 3:
        head, tail = whole[:-3], whole[-3:]
        pairs = []
        while len(head) > 2:
            pairs.insert(0, head[-2:])
            head = head[:-2]
        if head:
            pairs.insert(0, head)
        whole = ",".join([*pairs, tail])
    return f"{sign}{whole}.{fraction}" if fraction else f"{sign}{whole}"


@dataclass(frozen=True)
class Translator:
    """Everything a template needs to speak one language: ``t(key, **values)``, numbers, dates, unit names."""

    language: str

    def __call__(self, key: str, **values: object) -> str:
        messages = catalog(self.language)
        text = messages.get(key)
        if text is None:
            text = catalog(DEFAULT_LANGUAGE)[key]  # a missing English key is a bug: let it raise
        return text.format(**values) if values else text

    def number(self, value: int | float | Decimal | None, digits: int = 0) -> str:
        return indian_number(value, digits)

    def date(self, value: dt.date | dt.datetime | str | None) -> str:
        """A readable date: "5 Mar 2025" / "5 मार्च 2025" (datetimes lose their time; ISO strings are parsed)."""
        if value is None or value == "":
            return ""
        if isinstance(value, str):
            value = dt.datetime.fromisoformat(value.replace("Z", "+00:00")) if "T" in value \
                else dt.date.fromisoformat(value[:10])
        return f"{value.day} {_MONTHS[self.language][value.month - 1]} {value.year}"

    def unit_name(self, name: str | None, name_local: str | None) -> str:
        """The name to show for an LGD unit: in Hindi its local-language name when that is written in Devanagari,
        else its (English) name. LGD's ``name_local`` is in the state's language: Telugu in Telangana, Tamil in
        Tamil Nadu; a Hindi page shows those states' units under their English names, not in a script the reader
        (and often the phone's fonts) may not have."""
        if self.language == "hi" and name_local and _is_devanagari(name_local):
            return name_local
        return name or ""


def _is_devanagari(text: str) -> bool:
    """Most letters of ``text`` are Devanagari (U+0900-U+097F)."""
    letters = [c for c in text if c.isalpha()]
    return bool(letters) and sum("\u0900" <= c <= "\u097f" for c in letters) * 2 > len(letters)


def switch_url(request: Request, language: str) -> str:
    """The current page's URL with ``lang`` set to ``language`` (the language-switch link)."""
    params = [(k, v) for k, v in request.query_params.multi_items() if k != "lang"]
    params.append(("lang", language))
    return f"{request.url.path}?{urlencode(params)}"
