"""The image host for bench_packager.py, in a process of its own so it does not share a GIL with what
it measures. One server per loopback address given; prints `{"address": port, ...}` as one JSON line
once listening, then serves until its stdin closes (the bench ended or died).

    python bench/_packager_server.py [--werkzeug] 127.0.0.2 127.0.0.3 ...

By default a lean HTTP/1.1 server with keep-alive, as image CDNs have, serving the fake web's images
(tests/fakeweb/images.py: the same bytes for `GET /img/<n>.<ext>?pad_kb=K&latency_ms=M&size=S`) from
an edge cache, after the latency asked for, on one asyncio event loop. It shares the 2 cores with
what it measures, so its CPU counts: serving the speed run's 500 images took it 1.0 CPU-second when
it padded every image anew, one thread per connection; 0.3 with the cache; 0.25 on the event loop.
Werkzeug's development server, which runs the fake web in the tests, closes the connection after
every response and spends a few milliseconds of CPU on each: `--werkzeug` serves the fake web's
Flask app with it, to compare.
"""

from __future__ import annotations

import asyncio
import json
import logging
import re
import sys
import threading
from collections import OrderedDict
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from werkzeug.serving import make_server

from tests.fakeweb.app import create_app
from tests.fakeweb.images import CONTENT_TYPES, padded

IMAGE_PATH = re.compile(r"^/img/(\d+)\.(jpg|png|gif|webp)$")
CHUNK = 256 * 1024  # written, then drained, at a time: a slow reader does not make the server buffer a body
IDLE_TIMEOUT = 60.0  # an idle kept-alive connection is closed after this long
# Bodies kept ready to send, as a CDN's edge cache does: padding an image costs the fake web a few
# milliseconds of CPU per 150 KB (random filler), which here would compete with the packager for the
# same 2 cores. A job's worth of the speed run's images fits; the memory run's 4 MB ones mostly do not.
CACHE_BYTES = 128 * 1024 * 1024


class BodyCache:
    """The padded images most recently served, at most `limit` bytes of them, least recent out first."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self._bodies: OrderedDict[tuple[int, str, int, int], bytes] = OrderedDict()
        self._bytes = 0

    def get(self, key: tuple[int, str, int, int]) -> bytes | None:
        body = self._bodies.get(key)
        if body is not None:
            self._bodies.move_to_end(key)
        return body

    def put(self, key: tuple[int, str, int, int], body: bytes) -> None:
        if key in self._bodies or len(body) > self.limit:
            return
        self._bodies[key] = body
        self._bytes += len(body)
        while self._bytes > self.limit:
            self._bytes -= len(self._bodies.popitem(last=False)[1])


BODIES = BodyCache(CACHE_BYTES)


async def image(target: str) -> tuple[int, bytes, str]:
    """Status, body and content type for a request target, after the latency it asks for."""
    parts = urlsplit(target)
    match = IMAGE_PATH.match(parts.path)
    if match is None:
        return 404, b"not found\n", "text/plain"
    query = {key: values[-1] for key, values in parse_qs(parts.query).items()}
    latency = int(query.get("latency_ms", "0"))
    if latency > 0:
        await asyncio.sleep(latency / 1000)
    n, ext = int(match.group(1)), match.group(2)
    key = (n, ext, min(max(int(query.get("size", "200")), 8), 4000), max(0, int(query.get("pad_kb", "0"))))
    body = BODIES.get(key)
    if body is None:
        # A miss draws and pads the image: tens of milliseconds at 4 MB, off the loop that serves the rest.
        body = await asyncio.get_running_loop().run_in_executor(None, padded, *key)
        BODIES.put(key, body)
    return 200, body, CONTENT_TYPES[ext]


async def connection(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    """Answer the requests of one connection, one after the other, until the client closes it."""
    try:
        while True:
            head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), IDLE_TIMEOUT)
            lines = head.decode("latin-1").split("\r\n")
            method, target, version = lines[0].split(" ", 2)
            headers = {k.strip().lower(): v.strip() for k, _, v in (line.partition(":") for line in lines[1:] if line)}
            close = version != "HTTP/1.1" or headers.get("connection", "").lower() == "close"
            status, body, content_type = (405, b"", "text/plain") if method != "GET" else await image(target)
            reason = {200: "OK", 404: "Not Found", 405: "Method Not Allowed"}[status]
            persistence = "Connection: close" if close else "Keep-Alive: timeout=60"
            writer.write(
                f"HTTP/1.1 {status} {reason}\r\nContent-Type: {content_type}\r\n"
                f"Content-Length: {len(body)}\r\n{persistence}\r\n\r\n".encode()
            )
            view = memoryview(body)
            for start in range(0, len(body), CHUNK):
                writer.write(view[start : start + CHUNK])
                await writer.drain()
            await writer.drain()
            if close:
                break
    except (asyncio.IncompleteReadError, asyncio.LimitOverrunError, TimeoutError, ConnectionError, ValueError):
        pass  # closed by the client, idle too long, or not HTTP: drop the connection
    except asyncio.CancelledError:
        pass  # the server is stopping
    finally:
        writer.close()


async def serve_images(addresses: list[str]) -> None:
    servers = [await asyncio.start_server(connection, address, 0, backlog=256) for address in addresses]
    ports = {address: server.sockets[0].getsockname()[1] for address, server in zip(addresses, servers, strict=True)}
    print(json.dumps(ports), flush=True)
    await asyncio.get_running_loop().run_in_executor(None, sys.stdin.read)


def serve_werkzeug(addresses: list[str]) -> None:
    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    ports = {}
    for address in addresses:
        server = make_server(address, 0, create_app(), threaded=True)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        ports[address] = server.server_port
    print(json.dumps(ports), flush=True)
    sys.stdin.read()


def main(argv: list[str]) -> int:
    addresses = [a for a in argv if a != "--werkzeug"]
    if "--werkzeug" in argv:
        serve_werkzeug(addresses)
    else:
        asyncio.run(serve_images(addresses))
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
