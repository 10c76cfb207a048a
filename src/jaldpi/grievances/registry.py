"""The ``grievances`` registry: jurisdiction (the village's path), the asset rules, the personal-data store, and the
workflow mirror that only the grievance workflow writes.

A grievance is created by :func:`jaldpi.grievances.service.submit_grievance` (web, SMS, Open311, staff calls): it
routes the grievance and opens its workflow case in the same unit of work. The generic registry routes read, search,
page, export and show history; ``PATCH`` may correct the description, habitation, asset, position and contact, never
the village, category or channel (they decided the routing) nor the mirror of the case (take a transition instead).
"""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import Iterator
from typing import Any

from sqlalchemy.orm import Session

from jaldpi.core.ids import _CROCKFORD, new_id
from jaldpi.core.registry import Filter, Reference, RegistrySpec, same_value
from jaldpi.grievances.contacts import GrievanceContactStore
from jaldpi.grievances.models import Grievance
from jaldpi.grievances.schemas import MIRROR_FIELDS, GrievanceIn

NAME = "grievances"
CODE_PREFIX = "GRV"
CODE_CHARS = 10  # 50 random bits of the UUIDv7: ~1 in 2,000 chance of one collision at a million grievances
_WORKFLOW_WRITE = "grievances.workflow_write"
FIXED_AFTER_CREATION = ("village_id", "category", "channel")


def mint_reference(record_id: uuid.UUID) -> str:
    """``GRV-7K3M9Q2XWZ``: short enough to type in an SMS; Crockford base32 (no I, L, O, U: no misreadings)."""
    value = record_id.int & ((1 << (5 * CODE_CHARS)) - 1)
    chars = []
    for _ in range(CODE_CHARS):
        chars.append(_CROCKFORD[value & 31])
        value >>= 5
    return f"{CODE_PREFIX}-{''.join(reversed(chars))}"


def normalise_reference(text: str) -> str | None:
    """A reference as typed (any case, spaces or hyphens anywhere, prefix optional, O for 0, I or L for 1) -> its
    canonical form, or None if it cannot be one."""
    compact = "".join(ch for ch in str(text).upper() if ch.isalnum())
    if compact.startswith(CODE_PREFIX) and len(compact) == len(CODE_PREFIX) + CODE_CHARS:
        compact = compact[len(CODE_PREFIX):]
    if len(compact) != CODE_CHARS:
        return None
    compact = compact.translate(str.maketrans("OIL", "011"))
    if any(ch not in _CROCKFORD for ch in compact):
        return None
    return f"{CODE_PREFIX}-{compact}"


@contextlib.contextmanager
def workflow_write(session: Session) -> Iterator[None]:
    """Within this block, writes of the grievance service may set the workflow mirror and the routing fields."""
    before = session.info.get(_WORKFLOW_WRITE, False)
    session.info[_WORKFLOW_WRITE] = True
    try:
        yield
    finally:
        session.info[_WORKFLOW_WRITE] = before


def derive(data: dict[str, Any], resolved: dict[str, Any]) -> str:
    return resolved["village"]["lgd_path"]


def rules(data: dict[str, Any]) -> list[tuple[str, str]]:
    problems: list[tuple[str, str]] = []
    resolved, old, session = data["_resolved"], data["_old"], data["_session"]
    village = resolved["village"]
    habitation, scheme, component = resolved.get("habitation"), resolved.get("scheme"), resolved.get("component")
    if habitation is not None and not habitation["lgd_path"].startswith(village["lgd_path"]):
        problems.append(("habitation", "is not a habitation of the grievance's village"))
    served = str(village["id"])
    if scheme is not None and served not in [str(v) for v in scheme.get("village_ids") or []]:
        problems.append(("scheme", f"scheme {scheme['code']} does not serve this village"))
    if component is not None:
        if scheme is not None and component["scheme_id"] != scheme["id"]:
            problems.append(("component", f"component {component['code']} is not part of scheme {scheme['code']}"))
        elif component.get("village_id") is not None:
            if str(component["village_id"]) != served:
                problems.append(("component", f"component {component['code']} is in another village"))
        elif not _scheme_serves(session, component["scheme_id"], served):
            problems.append(("component", f"component {component['code']} belongs to a scheme that does not serve "
                             "this village"))
    if not session.info.get(_WORKFLOW_WRITE):
        for name in MIRROR_FIELDS:
            before = old.get(name) if old is not None else (0 if name.endswith("_count") else None)
            if not same_value(before, data.get(name)):
                problems.append((name, "is kept by the grievance workflow; take a transition "
                                 "(POST /api/v1/grievances/{ref}/transitions/{name})"))
        if old is None:
            problems.append(("id", "grievances are submitted through POST /api/v1/grievances (or the public, SMS "
                             "and Open311 routes), which route them and open their case"))
        else:
            for name in FIXED_AFTER_CREATION:
                if str(old.get(name)) != str(data.get(name)):
                    problems.append((name.removesuffix("_id"), "decided the routing and cannot change; reject this "
                                     "grievance and submit a new one"))
    return problems



def _scheme_serves(session: Session, scheme_id: Any, village_id: str) -> bool:
    from sqlalchemy import select

    from jaldpi.assets.models import Scheme

    ids = session.execute(select(Scheme.village_ids).where(Scheme.id == scheme_id)).scalar_one_or_none()
    return village_id in [str(v) for v in ids or []]


def spec(settings) -> RegistrySpec:
    return RegistrySpec(
        name=NAME, title="grievance", table=Grievance.__table__, schema=GrievanceIn, code_prefix=CODE_PREFIX,
        derive_path=derive,
        references=(
            Reference("village", "village_id", "admin_units", levels=("village",)),
            Reference("habitation", "habitation_id", "admin_units", levels=("habitation",)),
            Reference("scheme", "scheme_id", "schemes"),
            Reference("component", "component_id", "components"),
        ),
        filters={
            "category": Filter("category", str, "code list grievance_categories"),
            "status": Filter("status", str, "state of the grievance workflow"),
            "channel": Filter("channel", str, "code list grievance_channels"),
            "village_id": Filter("village_id", uuid.UUID),
            "scheme_id": Filter("scheme_id", uuid.UUID),
            "component_id": Filter("component_id", uuid.UUID),
            "routed_to_role": Filter("routed_to_role", str, "code list roles"),
            "language": Filter("language", str, "en | hi"),
        },
        search_column="description",
        read_permission="grievances:read", write_permission="grievances:write",
        private_store=GrievanceContactStore(settings.pii_encryption_key, settings.identity_hash_key),
        validate_row=rules,
        mint_code=lambda data, resolved: mint_reference(new_id()),  # the service passes the id's own code
    )


def specs(settings, workflows) -> list[RegistrySpec]:
    """The RegistrySpecs this domain adds to the node's catalogue."""
    return [spec(settings)]
