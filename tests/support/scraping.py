"""Running the scraper's handler on one job, in the machine's Chromium, against the fake engines."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from services.scraper.handlers import on_job_started
from shared.domain.filters import Filters
from shared.domain.model import Job, JobStatus, Link
from shared.events import JOB_FAILED, JOB_LINKS_COLLECTED, JOB_STARTED, Event
from tests.browser import chromium
from tests.support.adapters import embedded_adapters
from tests.support.clock import SettableClock
from tests.support.events import EventRecorder
from tests.support.jobs import new_job

QUERY = "red fox"


def scrape_job(
    tmp_path: Path, providers: dict[str, str], count: int, filters: Filters | None = None, **settings: Any
) -> tuple[Job, list[Link], Event]:
    """A running job for `count` links of QUERY (with `filters`), searched with `providers` (name -> base
    URL) in that order (`settings` change others): the job and its links as stored, and its
    links_collected or failed event."""
    adapters = embedded_adapters(
        tmp_path,
        SettableClock(),
        browser=chromium(),
        search_providers=tuple(providers),
        search_urls=providers,
        allow_private_networks=True,
        **settings,
    )
    recorder = EventRecorder(adapters)
    adapters.bus.start()
    try:
        job = new_job(adapters.clock, count=count, query=QUERY, status=JobStatus.RUNNING, filters=filters or Filters())
        adapters.store.add_job(job)
        on_job_started(adapters, Event(JOB_STARTED, job.id))
        adapters.bus.wait_idle(10)
        (event,) = recorder.of(JOB_LINKS_COLLECTED, job.id) or recorder.of(JOB_FAILED, job.id)
        stored = adapters.store.get_job(job.id)
        assert stored is not None
        return stored, adapters.store.get_links(job.id), event
    finally:
        adapters.close()
