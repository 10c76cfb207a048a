"""Administrative-unit lookups shared by every domain's routes and commands."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from jaldpi.admin_units.models import AdminUnit
from jaldpi.admin_units.paths import parse_within
from jaldpi.core.errors import NotFound


def unit_path(session: Session, within: str) -> str | None:
    """``district:745`` -> that live unit's jurisdiction path (None if there is none); a path such as
    ``/S28/D745/`` is validated and returned as is. A malformed value raises ``ValidationFailed`` naming ``within``."""
    parsed = parse_within(within)
    if within.startswith("/"):
        return parsed
    level, _, code = within.partition(":")
    return session.execute(select(AdminUnit.lgd_path).where(
        AdminUnit.level == level, AdminUnit.lgd_code == int(code), AdminUnit.deleted_at.is_(None))
    ).scalar_one_or_none()



def require_unit_path(session: Session, within: str | None) -> str | None:
    """A route's ``within`` parameter -> the unit's path; None when not given. ``NotFound`` (404, naming ``within``)
    when the unit does not exist, ``ValidationFailed`` when the value is malformed."""
    if not within:
        return None
    path = unit_path(session, within)
    if path is None:
        level, _, code = within.partition(":")
        raise NotFound(f"no {level} with LGD code {code}", details=[{"field": "within", "problem": "unknown unit"}])
    return path
