"""The notifications domain has no workflows: other domains' workflow hooks call
:func:`jaldpi.notifications.service.notify_role` / ``queue_message``."""

from __future__ import annotations


def register(engine) -> None:
    """Nothing to register."""
