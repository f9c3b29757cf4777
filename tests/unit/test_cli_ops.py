"""Worker processes serve /healthz, /readyz and /metrics on IMGJOB_OPS_PORT, write JSON logs when told,
and refuse to start on an ops port that is taken."""

from __future__ import annotations

import json
import re
import secrets
import signal
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import requests

from tests.support import embedded_environment, wait_until

OPS_LINE = re.compile(r"health and metrics on (http://127\.0\.0\.1:\d+)")
GATEWAY_LINE = re.compile(r"gateway on (http://127\.0\.0\.1:\d+)")


def _env(tmp_path: Path, **extra: str) -> dict[str, str]:
    return embedded_environment(tmp_path, IMGJOB_SECRET_KEY=secrets.token_urlsafe(48), **extra)


@contextmanager
def _imgjob(tmp_path: Path, log: Path, *args: str, **extra: str) -> Iterator[subprocess.Popen[bytes]]:
    """`imgjob ARGS` running, its output in `log`; stopped with SIGTERM at the end, which must end it cleanly."""
    with open(log, "wb") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "services.cli", *args],
            cwd=tmp_path,
            env=_env(tmp_path, **extra),
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    try:
        yield process
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            assert process.wait(timeout=30) == 0, log.read_text()
        finally:
            if process.poll() is None:
                process.kill()


def _url_in(log: Path, pattern: re.Pattern[str], process: subprocess.Popen[bytes]) -> str:
    def found() -> str | None:
        assert process.poll() is None, f"exited with {process.returncode}:\n{log.read_text()}"
        match = pattern.search(log.read_text())
        return match.group(1) if match else None

    url: str = wait_until(found, timeout=30, what=f"{pattern.pattern} in {log.name}")
    return url


def _ready(url: str) -> bool:
    return requests.get(f"{url}/readyz", timeout=10).status_code == 200


def test_a_worker_answers_health_and_readiness_on_its_ops_port_and_a_second_one_cannot_take_it(
    tmp_path: Path,
) -> None:
    log = tmp_path / "janitor.log"
    with _imgjob(tmp_path, log, "janitor", IMGJOB_OPS_PORT="0", IMGJOB_LOG_FORMAT="json") as worker:
        ops = _url_in(log, OPS_LINE, worker)
        assert requests.get(f"{ops}/healthz", timeout=10).json() == {"status": "ok"}
        # Alive while it waits for `imgjob migrate`, and not ready, saying why.
        waiting = requests.get(f"{ops}/readyz", timeout=10)
        assert waiting.status_code == 503
        assert waiting.json()["checks"]["store"].startswith("not migrated")
        assert waiting.json()["checks"]["consumer"] == "not consuming"

        migrated = subprocess.run(
            [sys.executable, "-m", "services.cli", "migrate"], cwd=tmp_path, env=_env(tmp_path), capture_output=True
        )
        assert migrated.returncode == 0, migrated.stderr
        wait_until(lambda: _ready(ops), timeout=30, what="the janitor to be ready once migrated")
        assert requests.get(f"{ops}/readyz", timeout=10).json()["checks"] == {"store": "ok", "consumer": "ok"}
        assert "# TYPE imgjob_events_handled_total counter" in requests.get(f"{ops}/metrics", timeout=10).text

        port = ops.rsplit(":", 1)[1]
        rival = subprocess.run(
            [sys.executable, "-m", "services.cli", "janitor"],
            cwd=tmp_path,
            env=_env(tmp_path, IMGJOB_OPS_PORT=port),
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert rival.returncode == 2, rival.stderr
        assert f"IMGJOB_OPS_PORT: 127.0.0.1:{port} is already in use" in rival.stderr
        assert "Traceback" not in rival.stderr and "janitor started" not in rival.stderr
        assert _ready(ops)  # the first one is untouched

    records = [json.loads(line) for line in log.read_text().splitlines()]  # every line is one JSON object
    assert {record["service"] for record in records} == {"janitor"}
    assert "janitor started" in [record["message"] for record in records]


def test_imgjob_up_serves_every_worker_on_one_ops_port_and_the_gateway_keeps_its_own_metrics(
    tmp_path: Path,
) -> None:
    log = tmp_path / "up.log"
    with _imgjob(tmp_path, log, "up", "--port", "0", IMGJOB_OPS_PORT="0") as up:
        ops, gateway = _url_in(log, OPS_LINE, up), _url_in(log, GATEWAY_LINE, up)
        assert ops != gateway
        wait_until(lambda: _ready(ops), timeout=30, what="the workers of `imgjob up` to be ready")
        workers = requests.get(f"{ops}/metrics", timeout=10).text
        assert "imgjob_scheduler_lateness_seconds_count" in workers
        assert "imgjob_gateway_submissions" not in workers
        assert "imgjob_gateway_submissions" in requests.get(f"{gateway}/metrics", timeout=10).text
    assert not any(line.startswith("{") for line in log.read_text().splitlines())  # text unless told
