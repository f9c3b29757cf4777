"""Lifecycle steps more than one service takes: announcing a due job, failing a job, its expiry."""

from __future__ import annotations

import logging
import math
from datetime import datetime

from shared import events
from shared.domain.model import FINISHED, Job, JobStatus
from shared.ports import Adapters

log = logging.getLogger(__name__)

# How early a job.due may arrive: the scheduler holds it for the remainder (see publish_due).
DUE_EARLY_BY = 2.0


def _seconds_until(adapters: Adapters, when: datetime) -> float:
    return max(0.0, (when - adapters.clock()).total_seconds())


def publish_due(adapters: Adapters, job: Job) -> None:
    """The scheduler's wake-up call for the job's start time (now, if that has passed).

    It is sent to arrive up to DUE_EARLY_BY early, after a whole number of such steps, and the
    scheduler holds it for the rest: on the delay ladder a delay of whole 2-second steps skips the
    three lowest levels, each a write to a quorum queue (about 1.5 of a job's 4 to 5 hops), and the
    job starts at its time rather than at the ladder's next tick."""
    seconds = _seconds_until(adapters, job.scheduled_at)
    adapters.bus.publish(events.job_due(job), delay=DUE_EARLY_BY * math.floor(seconds / DUE_EARLY_BY))


def publish_expiry(adapters: Adapters, job: Job) -> None:
    """The janitor's wake-up call for when the job's link (or retry link) stops working."""
    if job.expires_at is None:
        return
    adapters.bus.publish(events.job_expire(job), delay=_seconds_until(adapters, job.expires_at))


def fail_job(adapters: Adapters, job_id: str, reason: str) -> bool:
    """Fail an unfinished job once; the person is told by the notifier. False if it had already ended."""
    job = adapters.store.get_job(job_id)
    if job is None or job.status in FINISHED:
        # A repeated failure after the write: make sure the events went out, they are idempotent.
        if job is not None and job.status is JobStatus.FAILED:
            _announce_failure(adapters, job)
        return False
    failed = job.finish(JobStatus.FAILED, adapters.clock(), adapters.settings.link_ttl, failure_reason=reason)
    if not adapters.store.transition(failed, expected=[job.status]):
        # Someone else moved it meanwhile; let the redelivery look again.
        raise RuntimeError(f"job {job_id} changed while failing it")
    log.info("job %s failed: %s", job_id, reason)
    _announce_failure(adapters, failed)
    return True


def _announce_failure(adapters: Adapters, job: Job) -> None:
    adapters.bus.publish(events.job_failed(job))
    publish_expiry(adapters, job)
