"""The gateway's rules for recurring searches: starting a series, stopping it, and what it shows.

Plain functions over the adapters, no Flask (as services.gateway.commands).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime

from shared.domain.model import Job, JobStatus
from shared.domain.series import Series, SeriesStatus
from shared.domain.submission import Submission
from shared.lifecycle import publish_due, publish_expiry
from shared.ports import Adapters

log = logging.getLogger(__name__)


def start_series(adapters: Adapters, submission: Submission, series_id: str) -> Job:
    """Store the series (`series_id`, a new uuid4 hex; storing it again is harmless) and its first run,
    and publish that run's `job.due`. The scheduler creates every later run as the one before starts
    (services.scheduler.series)."""
    recurrence = submission.recurrence
    if recurrence is None:
        raise ValueError("a one-off submission starts no series")
    now = adapters.clock()
    series = Series(
        id=series_id,
        query=submission.query,
        email=submission.email,
        count=submission.count,
        timezone=submission.timezone,
        repeat=recurrence.repeat,
        cron=recurrence.cron,
        first_at=recurrence.first_at,
        until_at=recurrence.until_at,
        created_at=now,
        filters=submission.filters,
        webhook_url=submission.webhook_url,
    )
    adapters.store.add_series(series, series.purge_after(adapters.settings.link_ttl))
    first = series.run_at(series.first_at, now)
    # The scheduler's sweep creates a first run the gateway did not get to, and republishes lost job.due.
    adapters.store.add_run(first)
    publish_due(adapters, first)
    log.info("series %s scheduled (%s), first run %s at %s", series.id, series.cron, first.id, first.scheduled_at)
    return first


def stop_series(adapters: Adapters, series_id: str) -> Series | None:
    """Stop the series: no run starts after this, and a run waiting for its time is cancelled (one
    already searching finishes and is delivered). Stopping a stopped or ended series changes nothing.
    None if there is no such series."""
    series = adapters.store.get_series(series_id)
    if series is None:
        return None
    if series.active and adapters.store.end_series(series.end(SeriesStatus.STOPPED, adapters.clock())):
        log.info("series %s stopped", series_id)
    for _, job_id in adapters.store.series_runs(series_id):
        job = adapters.store.get_job(job_id)
        if job is not None and job.status is JobStatus.SCHEDULED:
            cancelled = job.finish(JobStatus.CANCELLED, adapters.clock(), adapters.settings.link_ttl)
            # Conditional: a run that started meanwhile finishes, is delivered, and schedules nothing.
            if adapters.store.transition(cancelled, expected=[JobStatus.SCHEDULED]):
                publish_expiry(adapters, cancelled)
    return adapters.store.get_series(series_id)


@dataclass(frozen=True)
class Run:
    job_id: str
    scheduled_at: datetime
    job: Job | None  # None once purged


@dataclass(frozen=True)
class SeriesView:
    series: Series
    past: list[Run]  # started or finished, latest first
    next: Run | None  # waiting for its time


def series_view(adapters: Adapters, series_id: str) -> SeriesView | None:
    series = adapters.store.get_series(series_id)
    if series is None:
        return None
    runs = [Run(job_id, at, adapters.store.get_job(job_id)) for at, job_id in adapters.store.series_runs(series_id)]
    waiting = [run for run in runs if run.job is not None and run.job.status is JobStatus.SCHEDULED]
    past = [run for run in runs if run not in waiting]
    return SeriesView(series, list(reversed(past)), waiting[-1] if waiting else None)
