"""The rate limits hold for the whole service, not per process: gunicorn with four workers on one store
admits exactly the configured number of jobs for a mailbox, however the requests are spread."""

from __future__ import annotations

import json
import os
import secrets
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import pytest

from shared.adapters.sqlite.store import SqliteJobStore
from shared.domain.model import JobStatus
from tests.support import wait_until
from tests.support.network import free_port

REPO = Path(__file__).resolve().parents[2]
WORKERS = 4
LIMIT = 5
REQUESTS = 20


@dataclass(frozen=True)
class Answer:
    status: int
    headers: dict[str, str]
    body: bytes

    def json(self) -> dict[str, dict[str, str]]:
        found: dict[str, dict[str, str]] = json.loads(self.body)
        return found


@dataclass(frozen=True)
class Gateway:
    port: int
    access_log: Path

    def workers_that_answered(self, path: str) -> set[str]:
        """The pids of the workers that answered requests for `path` (from the access log)."""
        lines = self.access_log.read_text().splitlines() if self.access_log.exists() else []
        return {line.split()[0] for line in lines if f" {path} " in line}

    def send_together(self, requests: list[bytes]) -> list[Answer]:
        """Every request at once, from a thread each. Each thread sends all of its request but the last
        byte; all wait (a moment more, so that every idle worker has taken a connection and waits on
        it); then all send their last byte. A sync worker serves one connection at a time, so every
        worker holds one of the first requests: all of them answer, whatever the kernel's choice."""
        together = threading.Barrier(len(requests), action=lambda: time.sleep(0.5))

        def send(request: bytes) -> Answer:
            with socket.create_connection(("127.0.0.1", self.port), timeout=30) as conn:
                conn.sendall(request[:-1])
                together.wait(timeout=30)
                conn.sendall(request[-1:])
                raw = b"".join(iter(lambda: conn.recv(65536), b""))
            head, _, body = raw.partition(b"\r\n\r\n")
            status_line, *header_lines = head.decode("latin-1").split("\r\n")
            headers = dict(line.split(": ", 1) for line in header_lines)
            return Answer(int(status_line.split()[1]), headers, body)

        with ThreadPoolExecutor(len(requests)) as pool:
            return list(pool.map(send, requests))

    def request(self, method: str, path: str, body: bytes = b"") -> bytes:
        return (
            f"{method} {path} HTTP/1.1\r\nHost: 127.0.0.1:{self.port}\r\nContent-Type: application/json\r\n"
            f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n"
        ).encode() + body

    def submission(self, email: str) -> bytes:
        return self.request(
            "POST", "/api/jobs", json.dumps({"query": "lighthouses", "email": email, "count": 3}).encode()
        )


def _environment(tmp_path: Path, port: int) -> dict[str, str]:
    env = {name: value for name, value in os.environ.items() if not name.startswith("IMGJOB_")}
    env.update(
        {
            "PYTHONPATH": str(REPO),
            "IMGJOB_STORE_URL": f"sqlite:///{tmp_path}/imgjob.sqlite3",  # an absolute path: four slashes
            "IMGJOB_BLOB_URL": f"file://{tmp_path}/blobs",
            "IMGJOB_BUS_URL": "memory://",
            "IMGJOB_MAIL_OUTBOX": str(tmp_path / "outbox"),
            "IMGJOB_DEAD_LETTER_DIR": str(tmp_path / "dead-letters"),
            "IMGJOB_PUBLIC_URL": f"http://127.0.0.1:{port}",
            "IMGJOB_SECRET_KEY": secrets.token_urlsafe(36),  # 48 characters
            "IMGJOB_RATE_LIMIT_PER_EMAIL": f"{LIMIT}/hour",
            "IMGJOB_RATE_LIMIT_PER_ADDRESS": "off",
        }
    )
    return env


@pytest.fixture
def gateway(tmp_path: Path) -> Iterator[Gateway]:
    """`imgjob migrate`, then gunicorn with four workers on the migrated SQLite store, every worker up."""
    port = free_port()
    env = _environment(tmp_path, port)
    migrated = subprocess.run(
        [sys.executable, "-m", "services.cli", "migrate"], env=env, cwd=tmp_path, capture_output=True, timeout=60
    )
    assert migrated.returncode == 0, migrated.stderr.decode(errors="replace")
    log = tmp_path / "gunicorn.log"
    gateway = Gateway(port, tmp_path / "access.log")
    command = ["gunicorn", "--workers", str(WORKERS), "--bind", f"127.0.0.1:{port}"]
    # Which worker answered each request, so the test can tell that every one of them did.
    command += ["--access-logfile", str(gateway.access_log), "--access-logformat", "worker=%(p)s %(m)s %(U)s %(s)s"]
    with log.open("wb") as output:
        server = subprocess.Popen(
            [sys.executable, "-m", *command, "services.wsgi:create_app()"],
            env=env,
            cwd=tmp_path,
            stdout=output,
            stderr=subprocess.STDOUT,
        )

    def every_worker_answers() -> bool:
        assert server.poll() is None, log.read_text(errors="replace")
        try:
            gateway.send_together([gateway.request("GET", "/healthz")] * WORKERS)
        except OSError:
            return False
        return len(gateway.workers_that_answered("/healthz")) == WORKERS

    try:
        wait_until(every_worker_answers, timeout=60, what="every gunicorn worker to answer")
        yield gateway
    finally:
        server.send_signal(signal.SIGTERM)
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait(timeout=10)


def _clear_of_the_hours_edge() -> None:
    """The per-email window is the hour of UTC: keep the burst inside one (a wait only in its last 30 s)."""
    now = datetime.now(UTC)
    left = 3600 - (now.minute * 60 + now.second + now.microsecond / 1e6)
    if left < 30:
        time.sleep(left + 1)


def test_four_gunicorn_workers_admit_exactly_the_limit_for_one_mailbox(gateway: Gateway, tmp_path: Path) -> None:
    # One mailbox, spelled several ways, so the normalised key is what is counted.
    spellings = ["Name+{}@Example.com", "name@example.com", "NAME+x{}@EXAMPLE.COM", "name+{}@example.com"]
    emails = [spellings[i % len(spellings)].format(i) for i in range(REQUESTS)]
    _clear_of_the_hours_edge()
    answers = gateway.send_together([gateway.submission(email) for email in emails])

    assert sorted(answer.status for answer in answers) == [201] * LIMIT + [429] * (REQUESTS - LIMIT)
    for answer in answers:
        if answer.status == 429:
            assert 1 <= int(answer.headers["Retry-After"]) <= 3600
            assert set(answer.json()["errors"]) == {"email"}
            assert "Too many jobs for this email address" in answer.json()["errors"]["email"]
    wait_until(lambda: len(gateway.workers_that_answered("/api/jobs")) == WORKERS, timeout=5, what="every worker")
    store = SqliteJobStore(tmp_path / "imgjob.sqlite3")
    try:
        assert len(store.jobs_in(JobStatus.SCHEDULED)) == LIMIT
    finally:
        store.close()
    # Another mailbox has its own allowance.
    [other] = gateway.send_together([gateway.submission("someone.else@example.com")])
    assert other.status == 201
