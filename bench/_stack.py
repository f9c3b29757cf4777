"""The distributed system for the benchmarks: real RabbitMQ and Cassandra, the gateway under gunicorn,
and scheduler processes, in a vhost and a keyspace of the run's own (removed afterwards).

Needs the infrastructure of `make infra-up` (the benchmarks' Makefile target starts it).
"""

from __future__ import annotations

import json
import os
import secrets
import subprocess
import sys
import tempfile
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import requests

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # the tests' helpers, which are not installed

from tests.support import free_port, wait_until  # noqa: E402

RABBITMQ = ROOT / "scripts" / "infra" / "rabbitmq.sh"
GATEWAY_WORKERS = 1


def commit() -> str:
    found = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True)
    dirty = subprocess.run(["git", "status", "--porcelain"], cwd=ROOT, capture_output=True, text=True).stdout.strip()
    return (found.stdout.strip() or "unknown") + ("+changes" if dirty else "")


def machine() -> str:
    return f"{os.cpu_count()} cores, commit {commit()}"


def rabbitmqctl(*args: str) -> str:
    done = subprocess.run([str(RABBITMQ), "ctl", *args], capture_output=True, text=True, timeout=120)
    if done.returncode != 0:
        raise SystemExit(f"rabbitmqctl {' '.join(args)} failed: {done.stderr.strip()}")
    return done.stdout


def broker_memory_mb() -> float:
    """The broker's total memory as RabbitMQ accounts it (what its memory alarm compares)."""
    status = json.loads(rabbitmqctl("status", "--formatter", "json"))
    return float(status["memory"]["total"]["rss"]) / 2**20


def _process_cpu(pid: int) -> float:
    try:
        fields = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()  # noqa: SIM115 - read at once
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")  # utime + stime


def _pids_matching(pattern: str) -> list[int]:
    found = subprocess.run(["pgrep", "-f", pattern], capture_output=True, text=True).stdout.split()
    return [int(pid) for pid in found]


def cpu_seconds(stack: Stack) -> dict[str, float]:
    """CPU time used so far by the stack's processes (gunicorn's workers included) and by the brokers."""
    roles: dict[str, float] = {}
    for process in stack.processes:
        role = "gateway" if "gunicorn" in " ".join(map(str, process.args)) else "schedulers"
        children = _pids_matching(f"^.*gunicorn.*{stack.url.rsplit(':', 1)[1]}") if role == "gateway" else []
        pids = {process.pid, *children}
        roles[role] = roles.get(role, 0.0) + sum(_process_cpu(pid) for pid in pids)
    roles["cassandra"] = sum(_process_cpu(pid) for pid in _pids_matching("cassandra.config"))
    roles["rabbitmq"] = sum(_process_cpu(pid) for pid in _pids_matching("beam.smp"))
    return roles


@dataclass
class Stack:
    env: dict[str, str]
    url: str
    workdir: Path
    processes: list[subprocess.Popen[bytes]] = field(default_factory=list)

    def start(self, name: str, argv: list[str]) -> subprocess.Popen[bytes]:
        log = open(self.workdir / f"{name}-{len(self.processes)}.log", "wb")  # noqa: SIM115 - the process owns it
        process = subprocess.Popen(argv, cwd=self.workdir, env=self.env, stdout=log, stderr=subprocess.STDOUT)
        self.processes.append(process)
        return process

    def start_gateway(self, workers: int = GATEWAY_WORKERS) -> None:
        port = int(self.url.rsplit(":", 1)[1])
        gunicorn = [sys.executable, "-m", "gunicorn", "-c", "python:services.gunicorn_conf", "--preload"]
        self.start(
            "gateway",
            [*gunicorn, "--bind", f"127.0.0.1:{port}", "--workers", str(workers), "services.wsgi:create_app()"],
        )

        def ready() -> bool:
            try:
                return requests.get(f"{self.url}/readyz", timeout=2).status_code == 200
            except requests.RequestException:
                return False

        wait_until(ready, timeout=60, interval=0.2, what="the gateway's /readyz")

    def start_scheduler(self) -> None:
        self.start("scheduler", [sys.executable, "-m", "services.cli", "scheduler"])

    def load(self, *args: str) -> dict[str, Any]:
        """Runs bench/_load.py against the gateway in a process of its own; its JSON summary."""
        done = subprocess.run(
            [sys.executable, str(ROOT / "bench" / "_load.py"), self.url, *args], capture_output=True, text=True
        )
        if done.returncode != 0:
            raise SystemExit(f"the load generator failed: {done.stderr[-2000:]}")
        result: dict[str, Any] = json.loads(done.stdout)
        return result

    def store(self) -> Any:
        """The run's store, built from the same settings the services use."""
        from services.bootstrap import build_store
        from shared.config import Settings

        return build_store(Settings.from_env(self.env))


@contextmanager
def running_stack(**extra: str) -> Iterator[Stack]:
    run_id = uuid.uuid4().hex[:10]
    vhost = f"imgjob-bench-{run_id}"
    keyspace = f"imgjob_bench_{run_id}"
    rabbitmqctl("add_vhost", vhost)
    rabbitmqctl("set_permissions", "-p", vhost, "guest", ".*", ".*", ".*")
    with tempfile.TemporaryDirectory(prefix="imgjob-bench-") as temp:
        workdir = Path(temp)
        url = f"http://127.0.0.1:{free_port()}"
        env = {k: v for k, v in os.environ.items() if not k.startswith("IMGJOB_")}
        env.update(
            {
                "PYTHONPATH": str(ROOT),
                "IMGJOB_BUS_URL": f"amqp://guest:guest@127.0.0.1:5672/{vhost}",
                "IMGJOB_STORE_URL": f"cassandra://127.0.0.1:9042/{keyspace}",
                "IMGJOB_BLOB_URL": f"file:{workdir / 'blobs'}",
                "IMGJOB_PUBLIC_URL": url,
                "IMGJOB_SECRET_KEY": secrets.token_urlsafe(48),
                "IMGJOB_PROXY_HOPS": "1",
                "IMGJOB_OPS_PORT": "0",
            }
        )
        env.update(extra)
        stack = Stack(env, url, workdir)
        try:
            migrate = subprocess.run([sys.executable, "-m", "services.cli", "migrate"], env=env, cwd=workdir)
            if migrate.returncode != 0:
                raise SystemExit("imgjob migrate failed")
            yield stack
        finally:
            for process in stack.processes:
                process.terminate()
            for process in stack.processes:
                try:
                    process.wait(timeout=20)
                except subprocess.TimeoutExpired:
                    process.kill()
            rabbitmqctl("delete_vhost", vhost)
            _drop_keyspace(keyspace)


def _drop_keyspace(keyspace: str) -> None:
    from cassandra.cluster import Cluster

    cluster = Cluster(["127.0.0.1"], port=9042)
    try:
        cluster.connect().execute(f"DROP KEYSPACE IF EXISTS {keyspace}", timeout=120)
    finally:
        cluster.shutdown()
