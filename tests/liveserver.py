"""A real HTTP server for tests that need one (SDK, conformance kit, webhooks): uvicorn in a thread on a free port.

``with serve(app) as base_url: ...`` starts the ASGI app on 127.0.0.1, waits until it answers, and stops it on exit.
The app is served exactly as in production (uvicorn, real sockets), not through the in-process test client.
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Iterator

import httpx
import uvicorn

from jaldpi.federation.localnet import free_port


@contextlib.contextmanager
def serve(app, *, port: int | None = None, ready_path: str = "/health", timeout_s: float = 15.0) -> Iterator[str]:
    port = port or free_port()
    config = uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="off")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, name=f"liveserver-{port}", daemon=True)
    thread.start()
    base_url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + timeout_s
    while True:
        try:
            if httpx.get(base_url + ready_path, timeout=1.0).status_code < 500:
                break
        except httpx.TransportError:
            pass
        if time.monotonic() > deadline or not thread.is_alive():
            server.should_exit = True
            raise RuntimeError(f"test server on port {port} did not start")
        time.sleep(0.05)
    try:
        yield base_url
    finally:
        server.should_exit = True
        thread.join(timeout=10)
