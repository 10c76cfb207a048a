"""Where a feed consumer keeps its position: a cursor per consumer name, stored durably.

A cursor store has two methods, ``load(name) -> cursor | None`` and ``save(name, cursor)`` (:class:`CursorStore`);
plug in your own (a row in your database, a key in Redis) by writing a class with those two methods. ``save`` must
be durable when it returns: the consumer calls it only after your handler has processed the changes up to that
cursor, and a cursor lost in a crash only means changes are delivered again (at least once), never skipped.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import sqlite3
import tempfile
import threading
from pathlib import Path
from typing import Protocol, runtime_checkable


@runtime_checkable
class CursorStore(Protocol):
    def load(self, name: str) -> str | None:
        """The cursor saved for consumer ``name``, or None if it never saved one (start from the beginning)."""
        ...

    def save(self, name: str, cursor: str) -> None:
        """Remember ``cursor`` for consumer ``name``; durable when it returns."""
        ...


class MemoryCursorStore:
    """Cursors in a dict: for tests and one-off scripts (lost when the process ends)."""

    def __init__(self) -> None:
        self.cursors: dict[str, str] = {}

    def load(self, name: str) -> str | None:
        return self.cursors.get(name)

    def save(self, name: str, cursor: str) -> None:
        self.cursors[name] = cursor


class FileCursorStore:
    """Cursors in a JSON file ``{consumer name: cursor}``, replaced atomically on every save.

    A save writes a temporary file in the same directory, flushes it to disk and renames it over the old file
    (``os.replace`` is atomic on POSIX and Windows), so a crash leaves the old or the new file, never half of one.
    Consumers in one process may share a store; consumers in several processes should use one file each (or
    :class:`SQLiteCursorStore`), since each save rewrites the whole file.
    """

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)
        self._lock = threading.Lock()

    def _read(self) -> dict[str, str]:
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return {}
        except json.JSONDecodeError as exc:
            raise ValueError(f"cursor file {self.path} is not JSON ({exc}); fix or remove it") from exc
        if not isinstance(data, dict):
            raise ValueError(f"cursor file {self.path} must hold a JSON object {{consumer name: cursor}}")
        return data

    def load(self, name: str) -> str | None:
        with self._lock:
            return self._read().get(name)

    def save(self, name: str, cursor: str) -> None:
        with self._lock:
            data = self._read()
            data[name] = cursor
            self.path.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(prefix=f".{self.path.name}.", suffix=".tmp", dir=self.path.parent)
            try:
                with os.fdopen(fd, "w", encoding="utf-8") as f:
                    json.dump(data, f, indent=2, sort_keys=True)
                    f.write("\n")
                    f.flush()
                    os.fsync(f.fileno())
                os.replace(tmp, self.path)
            except BaseException:
                Path(tmp).unlink(missing_ok=True)
                raise
            _fsync_directory(self.path.parent)


def _fsync_directory(directory: Path) -> None:
    """Make the rename itself durable (POSIX); directories cannot be opened this way on Windows."""
    if os.name != "posix":
        return
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


class SQLiteCursorStore:
    """Cursors in a SQLite database file (standard library ``sqlite3``), table ``jaldpi_feed_cursors``.

    Safe for consumers in several threads and processes (SQLite serialises the writes). If your own data is in
    the same SQLite file, you may instead update this table in the transaction that stores the changes, which makes
    processing exactly once; the table is ``(name TEXT PRIMARY KEY, cursor TEXT, updated_at TEXT)``.
    """

    TABLE = "jaldpi_feed_cursors"

    def __init__(self, path: str | os.PathLike[str], *, timeout_s: float = 30.0) -> None:
        self.path = str(path)
        self.timeout_s = timeout_s
        conn = self._connect()
        try:
            with conn:
                conn.execute(f"CREATE TABLE IF NOT EXISTS {self.TABLE} (name TEXT PRIMARY KEY, "
                             "cursor TEXT NOT NULL, updated_at TEXT NOT NULL)")
        finally:
            conn.close()

    def _connect(self) -> sqlite3.Connection:
        # One short connection per call: usable from any thread, and no lock is held between saves.
        return sqlite3.connect(self.path, timeout=self.timeout_s)

    def load(self, name: str) -> str | None:
        conn = self._connect()
        try:
            row = conn.execute(f"SELECT cursor FROM {self.TABLE} WHERE name = ?", (name,)).fetchone()
        finally:
            conn.close()
        return row[0] if row else None

    def save(self, name: str, cursor: str) -> None:
        conn = self._connect()
        try:
            with conn:  # commits on success
                conn.execute(
                    f"INSERT INTO {self.TABLE} (name, cursor, updated_at) VALUES (?, ?, ?) "
                    "ON CONFLICT(name) DO UPDATE SET cursor = excluded.cursor, updated_at = excluded.updated_at",
                    (name, cursor, dt.datetime.now(dt.UTC).isoformat()))
        finally:
            conn.close()
