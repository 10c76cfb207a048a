"""A real HTTP receiver for webhook tests: ``http.server`` in a thread, recording every request it gets.

``fail`` decides the answer per request: return a status code other than 200 to make that delivery fail (the
receiver still records the request, so tests see every attempt).
"""

from __future__ import annotations

import contextlib
import json
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    raw: bytes

    @property
    def body(self) -> dict[str, Any]:
        return json.loads(self.raw)


@dataclass
class Receiver:
    url: str
    requests: list[Received] = field(default_factory=list)
    accepted: list[Received] = field(default_factory=list)
    answer: Callable[[Received, int], int] = lambda _request, _count: 200

    def events(self) -> list[dict[str, Any]]:
        """Bodies of the requests answered 2xx, in arrival order (what the partner actually accepted)."""
        return [r.body for r in self.accepted]


@contextlib.contextmanager
def receiver(answer: Callable[[Received, int], int] | None = None) -> Iterator[Receiver]:
    """``answer(request, n)`` -> HTTP status, where ``n`` counts the requests received so far (1 for the first)."""
    state = Receiver(url="")
    if answer is not None:
        state.answer = answer
    lock = threading.Lock()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802 (http.server's naming)
            raw = self.rfile.read(int(self.headers.get("Content-Length", "0")))
            request = Received(self.path, {k.lower(): v for k, v in self.headers.items()}, raw)
            with lock:
                state.requests.append(request)
                status = state.answer(request, len(state.requests))
                if 200 <= status < 300:
                    state.accepted.append(request)
            self.send_response(status)
            self.send_header("Content-Length", "2")
            self.end_headers()
            self.wfile.write(b"ok")

        def log_message(self, *_args: Any) -> None:
            pass  # keep test output clean

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, name="webhook-receiver", daemon=True)
    thread.start()
    state.url = f"http://127.0.0.1:{server.server_address[1]}/hook"
    try:
        yield state
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)
