"""Demo data for the sandbox: Har Ghar Jal certifications at every stage and Village Action Plans.

Reads the villages, households, water sources and schemes the sandbox generator wrote, and writes through the
domain's own paths (documents service, ``report_village``, workflow transitions, the registry) as the generator's
system principal. Small on purpose: a few villages per status, a plan for a few villages. Running it twice adds
nothing twice: villages that already have a certification are left alone, plans are matched by external id.
"""

from __future__ import annotations

import datetime as dt
import random
from decimal import Decimal
from typing import Any

from sqlalchemy import case, func, select

from jaldpi.admin_units.models import AdminUnit
from jaldpi.certification import service
from jaldpi.certification.models import HgjCertification
from jaldpi.certification.workflows import india_today
from jaldpi.core.registry import Strategy
from jaldpi.core.security import Grant, Principal
from jaldpi.standard.codelists import role_permissions

SOURCE_SYSTEM = "jaldpi-sandbox"
# the smallest files the documents domain's content checks accept for each kind
PDF = b"%PDF-1.7\n1 0 obj << /Type /Catalog >> endobj\ntrailer << >>\n%%EOF\n"
MP4 = b"\x00\x00\x00\x20ftypisom\x00\x00\x02\x00isomiso2avc1mp41" + b"\x00" * 64 + b"mdat" + b"gram sabha" * 40
# how many villages end the demo in each state (the rest of the villages stay not reported)
PLAN = (("certified", 4), ("resolution_uploaded", 2), ("returned", 1), ("reported", 3))
VAPS = 6


def _principal() -> Principal:
    return Principal(SOURCE_SYSTEM, "system", (Grant("node_admin", "/"),), role_permissions(),
                     source_system=SOURCE_SYSTEM)


def _document(session, principal, settings, catalogue, village: dict[str, Any], kind: str) -> str:
    from jaldpi.documents.service import store_document

    video = kind == "video"
    name = {"completion_certificate": "completion-certificate.pdf", "gram_sabha_resolution": "resolution.pdf",
            "video": "gram-sabha.mp4", "village_action_plan": "village-action-plan.pdf"}[kind]
    record = store_document(
        session, principal, settings, content=MP4 if video else PDF + village["name"].encode(), filename=name,
        media_type="video/mp4" if video else "application/pdf", document_type=kind, admin_unit=str(village["id"]),
        title=f"{kind.replace('_', ' ').capitalize()}, {village['name']}",
        external_ids={"sandbox": f"{kind}-{village['lgd_code']}"}, catalogue=catalogue)
    return record["id"]


def _best_covered(session, settings, limit: int, skip: set) -> list[dict[str, Any]]:
    """Villages a department would report first: every registered household with a tap, then the best covered
    (``hgj_tap_check=warn`` records the gap); under ``refuse`` only fully covered villages."""
    from jaldpi.people.models import Household

    h = Household.__table__
    a = AdminUnit.__table__
    with_tap = func.sum(case((h.c.has_tap_connection.is_(True), 1), else_=0))
    rows = session.execute(
        select(h.c.village_id, func.count(), with_tap).where(h.c.deleted_at.is_(None)).group_by(h.c.village_id)).all()
    ranked = sorted(((w / n, vid) for vid, n, w in rows if vid not in skip
                     and (w == n or settings.hgj_tap_check != "refuse")), key=lambda r: (-r[0], str(r[1])))
    ids = [vid for _share, vid in ranked[:limit]]
    units = {r["id"]: dict(r) for r in session.execute(select(a).where(
        a.c.id.in_(ids), a.c.level == "village", a.c.deleted_at.is_(None))).mappings()} if ids else {}
    return [units[i] for i in ids if i in units]


def seed_demo(node, *, seed: int = 7) -> dict[str, int]:
    """Certifications at every stage and a few Village Action Plans; returns counts of what was written."""
    rng = random.Random(seed)
    principal = _principal()
    engine = node.extras["workflows"] if "workflows" in getattr(node, "extras", {}) else None
    if engine is None:
        from jaldpi.registries import build_workflows

        engine = build_workflows()
    counts = {"hgj_reported": 0, "hgj_resolution_uploaded": 0, "hgj_returned": 0, "hgj_certified": 0,
              "village_action_plans": 0}
    wanted = sum(n for _, n in PLAN)
    with node.db.unit_of_work() as session:
        taken = {r for (r,) in session.execute(select(HgjCertification.village_id))}
        seeded = session.execute(select(func.count()).where(
            HgjCertification.created_by == SOURCE_SYSTEM)).scalar_one()
        # a second run adds nothing: the demo's villages are already at their stages
        villages = _best_covered(session, node.settings, wanted, taken) if not seeded else []
        today = india_today(dt.datetime.now(dt.UTC))
        queue = [status for status, n in PLAN for _ in range(n)]
        for village, status in zip(villages, queue, strict=False):
            certificate = _document(session, principal, node.settings, node.catalogue, village,
                                    "completion_certificate")
            reported_on = today - dt.timedelta(days=rng.randint(40, 120))
            case = service.report_village(session, principal, node.settings, engine, village["id"],
                                          completion_certificate=certificate, reported_on=reported_on)
            if status != "reported":
                payload = {"resolution_document": _document(session, principal, node.settings, node.catalogue,
                                                            village, "gram_sabha_resolution"),
                           "video_document": _document(session, principal, node.settings, node.catalogue,
                                                       village, "video"),
                           "gram_sabha_date": (reported_on + dt.timedelta(days=rng.randint(7, 30))).isoformat()}
                engine.transition(session, principal, case.id, "upload_resolution", payload)
                if status == "certified":
                    engine.transition(session, principal, case.id, "certify", {})
                elif status == "returned":
                    engine.transition(session, principal, case.id, "return",
                                      {"reasons": ["video_not_of_gram_sabha"],
                                       "note": "the video does not show the Gram Sabha"})
            counts[f"hgj_{status}"] += 1
        counts["village_action_plans"] = _plans(session, node, principal, rng)
    return counts


def _plans(session, node, principal: Principal, rng: random.Random) -> int:
    """Village Action Plans for the first villages with households, from what the registries hold."""
    from jaldpi.assets.models import Scheme
    from jaldpi.people.models import Household
    from jaldpi.resources.models import NaturalResource

    h = Household.__table__
    a = AdminUnit.__table__
    rows = session.execute(
        select(a.c.id, a.c.lgd_code, func.count(), func.sum(h.c.members_count),
               func.sum(case((h.c.has_tap_connection.is_(True), 1), else_=0)))
        .join(h, h.c.village_id == a.c.id).where(h.c.deleted_at.is_(None), a.c.level == "village")
        .group_by(a.c.id, a.c.lgd_code).order_by(a.c.lgd_code).limit(VAPS)).all()
    schemes = [dict(r) for r in session.execute(select(Scheme.__table__).where(
        Scheme.deleted_at.is_(None))).mappings()]
    items = []
    for village_id, lgd_code, households, people, with_tap in rows:
        serving = next((s for s in schemes if str(village_id) in [str(v) for v in s["village_ids"] or []]), None)
        sources = [str(r) for (r,) in session.execute(select(NaturalResource.id).where(
            NaturalResource.admin_unit_id == village_id, NaturalResource.resource_type == "water_source",
            NaturalResource.deleted_at.is_(None)).limit(2))]
        start = dt.date(2024, 4, 1)
        item = {
            "village": str(village_id), "period_from": start.isoformat(), "period_to": dt.date(2029, 3, 31).isoformat(),
            "baseline_households": int(households), "baseline_population": int(people or households),
            "baseline_households_with_tap": int(with_tap or 0), "sources": sources,
            "source_yields_lph": [round(rng.uniform(1500, 6000)) for _ in sources],
            "quality_issues": rng.choice([[], [], ["iron"], ["fluoride"], ["e_coli"]]),
            "om_arrangement": rng.choice(["vwsc", "vwsc", "gp", "outsourced", "shg"]),
            "scheme_decision": "join_mvs" if serving and serving["scheme_type"] == "mvs" else "svs",
            "scheme": str(serving["id"]) if serving else None,
            "households_willing_to_contribute": int(households * rng.uniform(0.8, 1.0)),
            "estimated_cost_inr": str(Decimal(int(households) * rng.randint(9000, 16000)).quantize(Decimal("1"))),
            "schedule_start": start.replace(month=7).isoformat(), "schedule_end": dt.date(2025, 12, 31).isoformat(),
            "grey_water_management": rng.choice(["Soak pits at every standpost and household", "Kitchen gardens "
                                                 "and a community soak pit", "Drain to a waste stabilisation pond"]),
            "approved_by_gram_sabha_on": dt.date(2024, 5, rng.randint(1, 28)).isoformat(),
            "external_ids": {"sandbox": f"VAP-{lgd_code}"},
        }
        if item["scheme"] is None:
            item.pop("scheme")
        items.append(item)
    if not items:
        return 0
    summary = node.catalogue["village_action_plans"].import_records(session, principal, items,
                                                                      strategy=Strategy.create_and_update)
    if summary.status != "ok":
        raise RuntimeError(f"sandbox village action plans refused: {summary.to_dict()['rows'][:3]}")
    return summary.stats()["created"]
