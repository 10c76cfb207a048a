"""The finances domain's workflow definitions, guards and hooks.

None yet: billing, collection and expenditure are records with rules, not cases moving through states. (An
expenditure approval workflow by the VWSC's office bearers would be declared here as JSON, like water quality's.)
"""

from __future__ import annotations


def register(engine) -> None:
    """Register this domain's workflows on the node's engine (finances declares none)."""
