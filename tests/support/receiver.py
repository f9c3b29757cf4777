"""A webhook receiver for the tests: a real HTTP server on loopback that records every request and
answers from a script (a status per request, then a default), like a customer's endpoint would."""

from __future__ import annotations

import threading
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass(frozen=True)
class Received:
    path: str
    headers: dict[str, str]
    body: bytes


class WebhookReceiver:
    """`answers` are the statuses of the first requests, in order; later ones get `default`.
    `location` is sent with 3xx answers. The first `slow` requests are answered only after `hold` seconds
    (or when the receiver closes), like an endpoint that hangs. Use as a context manager; `url` is its
    base address."""

    def __init__(
        self,
        answers: list[int] | None = None,
        default: int = 204,
        location: str | None = None,
        slow: int = 0,
        hold: float = 0.0,
    ) -> None:
        self.answers = list(answers or [])
        self.default = default
        self.location = location
        self.slow, self.hold = slow, hold
        self._closing = threading.Event()
        self.received: list[Received] = []
        self._lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                with receiver._lock:
                    receiver.received.append(Received(self.path, dict(self.headers.items()), body))
                    status = receiver.answers.pop(0) if receiver.answers else receiver.default
                    hangs = len(receiver.received) <= receiver.slow
                if hangs:
                    receiver._closing.wait(receiver.hold)
                self.send_response(status)
                if 300 <= status < 400 and receiver.location:
                    self.send_header("Location", receiver.location)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True, name="webhook-receiver")

    def requests(self) -> list[Received]:
        with self._lock:
            return list(self.received)

    def __enter__(self) -> WebhookReceiver:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._closing.set()
        self._server.shutdown()
        self._server.server_close()
