"""The node's registries, assembled from the domain packages (the only module that knows them all)."""

from __future__ import annotations

from jaldpi.admin_units import registry as admin_units
from jaldpi.admin_units.paths import path_codes
from jaldpi.assets import registry as assets
from jaldpi.core.registry import Catalogue
from jaldpi.entities import registry as entities
from jaldpi.people import registry as people
from jaldpi.people.personal_data import HouseholdPersonalStore
from jaldpi.resources import registry as resources

# The operations domains (issue 7), in the order their registries, workflows, routes and commands are added: upkeep
# before grievances (a grievance hooks the breakdown-ticket workflow), documents first (others reference them).
OPERATIONS_DOMAINS = ("documents", "notifications", "progress", "upkeep", "grievances", "finances", "certification")


def _domain(name: str, module: str):
    import importlib

    return importlib.import_module(f"jaldpi.{name}.{module}")


def build_catalogue(settings, workflows=None) -> Catalogue:
    from jaldpi.accounts.models import AccountGrant
    from jaldpi.service_delivery import registry as service_delivery
    from jaldpi.standard import registry as standard
    from jaldpi.water_quality import registry as water_quality
    from jaldpi.water_quality.evaluation import make_evaluator
    from jaldpi.water_quality.rules import ruleset_from_settings
    from jaldpi.water_quality.workflows import after_samples_written

    engine = workflows if workflows is not None else build_workflows()
    catalogue = Catalogue(path_codes)
    catalogue.add(admin_units.spec())
    catalogue.add(entities.spec())
    catalogue.add(resources.spec())
    catalogue.add(people.spec(HouseholdPersonalStore(settings.pii_encryption_key, settings.identity_hash_key)))
    catalogue.add(assets.scheme_spec())
    catalogue.add(assets.component_spec())
    catalogue.add(water_quality.point_spec())
    catalogue.add(water_quality.sample_spec(
        make_evaluator(ruleset_from_settings(settings), settings.wq_ftk_parameters),
        tuple(settings.wq_pre_monsoon_months),
        on_written=lambda session, principal, rows: after_samples_written(engine, session, principal, rows)))
    catalogue.add(service_delivery.spec())
    for name in OPERATIONS_DOMAINS:
        for spec in _domain(name, "registry").specs(settings, engine):
            catalogue.add(spec)
    catalogue.add(standard.spec(catalogue))  # national code-list extensions (rules read the other registries)
    catalogue.path_tables.append(AccountGrant.__table__)  # grants move with a re-parented unit too
    if settings.federation_role != "standalone":  # a federated node changes only the records it owns
        from jaldpi.federation.ownership import make_write_guard
        from jaldpi.federation.policy import FederationPolicy

        catalogue.write_guard = make_write_guard(settings, FederationPolicy.load(settings.federation_policy_file))
    # Hooks, guards and services reach the node's settings and this very catalogue through the engine.
    engine.bind(settings=settings, catalogue=catalogue)
    return catalogue


def feed_types(catalogue: Catalogue):
    """The record types the change feed and webhooks publish, with the permission that reads each (None: public).

    Registries read as their API does; the other writers of the change log map to the permission of their own
    endpoints. A record type missing here is never published, so a new change-log writer adds one line.
    """
    from jaldpi.core.feed import FeedTypes

    permissions: dict[str, str | None] = {
        name: None if registry.spec.public_read else registry.spec.read_permission
        for name, registry in catalogue.registries.items()}
    permissions.update({"alerts": "alerts:read", "workflow_cases": "cases:read", "accounts": "users:manage"})
    return FeedTypes(permissions, catalogue.path_codes)


def build_workflows():
    """The node's workflow engine, with every domain's workflow definitions, guards and hooks registered."""
    from jaldpi.admin_units.paths import letters
    from jaldpi.core.workflow import WorkflowEngine
    from jaldpi.standard.codelists import role_permissions

    engine = WorkflowEngine(level_letters=letters(), roles=role_permissions())
    # Domains register here, one line each.
    from jaldpi.water_quality import workflows as water_quality_workflows

    water_quality_workflows.register(engine)
    for name in OPERATIONS_DOMAINS:
        _domain(name, "workflows").register(engine)
    return engine


def all_models() -> None:
    """Import every model module so that Base.metadata knows every table (for migrations and tests)."""
    import jaldpi.accounts.models  # noqa: F401
    import jaldpi.admin_units.models  # noqa: F401
    import jaldpi.alerts.models  # noqa: F401
    import jaldpi.assets.models  # noqa: F401
    import jaldpi.baseline.models  # noqa: F401
    import jaldpi.core.changelog  # noqa: F401
    import jaldpi.core.feed  # noqa: F401  (declares the change feed's index on change_log)
    import jaldpi.core.workflow_models  # noqa: F401
    import jaldpi.entities.models  # noqa: F401
    import jaldpi.federation.models  # noqa: F401
    import jaldpi.people.models  # noqa: F401
    import jaldpi.resources.models  # noqa: F401
    import jaldpi.service_delivery.models  # noqa: F401
    import jaldpi.standard.models  # noqa: F401
    import jaldpi.telemetry.models  # noqa: F401
    import jaldpi.water_quality.models  # noqa: F401
    import jaldpi.webhooks.models  # noqa: F401

    for name in OPERATIONS_DOMAINS:
        _domain(name, "models")
