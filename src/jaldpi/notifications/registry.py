"""The notifications domain's registries (RegistrySpec)."""

from __future__ import annotations


def specs(settings, workflows) -> list:
    """The RegistrySpecs this domain adds to the node's catalogue."""
    return []
