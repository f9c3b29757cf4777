"""Scheduler: starts due jobs exactly once, never early; sweeps for lost messages and stuck jobs."""

from __future__ import annotations

import logging
import time
from datetime import datetime, timedelta

from services.scheduler import series
from shared import events, metrics
from shared.domain.model import JobStatus
from shared.events import QUEUE_PACKAGER, QUEUE_SCHEDULER, QUEUE_SCRAPER, Event
from shared.lifecycle import DUE_EARLY_BY, fail_job, publish_due
from shared.ports import Adapters, DeadLetter

log = logging.getLogger(__name__)

# A scheduled job this late with no start is taken to have lost its job.due message. Not less: under a
# peak the starts lag by seconds, and a second job.due for every lagging job is more load at the worst time.
LOST_MESSAGE_GRACE = timedelta(seconds=30)
# publish_due sends job.due up to DUE_EARLY_BY early on purpose; one that early, plus the broker's
# hops, is held here until its time rather than sent round the delay ladder again.
HOLD_AT_MOST = DUE_EARLY_BY + 1.0
# The queues of the stages a job waits on, and what the job was doing there.
STAGE_OF_QUEUE = {
    QUEUE_SCHEDULER: "starting the job",
    QUEUE_SCRAPER: "searching for images",
    QUEUE_PACKAGER: "downloading and packing the images",
}


def on_job_due(adapters: Adapters, event: Event) -> None:
    due = _due_time(event)
    # The hot path: a plain job still scheduled for the time its job.due names is started without a read.
    if due is not None and _held_until(adapters, due):
        now = adapters.clock()
        if adapters.store.start_due(event.job_id, due, now):
            _announce_start(adapters, event.job_id, due, now)
            return
    job = adapters.store.get_job(event.job_id)
    if job is None:
        return
    if job.status is JobStatus.RUNNING:
        # A redelivery after the claim: the started event may not have gone out; its consumers are
        # idempotent. The job is written again as it is, for the lookup rows a crash may have cut short.
        adapters.store.transition(job, expected=[JobStatus.RUNNING])
        adapters.bus.publish(events.job_started(job.id))
        if job.series_id:
            series.schedule_next(adapters, job.series_id, job.scheduled_at)
        return
    if job.status is not JobStatus.SCHEDULED:
        log.info("job %s is %s; job.due dropped", job.id, job.status)
        return
    if not _held_until(adapters, job.scheduled_at):
        # Far too early (clock skew, or a message for an older schedule): sent round again for the rest.
        publish_due(adapters, job)
        return
    if series.run_is_cancelled(adapters, job):
        return
    now = adapters.clock()
    running = job.with_status(JobStatus.RUNNING, started_at=now)
    if adapters.store.transition(running, expected=[JobStatus.SCHEDULED]):
        _announce_start(adapters, job.id, job.scheduled_at, now)
        if job.series_id:
            # The next run of a recurring search is scheduled as this one starts.
            series.schedule_next(adapters, job.series_id, job.scheduled_at)


def _held_until(adapters: Adapters, due: datetime) -> bool:
    """Whether `due` has come, after waiting for it if it is at most HOLD_AT_MOST away."""
    remaining = (due - adapters.clock()).total_seconds()
    if 0 < remaining <= HOLD_AT_MOST:
        time.sleep(remaining)
    return adapters.clock() >= due


def _due_time(event: Event) -> datetime | None:
    """The time the job was scheduled for when its job.due was published (None if it does not say)."""
    try:
        due = datetime.fromisoformat(str(event.payload["scheduled_at"]))
    except (KeyError, ValueError):
        return None
    return due if due.tzinfo is not None else None


def _announce_start(adapters: Adapters, job_id: str, scheduled_at: datetime, now: datetime) -> None:
    lateness = (now - scheduled_at).total_seconds()
    # Only the claim that won counts: a job starts once, however many replicas got its job.due.
    metrics.scheduler_lateness.observe(max(lateness, 0.0))
    log.info("job %s started %.3f s after its time", job_id, lateness)
    adapters.bus.publish(events.job_started(job_id))


def sweep(adapters: Adapters) -> None:
    """Republish job.due for scheduled jobs well past their time; fail jobs stuck in a stage."""
    now = adapters.clock()
    for job in adapters.store.due_jobs(until=now - LOST_MESSAGE_GRACE):
        log.warning("job %s is overdue with no start; republishing job.due", job.id)
        publish_due(adapters, job)
    limit = timedelta(seconds=adapters.settings.stuck_after)
    for status in (JobStatus.RUNNING, JobStatus.PACKAGING):
        for job in adapters.store.jobs_in(status, scheduled_before=now - limit):
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
