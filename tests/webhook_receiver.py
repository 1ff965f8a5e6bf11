"""A host CRM's webhook receiver for the tests: real HTTP on loopback, checking every signature.

It verifies each request with the ``standardwebhooks`` library (as a CRM would), answers 500 to the
first ``fail_first`` requests, can hold requests until released (so a test can kill the sender
mid-delivery), and keeps what arrived: every request, and the events answered 2xx.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from standardwebhooks.webhooks import Webhook


@dataclass
class Received:
    event_id: str
    status: int
    payload: dict | None
    verified: bool


@dataclass
class Receiver:
    secret: str = ""
    fail_first: int = 0
    hold: threading.Event | None = None
    requests: list[Received] = field(default_factory=list)
    arrived: threading.Condition = field(default_factory=threading.Condition)

    def accepted(self) -> list[Received]:
        """Requests answered 2xx, in order."""
        return [r for r in self.requests if 200 <= r.status < 300]

    def wait_for(self, count: int, timeout: float = 60) -> None:
        """Block until ``count`` requests have arrived (answered or held)."""
        with self.arrived:
            assert self.arrived.wait_for(lambda: len(self.requests) >= count, timeout), self.requests


def serve(receiver: Receiver) -> tuple[ThreadingHTTPServer, str]:
    """Start the receiver on a free loopback port; returns the server and its /hook URL."""

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):  # noqa: N802 - http.server's naming
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            try:
                payload = Webhook(receiver.secret).verify(body, dict(self.headers))
                verified = True
            except Exception:
                payload, verified = None, False
            status = 500 if receiver.fail_first > 0 else (200 if verified else 401)
            receiver.fail_first -= 1 if receiver.fail_first > 0 else 0
            with receiver.arrived:
                receiver.requests.append(Received(self.headers.get("webhook-id", ""), status, payload, verified))
                receiver.arrived.notify_all()
            if receiver.hold is not None:
                receiver.hold.wait(60)
            self.send_response(status)
            self.send_header("Content-Length", "2")
            self.end_headers()
            self.wfile.write(b"ok")

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
    return server, f"http://127.0.0.1:{server.server_address[1]}/hook"
