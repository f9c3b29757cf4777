"""The scraper service: consumes `job.started` from its queue."""

from __future__ import annotations

from functools import partial

from services.scraper.handlers import on_job_started
from shared.events import JOB_STARTED, QUEUE_SCRAPER
from shared.ports import Adapters
from shared.runtime import Service


def build_service(adapters: Adapters) -> Service:
    return Service(
        name="scraper",
        queue=QUEUE_SCRAPER,
        handlers={JOB_STARTED: partial(on_job_started, adapters)},
    )
