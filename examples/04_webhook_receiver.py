"""Receive webhook deliveries: check the signature on the raw body, drop duplicates, answer 2xx quickly.

    JALDPI_WEBHOOK_SECRET=<the secret returned when you subscribed> JALDPI_RECEIVER_PORT=8900 \
        python examples/04_webhook_receiver.py

Standard library only (plus jaldpi.client for the signature check). Subscribe it with
POST /api/v1/webhooks {"url": "http://<this host>:8900/", "event_types": ["households.*"]} (docs/sdk.md).
"""

import json
import os
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from jaldpi.client import SIGNATURE_HEADER, SignatureVerificationError, verify_signature

SECRET = os.environ["JALDPI_WEBHOOK_SECRET"]
seen_events: set[str] = set()  # a real receiver keeps this in its database (delivery is at least once)


class Receiver(BaseHTTPRequestHandler):
    def do_POST(self) -> None:
        raw = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        try:
            verify_signature(SECRET, self.headers.get(SIGNATURE_HEADER), raw, tolerance_seconds=300)
        except SignatureVerificationError as exc:
            print(f"rejected: {exc}", flush=True)
            self.send_response(400)
            self.end_headers()
            return
        event = json.loads(raw)
        if event["id"] in seen_events:
            print(f"duplicate {event['id']}", flush=True)
        else:
            seen_events.add(event["id"])
            data = event["data"]
            subject = data.get("record_id") or data.get("message")
            print(f"event {event['id']} {event['type']} {subject}", flush=True)
        self.send_response(204)  # answer fast; do slow work after (or in a queue)
        self.end_headers()

    def log_message(self, format: str, *args: object) -> None:
        pass  # keep the output to the events


def main() -> None:
    host = os.environ.get("JALDPI_RECEIVER_HOST", "127.0.0.1")  # 0.0.0.0 to accept deliveries from another host
    port = int(os.environ.get("JALDPI_RECEIVER_PORT", "8900"))
    server = ThreadingHTTPServer((host, port), Receiver)
    print(f"listening on http://{host}:{port}/", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()
