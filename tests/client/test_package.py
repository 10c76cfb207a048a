"""The SDK as a partner installs it: what importing it loads, client-minted ids, webhook signatures, models."""

from __future__ import annotations

import subprocess
import sys
import uuid

import pytest

from jaldpi.client import ImportSummary, SignatureVerificationError, new_id, sign, verify_signature
from jaldpi.client.errors import parse_retry_after


def test_importing_the_sdk_loads_no_server_code():
    probe = (
        "import sys, jaldpi.client\n"
        "heavy = sorted(m for m in sys.modules if m.split('.')[0] in "
        "('sqlalchemy', 'fastapi', 'starlette', 'uvicorn', 'orjson', 'alembic', 'psycopg', 'jwt', 'argon2')"
        " or m.startswith(('jaldpi.core', 'jaldpi.app', 'jaldpi.accounts')))\n"
        "print(','.join(heavy) or 'clean')\n"
    )
    result = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=60, check=True)
    assert result.stdout.strip() == "clean", result.stdout


def test_new_ids_are_uuid7_and_increase():
    ids = [new_id() for _ in range(5000)]
    assert all(i.version == 7 and i.variant == uuid.RFC_4122 for i in ids)
    assert ids == sorted(ids) and len(set(ids)) == len(ids)


def test_webhook_signatures_are_the_nodes_own():
    from jaldpi.webhooks import signing

    assert verify_signature is signing.verify_signature and sign is signing.sign
    body = b'{"id": "node:1", "type": "households.create"}'
    header = sign("s3cret", body, timestamp=1_800_000_000)
    assert verify_signature("s3cret", header, body, now=1_800_000_010) == 1_800_000_000
    with pytest.raises(SignatureVerificationError, match="does not match"):
        verify_signature("s3cret", header, body + b" ", now=1_800_000_010)
    with pytest.raises(SignatureVerificationError, match="away from now"):
        verify_signature("s3cret", header, body, now=1_800_001_000)


def test_retry_after_in_seconds_or_as_a_date():
    assert parse_retry_after("3") == 3.0 and parse_retry_after(None) is None and parse_retry_after("soon") is None
    assert parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT") == 0.0  # a date in the past: no wait


def test_summaries_merge_with_shifted_indices():
    def part(status: str, rows: list[dict], **stats) -> ImportSummary:
        return ImportSummary.model_validate({
            "registry": "schemes", "status": status, "strategy": "create", "atomic": False, "dry_run": False,
            "written": status != "error", "stats": {"total": 2, **stats}, "rows": rows})

    error_row = {"index": 1, "action": "error", "id": None, "code": None,
                 "errors": [{"code": "invalid", "field": "name", "message": "missing"}]}
    merged = ImportSummary.merge([(0, part("ok", [], created=2), 1), (2, part("partial", [error_row], created=1,
                                                                               errors=1), 2)])
    assert merged.status == "partial" and merged.stats.created == 3 and merged.stats.total == 4
    assert [r.index for r in merged.failed_rows] == [3] and merged.batches[1].attempts == 2
