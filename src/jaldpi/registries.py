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


def build_catalogue(settings, workflows=None) -> Catalogue:
    from jaldpi.accounts.models import AccountGrant
    from jaldpi.service_delivery import registry as service_delivery
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
    catalogue.path_tables.append(AccountGrant.__table__)  # grants move with a re-parented unit too
    return catalogue


def build_workflows():
    """The node's workflow engine, with every domain's workflow definitions, guards and hooks registered."""
    from jaldpi.admin_units.paths import letters
    from jaldpi.core.workflow import WorkflowEngine
    from jaldpi.standard.codelists import role_permissions

    engine = WorkflowEngine(level_letters=letters(), roles=role_permissions())
    # Domains register here, one line each.
    from jaldpi.water_quality import workflows as water_quality_workflows

    water_quality_workflows.register(engine)
    return engine


def all_models() -> None:
    """Import every model module so that Base.metadata knows every table (for migrations and tests)."""
    import jaldpi.accounts.models  # noqa: F401
    import jaldpi.admin_units.models  # noqa: F401
    import jaldpi.alerts.models  # noqa: F401
    import jaldpi.assets.models  # noqa: F401
    import jaldpi.baseline.models  # noqa: F401
    import jaldpi.core.changelog  # noqa: F401
    import jaldpi.core.workflow_models  # noqa: F401
    import jaldpi.entities.models  # noqa: F401
    import jaldpi.people.models  # noqa: F401
    import jaldpi.resources.models  # noqa: F401
    import jaldpi.service_delivery.models  # noqa: F401
    import jaldpi.telemetry.models  # noqa: F401
    import jaldpi.water_quality.models  # noqa: F401
