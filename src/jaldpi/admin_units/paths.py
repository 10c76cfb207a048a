"""Jurisdiction paths: ``/S28/D745/B4567/G123456/V654321/``.

A path is the chain of LGD units above and including a record's unit in the operational tree, each segment the
level's letter (code list ``lgd_levels``) followed by the LGD code. Letters matter because LGD codes are unique
only within a level. Every registry record carries the path of the unit it belongs to; grants are path prefixes.
"""

from __future__ import annotations

import functools
import re

from jaldpi.core.errors import ValidationFailed
from jaldpi.standard.codelists import codelist

# Which levels may sit directly under which (the operational tree, with gaps allowed where a level is unknown).
ALLOWED_PARENTS: dict[str, tuple[str, ...]] = {
    "state": (),
    "district": ("state",),
    "subdistrict": ("district",),
    "block": ("district",),
    "gram_panchayat": ("block", "district"),
    "village": ("gram_panchayat", "block", "subdistrict", "district"),
    "habitation": ("village",),
    "urban_local_body": ("district", "state"),
    "traditional_local_body": ("block", "district", "state"),
}


@functools.cache
def letters() -> dict[str, str]:
    return {i["code"]: i["path_letter"] for i in codelist("lgd_levels")["items"]}


@functools.cache
def levels_by_letter() -> dict[str, str]:
    return {v: k for k, v in letters().items()}


_SEGMENT = re.compile(r"^([A-Z])(\d+)$")


def segment(level: str, lgd_code: int) -> str:
    return f"{letters()[level]}{lgd_code}/"


def path_codes(path: str) -> dict[str, int | str]:
    """``/S28/D745/`` -> ``{"state": 28, "district": 745}``."""
    out: dict[str, int | str] = {}
    by_letter = levels_by_letter()
    for part in path.strip("/").split("/"):
        m = _SEGMENT.match(part)
        if m and m.group(1) in by_letter:
            out[by_letter[m.group(1)]] = int(m.group(2))
    return out


def parse_within(value: str) -> str:
    """``district:745`` or a path ``/S28/D745/`` -> a path prefix (validated)."""
    if value.startswith("/"):
        if not re.fullmatch(r"/(?:[A-Z]\d+/)*", value if value.endswith("/") else value + "/"):
            raise ValidationFailed("within: not a jurisdiction path", details=[{"field": "within",
                                   "problem": "expected /S28/D745/ or level:code"}])
        return value if value.endswith("/") else value + "/"
    level, _, code = value.partition(":")
    if level not in letters() or not code.isdigit():
        raise ValidationFailed("within: expected level:code such as district:745",
                               details=[{"field": "within", "problem": f"unknown level or code in {value!r}"}])
    return f"{letters()[level]}{int(code)}/"  # a segment: matched anywhere in the path by the caller


def common_prefix(paths: list[str]) -> str:
    """Longest common path prefix, on segment boundaries (the lowest common ancestor)."""
    if not paths:
        return "/"
    split = [p.strip("/").split("/") for p in paths]
    out = []
    for parts in zip(*split, strict=False):
        if all(p == parts[0] for p in parts):
            out.append(parts[0])
        else:
            break
    return "/" + "".join(f"{p}/" for p in out)
