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


def build_catalogue(settings) -> Catalogue:
    from jaldpi.accounts.models import AccountGrant

    catalogue = Catalogue(path_codes)
    catalogue.add(admin_units.spec())
    catalogue.add(entities.spec())
    catalogue.add(resources.spec())
    catalogue.add(people.spec(HouseholdPersonalStore(settings.pii_encryption_key, settings.identity_hash_key)))
    catalogue.add(assets.scheme_spec())
    catalogue.add(assets.component_spec())
    catalogue.path_tables.append(AccountGrant.__table__)  # grants move with a re-parented unit too
    return catalogue


def all_models() -> None:
    """Import every model module so that Base.metadata knows every table (for migrations and tests)."""
    import jaldpi.accounts.models  # noqa: F401
    import jaldpi.admin_units.models  # noqa: F401
    import jaldpi.assets.models  # noqa: F401
    import jaldpi.core.changelog  # noqa: F401
    import jaldpi.entities.models  # noqa: F401
    import jaldpi.people.models  # noqa: F401
    import jaldpi.resources.models  # noqa: F401
