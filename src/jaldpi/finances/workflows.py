"""The finances domain's workflow definitions, guards and hooks."""

from __future__ import annotations


def register(engine) -> None:
    """Register this domain's workflows on the node's engine."""
