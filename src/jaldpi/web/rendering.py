"""Rendering server-side pages: one Jinja2 environment (autoescaped), the language of the request, caching headers.

Every page of the Citizen Corner and the officials' pages goes through :func:`render`, which gives the template
``t`` (the translator: ``t("key")``, ``t.number(n)``, ``t.date(d)``, ``t.unit_name(name, name_local)``), ``lang``,
``other_language`` and ``switch_url`` (the language-switch link), and ``request``. When the request chose a
language with ``?lang=``, the choice is remembered in a cookie.
"""

from __future__ import annotations

import functools
import gzip

from jinja2 import Environment, PackageLoader, StrictUndefined
from starlette.requests import Request
from starlette.responses import HTMLResponse

from jaldpi.web.i18n import LANGUAGE_COOKIE, LANGUAGE_COOKIE_MAX_AGE, LANGUAGES, Translator, language_of, switch_url

STATIC_PREFIX = "/citizen/static"  # where the stylesheet is served (router.py)
# Pages are gzipped here rather than by a GZipMiddleware over the whole node (the API answers bulk JSON and has its
# own size rules). Measured on the test-world village page: 9.8 KB -> 2.3 KB (Hindi 13.4 KB -> 2.7 KB) at level 6
# in about 0.2 ms; below GZIP_MIN_BYTES the header overhead is not worth it.
GZIP_MIN_BYTES = 1024
GZIP_LEVEL = 6


@functools.cache
def environment() -> Environment:
    """The shared template environment; templates live in ``jaldpi/web/templates`` (package data)."""
    env = Environment(loader=PackageLoader("jaldpi.web", "templates"), autoescape=True,
                      undefined=StrictUndefined, trim_blocks=True, lstrip_blocks=True)
    env.globals["static"] = lambda name: f"{STATIC_PREFIX}/{name}"
    return env


def render(request: Request, template: str, context: dict | None = None, *, status_code: int = 200,
           cache_control: str | None = "public, max-age=300") -> HTMLResponse:
    """Render ``template`` for ``request`` in its language.

    ``cache_control``: the Cache-Control header; public pages pass the node's open-data cache time, pages for signed-in
    people pass ``"private, no-store"``. Responses vary by Cookie and Accept-Language since the language does,
    and are gzipped when the client accepts it.
    """
    language = language_of(request)
    other = next(code for code in LANGUAGES if code != language)
    values = {"request": request, "lang": language, "t": Translator(language), "other_language": other,
              "switch_url": switch_url(request, other)}
    values.update(context or {})
    body = environment().get_template(template).render(values).encode("utf-8")
    headers = {"Vary": "Cookie, Accept-Language, Accept-Encoding"}
    if len(body) >= GZIP_MIN_BYTES and "gzip" in request.headers.get("accept-encoding", ""):
        body = gzip.compress(body, GZIP_LEVEL)
        headers["Content-Encoding"] = "gzip"
    response = HTMLResponse(body, status_code=status_code, headers=headers)
    if cache_control:
        response.headers["Cache-Control"] = cache_control
    if request.query_params.get("lang") in LANGUAGES:
        response.set_cookie(LANGUAGE_COOKIE, language, max_age=LANGUAGE_COOKIE_MAX_AGE, httponly=True,
                            samesite="lax")
    return response
