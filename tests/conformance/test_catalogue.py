"""The catalogue: stable, well-formed ids, one check per requirement, sources that exist, docs in sync; and the kit
stays independent of the server side (it must judge a state's own system exactly as it judges jaldpi)."""

from __future__ import annotations

import ast
import re
import uuid
from pathlib import Path

import pytest

from jaldpi.conformance import CATALOGUE, Level
from jaldpi.conformance.checks import all_checks
from jaldpi.conformance.context import uuid7
from jaldpi.conformance.http import error_shape_problem
from jaldpi.conformance.report import catalogue_markdown

ROOT = Path(__file__).resolve().parents[2]
KIT = ROOT / "src" / "jaldpi" / "conformance"
DOCS = ROOT / "docs"


def test_ids_are_unique_and_well_formed():
    ids = [r.id for r in CATALOGUE]
    assert len(ids) == len(set(ids))
    for r in CATALOGUE:
        assert re.fullmatch(r"(STD|API|ERR|AUTH|PAGE|REG|IMP|JUR|FEED)-\d{3}", r.id), r.id
        assert r.level in (Level.MUST, Level.SHOULD)
        assert r.statement.endswith(".") and "\n" not in r.statement, r.id
        if r.needs_narrow:
            assert r.needs_credential, r.id


def test_every_requirement_has_exactly_one_check():
    assert set(all_checks()) == {r.id for r in CATALOGUE}


def _anchors(markdown: str) -> set[str]:
    anchors = set()
    for line in markdown.splitlines():
        if line.startswith("#"):
            title = line.lstrip("#").strip().lower()
            anchors.add(re.sub(r"[^a-z0-9 _-]", "", title).replace(" ", "-"))
    return anchors


@pytest.mark.parametrize("source", sorted({r.source for r in CATALOGUE}))
def test_sources_name_a_section_of_the_docs(source):
    name, _, anchor = source.partition("#")
    path = DOCS / name
    assert anchor in _anchors(path.read_text(encoding="utf-8")), f"no section #{anchor} in docs/{name}"


def test_docs_carry_the_catalogue_table():
    text = (DOCS / "conformance.md").read_text(encoding="utf-8")
    block = re.search(r"<!-- catalogue:start -->\n(.*?)<!-- catalogue:end -->", text, re.S)
    assert block, "docs/conformance.md lacks the catalogue markers"
    assert block.group(1) == catalogue_markdown(), "regenerate with `jaldpi conformance list --markdown`"


def test_the_kit_imports_nothing_from_the_server_side():
    for path in KIT.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            names = []
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module:
                names = [node.module]
            for name in names:
                if name == "jaldpi" or name.startswith("jaldpi."):
                    assert name.startswith("jaldpi.conformance"), f"{path.name} imports {name}"


def test_client_minted_ids_are_uuid7_and_time_ordered():
    first, second = uuid7(), uuid7()
    for value in (first, second):
        parsed = uuid.UUID(value)
        assert parsed.version == 7 and parsed.variant == uuid.RFC_4122
    assert first[:13] <= second[:13]  # the millisecond timestamp leads


@pytest.mark.parametrize(("body", "problem"), [
    ({"error": {"code": "not_found", "message": "no such record", "details": []}}, None),
    ({"detail": "Not Found"}, "got top-level ['detail']"),
    ({"error": "invalid_grant"}, "expected error to be an object"),
    ({"error": {"code": "x", "message": "m"}}, "lacks details"),
    ({"error": {"code": "x", "message": "m", "details": [{"field": "a"}]}}, "lacks field or problem"),
])
def test_error_shape_problems_are_named(body, problem):
    found = error_shape_problem(body)
    assert (found is None) if problem is None else (problem in found)
