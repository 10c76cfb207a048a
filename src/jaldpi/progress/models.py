"""Tables of the progress domain."""

from __future__ import annotations
