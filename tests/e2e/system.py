"""Runs `imgjob up` as its own process on embedded adapters in a temporary directory."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import requests

from tests.support import wait_until


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@dataclass
class RunningSystem:
    url: str
    workdir: Path
    log: Path

    @property
    def outbox(self) -> Path:
        return self.workdir / "var" / "outbox"

    def files_containing(self, needle: bytes, exclude: Path | None = None) -> list[Path]:
        """Every file under var/ whose bytes contain `needle` (the purge check)."""
        found = []
        for path in (self.workdir / "var").rglob("*"):
            if path.is_file() and not (exclude and exclude in path.parents) and needle in path.read_bytes():
                found.append(path)
        return found


@contextmanager
def running_system(workdir: Path, **env: str) -> Iterator[RunningSystem]:
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    environment = {k: v for k, v in os.environ.items() if not k.startswith("IMGJOB_")}
    environment.update(
        {
            "IMGJOB_PUBLIC_URL": url,
            "IMGJOB_ALLOW_PRIVATE_NETWORKS": "true",
            "IMGJOB_SEARCH_PROVIDERS": "bing",
            "IMGJOB_SWEEP_INTERVAL": "1",
        }
    )
    environment.update(env)
    workdir.mkdir(parents=True, exist_ok=True)
    log = workdir / "imgjob.log"
    with open(log, "wb") as log_file:
        process = subprocess.Popen(
            [sys.executable, "-m", "shared.cli", "up", "--port", str(port)],
            cwd=workdir,
            env=environment | {"PYTHONPATH": str(Path(__file__).resolve().parents[2])},
            stdout=log_file,
            stderr=subprocess.STDOUT,
        )
    try:

        def healthy() -> bool:
            if process.poll() is not None:
                raise AssertionError(f"imgjob up exited with {process.returncode}:\n{log.read_text()}")
            try:
                return requests.get(f"{url}/healthz", timeout=1).status_code == 200
            except requests.ConnectionError:
                return False

        wait_until(healthy, timeout=30, what="imgjob up to answer /healthz")
        yield RunningSystem(url, workdir, log)
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
