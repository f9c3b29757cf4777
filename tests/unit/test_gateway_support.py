"""Helpers shared by the gateway tests (no tests here): embedded adapters, a settable clock, ready jobs."""

from __future__ import annotations

import re
import secrets
import threading
import time
import uuid
from collections.abc import Callable, Mapping
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from flask.testing import FlaskClient
from werkzeug.test import TestResponse

from shared.bootstrap import Adapters, bootstrap, migrate
from shared.config import Settings
from shared.domain.model import Job, JobStatus
from shared.events import Event

OWNER_EMAIL = "owner.secret@example.com"
# The fixed "now" of the gateway tests' clock (see fixtures_gateway.py).
NOW = datetime(2030, 3, 14, 9, 30, tzinfo=UTC)


class SettableClock:
    """The adapters' clock, moved by the test (the store and the gateway read it, nothing sleeps)."""

    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


def make_settings(tmp_path: Path, **changes: object) -> Settings:
    values: dict[str, object] = {
        "store_url": f"sqlite:///{tmp_path}/s.sqlite3",
        "blob_url": f"file:{tmp_path}/blobs",
        "mail_outbox": str(tmp_path / "outbox"),
        "secret_key": "test",
        "public_url": "http://gateway.test",
    }
    values.update(changes)
    return Settings(**values)  # type: ignore[arg-type]


def make_adapters(
    tmp_path: Path,
    clock: SettableClock | None = None,
    settings: Mapping[str, object] | None = None,
    **overrides: object,
) -> Adapters:
    adapters = bootstrap(
        make_settings(tmp_path, **(settings or {})), clock=clock or SettableClock(datetime.now(UTC)), **overrides
    )
    migrate(adapters)
    return adapters


def metric(text: str, name: str, labels: str = "") -> float:
    """One sample of a Prometheus text exposition; 0 when the series is absent."""
    match = re.search(rf"^{re.escape(name + labels)} (\S+)$", text, re.MULTILINE)
    return float(match.group(1)) if match else 0.0


CSRF_INPUT_RE = re.compile(r'<input type="hidden" name="csrf_token" value="([^"]+)">')


def csrf_token(client: FlaskClient, page: str = "/") -> str:
    """The session's CSRF token, read from the hidden input of a page, as a browser would have it."""
    match = CSRF_INPUT_RE.search(client.get(page).get_data(as_text=True))
    assert match, f"no CSRF input on {page}"
    return match.group(1)


def post_form(client: FlaskClient, path: str, data: Mapping[str, str] | None = None, **kwargs: Any) -> TestResponse:
    """A form post as the page makes it: with the token of the client's session."""
    return client.post(path, data={**(data or {}), "csrf_token": csrf_token(client)}, **kwargs)


class Collector:
    """A queue on the embedded bus that keeps every event it receives, for assertions."""

    def __init__(self, adapters: Adapters, queue_name: str, event_types: list[str]) -> None:
        self._events: list[Event] = []
        self._lock = threading.Lock()
        adapters.bus.subscribe(queue_name, event_types, self._keep)

    def _keep(self, event: Event) -> None:
        with self._lock:
            self._events.append(event)

    @property
    def events(self) -> list[Event]:
        with self._lock:
            return list(self._events)

    def wait_for(self, count: int, timeout: float = 5.0) -> list[Event]:
        wait_until(lambda: len(self.events) >= count, timeout)
        return self.events


def wait_until(condition: Callable[[], bool], timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        time.sleep(0.01)


def add_job(
    adapters: Adapters, *, query: str = "red bikes", status: JobStatus = JobStatus.SCHEDULED, job_id: str = ""
) -> Job:
    """A job straight in the store, moved through the lifecycle up to `status` (ready needs make_ready_job)."""
    now = adapters.clock()
    job = Job(
        id=job_id or uuid.uuid4().hex,
        query=query,
        email=OWNER_EMAIL,
        count=3,
        scheduled_at=now + timedelta(hours=1),
        timezone="Europe/Paris",
        created_at=now,
    )
    adapters.store.add_job(job)
    path = {
        JobStatus.SCHEDULED: [],
        JobStatus.RUNNING: [JobStatus.RUNNING],
        JobStatus.PACKAGING: [JobStatus.RUNNING, JobStatus.PACKAGING],
        JobStatus.FAILED: [JobStatus.RUNNING, JobStatus.FAILED],
    }[status]
    for target in path:
        extra: dict[str, object] = {}
        if target is JobStatus.RUNNING:
            extra["started_at"] = now
        if target is JobStatus.FAILED:
            extra |= {"failure_reason": "no images found", "finished_at": now, "expires_at": now + timedelta(days=1)}
        moved = job.with_status(target, **extra)
        assert adapters.store.transition(moved, expected=[job.status])
        job = moved
    return job


def make_ready_job(adapters: Adapters, data: bytes, *, query: str = "red bikes", ttl: float = 3600) -> tuple[Job, str]:
    """A ready job whose zip holds `data`, and its download token."""
    job = add_job(adapters, query=query, status=JobStatus.PACKAGING)
    with adapters.blobs.writer(job.zip_key) as out:
        out.write(data)
    now = adapters.clock()
    token = secrets.token_urlsafe(32)
    ready = job.with_status(
        JobStatus.READY,
        download_token=token,
        finished_at=now,
        expires_at=now + timedelta(seconds=ttl),
        zip_bytes=len(data),
    )
    assert adapters.store.transition(ready, expected=[JobStatus.PACKAGING])
    return ready, token
