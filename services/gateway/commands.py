"""The gateway's business rules: submitting, cancelling, and deciding what a download link may serve.

Plain functions over the adapters, no Flask, so that the views stay thin and the rules are testable alone.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Sequence
from datetime import datetime
from enum import StrEnum

from services.gateway.series_commands import start_series
from shared import tokens
from shared.domain.model import Job, JobStatus
from shared.domain.submission import Submission
from shared.lifecycle import publish_due, publish_expiry
from shared.ports import Adapters
from shared.unsubscribe import mailbox_hash

log = logging.getLogger(__name__)

# Download tokens are long random strings; anything longer than this is not one of ours.
MAX_TOKEN_LENGTH = 256


class NotCancellable(Exception):
    """The job has already started (or finished), so there is nothing left to cancel."""

    def __init__(self, job: Job) -> None:
        super().__init__(f"job {job.id} is {job.status}; only a scheduled job can be cancelled")
        self.job = job


class Unsubscribed(Exception):
    """The submission's email address asked for no more imgjob emails (its one-click unsubscribe link)."""

    field = "email"
    message = "This address asked not to receive imgjob emails, so no job can be scheduled for it. Use another address."

    def __init__(self) -> None:
        super().__init__(self.message)


class DownloadStatus(StrEnum):
    READY = "ready"
    EXPIRED = "expired"
    NOT_FOUND = "not_found"


def new_id() -> str:
    """A new job's (or series') id."""
    return uuid.uuid4().hex


def store_jobs(adapters: Adapters, submissions: Sequence[Submission], ids: Sequence[str]) -> list[Job | Unsubscribed]:
    """Store the submissions' new scheduled jobs together, each a job, or Unsubscribed for a mailbox on
    the suppression list. `ids` (from new_id) are the jobs', or for a recurring search its series',
    whose first run is returned (and is announced already); every other job's `job.due` is the caller's
    to publish, with announce_job. Storing the same submissions with the same ids again is harmless."""
    mailboxes = [mailbox_hash(adapters.settings.secret_key, submission.email) for submission in submissions]
    suppressed = adapters.store.suppressed(mailboxes)
    now = adapters.clock()
    outcomes: list[Job | Unsubscribed] = []
    for submission, mailbox, given_id in zip(submissions, mailboxes, ids, strict=True):
        if mailbox in suppressed:
            outcomes.append(Unsubscribed())
        elif submission.recurrence is not None:
            outcomes.append(start_series(adapters, submission, given_id))  # its first run
        else:
            outcomes.append(_new_job(given_id, submission, now))
    adapters.store.add_jobs([job for job in outcomes if isinstance(job, Job) and job.series_id is None])
    return outcomes


def announce_job(adapters: Adapters, job: Job) -> None:
    """Publish a stored job's `job.due` (a series' first run was announced when its series started)."""
    if job.series_id is not None:
        return
    # The scheduler's sweeper republishes due jobs whose message was lost, so a crash between storing
    # and this delays the job instead of losing it.
    publish_due(adapters, job)
    # Ids and times only: the query and the address are the person's business, not the log's.
    log.info("job %s scheduled for %s", job.id, job.scheduled_at.isoformat())


def _new_job(job_id: str, submission: Submission, now: datetime) -> Job:
    return Job(
        id=job_id,
        query=submission.query,
        email=submission.email,
        count=submission.count,
        scheduled_at=submission.scheduled_at,
        timezone=submission.timezone,
        created_at=now,
        status=JobStatus.SCHEDULED,
        filters=submission.filters,
        webhook_url=submission.webhook_url,
    )


def cancel_job(adapters: Adapters, job_id: str) -> Job | None:
    """Cancel a job that has not started; None if there is no such job.

    Cancelling an already cancelled job returns it unchanged (a repeated DELETE is not an error).
    Raises NotCancellable once the job has started or finished.
    """
    job = adapters.store.get_job(job_id)
    if job is None:
        return None
    if job.status is JobStatus.CANCELLED:
        return job
    if job.status is not JobStatus.SCHEDULED:
        raise NotCancellable(job)
    cancelled = job.finish(JobStatus.CANCELLED, adapters.clock(), adapters.settings.link_ttl)
    if not adapters.store.transition(cancelled, expected=[JobStatus.SCHEDULED]):
        # The scheduler claimed it (or another cancel won) between our read and our write.
        current = adapters.store.get_job(job_id)
        if current is None:
            return None
        if current.status is JobStatus.CANCELLED:
            return current
        raise NotCancellable(current)
    # The cancelled job's record, email address included, is purged by the janitor at expiry.
    publish_expiry(adapters, cancelled)
    log.info("job %s cancelled", job_id)
    return cancelled


def _link_is_live(job: Job, now: datetime) -> bool:
    return job.status is JobStatus.READY and (job.expires_at is None or job.expires_at > now)


def download_state(adapters: Adapters, token: str) -> tuple[DownloadStatus, Job | None]:
    """What `/download/<token>` answers: the job to serve, "Link has expired", or not found.

    The store finds the job by the token's hash; the token itself is not compared here.
    """
    if not token or len(token) > MAX_TOKEN_LENGTH:
        return DownloadStatus.NOT_FOUND, None
    token_hash = tokens.token_hash(adapters.settings.secret_key, token)
    job = adapters.store.job_for_token(token_hash)
    if job is None:
        if adapters.store.is_tombstoned(token_hash):
            return DownloadStatus.EXPIRED, None
        return DownloadStatus.NOT_FOUND, None
    if job.status is JobStatus.EXPIRED:
        return DownloadStatus.EXPIRED, job
    if job.status is not JobStatus.READY:
        return DownloadStatus.NOT_FOUND, None
    # The janitor may not have run yet, or may have removed the files before the records.
    if not _link_is_live(job, adapters.clock()) or adapters.blobs.size(job.zip_key) is None:
        return DownloadStatus.EXPIRED, job
    return DownloadStatus.READY, job
