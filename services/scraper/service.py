"""The scraper service: consumes `job.started` from its queue."""

from __future__ import annotations

from functools import partial

from services.scraper.handlers import handle_job_started
from shared.bootstrap import Adapters
from shared.events import JOB_STARTED, QUEUE_SCRAPER
from shared.runtime import Service, by_event_type


def build_service(adapters: Adapters) -> Service:
    """The scraper's handlers, keyed by the queue they consume."""
    return Service(
        name="scraper",
        handlers={QUEUE_SCRAPER: by_event_type({JOB_STARTED: partial(handle_job_started, adapters)})},
    )
