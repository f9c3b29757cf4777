"""The image host for bench_packager.py, in a process of its own so it does not share a GIL with what
it measures. One threaded server per loopback address given; prints `{"address": port, ...}` as one
JSON line once listening, then serves until its stdin closes (the bench ended or died).

    python bench/_packager_server.py [--werkzeug] 127.0.0.2 127.0.0.3 ...

By default a lean HTTP/1.1 server with keep-alive, as image CDNs have, serving the fake web's images
(tests/fakeweb/images.py: the same bytes for `GET /img/<n>.<ext>?pad_kb=K&latency_ms=M`). Werkzeug's
development server, which runs the fake web in the tests, closes the connection after every response
and spends a few milliseconds of CPU on each: `--werkzeug` serves the fake web's Flask app with it,
to compare.
"""

from __future__ import annotations

import json
import logging
import re
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from werkzeug.serving import make_server

from tests.fakeweb.app import create_app
from tests.fakeweb.images import CONTENT_TYPES, padded

IMAGE_PATH = re.compile(r"^/img/(\d+)\.(jpg|png|gif|webp)$")
CHUNK = 256 * 1024


class ImageHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive: every response carries its Content-Length
    timeout = 60  # an idle kept-alive connection is closed after this long

    def do_GET(self) -> None:
        parts = urlsplit(self.path)
        match = IMAGE_PATH.match(parts.path)
        if match is None:
            self._send(404, b"not found\n", "text/plain")
            return
        query = {key: values[-1] for key, values in parse_qs(parts.query).items()}
        latency = int(query.get("latency_ms", "0"))
        if latency > 0:
            time.sleep(latency / 1000)
        n, ext = int(match.group(1)), match.group(2)
        size = min(max(int(query.get("size", "200")), 8), 4000)
        self._send(200, padded(n, ext, size, max(0, int(query.get("pad_kb", "0")))), CONTENT_TYPES[ext])

    def _send(self, status: int, body: bytes, content_type: str) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        view = memoryview(body)
        for start in range(0, len(body), CHUNK):
            self.wfile.write(view[start : start + CHUNK])

    def log_message(self, format: str, *args: Any) -> None:
        pass  # one log line per request would cost more than serving it


class Server(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 256


def serve(address: str, werkzeug: bool) -> int:
    if werkzeug:
        logging.getLogger("werkzeug").setLevel(logging.WARNING)
        flask_server = make_server(address, 0, create_app(), threaded=True)
        threading.Thread(target=flask_server.serve_forever, daemon=True).start()
        return flask_server.server_port
    server = Server((address, 0), ImageHandler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server.server_address[1]


def main(argv: list[str]) -> int:
    werkzeug = "--werkzeug" in argv
    addresses = [a for a in argv if a != "--werkzeug"]
    ports = {address: serve(address, werkzeug) for address in addresses}
    print(json.dumps(ports), flush=True)
    sys.stdin.read()
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
