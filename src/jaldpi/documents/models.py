"""Tables of the documents domain."""

from __future__ import annotations
