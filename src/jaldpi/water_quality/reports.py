"""Signed lab test reports: what a citizen or another state can verify without calling the lab or the node."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from jaldpi.core.security import Principal
from jaldpi.entities.models import Entity
from jaldpi.water_quality.models import SamplingPoint

REPORT_TYPE = "jaldpi/water-test-report/v1"


def _utc(value: Any) -> str | None:
    """ISO 8601 in UTC with offset, the same on every backend (SQLite hands back naive UTC datetimes)."""
    if value is None:
        return None
    if isinstance(value, str):
        value = dt.datetime.fromisoformat(value)
    value = value.replace(tzinfo=dt.UTC) if value.tzinfo is None else value.astimezone(dt.UTC)
    return value.isoformat()


def _row(session: Session, table, key: Any) -> dict[str, Any] | None:
    row = session.execute(select(table).where(table.c.id == uuid.UUID(str(key)))).mappings().first()
    return dict(row) if row else None


def _accredited_on(accreditation: dict[str, Any] | None, day: dt.date) -> bool:
    if not accreditation:
        return False
    try:
        return (dt.date.fromisoformat(str(accreditation["valid_from"])) <= day
                <= dt.date.fromisoformat(str(accreditation["valid_until"])))
    except (KeyError, ValueError):
        return False


def build_report(session: Session, node, principal: Principal, sample: dict[str, Any]) -> dict[str, Any]:
    """The report's content: the sample, where and when it was taken, who tested it, every result as reported and
    as judged, the verdict and the rule set that judged it. No personal data (the collector is an account id).

    ``sample`` was read through the caller's scope; its sampling point and lab are read here without it (a field
    tester may read the village's samples, not the district lab's record, yet the report names the lab)."""
    point = _row(session, SamplingPoint.__table__, sample["sampling_point_id"])
    lab = None
    tested = _utc(sample.get("tested_at") or sample["collected_at"])
    if sample.get("lab_id"):
        lab_row = _row(session, Entity.__table__, sample["lab_id"]) or {}
        lab = {"id": str(lab_row.get("id")), "code": lab_row.get("code"), "name": lab_row.get("name"),
               "lab_level": lab_row.get("lab_level"), "accreditation": lab_row.get("accreditation"),
               "accredited_on_test_date": _accredited_on(lab_row.get("accreditation"),
                                                         dt.datetime.fromisoformat(tested).date())}
    return {
        "sample": {"id": str(sample["id"]), "code": sample["code"], "version": sample["version"],
                   "test_kind": sample["test_kind"], "purpose": sample["purpose"],
                   "collected_at": _utc(sample["collected_at"]), "tested_at": _utc(sample.get("tested_at")),
                   "collected_by": sample.get("collected_by")},
        "sampling_point": {"id": str(point["id"]), "code": point["code"], "name": point.get("name"),
                           "point_type": point["point_type"], "geometry": point.get("geometry")},
        "lgd": sample["lgd"], "lgd_path": sample["lgd_path"],
        "lab": lab,
        "results": sample["results"],
        "evaluation": sample.get("evaluation"),
        "verdict": sample["verdict"], "contaminants": sample["contaminants"],
        "ruleset_version": sample["ruleset_version"],
    }


def signed_report(session: Session, node, principal: Principal, sample: dict[str, Any]) -> tuple[dict, str]:
    report = build_report(session, node, principal, sample)
    key = node.extras["signing_keys"][0]
    token = key.sign({"sub": f"samples/{sample['id']}", "report": report}, issuer=node.settings.node_id,
                     document_type=REPORT_TYPE)
    return report, token
