"""Janitor: at expiry, every file and record of a job goes; only the token's tombstone stays."""

from __future__ import annotations

import logging

from services.janitor import series
from shared import events
from shared.domain.model import Job
from shared.events import Event
from shared.lifecycle import publish_expiry
from shared.ports import Adapters
from shared.webhooks import record_delivery

log = logging.getLogger(__name__)


def purge(adapters: Adapters, job: Job) -> None:
    """Files first, records last: if this stops half-way, the record is still there for the next try."""
    removed = adapters.blobs.delete_prefix(job.blob_prefix)
    emails = adapters.mailer.forget(job.id)
    # job.expired is the job's last event: its webhook delivery (URL and body) is recorded before the
    # purge takes the URL, and the event is announced before the purge, so a janitor that stops in
    # between announces it again on the next try (the delivery is recorded once).
    expired = events.job_expired(job)
    record_delivery(adapters, job, expired)
    adapters.bus.publish(expired)
    adapters.store.purge_job(job.id)
    log.info("job %s purged (%d objects, %d kept emails)", job.id, removed, emails)
    if job.series_id:
        # The last run of an ended series takes the series with it.
        series.purge_if_done(adapters, job.series_id)


def on_job_expire(adapters: Adapters, event: Event) -> None:
    job = adapters.store.get_job(event.job_id)
    if job is None or job.expires_at is None:
        return  # already purged, or not finished yet (its own expiry event will come)
    if job.expires_at > adapters.clock():
        publish_expiry(adapters, job)  # early delivery: wait for the rest
        return
    purge(adapters, job)


def on_job_failed(adapters: Adapters, event: Event) -> None:
    """A failed job keeps its record (for the retry link) until expiry, but none of its files."""
    job = adapters.store.get_job(event.job_id)
    if job is not None:
        adapters.blobs.delete_prefix(job.blob_prefix)


def sweep(adapters: Adapters) -> None:
    """The backstop for lost expiry messages."""
    for job in adapters.store.expired_jobs(adapters.clock()):
        purge(adapters, job)
    series.sweep(adapters)
