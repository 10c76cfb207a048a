"""Signed lab test reports: what a citizen or another state can verify without calling the lab or the node."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from jaldpi.core.security import Principal

REPORT_TYPE = "jaldpi/water-test-report/v1"


def build_report(session: Session, node, principal: Principal, sample: dict[str, Any]) -> dict[str, Any]:
    """The report's content: the sample, where and when it was taken, who tested it, every result as reported and
    as judged, the verdict and the rule set that judged it. No personal data (the collector is an account id)."""
    point = node.catalogue["sampling_points"].get(session, principal, sample["sampling_point_id"])
    lab = None
    if sample.get("lab_id"):
        lab_row = node.catalogue["entities"].get(session, principal, sample["lab_id"])
        lab = {"id": lab_row["id"], "code": lab_row["code"], "name": lab_row["name"],
               "lab_level": lab_row.get("lab_level"), "accreditation": lab_row.get("accreditation"),
               "accreditation_valid": lab_row.get("accreditation_valid")}
    return {
        "sample": {"id": sample["id"], "code": sample["code"], "version": sample["version"],
                   "test_kind": sample["test_kind"], "purpose": sample["purpose"],
                   "collected_at": sample["collected_at"], "tested_at": sample.get("tested_at"),
                   "collected_by": sample.get("collected_by")},
        "sampling_point": {"id": point["id"], "code": point["code"], "name": point.get("name"),
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
