"""A load generator in a process of its own: N client threads on keep-alive connections, for a while.

    python bench/_load.py URL --path /healthz --clients 16 --seconds 10
    python bench/_load.py URL --submit --clients 16 --seconds 20 --due-from 120 --due-over 60

Prints one JSON object: requests by status, the rate of successful ones and their latency percentiles,
and, with `--submit`, the ids of the jobs it created (with `--ids FILE`, written there instead).
`--submit` posts to `/api/jobs` a job per request with a distinct email address and a distinct
client address in X-Forwarded-For (the gateway runs with IMGJOB_PROXY_HOPS=1), so that the rate limits
are checked on every request as in production without refusing any. With `--jobs N` it stops after N
submissions (spread evenly over the due window) instead of after `--seconds`. It speaks just enough
HTTP/1.1 for the gateway's answers (`Connection`), so that its own CPU, which the server's cores share,
stays small: about 0.1 ms a request against 0.3 ms with http.client.
"""

from __future__ import annotations

import argparse
import itertools
import json
import socket
import threading
import time
from datetime import UTC, datetime, timedelta
from urllib.parse import urlsplit


def percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


class Connection:
    """HTTP/1.1 on one kept-alive socket, parsed no further than the benchmark needs: the load
    generator shares the cores with the server, and http.client's header parsing cost it more CPU per
    request than the gateway's /healthz."""

    def __init__(self, host: str, port: int) -> None:
        self.host = host
        self.address = (host, port)
        self.sock: socket.socket | None = None
        self.buffer = b""

    def exchange(self, method: str, path: str, body: bytes | None, headers: dict[str, str]) -> tuple[int, bytes]:
        if self.sock is None:
            self.sock = socket.create_connection(self.address, timeout=30)
            self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            self.buffer = b""
        lines = [f"{method} {path} HTTP/1.1", f"Host: {self.host}", *(f"{k}: {v}" for k, v in headers.items())]
        if body is not None:
            lines.append(f"Content-Length: {len(body)}")
        self.sock.sendall("\r\n".join(lines).encode() + b"\r\n\r\n" + (body or b""))
        while b"\r\n\r\n" not in self.buffer:
            self._receive()
        head, self.buffer = self.buffer.split(b"\r\n\r\n", 1)
        status = int(head.split(b" ", 2)[1])
        length, close = 0, False
        for line in head.split(b"\r\n")[1:]:
            name, _, value = line.partition(b":")
            if name.lower() == b"content-length":
                length = int(value)
            elif name.lower() == b"connection" and value.strip().lower() == b"close":
                close = True
            elif name.lower() == b"transfer-encoding":
                raise ValueError("a response without Content-Length; this client reads no other")
        while len(self.buffer) < length:
            self._receive()
        payload, self.buffer = self.buffer[:length], self.buffer[length:]
        if close:
            self.close()
        return status, payload

    def _receive(self) -> None:
        assert self.sock is not None
        data = self.sock.recv(65536)
        if not data:
            raise ConnectionError("the server closed the connection")
        self.buffer += data

    def close(self) -> None:
        if self.sock is not None:
            self.sock.close()
        self.sock = None


class Load:
    def __init__(self, args: argparse.Namespace) -> None:
        self.args = args
        parts = urlsplit(args.url)
        self.host, self.port = parts.hostname or "127.0.0.1", parts.port or 80
        self.counter = itertools.count()
        self.lock = threading.Lock()
        self.latencies: list[float] = []
        self.statuses: dict[int, int] = {}
        self.ids: list[str] = []
        self.start = datetime.now(UTC)

    def request_for(self, n: int) -> tuple[str, str, bytes | None, dict[str, str]]:
        if not self.args.submit:
            return "GET", self.args.path, None, {}
        if self.args.jobs:
            offset = self.args.due_from + self.args.due_over * n / self.args.jobs
        else:
            offset = self.args.due_from + (n % 1000) * self.args.due_over / 1000
        due = self.start + timedelta(seconds=offset)
        body = {
            "query": f"bench query {n}",
            "email": f"bench-{n}@example.com",
            "count": 10,
            "scheduled_at": due.isoformat(timespec="milliseconds"),
        }
        headers = {
            "Content-Type": "application/json",
            "X-Forwarded-For": f"198.18.{n // 250 % 256}.{n % 250 + 1}",  # a benchmarking range, never contacted
        }
        return "POST", "/api/jobs", json.dumps(body).encode(), headers

    def client(self, deadline: float) -> None:
        connection = Connection(self.host, self.port)
        while time.monotonic() < deadline:
            n = next(self.counter)
            if self.args.jobs and n >= self.args.jobs:
                break
            method, path, body, headers = self.request_for(n)
            started = time.perf_counter()
            try:
                status, payload = connection.exchange(method, path, body, headers)
            except (OSError, ValueError):
                connection.close()
                connection = Connection(self.host, self.port)
                status, payload = 0, b""
            elapsed = time.perf_counter() - started
            with self.lock:
                self.statuses[status] = self.statuses.get(status, 0) + 1
                if status in (200, 201):
                    self.latencies.append(elapsed)
                    if self.args.submit:
                        self.ids.append(json.loads(payload)["id"])
        connection.close()

    def run(self) -> dict[str, object]:
        limit = self.args.seconds if not self.args.jobs else 3600
        deadline = time.monotonic() + limit
        threads = [threading.Thread(target=self.client, args=(deadline,)) for _ in range(self.args.clients)]
        started = time.perf_counter()
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        seconds = time.perf_counter() - started
        ok = len(self.latencies)
        summary: dict[str, object] = {
            "seconds": seconds,
            "ok": ok,
            "rate": ok / seconds,
            "statuses": self.statuses,
            "p50_ms": percentile(self.latencies, 0.50) * 1000,
            "p99_ms": percentile(self.latencies, 0.99) * 1000,
        }
        if self.args.submit:
            if self.args.ids:
                with open(self.args.ids, "w") as file:
                    file.write("\n".join(self.ids))
            else:
                summary["ids"] = self.ids
        return summary


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("url")
    parser.add_argument("--path", default="/healthz")
    parser.add_argument("--submit", action="store_true")
    parser.add_argument("--clients", type=int, default=16)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--jobs", type=int, default=0)
    parser.add_argument("--due-from", type=float, default=86400.0, help="seconds from now to the first job's time")
    parser.add_argument("--due-over", type=float, default=60.0, help="seconds the jobs' times spread over")
    parser.add_argument("--ids")
    print(json.dumps(Load(parser.parse_args()).run()))


if __name__ == "__main__":
    main()
