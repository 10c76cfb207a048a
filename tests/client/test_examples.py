"""The runnable examples of docs/sdk.md, run as a partner would run them (subprocesses) against a live node."""

from __future__ import annotations

import os
import queue
import subprocess
import sys
import threading
from pathlib import Path

import httpx

from jaldpi.client import sign
from jaldpi.webhooks.dispatcher import Dispatcher
from tests.client.conftest import PASSWORD
from tests.liveserver import free_port

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


def _env(live) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("JALDPI_")}
    return env | {"JALDPI_URL": live.url, "JALDPI_CLIENT_ID": "state-mis", "JALDPI_CLIENT_SECRET": PASSWORD}


def _run(live, script: str, *args: str, cwd: Path) -> str:
    result = subprocess.run([sys.executable, str(EXAMPLES / script), *args], env=_env(live), cwd=cwd,
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    return result.stdout


def test_read_push_and_consume_examples(live, partner, tmp_path):
    out = _run(live, "02_bulk_push.py", "500001", cwd=tmp_path)
    assert "dry run: status=partial would create 24, errors=1" in out
    assert "pushed to village 500001: status=partial created=24 errors=1 in 3 requests" in out
    assert "  row 12: invalid members_count: " in out
    assert "pushed again: ignored=24 created=0" in out

    out = _run(live, "01_read.py", cwd=tmp_path)
    assert "signed in as state-mis (system); households readable in ['/S28/']" in out
    assert "4 villages, the first: Alpha One (LGD 500001), Alpha Two (LGD 500002), Beta One (LGD 500003)" in out
    assert "24 households, 16 with a tap connection" in out
    assert "not found: not_found" in out

    out = _run(live, "03_consume_feed.py", cwd=tmp_path)
    assert out.count("households.create") == 24 and "handled 24 changes; cursor saved in feed-cursors.json" in out
    assert "handled 0 changes" in _run(live, "03_consume_feed.py", cwd=tmp_path)  # resumed: nothing new
    household = next(partner.households.iterate())
    partner.households.update(household.id, {"members_count": 9})
    out = _run(live, "03_consume_feed.py", cwd=tmp_path)
    assert f"households.update {household.id} v2 members=9" in out and "handled 1 changes" in out


def test_webhook_receiver_example(live, partner, tmp_path):
    secret = "example-secret-0123456789"
    port = free_port()
    receiver = subprocess.Popen([sys.executable, str(EXAMPLES / "04_webhook_receiver.py")],
                                env=_env(live) | {"JALDPI_WEBHOOK_SECRET": secret, "JALDPI_RECEIVER_PORT": str(port)},
                                cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    lines: queue.Queue[str] = queue.Queue()
    threading.Thread(target=lambda: [lines.put(line.rstrip()) for line in receiver.stdout], daemon=True).start()

    def next_line() -> str:
        return lines.get(timeout=30)

    try:
        assert next_line() == f"listening on http://127.0.0.1:{port}/"
        created = partner.request("POST", "/api/v1/webhooks", json={
            "url": f"http://127.0.0.1:{port}/", "event_types": ["households.*"], "within": "state:28",
            "secret": secret}).json()
        ping = partner.request("POST", f"/api/v1/webhooks/{created['id']}/ping").json()
        assert ping["status"] == "delivered", ping
        assert next_line().endswith("ping ping from jaldpi node test-node")
        household = partner.households.create({"village": 500002, "members_count": 3})
        node = live.node
        Dispatcher(node.db, node.settings, node.extras["feed_types"], node.role_permissions).run_once()
        assert next_line().endswith(f"households.create {household.id}")
        # a forged or altered delivery is refused
        body = b'{"id": "test-node:999", "type": "households.delete", "data": {}}'
        forged = httpx.post(f"http://127.0.0.1:{port}/", content=body,
                            headers={"X-Jaldpi-Signature": sign("not-the-secret", body)})
        assert forged.status_code == 400
        assert next_line() == "rejected: signature does not match the body (wrong secret or altered body)"
    finally:
        receiver.terminate()
        receiver.wait(timeout=10)
