"""Code lists of the data standard: the lists shipped as JSON beside this module, plus national extensions.

Each list carries its own semantic version. Within standard v1 a list may gain codes (minor version) or relabel
them (patch); removing or renaming a code needs a new standard version (see docs/standard.md).

**Extensions.** The national node adds codes to some lists at run time, as records of the ``codelist_entries``
registry (``standard/registry.py``); federation sync carries them to every state node. The *effective* list is the
shipped list followed by its extension codes. This module holds the entries of the node's database in a
process-wide overlay (one node per process: schemas are process-wide too) and every consumer reads through it:
schema validation (:func:`literal`), :func:`codes`, the published lists and JSON Schemas.

The overlay is (re)loaded

* at start-up of the app (the lifespan of ``standard.router``, which ``create_app`` includes) and on every
  publication request under ``/standard/v1/``;
* after the commit of a unit of work that wrote entries (:func:`refresh_after_commit`, the registry's
  ``on_written`` hook), so a rolled-back write never shows; and by the federation after it applies replicated
  entries (:func:`refresh_overlay`);
* on a miss: a code not in the effective list makes the node re-read the entries, at most once per
  ``reload_seconds`` (``JALDPI_CODELIST_RELOAD_SECONDS``), because another process (another server worker, a
  federation pull run from the command line) may have added it;
* on first need in command-line tools, whose database helper only binds it (:func:`bind_overlay`): their database
  may not be migrated yet (``jaldpi db upgrade``).

An entry is never removed from the overlay: v1 never removes a code. A soft-deleted entry is *deprecated*: still
accepted, published with ``"deprecated": true``.
"""

from __future__ import annotations

import datetime as dt
import functools
import json
import logging
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import GetCoreSchemaHandler, GetJsonSchemaHandler
from pydantic_core import PydanticKnownError, core_schema

CODELIST_DIR = Path(__file__).with_name("codelists")

log = logging.getLogger(__name__)

# Lists whose codes cannot be added at run time, and why. Lists whose items carry facts beyond a code and labels
# (a level's path letter, a component type's geometry, ...) are refused too (see extension_refusal): the node's rules
# read those facts, and an extension has none.
NOT_EXTENSIBLE: dict[str, str] = {
    "roles": "roles carry the permissions that decide what a caller may do; they change with a release "
             "(roles.json), never at run time",
    "lgd_levels": "levels carry the letters of every jurisdiction path and the LGD hierarchy",
    "sample_verdicts": "verdicts are computed by the node's IS 10500 evaluation, never entered",
    "village_wq_status": "village water-quality statuses are computed by the node, never entered",
    "test_kinds": "the IS 10500 evaluation and the confirmation workflow treat lab and field-kit results "
                  "differently; a new kind needs rules of its own, in a release",
}
PLAIN_ITEM_KEYS = frozenset({"code", "label", "description"})

DEFAULT_RELOAD_SECONDS = 30.0


# ---------------------------------------------------------------------------------------------------- shipped lists

@functools.cache
def all_codelists() -> dict[str, dict[str, Any]]:
    """The lists as shipped with this release (no extensions)."""
    lists = {}
    for path in sorted(CODELIST_DIR.glob("*.json")):
        data = json.loads(path.read_text(encoding="utf-8"))
        lists[data["name"]] = data
    return lists


def codelist(name: str) -> dict[str, Any]:
    """A list as shipped, with its list-specific facts (path letters, geometries, permissions...)."""
    return all_codelists()[name]


@functools.cache
def shipped_codes(name: str) -> tuple[str, ...]:
    return tuple(item["code"] for item in codelist(name)["items"])


@functools.cache
def _shipped_set(name: str) -> frozenset[str]:
    return frozenset(shipped_codes(name))


def item(name: str, code: str) -> dict[str, Any]:
    for entry in codelist(name)["items"]:
        if entry["code"] == code:
            return entry
    raise KeyError(f"{code} not in code list {name}")


def role_permissions() -> dict[str, frozenset[str]]:
    return {entry["code"]: frozenset(entry.get("permissions", ())) for entry in codelist("roles")["items"]}


@functools.cache
def extension_refusal(name: str) -> str | None:
    """Why codes cannot be added to list ``name`` at run time; None when they can (KeyError: no such list)."""
    items = codelist(name)["items"]
    if name in NOT_EXTENSIBLE:
        return f"code list {name} cannot be extended at run time: {NOT_EXTENSIBLE[name]}"
    facts = sorted({key for i in items for key in i} - PLAIN_ITEM_KEYS)
    if facts:
        return (f"code list {name} cannot be extended at run time: its items carry {', '.join(facts)}, which the "
                "node's rules read, while an extension has only a code and labels; it changes with a release")
    return None


def extensible_codelists() -> list[str]:
    return [name for name in all_codelists() if extension_refusal(name) is None]


# ---------------------------------------------------------------------------------------------------- the overlay

@dataclass(frozen=True)
class Extension:
    """A code added to a list at run time (a ``codelist_entries`` record), as published."""

    codelist: str
    code: str  # the entry's value: the code records carry
    label: dict[str, str]
    description: str | None
    entry: str  # the entry's record code, "<codelist>:<value>"
    added_by: str | None  # source system of the entry: the node (or system) that added it
    added_at: str | None  # ISO 8601 instant
    edits: int  # changes since it was added (relabels, deprecations, restorations): the entry's version - 1
    deprecated: bool  # soft-deleted: still accepted (v1 never removes a code), no longer offered

    def as_item(self) -> dict[str, Any]:
        out: dict[str, Any] = {"code": self.code, "label": dict(self.label)}
        if self.description:
            out["description"] = self.description
        out.update({"extension": True, "added_by": self.added_by, "added_at": self.added_at, "entry": self.entry})
        if self.deprecated:
            out["deprecated"] = True
        return out


@dataclass
class _Overlay:
    by_list: dict[str, tuple[Extension, ...]] = field(default_factory=dict)
    codes: dict[str, frozenset[str]] = field(default_factory=dict)
    generation: int = 0  # moves on whenever the effective lists change: caches of schemas key on it
    source: Any = None  # the Engine entries are read from (for reloads on a miss); None: never reload
    loaded_at: float = float("-inf")  # time.monotonic() of the last load
    reload_seconds: float = DEFAULT_RELOAD_SECONDS
    lock: threading.Lock = field(default_factory=threading.Lock)

    def install(self, entries: list[Extension], source: Any) -> None:
        by_list: dict[str, list[Extension]] = {}
        for entry in entries:
            by_list.setdefault(entry.codelist, []).append(entry)
        frozen = {name: tuple(items) for name, items in by_list.items()}
        if frozen != self.by_list:
            # readers take self.by_list / self.codes without the lock: replace, never mutate
            self.codes = {name: frozenset(e.code for e in items) for name, items in frozen.items()}
            self.by_list = frozen
            self.generation += 1
        self.source = source
        self.loaded_at = time.monotonic()


_overlay = _Overlay()


def _entries_query():
    from sqlalchemy import select

    from jaldpi.standard.models import CodelistEntry

    t = CodelistEntry.__table__
    # by id: UUIDv7 ids are minted by the node that adds an entry and replicated, so every node lists the same order
    return select(t.c.codelist, t.c.value, t.c.label, t.c.description, t.c.code, t.c.source_system,
                  t.c.created_at, t.c.version, t.c.deleted_at).order_by(t.c.id)


def _extension(row: Any) -> Extension:
    created = row.created_at
    if created is not None and created.tzinfo is None:  # SQLite hands back naive UTC
        created = created.replace(tzinfo=dt.UTC)
    return Extension(codelist=row.codelist, code=row.value, label=dict(row.label or {}), description=row.description,
                     entry=row.code, added_by=row.source_system,
                     added_at=created.isoformat() if created is not None else None, edits=max(0, row.version - 1),
                     deprecated=row.deleted_at is not None)


def load_overlay(session: Any) -> int:
    """Read every extension entry through ``session`` (inside its transaction) into the overlay; returns how many.

    Binds the overlay to the session's engine, for reloads on a miss.
    """
    entries = [_extension(row) for row in session.execute(_entries_query())]
    with _overlay.lock:
        _overlay.install(entries, session.get_bind())
    return len(entries)


def refresh_overlay(db: Any, *, reload_seconds: float | None = None) -> int:
    """Reload the overlay from ``db`` (a :class:`~jaldpi.core.db.Database` or an Engine) in a connection of its own.

    For start-up, and for code that wrote entries outside a registry import (federation replicas) once it has
    committed. ``reload_seconds`` sets how often a miss may reload (the node's ``codelist_reload_seconds``).
    """
    engine = getattr(db, "engine", db)
    with _overlay.lock:
        if reload_seconds is not None:
            _overlay.reload_seconds = reload_seconds
        return _reload(engine)


def bind_overlay(db: Any, *, reload_seconds: float | None = None) -> None:
    """Name the database the overlay reads, without reading it yet: the first need loads it (command-line tools,
    whose database may not be migrated yet, as for ``jaldpi db upgrade``)."""
    with _overlay.lock:
        _overlay.source = getattr(db, "engine", db)
        _overlay.loaded_at = float("-inf")
        if reload_seconds is not None:
            _overlay.reload_seconds = reload_seconds


def _reload(engine: Any) -> int:
    """Read and install the entries (the caller holds the lock)."""
    with engine.connect() as conn:
        entries = [_extension(row) for row in conn.execute(_entries_query())]
    _overlay.install(entries, engine)
    return len(entries)


def _reload_if_older_than(seconds: float) -> bool:
    """Reload if the overlay is bound and was loaded more than ``seconds`` ago (or never); True if it was reloaded.

    Never waits: a thread that finds another one reloading answers from the overlay as it is (a request holding a
    pooled connection must not queue behind the lock for a second one).
    """
    if _overlay.source is None or time.monotonic() - _overlay.loaded_at < seconds:
        return False
    if not _overlay.lock.acquire(blocking=False):
        return False
    try:
        if time.monotonic() - _overlay.loaded_at < seconds:
            return False
        try:
            _reload(_overlay.source)
        except Exception as exc:  # noqa: BLE001 - a validation must not fail because the reload failed
            _overlay.loaded_at = time.monotonic()  # and a broken database must not be hammered once per miss
            log.warning("could not reload code-list extensions: %s", exc)
            return False
        return True
    finally:
        _overlay.lock.release()


_REFRESH_PENDING = "codelist_overlay_refresh"


def refresh_after_commit(session: Any) -> None:
    """Reload the overlay once ``session`` commits (entries were written in it); nothing if it rolls back."""
    if session.info.get(_REFRESH_PENDING):
        return
    from sqlalchemy import event

    session.info[_REFRESH_PENDING] = True
    engine = session.get_bind()

    def _after_commit(committed: Any) -> None:
        # after_commit fires for savepoints too (every import runs in one): only the outermost commit makes the
        # entries visible to other connections
        if committed.get_nested_transaction() is not None or not committed.info.pop(_REFRESH_PENDING, False):
            return
        try:
            refresh_overlay(engine)
        except Exception as exc:  # noqa: BLE001 - the write is committed; its answer must not turn into an error
            _overlay.loaded_at = float("-inf")  # the next miss reloads
            log.warning("could not reload code-list extensions after a write: %s", exc)

    event.listen(session, "after_commit", _after_commit)


def reset_overlay() -> None:
    """Forget every extension and the database binding (tests: a fresh process)."""
    with _overlay.lock:
        _overlay.install([], None)
        _overlay.loaded_at = float("-inf")
        _overlay.reload_seconds = DEFAULT_RELOAD_SECONDS


def overlay_generation() -> int:
    return _overlay.generation


# ---------------------------------------------------------------------------------------------------- effective lists

def extensions(name: str) -> tuple[Extension, ...]:
    if extension_refusal(name) is not None:
        return ()
    _reload_if_older_than(float("inf"))  # bound but never loaded (bind_overlay): load now
    return _overlay.by_list.get(name, ())


def effective_codes(name: str) -> tuple[str, ...]:
    """The codes this node accepts in list ``name``: shipped, then added (deprecated ones included)."""
    shipped = shipped_codes(name)
    return shipped + tuple(e.code for e in extensions(name) if e.code not in shipped)


def codes(name: str) -> tuple[str, ...]:
    """The codes this node accepts now (:func:`effective_codes`); :func:`shipped_codes` for the release's."""
    return effective_codes(name)


def effective_version(name: str) -> str:
    """The shipped version with the minor number raised by the list's extension codes and the patch number by their
    later edits (relabels, deprecations): every change moves it on, and nothing moves it back."""
    major, minor, patch = (int(p) for p in codelist(name)["version"].split("."))
    added = extensions(name)
    return f"{major}.{minor + len(added)}.{patch + sum(e.edits for e in added)}"


def effective_codelist(name: str) -> dict[str, Any]:
    """A list as published: the shipped list, its extension items appended (marked ``"extension": true``)."""
    shipped = codelist(name)
    added = extensions(name)
    shipped_set = set(shipped_codes(name))
    return {**shipped, "version": effective_version(name), "shipped_version": shipped["version"],
            "extensions": len(added),
            "items": list(shipped["items"]) + [e.as_item() for e in added if e.code not in shipped_set]}


def effective_codelists() -> dict[str, dict[str, Any]]:
    return {name: effective_codelist(name) for name in all_codelists()}


def accepts(name: str, value: str) -> bool:
    """Is ``value`` a code of list ``name`` on this node? A miss on an extensible list may reload the overlay."""
    if value in _shipped_set(name) or value in _overlay.codes.get(name, ()):
        return True
    if extension_refusal(name) is None and _reload_if_older_than(_overlay.reload_seconds):
        return value in _overlay.codes.get(name, ())
    return False


def _expected(name: str) -> str:
    """``a code of genders: 'female', 'male' or 'other'`` (the wording of pydantic's Literal errors)."""
    quoted = [repr(c) for c in effective_codes(name)]
    listed = quoted[0] if len(quoted) == 1 else f"{', '.join(quoted[:-1])} or {quoted[-1]}"
    return f"a code of {name}: {listed}"


@functools.cache
def literal(name: str) -> type[str]:
    """The type of a field holding a code of list ``name``.

    Validation accepts the effective codes at the time of validation (shipped + extensions); a refusal keeps
    pydantic's ``literal_error`` type and names the list and its codes. The JSON Schema is ``{"type": "string",
    "enum": [...]}`` with the effective codes when the schema is generated (published schemas key their caches on
    :func:`overlay_generation`). A type (a ``str`` subclass), not ``Annotated`` metadata, so that it survives where
    a field's annotation is copied (record models of the API).
    """
    codelist(name)  # an unknown list fails at import, as Literal[codes(name)] did

    def check(value: str) -> str:
        if accepts(name, value):
            return value
        raise PydanticKnownError("literal_error", {"expected": _expected(name)})

    class Code(str):
        __codelist__ = name

        @classmethod
        def __get_pydantic_core_schema__(cls, _source: Any, _handler: GetCoreSchemaHandler) -> Any:
            return core_schema.no_info_after_validator_function(check, core_schema.str_schema())

        @classmethod
        def __get_pydantic_json_schema__(cls, _schema: Any, _handler: GetJsonSchemaHandler) -> dict[str, Any]:
            return {"type": "string", "enum": list(effective_codes(name))}

    Code.__name__ = Code.__qualname__ = "".join(part.title() for part in name.split("_")) + "Code"
    return Code
