"""Test helpers: embedded adapters on a temporary directory, a settable clock, an event recorder."""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Callable, Iterable, Sequence
from datetime import UTC, datetime, timedelta
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path
from typing import Any

from shared.bootstrap import Adapters, bootstrap, migrate
from shared.config import Settings
from shared.domain.model import Job, JobStatus, Link
from shared.events import ALL_EVENT_TYPES, Event


def embedded_settings(tmp_path: Path, **overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "store_url": f"sqlite:///{tmp_path}/imgjob.sqlite3",
        "blob_url": f"file:{tmp_path}/blobs",
        "mail_outbox": str(tmp_path / "outbox"),
        "secret_key": "test-secret",
        "allow_private_networks": True,
        "search_providers": ("bing",),
    }
    values.update(overrides)
    return Settings(**values)


def embedded_adapters(tmp_path: Path, clock: Callable[[], datetime] | None = None, **overrides: Any) -> Adapters:
    extra: dict[str, Any] = {"clock": clock} if clock else {}
    adapters = bootstrap(embedded_settings(tmp_path, **overrides), **extra)
    migrate(adapters)
    return adapters


class SettableClock:
    def __init__(self, start: datetime | None = None) -> None:
        self.now = start or datetime(2030, 1, 1, 12, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


def new_job(clock: Callable[[], datetime], delay: float = 0, **fields: Any) -> Job:
    values: dict[str, Any] = {
        "id": fields.pop("id", f"job{time.monotonic_ns()}"),
        "query": "red bicycles",
        "email": "person@example.com",
        "count": 5,
        "scheduled_at": clock() + timedelta(seconds=delay),
        "timezone": "Europe/Paris",
        "created_at": clock(),
    }
    values.update(fields)
    return Job(**values)


def packaging_job(
    adapters: Adapters,
    urls: Sequence[str],
    *,
    query: str,
    email: str = "someone@example.com",
    timezone: str = "UTC",
    found_on_pages: bool = False,
) -> Job:
    """A job in `packaging` with `urls` as its links, in order, as the scraper leaves it for the packager.

    With `found_on_pages`, each link also names the page Bing found it on (https://pages.example/<position>).
    """
    now = datetime.now(UTC)
    job = Job(
        id=uuid.uuid4().hex,
        query=query,
        email=email,
        count=len(urls),
        scheduled_at=now - timedelta(minutes=1),
        timezone=timezone,
        created_at=now - timedelta(minutes=2),
        status=JobStatus.PACKAGING,
        started_at=now - timedelta(minutes=1),
    )
    adapters.store.add_job(job)
    links = [
        Link(position=i, url=url, page_url=f"https://pages.example/{i}", provider="bing")
        if found_on_pages
        else Link(position=i, url=url)
        for i, url in enumerate(urls, 1)
    ]
    adapters.store.save_links(job.id, links)
    return job


class EventRecorder:
    """Records every event on the bus (through its own queue) so tests can wait for one."""

    def __init__(self, adapters: Adapters, queue: str = "test.recorder", types: Iterable[str] = ALL_EVENT_TYPES):
        self.events: list[Event] = []
        self._cond = threading.Condition()
        adapters.bus.subscribe(queue, list(types), self._record)

    def _record(self, event: Event) -> None:
        with self._cond:
            self.events.append(event)
            self._cond.notify_all()

    def of(self, event_type: str, job_id: str | None = None) -> list[Event]:
        with self._cond:
            return [e for e in self.events if e.type == event_type and (job_id is None or e.job_id == job_id)]

    def wait_for(
        self, event_type: str, job_id: str | None = None, timeout: float = 10.0, count: int = 1
    ) -> list[Event]:
        deadline = time.monotonic() + timeout
        with self._cond:
            while True:
                found = [e for e in self.events if e.type == event_type and (job_id is None or e.job_id == job_id)]
                if len(found) >= count:
                    return found
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise AssertionError(f"no {event_type} for {job_id} within {timeout} s; saw {self.events}")
                self._cond.wait(remaining)


def wait_until(condition: Callable[[], Any], timeout: float = 10.0, interval: float = 0.05, what: str = "") -> Any:
    """Poll `condition` until it returns something truthy; fail after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        result = condition()
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what or condition}")
        time.sleep(interval)


def read_outbox(outbox: Path) -> list[EmailMessage]:
    """Every message the outbox mailer wrote, oldest first."""
    if not outbox.exists():
        return []
    return [
        message_from_bytes(path.read_bytes(), policy=policy.default)  # type: ignore[misc]
        for path in sorted(outbox.glob("*.eml"))
    ]


def text_part(message: EmailMessage) -> str:
    body = message.get_body(preferencelist=("plain",))
    assert body is not None, "message has no plain-text part"
    return str(body.get_content())


def html_part(message: EmailMessage) -> str:
    body = message.get_body(preferencelist=("html",))
    assert body is not None, "message has no HTML part"
    return str(body.get_content())
