"""Message templates: ``templates/<template>.<language>.txt`` files, rendered with Jinja2 when a message is queued.

* The name is ``<package>_<event>`` (``grievances_received``); the language ``en`` or ``hi``. A missing Hindi file
  falls back to English, so a new template can ship in English first (docs/notifications.md, "Templates").
* An optional first line ``Subject: ...`` gives the subject (used by email; SMS and WhatsApp send the body only).
* Variables are strict (Jinja2 ``StrictUndefined``): a missing one is a :class:`ValidationFailed` naming it, never
  a message with a hole in it. Templates are plain text: nothing is HTML-escaped.
"""

from __future__ import annotations

import functools
import re
from pathlib import Path
from typing import Any

import jinja2

from jaldpi.core.errors import ValidationFailed

TEMPLATE_DIR = Path(__file__).resolve().parent / "templates"
LANGUAGES = ("en", "hi")
FALLBACK_LANGUAGE = "en"
_NAME = re.compile(r"^[a-z][a-z0-9_]{0,99}$")
_SUBJECT = "Subject:"


@functools.lru_cache(maxsize=1)
def _environment() -> jinja2.Environment:
    # auto_reload: a template file edited on a running node is picked up (the loader checks its modification time)
    return jinja2.Environment(loader=jinja2.FileSystemLoader(str(TEMPLATE_DIR)), undefined=jinja2.StrictUndefined,
                              autoescape=False, keep_trailing_newline=False, auto_reload=True)


def template_file(template: str, language: str) -> Path:
    """The file that renders ``template`` in ``language`` (Hindi falls back to English); ValidationFailed if none."""
    if not isinstance(template, str) or not _NAME.match(template):
        raise ValidationFailed(f"invalid template name {template!r}",
                               details=[{"field": "template", "problem": "lower-case letters, digits and _, "
                                         "e.g. grievances_received"}])
    if language not in LANGUAGES:
        raise ValidationFailed(f"unsupported language {language!r}",
                               details=[{"field": "language", "problem": f"one of {list(LANGUAGES)}"}])
    for lang in dict.fromkeys((language, FALLBACK_LANGUAGE)):
        path = TEMPLATE_DIR / f"{template}.{lang}.txt"
        if path.is_file():
            return path
    raise ValidationFailed(f"no template {template}",
                           details=[{"field": "template",
                                     "problem": f"no file {template}.{language}.txt or {template}.en.txt in "
                                     "jaldpi/notifications/templates"}])


def available() -> list[str]:
    """Names of the templates that have an English file."""
    return sorted(p.name[:-len(".en.txt")] for p in TEMPLATE_DIR.glob("*.en.txt"))


def render(template: str, language: str, context: dict[str, Any]) -> tuple[str | None, str]:
    """``(subject, body)`` of ``template`` in ``language`` with ``context``; subject is None without a Subject line."""
    path = template_file(template, language)
    try:
        text = _environment().get_template(path.name).render(**context)
    except jinja2.UndefinedError as exc:
        raise ValidationFailed(f"template {template}: {exc.message}",
                               details=[{"field": "context", "problem": exc.message or "undefined variable"}]) from exc
    except jinja2.TemplateError as exc:  # a broken template file is a bug of whoever shipped it: say which file
        raise ValidationFailed(f"template {path.name} cannot be rendered: {exc}",
                               details=[{"field": "template", "problem": str(exc)}]) from exc
    subject: str | None = None
    lines = text.strip().splitlines()
    if lines and lines[0].startswith(_SUBJECT):
        subject = lines[0][len(_SUBJECT):].strip() or None
        lines = lines[1:]
    body = "\n".join(lines).strip()
    if not body:
        raise ValidationFailed(f"template {template} rendered an empty body",
                               details=[{"field": "template", "problem": "empty body"}])
    return subject, body
