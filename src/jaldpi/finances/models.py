"""Tables of the finances domain."""

from __future__ import annotations
