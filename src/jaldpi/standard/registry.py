"""The ``codelist_entries`` registry: codes the national node adds to shipped code lists at run time.

Entries are national records (``lgd_path`` ``/``): only a grant over the whole country with ``standard:write``
(node administrators of the national node) adds or relabels them, and federation sync replicates them to every
state node, where the federation's ownership guard refuses local changes. Every write reloads the code-list overlay
once its unit of work commits (``codelists.refresh_after_commit``), so the new code validates at once on this node.

Rules (docs/standard.md, "Code-list extensions"): the list must exist and be extensible; the value must not be a
shipped code, must be snake_case and must fit every column that stores codes of the list; an entry's codelist and
value never change (relabel instead); a duplicate of an added code is ``already_exists`` (matched on codelist and
value). A delete deprecates the code: v1 never removes one.
"""

from __future__ import annotations

import functools
import typing
from typing import Any

from sqlalchemy.orm import Session

from jaldpi.core.registry import Catalogue, Filter, RegistrySpec
from jaldpi.core.security import Principal
from jaldpi.standard.codelists import all_codelists, extension_refusal, refresh_after_commit, shipped_codes
from jaldpi.standard.models import CodelistEntry
from jaldpi.standard.schemas import CodelistEntryIn

NAME = "codelist_entries"


def national_path(_data: dict[str, Any], _resolved: dict[str, Any]) -> str:
    """Code lists are the national standard: every entry belongs to the whole country."""
    return "/"


def entry_code(data: dict[str, Any], _resolved: dict[str, Any] | None = None) -> str:
    return f"{data['codelist']}:{data['value']}"


def _codelists_of(annotation: Any) -> set[str]:
    """Names of the code lists whose codes a field annotation holds (``literal(name)`` types, inside unions)."""
    name = getattr(annotation, "__codelist__", None)
    if name is not None:
        return {name}
    found: set[str] = set()
    for arg in typing.get_args(annotation):
        found |= _codelists_of(arg)
    return found


def storage_limits(catalogue: Catalogue) -> dict[str, list[tuple[str, int]]]:
    """List name -> [(``table.column``, length)] of the registry columns that store its codes in a VARCHAR(n).

    A shipped code fits its columns by design; an added one must too (PostgreSQL refuses a longer string).
    """
    limits: dict[str, list[tuple[str, int]]] = {}
    for registry in catalogue.registries.values():
        for field_name, info in registry.spec.schema.model_fields.items():
            column = registry.table.c.get(field_name)
            length = getattr(column.type, "length", None) if column is not None else None
            if length is None:
                continue
            for name in _codelists_of(info.annotation):
                limits.setdefault(name, []).append((f"{registry.table.name}.{field_name}", length))
    return limits


def make_rules(catalogue: Catalogue):
    @functools.cache
    def limits() -> dict[str, list[tuple[str, int]]]:
        return storage_limits(catalogue)  # on first use: every registry is in the catalogue by then

    def rules(data: dict[str, Any]) -> list[tuple[str, str]]:
        name, value, old = data["codelist"], data["value"], data.get("_old")
        if old is not None:
            # the creation rules held when the entry was added; what may not change is the code itself
            return [(f, f"the {f} of entry {old['code']} is '{old[f]}' and never changes once added (relabel it, "
                        "or add a new entry)") for f in ("codelist", "value") if old[f] != data[f]]
        if name not in all_codelists():
            return [("codelist", f"unknown code list '{name}'; known: {', '.join(sorted(all_codelists()))}")]
        refusal = extension_refusal(name)
        if refusal:
            return [("codelist", refusal)]
        problems = []
        if value in shipped_codes(name):
            problems.append(("value", f"'{value}' is already a code of {name} (shipped with the standard, list "
                             f"version {all_codelists()[name]['version']})"))
        for column, length in limits().get(name, ()):
            if len(value) > length:
                problems.append(("value", f"'{value}' has {len(value)} characters; codes of {name} are stored in "
                                 f"{column}, which holds at most {length}"))
        return problems

    return rules


def after_written(session: Session, _principal: Principal, _rows: list[tuple[str, dict[str, Any]]]) -> None:
    refresh_after_commit(session)


def spec(catalogue: Catalogue) -> RegistrySpec:
    return RegistrySpec(
        name=NAME,
        title="code-list entry",
        table=CodelistEntry.__table__,
        schema=CodelistEntryIn,
        code_prefix="CLE",
        derive_path=national_path,
        mint_code=entry_code,
        identity_keys=("codelist", "value"),
        filters={"codelist": Filter("codelist", str, "the extended code list")},
        search_column="value",
        public_read=True,
        write_permission="standard:write",
        validate_row=make_rules(catalogue),
        on_written=after_written,
    )
