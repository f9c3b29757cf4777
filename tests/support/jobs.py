"""Jobs for the tests: built in any state (`new_job`), or put in the store as the services would leave them."""

from __future__ import annotations

import time
import uuid
from collections.abc import Sequence
from datetime import timedelta
from typing import Any

from shared.domain.model import Job, JobStatus, Link
from shared.ports import Adapters, Clock
from shared.tokens import download_token, token_hash

# Whose jobs add_job and make_ready_job make unless told: pages and API answers must never show it.
OWNER_EMAIL = "owner.secret@example.com"


def new_job(clock: Clock, delay: float = 0, **fields: Any) -> Job:
    """A job (not stored) created at `clock()` and scheduled `delay` seconds later; `fields` change any other."""
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


def move(adapters: Adapters, job: Job, target: JobStatus, **changes: Any) -> Job:
    """`job` moved to `target` in the store, as a service would move it; the store must accept the move."""
    moved = job.with_status(target, **changes)
    assert adapters.store.transition(moved, expected=[job.status])
    return moved


def add_job(adapters: Adapters, *, status: JobStatus = JobStatus.SCHEDULED, **fields: Any) -> Job:
    """A job an hour ahead, straight in the store, moved through the lifecycle up to `status` (for a ready
    one, see make_ready_job). Unless `fields` say otherwise: 3 images of "red bikes" for OWNER_EMAIL."""
    now = adapters.clock()
    values: dict[str, Any] = {"id": uuid.uuid4().hex, "query": "red bikes", "email": OWNER_EMAIL, "count": 3}
    job = new_job(lambda: now, delay=3600, **(values | fields))
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
        job = move(adapters, job, target, **extra)
    return job


def make_ready_job(adapters: Adapters, data: bytes, *, ttl: float = 3600, **fields: Any) -> tuple[Job, str]:
    """A ready job whose zip holds `data` and whose link lives `ttl` seconds from now, and its download
    token (derived as the packager does); `fields` as for add_job."""
    job = add_job(adapters, status=JobStatus.PACKAGING, **fields)
    with adapters.blobs.writer(job.zip_key) as out:
        out.write(data)
    now = adapters.clock()
    token = download_token(adapters.settings.secret_key, job.id)
    ready = move(
        adapters,
        job,
        JobStatus.READY,
        token_hash=token_hash(adapters.settings.secret_key, token),
        finished_at=now,
        expires_at=now + timedelta(seconds=ttl),
        zip_bytes=len(data),
    )
    return ready, token


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
    now = adapters.clock()
    job = new_job(
        lambda: now,
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
