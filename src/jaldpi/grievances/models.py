"""Tables of the grievances domain."""

from __future__ import annotations
