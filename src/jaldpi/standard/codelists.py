"""Code lists of the data standard, loaded from the JSON files beside this module.

Each list carries its own semantic version. Within standard v1 a list may gain codes (minor version) or relabel
them (patch); removing or renaming a code needs a new standard version (see docs/standard.md).
"""

from __future__ import annotations

import functools
import json
from pathlib import Path
from typing import Any, Literal

CODELIST_DIR = Path(__file__).with_name("codelists")


@functools.cache
def all_codelists() -> dict[str, dict[str, Any]]:
    lists = {}
    for path in sorted(CODELIST_DIR.glob("*.json")):
        data = json.loads(path.read_text(encoding="utf-8"))
        lists[data["name"]] = data
    return lists


def codelist(name: str) -> dict[str, Any]:
    return all_codelists()[name]


def codes(name: str) -> tuple[str, ...]:
    return tuple(item["code"] for item in codelist(name)["items"])


def item(name: str, code: str) -> dict[str, Any]:
    for entry in codelist(name)["items"]:
        if entry["code"] == code:
            return entry
    raise KeyError(f"{code} not in code list {name}")


def literal(name: str) -> Any:
    """A ``Literal`` type of the list's codes, so schemas validate codes and publish them as a JSON Schema enum."""
    return Literal[codes(name)]  # type: ignore[valid-type]


def role_permissions() -> dict[str, frozenset[str]]:
    return {entry["code"]: frozenset(entry.get("permissions", ())) for entry in codelist("roles")["items"]}
