"""Tables of the certification domain."""

from __future__ import annotations
