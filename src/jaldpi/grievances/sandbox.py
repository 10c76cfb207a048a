"""Demo grievances for the sandbox node: a handful per village with a scheme, in every state of the workflow.

Written through this package's own service (routing, cases, PIN, mirror) as the sandbox's system principal; no
phone numbers (nobody to text). Running it again adds nothing when the sandbox already has grievances.
"""

from __future__ import annotations

import random
from typing import Any

from sqlalchemy import func, select

from jaldpi.grievances import service
from jaldpi.grievances.models import Grievance

DESCRIPTIONS = {
    "no_water": ("No water in the taps since yesterday morning", "नल में कल सुबह से पानी नहीं आया"),
    "low_pressure": ("Very low pressure at the tail end of the lane", "गली के आखिरी घरों में पानी का दबाव बहुत कम"),
    "dirty_water": ("Muddy water after the pipeline repair", "पाइपलाइन मरम्मत के बाद मटमैला पानी"),
    "leak_burst": ("Pipeline leaking near the school gate", "स्कूल के गेट के पास पाइपलाइन से रिसाव"),
    "broken_tap": ("Tap broken at the anganwadi", "आंगनवाड़ी का नल टूटा हुआ है"),
    "billing": ("Charged twice for the same month", "एक ही महीने का शुल्क दो बार लिया गया"),
}
# what happens to each demo grievance after submission, in order
PLANS = (("assigned",), ("start",), ("resolve",), ("resolve", "confirm"), ("reject",), ("resolve", "reopen"))


def seed_demo(node: Any, *, seed: int = 7) -> dict[str, int]:
    """Submit a few grievances in up to four villages served by a scheme and move them through the workflow.
    Returns counts by status (and ``villages``)."""
    from jaldpi.admin_units.models import AdminUnit
    from jaldpi.assets.models import Scheme
    from jaldpi.sandbox.generate import generator_principal

    rng = random.Random(seed)
    engine = node.extras["workflows"]
    principal = generator_principal()
    with node.db.unit_of_work() as session:
        existing = session.execute(select(Grievance.status, func.count()).where(Grievance.deleted_at.is_(None))
                                   .group_by(Grievance.status)).all()
        if existing:
            return {status: n for status, n in existing}
        served: list[str] = []
        for (ids,) in session.execute(select(Scheme.village_ids).where(Scheme.deleted_at.is_(None))
                                      .order_by(Scheme.code).limit(50)):
            served.extend(v for v in ids or [] if v not in served)
        villages = session.execute(select(AdminUnit.id, AdminUnit.lgd_code).where(
            AdminUnit.level == "village", AdminUnit.deleted_at.is_(None),
            AdminUnit.id.in_([_uuid(v) for v in served[:200]]))).all()
        villages = sorted(villages, key=lambda v: v.lgd_code)[:4]
        counts: dict[str, int] = {"villages": len(villages)}
        categories = list(DESCRIPTIONS)
        for village in villages:
            for plan in PLANS:
                category = rng.choice(categories)
                language = rng.choice(("en", "hi"))
                english, hindi = DESCRIPTIONS[category]
                result = service.submit_grievance(
                    session, node.settings, "system:sandbox", village=village.lgd_code, category=category,
                    description=hindi if language == "hi" else english, channel=rng.choice(("web", "sms",
                                                                                            "staff_call")),
                    language=language, engine=engine)
                for step in plan:
                    _step(session, node, engine, principal, result, step)
                status = service.public_view(session, result["reference"])["status"]
                counts[status] = counts.get(status, 0) + 1
    return counts


def _uuid(value: Any):
    import uuid

    return value if isinstance(value, uuid.UUID) else uuid.UUID(str(value))


def _step(session, node, engine, principal, result: dict[str, Any], step: str) -> None:
    reference = result["reference"]
    if step == "assigned":
        return
    if step == "confirm":
        service.confirm_resolution(session, node.settings, reference, result["pin"], engine=engine)
    elif step == "reopen":
        service.reopen(session, node.settings, reference, result["pin"], "the problem came back the next day",
                       engine=engine)
    else:
        payload = {"resolve": {"resolution_note": "fixed by the pump operator"},
                   "reject": {"reason": "about electricity supply, not water"}}.get(step, {})
        service.take_transition(session, node.settings, principal, reference, step, payload, engine=engine)
