"""Lifecycle steps more than one service takes: failing a job and scheduling its expiry."""

from __future__ import annotations

import logging
from datetime import timedelta

from shared.bootstrap import Adapters
from shared.domain.model import FINISHED, Job, JobStatus
from shared.events import JOB_EXPIRE, JOB_FAILED, Event

log = logging.getLogger(__name__)


def publish_expiry(adapters: Adapters, job: Job) -> None:
    """The janitor's wake-up call for when the job's link (or retry link) stops working."""
    if job.expires_at is None:
        return
    delay = max(0.0, (job.expires_at - adapters.clock()).total_seconds())
    adapters.bus.publish(Event(JOB_EXPIRE, job.id, {"expires_at": job.expires_at.isoformat()}), delay=delay)


def fail_job(adapters: Adapters, job_id: str, reason: str) -> bool:
    """Fail an unfinished job once; the person is told by the notifier. False if it had already ended."""
    job = adapters.store.get_job(job_id)
    if job is None or job.status in FINISHED:
        # A repeated failure after the write: make sure the events went out, they are idempotent.
        if job is not None and job.status is JobStatus.FAILED:
            _announce_failure(adapters, job)
        return False
    now = adapters.clock()
    failed = job.with_status(
        JobStatus.FAILED,
        failure_reason=reason,
        finished_at=now,
        expires_at=now + timedelta(seconds=adapters.settings.link_ttl),
    )
    if not adapters.store.transition(failed, expected=[job.status]):
        # Someone else moved it meanwhile; let the redelivery look again.
        raise RuntimeError(f"job {job_id} changed while failing it")
    log.info("job %s failed: %s", job_id, reason)
    _announce_failure(adapters, failed)
    return True


def _announce_failure(adapters: Adapters, job: Job) -> None:
    adapters.bus.publish(Event(JOB_FAILED, job.id, {"reason": job.failure_reason or ""}))
    publish_expiry(adapters, job)
