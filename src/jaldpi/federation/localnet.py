"""A federation on one machine: national and state nodes as separate processes, each with its own database.

For trying federation out, for the multi-process tests and for the lag benchmark. Each node is a real
``jaldpi serve`` process (uvicorn) plus, for a state node, a ``jaldpi federation sync --loop`` worker; they talk over
HTTP with signed messages exactly as nodes on different machines do. Nothing here is used by a production node.
"""

from __future__ import annotations

import base64
import hashlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

PASSWORD = "localnet-password-1"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _jaldpi() -> list[str]:
    found = shutil.which("jaldpi", path=str(Path(sys.executable).parent))
    return [found] if found else [sys.executable, "-c", "from jaldpi.cli import main; main()"]


@dataclass
class LocalNode:
    node_id: str
    role: str  # national | state
    database_url: str
    workdir: Path
    jurisdiction: str | None = None
    port: int = field(default_factory=free_port)
    extra_env: dict[str, str] = field(default_factory=dict)
    server: subprocess.Popen | None = None
    worker: subprocess.Popen | None = None
    _token: str | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def env(self) -> dict[str, str]:
        seed = base64.urlsafe_b64encode(hashlib.sha256(f"localnet:{self.node_id}".encode()).digest()).decode()
        env = {k: v for k, v in os.environ.items() if not k.startswith("JALDPI_")}
        env.update({
            "JALDPI_ENV": "test", "JALDPI_DATABASE_URL": self.database_url, "JALDPI_NODE_ID": self.node_id,
            "JALDPI_FEDERATION_ROLE": self.role, "JALDPI_SIGNING_KEY": seed,
            "JALDPI_SECRET_KEY": f"localnet-secret-{self.node_id}-0123456789abcdef",
            "JALDPI_IDENTITY_HASH_KEY": f"localnet-identity-{self.node_id}",
            "JALDPI_RATE_LIMIT_PER_MINUTE": "0", "JALDPI_ANONYMOUS_RATE_LIMIT_PER_MINUTE": "0",
            "JALDPI_PASSWORD_HASH_TIME_COST": "1", "JALDPI_PASSWORD_HASH_MEMORY_KIB": "1024",
        })
        if self.jurisdiction:
            env["JALDPI_FEDERATION_JURISDICTION"] = self.jurisdiction
        env.update(self.extra_env)
        return env

    def cli(self, *args: str, check: bool = True, input_text: str | None = None) -> subprocess.CompletedProcess:
        result = subprocess.run([*_jaldpi(), *args], env=self.env(), capture_output=True, text=True,
                                input=input_text, cwd=self.workdir, timeout=300)
        if check and result.returncode != 0:
            raise RuntimeError(f"{self.node_id}: jaldpi {' '.join(args)} failed ({result.returncode}):\n"
                               f"{result.stdout}\n{result.stderr}")
        return result

    def prepare(self) -> None:
        """Migrate the database and create an administrator account (``admin`` / PASSWORD), in this process."""
        from jaldpi.accounts.service import GrantSpec, create_account
        from jaldpi.core.db import Database
        from jaldpi.core.migrate import upgrade
        from jaldpi.core.security import Passwords
        from jaldpi.registries import all_models

        self.workdir.mkdir(parents=True, exist_ok=True)
        all_models()
        db = Database(self.database_url)
        try:
            upgrade(db)
            with db.unit_of_work() as session:
                create_account(session, Passwords(1, 1024), username="admin", secret=PASSWORD, kind="person",
                               display_name="Local administrator", grants=[GrantSpec("node_admin", "/")])
        finally:
            db.dispose()

    def start_server(self, timeout_s: float = 60, *, wait: bool = True) -> None:
        log = open(self.workdir / "server.log", "ab")  # noqa: SIM115 - owned by the process
        self.server = subprocess.Popen([*_jaldpi(), "serve", "--port", str(self.port)], env=self.env(),
                                       cwd=self.workdir, stdout=log, stderr=subprocess.STDOUT)
        if wait:
            self.wait_until_serving(timeout_s)

    def wait_until_serving(self, timeout_s: float = 60) -> None:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self.server is None or self.server.poll() is not None:
                raise RuntimeError(f"{self.node_id}: server is not running; see "
                                   f"{self.workdir / 'server.log'}")
            try:
                if httpx.get(self.url + "/health", timeout=1).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            time.sleep(0.1)
        raise RuntimeError(f"{self.node_id}: server did not answer within {timeout_s} s")

    def start_worker(self, interval: float = 0.5) -> None:
        log = open(self.workdir / "sync.log", "ab")  # noqa: SIM115 - owned by the process
        self.worker = subprocess.Popen([*_jaldpi(), "federation", "sync", "--loop", "--interval", str(interval)],
                                       env=self.env(), cwd=self.workdir, stdout=log, stderr=subprocess.STDOUT)

    def kill(self) -> None:
        """SIGKILL server and worker: no clean shutdown, as in a power cut."""
        for proc in (self.worker, self.server):
            if proc is not None and proc.poll() is None:
                proc.send_signal(signal.SIGKILL)
                proc.wait(timeout=30)
        self.worker = self.server = None
        self._token = None

    def stop(self) -> None:
        for proc in (self.worker, self.server):
            if proc is not None and proc.poll() is None:
                proc.terminate()
                try:
                    proc.wait(timeout=15)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait(timeout=15)
        self.worker = self.server = None

    def headers(self) -> dict[str, str]:
        if self._token is None:
            response = httpx.post(self.url + "/api/v1/auth/token", timeout=30, data={
                "grant_type": "password", "username": "admin", "password": PASSWORD})
            response.raise_for_status()
            self._token = response.json()["access_token"]
        return {"Authorization": f"Bearer {self._token}"}

    def api(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        return httpx.request(method, self.url + path, headers=self.headers(), timeout=120, **kwargs)


def register_peers(a: LocalNode, b: LocalNode) -> None:
    """Each registers the other with the keys it publishes at /federation/v1/node (both servers must be up).

    Nodes on different machines do the same with ``jaldpi federation peer add ID --url URL --fetch`` (and should
    check the key id with the other operator)."""
    for here, there in ((a, b), (b, a)):
        described = httpx.get(there.url + "/federation/v1/node", timeout=30).json()
        response = here.api("POST", "/federation/v1/peers", json={
            "node_id": described["node_id"], "role": described["role"], "jwks": described["jwks"],
            "base_url": there.url, "jurisdiction": described["jurisdiction"]})
        if response.status_code != 201:
            raise RuntimeError(f"{here.node_id} could not register {there.node_id}: {response.text}")
