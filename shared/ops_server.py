"""A worker's operator endpoints on IMGJOB_OPS_PORT: /healthz, /readyz and /metrics.

A standard-library threaded HTTP server in a daemon thread: a probe or a scrape never waits for a
handler, and a stuck worker still answers /healthz (liveness says the process lives; what it can do is
/readyz). One per process: `imgjob up` serves all its workers on one, beside the gateway's own port.
"""

from __future__ import annotations

import errno
import json
import logging
import socket
import socketserver
import threading
from collections.abc import Callable, Mapping
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest

from shared.config import SettingsError
from shared.readiness import OK

log = logging.getLogger(__name__)

Checks = Callable[[], Mapping[str, str]]  # check name -> "ok" or what is wrong


class OpsPortUnavailable(SettingsError):
    """The ops port cannot be listened on (taken by another process, or not ours to use)."""

    def __init__(self, host: str, port: int, error: OSError) -> None:
        if error.errno == errno.EADDRINUSE:
            why = "is already in use (another worker on this machine?)"
        else:
            why = f"cannot be listened on ({error.strerror or error})"
        super().__init__(
            [f"IMGJOB_OPS_PORT: {host}:{port} {why}; set IMGJOB_OPS_PORT to a free port, or 0 to pick one"]
        )


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    checks: Checks
    registry: CollectorRegistry

    def server_bind(self) -> None:
        # HTTPServer's own would look up the host's fully qualified name: a DNS query, which in a
        # closed network can hang the start for seconds, for a name nothing here uses.
        socketserver.TCPServer.server_bind(self)
        self.server_name, self.server_port = str(self.server_address[0]), int(self.server_address[1])


class _Server6(_Server):
    address_family = socket.AF_INET6


class _Handler(BaseHTTPRequestHandler):
    server: _Server

    def do_GET(self) -> None:
        path = self.path.split("?", 1)[0]
        if path == "/healthz":
            self._json(200, {"status": "ok"})
        elif path == "/readyz":
            self._readyz()
        elif path == "/metrics":
            self._send(200, CONTENT_TYPE_LATEST, generate_latest(self.server.registry))
        else:
            self._json(404, {"error": "not found"})

    def _readyz(self) -> None:
        try:
            checks = dict(self.server.checks())
        except Exception:
            log.exception("readiness checks failed")
            checks = {"checks": "unavailable"}
        ready = bool(checks) and all(state == OK for state in checks.values())
        self._json(200 if ready else 503, {"status": "ok" if ready else "unavailable", "checks": checks})

    def _json(self, status: int, body: object) -> None:
        self._send(status, "application/json", json.dumps(body).encode())

    def _send(self, status: int, content_type: str, body: bytes) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", "no-store")
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        # Probes and scrapes come every few seconds: not worth a log line each.
        log.debug("ops %s - %s", self.address_string(), format % args)


class OpsServer:
    """Serves `checks` on /readyz and `registry` on /metrics at host:port (0: a free port)."""

    def __init__(self, host: str, port: int, checks: Checks, registry: CollectorRegistry) -> None:
        self.host = host
        self._requested_port = port
        self._checks = checks
        self._registry = registry
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None

    @property
    def port(self) -> int:
        """The port listened on (the one picked, when 0 was asked); 0 before `start`."""
        return int(self._server.server_address[1]) if self._server else 0

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def start(self) -> OpsServer:
        """Listen and serve in a daemon thread; OpsPortUnavailable if the port cannot be had."""
        try:
            kind = _Server6 if ":" in self.host else _Server
            server = kind((self.host, self._requested_port), _Handler)
        except OSError as exc:
            raise OpsPortUnavailable(self.host, self._requested_port, exc) from exc
        server.checks = self._checks
        server.registry = self._registry
        self._server = server
        self._thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.5}, daemon=True)
        self._thread.name = "ops-server"
        self._thread.start()
        log.info("health and metrics on %s (/healthz, /readyz, /metrics)", self.url)
        return self

    def stop(self) -> None:
        server, self._server = self._server, None
        if server is None:
            return
        server.shutdown()
        server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
