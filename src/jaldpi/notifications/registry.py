"""The notifications domain has no registries: outbox messages and staff contacts are not records users edit, and
hold personal data (docs/decisions/0012-notification-outbox.md)."""

from __future__ import annotations


def specs(settings, workflows) -> list:
    """No RegistrySpecs: the outbox and contacts are plain tables (jaldpi.notifications.models)."""
    return []
