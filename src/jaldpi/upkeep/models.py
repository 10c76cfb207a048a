"""Tables of the upkeep domain."""

from __future__ import annotations
