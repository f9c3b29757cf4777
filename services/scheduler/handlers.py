"""Scheduler: starts due jobs exactly once, never early; sweeps for lost messages and stuck jobs."""

from __future__ import annotations

import logging
from datetime import timedelta

from services.scheduler import series
from shared import events, metrics
from shared.domain.model import JobStatus
from shared.events import QUEUE_PACKAGER, QUEUE_SCHEDULER, QUEUE_SCRAPER, Event
from shared.lifecycle import fail_job, publish_due
from shared.ports import Adapters, DeadLetter

log = logging.getLogger(__name__)

# A scheduled job this late with no start is taken to have lost its job.due message.
LOST_MESSAGE_GRACE = timedelta(seconds=5)
# The queues of the stages a job waits on, and what the job was doing there.
STAGE_OF_QUEUE = {
    QUEUE_SCHEDULER: "starting the job",
    QUEUE_SCRAPER: "searching for images",
    QUEUE_PACKAGER: "downloading and packing the images",
}


def on_job_due(adapters: Adapters, event: Event) -> None:
    job = adapters.store.get_job(event.job_id)
    if job is None:
        return
    if job.status is JobStatus.RUNNING:
        # A redelivery after the claim: the started event may not have gone out; its consumers are idempotent.
        adapters.bus.publish(events.job_started(job))
        if job.series_id:
            series.schedule_next(adapters, job.series_id, job.scheduled_at)
        return
    if job.status is not JobStatus.SCHEDULED:
        log.info("job %s is %s; job.due dropped", job.id, job.status)
        return
    now = adapters.clock()
    if job.scheduled_at > now:
        # Early (clock skew, or a message for an older schedule): wait for the remainder.
        publish_due(adapters, job)
        return
    if series.run_is_cancelled(adapters, job):
        return
    running = job.with_status(JobStatus.RUNNING, started_at=now)
    if adapters.store.transition(running, expected=[JobStatus.SCHEDULED]):
        lateness = (now - job.scheduled_at).total_seconds()
        # Only the claim that won counts: a job starts once, however many replicas got its job.due.
        metrics.scheduler_lateness.observe(max(lateness, 0.0))
        log.info("job %s started %.3f s after its time", job.id, lateness)
        adapters.bus.publish(events.job_started(running))
        if job.series_id:
            # The next run of a recurring search is scheduled as this one starts.
            series.schedule_next(adapters, job.series_id, job.scheduled_at)


def sweep(adapters: Adapters) -> None:
    """Republish job.due for scheduled jobs well past their time; fail jobs stuck in a stage."""
    now = adapters.clock()
    for job in adapters.store.due_jobs(until=now - LOST_MESSAGE_GRACE):
        log.warning("job %s is overdue with no start; republishing job.due", job.id)
        publish_due(adapters, job)
    limit = timedelta(seconds=adapters.settings.stuck_after)
    for status in (JobStatus.RUNNING, JobStatus.PACKAGING):
        for job in adapters.store.jobs_in(status):
            if job.started_at is not None and now - job.started_at > limit:
                fail_job(adapters, job.id, f"it took longer than {limit} while {status.value}; gave up")
    series.sweep_series(adapters)


def on_dead_letter(adapters: Adapters, letter: DeadLetter) -> None:
    """A job's stage kept failing on an event: the job is failed, and the person told, not left hanging.

    Only the stages a job waits on count. A notifier's or janitor's dead letter never fails a job (a
    failing email is not a failed job; the janitor's sweep purges anyway), and a dead `job.failed`
    cannot fail anything again."""
    stage = STAGE_OF_QUEUE.get(letter.queue)
    if stage is None or letter.event is None:
        log.warning("dead letter %s from %s kept for operators; no job is failed", letter.message_id, letter.queue)
        return
    fail_job(adapters, letter.event.job_id, f"an internal error kept recurring while {stage}")
