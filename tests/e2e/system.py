"""Runs imgjob for the end-to-end tests: `imgjob up` on embedded adapters, or every service as its
own process (the gateway under gunicorn) on the real infrastructure."""

from __future__ import annotations

import mailbox
import os
import secrets
import signal
import subprocess
import sys
import uuid
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import requests

from services.bootstrap import WORKERS
from tests.infra import require_reachable
from tests.support import read_outbox, wait_until
from tests.support.network import free_port

REPO = Path(__file__).resolve().parents[2]


@dataclass
class RunningSystem:
    kind: str
    url: str
    workdir: Path
    env: dict[str, str]
    maildir: Path | None = None
    logs: list[Path] = field(default_factory=list)
    workers: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)

    def start_worker(self, name: str) -> subprocess.Popen[bytes]:
        """Start (or start again) the worker `name` as its own process, logging to <name>.log."""
        log = self.workdir / f"{name}.log"
        if log not in self.logs:
            self.logs.append(log)
        self.workers[name] = _start([sys.executable, "-m", "services.cli", name], self.workdir, self.env, log, "ab")
        return self.workers[name]

    def emails(self) -> list[EmailMessage]:
        if self.maildir is None:
            return read_outbox(self.workdir / "var" / "outbox")
        for folder in ("cur", "new", "tmp"):  # an empty Maildir may not have them yet
            (self.maildir / folder).mkdir(parents=True, exist_ok=True)
        box = mailbox.Maildir(self.maildir, create=False)
        return [message_from_bytes(m.as_bytes(), policy=policy.default) for m in box]  # type: ignore[misc]

    def log_tail(self, lines: int = 40) -> str:
        return "\n".join(f"--- {p.name}\n" + "\n".join(p.read_text().splitlines()[-lines:]) for p in self.logs)


def _start(argv: list[str], workdir: Path, env: dict[str, str], log: Path, mode: str = "wb") -> subprocess.Popen[bytes]:
    with open(log, mode) as out:
        return subprocess.Popen(argv, cwd=workdir, env=env, stdout=out, stderr=subprocess.STDOUT)


@contextmanager
def _processes(*started: subprocess.Popen[bytes], system: RunningSystem | None = None) -> Iterator[None]:
    try:
        yield
    finally:
        running = [*started, *(system.workers.values() if system else [])]
        for process in running:
            process.send_signal(signal.SIGTERM)
        for process in running:
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def _wait_healthy(system: RunningSystem, processes: list[subprocess.Popen[bytes]]) -> None:
    def healthy() -> bool:
        for process in processes:
            if process.poll() is not None:
                raise AssertionError(f"{process.args} exited with {process.returncode}:\n{system.log_tail()}")
        try:
            # The first probe connects to every store, so it may take a few seconds.
            return requests.get(f"{system.url}/readyz", timeout=15).status_code == 200
        except requests.RequestException:
            return False

    wait_until(healthy, timeout=60, what="the gateway to be ready")


def _base_env(url: str, extra: dict[str, str]) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("IMGJOB_")}
    env.update(
        {
            "PYTHONPATH": str(REPO),
            "IMGJOB_PUBLIC_URL": url,
            "IMGJOB_ALLOW_PRIVATE_NETWORKS": "true",
            "IMGJOB_SEARCH_PROVIDERS": "bing",
            "IMGJOB_SWEEP_INTERVAL": "1",
            # Every worker process has an ops port: a free one each, or the default would be contended.
            "IMGJOB_OPS_PORT": "0",
            # One per system (every process of it shares it), random: the real stack refuses a weak one.
            "IMGJOB_SECRET_KEY": secrets.token_urlsafe(48),
        }
    )
    env.update(extra)
    return env


def _with_path(url: str, path: str) -> str:
    return urlunsplit(urlsplit(url)._replace(path=path))


def real_stack_env(run_id: str) -> dict[str, str]:
    """The real services, with a keyspace and a bucket of this run's own."""
    return {
        "IMGJOB_BUS_URL": require_reachable("bus"),
        "IMGJOB_STORE_URL": _with_path(require_reachable("store"), f"/imgjob_e2e_{run_id}"),
        "IMGJOB_BLOB_URL": _with_path(require_reachable("blobs"), f"/imgjob-e2e-{run_id}"),
        "IMGJOB_SMTP_URL": require_reachable("smtp"),
        "IMGJOB_BROWSER_URL": require_reachable("browser"),
    }


@contextmanager
def running_system(kind: str, workdir: Path, **extra: str) -> Iterator[RunningSystem]:
    workdir.mkdir(parents=True, exist_ok=True)
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    python = sys.executable
    with ExitStack() as stack:
        if kind == "embedded":
            env = _base_env(url, extra)
            system = RunningSystem(kind, url, workdir, env, logs=[workdir / "up.log"])
            process = _start([python, "-m", "services.cli", "up", "--port", str(port)], workdir, env, system.logs[0])
            stack.enter_context(_processes(process))
            _wait_healthy(system, [process])
            yield system
            return
        env = _base_env(url, real_stack_env(uuid.uuid4().hex[:10]) | extra)
        maildir = Path(os.environ.get("IMGJOB_TEST_MAILDIR", REPO / "var" / "infra" / "smtp" / "maildir"))
        system = RunningSystem(kind, url, workdir, env, maildir=maildir)
        migrate = subprocess.run([python, "-m", "services.cli", "migrate"], cwd=workdir, env=env, capture_output=True)
        assert migrate.returncode == 0, migrate.stderr.decode()
        for name in WORKERS:
            system.start_worker(name)
        system.logs.append(workdir / "gateway.log")
        gunicorn = [python, "-m", "gunicorn", "--preload", "--bind", f"127.0.0.1:{port}", "--workers", "2"]
        gateway = _start([*gunicorn, "services.wsgi:create_app()"], workdir, env, system.logs[-1])
        stack.enter_context(_processes(gateway, system=system))
        _wait_healthy(system, [gateway, *system.workers.values()])
        yield system


def personal_data_left(system: RunningSystem, *needles: str, store_only: bool = False) -> list[str]:
    """Where anything of ours still holds one of `needles` (an address, a query, a token): every file
    under var/ (store, WAL, blobs, outbox, dead letters) and the services' logs; with the real stack
    also every object of the run's bucket and every row of every table of the run's keyspace. The mail
    server's own mailbox does not count."""
    found = []
    files = [p for p in (system.workdir / "var").rglob("*") if p.is_file()] + list(system.logs)
    if store_only:  # the database files alone (with the real stack, the keyspace below)
        files = [p for p in files if p.name.startswith("imgjob.sqlite3")]
    for path in files:
        data = path.read_bytes()
        found += [f"{path}: {needle!r}" for needle in needles if needle.encode() in data]
    if system.kind == "embedded":
        return found
    from cassandra.cluster import Cluster

    from shared.adapters.s3.blobs import S3BlobStore

    blobs = S3BlobStore(system.env["IMGJOB_BLOB_URL"])
    for item in [] if store_only else blobs.client.list_objects(blobs.bucket, recursive=True):
        data = b"".join(blobs.read(item.object_name or ""))
        found += [f"s3 {item.object_name}: {needle!r}" for needle in needles if needle.encode() in data]

    store = urlsplit(system.env["IMGJOB_STORE_URL"])
    keyspace = store.path.strip("/")
    cluster = Cluster([store.hostname or "127.0.0.1"], port=store.port or 9042)
    try:
        session = cluster.connect()
        tables = session.execute("SELECT table_name FROM system_schema.tables WHERE keyspace_name = %s", (keyspace,))
        for (table,) in tables:
            # A whole-table read is fine here: a test's own tiny keyspace, not a service query.
            for row in session.execute(f'SELECT * FROM "{keyspace}"."{table}"'):
                found += [f"{keyspace}.{table}: {row!r}" for needle in needles if needle in repr(row)]
        return found
    finally:
        cluster.shutdown()


def blob_keys(system: RunningSystem, job_id: str) -> list[str]:
    """The objects the blob store still holds for the job."""
    if system.kind == "embedded":
        root = system.workdir / "var" / "blobs" / "jobs" / job_id
        return [str(p) for p in root.rglob("*")] if root.exists() else []
    from shared.adapters.s3.blobs import S3BlobStore

    blobs = S3BlobStore(system.env["IMGJOB_BLOB_URL"])
    listing = blobs.client.list_objects(blobs.bucket, prefix=f"jobs/{job_id}/", recursive=True)
    return [item.object_name or "" for item in listing]
