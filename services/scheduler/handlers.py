"""Scheduler: starts due jobs exactly once, never early; sweeps for lost messages and stuck jobs."""

from __future__ import annotations

import logging
from datetime import timedelta

from shared.bootstrap import Adapters
from shared.domain.model import JobStatus
from shared.events import JOB_DUE, JOB_EXPIRE, JOB_LINKS_COLLECTED, JOB_STARTED, Event
from shared.lifecycle import fail_job

log = logging.getLogger(__name__)

# A scheduled job this late with no start is taken to have lost its job.due message.
LOST_MESSAGE_GRACE = timedelta(seconds=5)
STAGE_OF_EVENT = {
    JOB_DUE: "starting the job",
    JOB_STARTED: "searching for images",
    JOB_LINKS_COLLECTED: "downloading and packing the images",
}


def start_due_job(adapters: Adapters, event: Event) -> None:
    job = adapters.store.get_job(event.job_id)
    if job is None:
        return
    if job.status is JobStatus.RUNNING:
        # A redelivery after the claim: the started event may not have gone out; its consumers are idempotent.
        adapters.bus.publish(Event(JOB_STARTED, job.id))
        return
    if job.status is not JobStatus.SCHEDULED:
        log.info("job %s is %s; job.due dropped", job.id, job.status)
        return
    now = adapters.clock()
    if job.scheduled_at > now:
        # Early (clock skew, or a message for an older schedule): wait for the remainder.
        remainder = (job.scheduled_at - now).total_seconds()
        adapters.bus.publish(Event(JOB_DUE, job.id, event.payload), delay=remainder)
        return
    running = job.with_status(JobStatus.RUNNING, started_at=now)
    if adapters.store.transition(running, expected=[JobStatus.SCHEDULED]):
        log.info("job %s started %.3f s after its time", job.id, (now - job.scheduled_at).total_seconds())
        adapters.bus.publish(Event(JOB_STARTED, job.id))


def sweep(adapters: Adapters) -> None:
    """Republish job.due for scheduled jobs well past their time; fail jobs stuck in a stage."""
    now = adapters.clock()
    for job in adapters.store.due_jobs(until=now - LOST_MESSAGE_GRACE):
        log.warning("job %s is overdue with no start; republishing job.due", job.id)
        adapters.bus.publish(Event(JOB_DUE, job.id, {"scheduled_at": job.scheduled_at.isoformat()}))
    limit = timedelta(seconds=adapters.settings.stuck_after)
    for status in (JobStatus.RUNNING, JobStatus.PACKAGING):
        for job in adapters.store.jobs_in(status):
            if job.started_at is not None and now - job.started_at > limit:
                fail_job(adapters, job.id, f"it took longer than {limit} while {status.value}; gave up")


def fail_dead_lettered(adapters: Adapters, event: Event) -> None:
    """An event that kept failing: the job it belongs to is failed, and the person told, not left hanging."""
    if event.type == JOB_EXPIRE:
        return  # the janitor's periodic sweep purges it anyway
    stage = STAGE_OF_EVENT.get(event.type, event.type)
    fail_job(adapters, event.job_id, f"an internal error kept recurring while {stage}")
