"""Helpers for tests (this package's and other domains'): what the file backend has "sent".

The file backend (the default for every channel) appends one JSON line per sent message to
``<notifications_dir>/<channel>.jsonl``. Typical use in a test::

    settings = test_settings(database, notifications_dir=tmp_path)
    ... queue_message(...) or notify_role(...) inside a unit of work ...
    dispatch_pending(node.db, settings)
    assert sent_messages(settings, "sms")[0]["template"] == "grievances_received"
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any


def sent_messages(settings: Any, channel: str) -> list[dict]:
    """Messages the file backend sent on ``channel``, oldest first: ``{"id", "channel", "to" (the address in clear),
    "template", "language", "subject", "body", "at"}``; empty when none was sent."""
    path = Path(settings.notifications_dir) / f"{channel}.jsonl"
    if not path.is_file():
        return []
    with open(path, encoding="utf-8") as lines:
        return [json.loads(line) for line in lines if line.strip()]


def clear_sent_messages(settings: Any) -> None:
    """Forget what the file backend sent (every channel), e.g. between two steps of a test."""
    directory = Path(settings.notifications_dir)
    if directory.is_dir():
        for path in directory.glob("*.jsonl"):
            path.unlink()
