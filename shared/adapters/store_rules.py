"""Rules both job store adapters share, so that they keep the same data for the same time.

- Time is kept to the millisecond (Cassandra's `timestamp`): sub-millisecond parts are truncated on
  write, so a job reads back equal to what was written, whichever adapter holds it.
- The backstop deadline: every record of a job carries `purge_after = max(scheduled_at, expires_at)
  + retention`. Past it the records are gone (Cassandra: a TTL on every cell; SQLite: reads sweep them)
  even if the janitor never ran; only the token's tombstone remains. `retention` is generous: the
  janitor normally purges a job at `expires_at`, a finished job has `expires_at` set (so the deadline
  follows the link's lifetime), and a job stuck before finishing is failed by the sweeper within hours.
- Index entries are hints: a reader checks each against the job row, and deletes it only when the
  job has moved on for good (the lifecycle never returns to an earlier state).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

from shared.domain.emails import EmailRecord, EmailState
from shared.domain.model import Job, JobStatus

# A job's columns in both stores. IDENTITY and STATE are written by add_job and transition; the
# progress counters have their own writer (update_progress), so a transition never rolls them back.
IDENTITY = ("query", "email", "count", "timezone", "created_at", "filters", "webhook_url", "series_id")
STATE = (
    "status",
    "scheduled_at",
    "started_at",
    "finished_at",
    "token_hash",
    "expires_at",
    "zip_bytes",
    "failure_reason",
    "note",
    "purge_after",
)
PROGRESS = ("links_found", "images_downloaded", "images_failed", "bytes_downloaded")

DEFAULT_RETENTION = timedelta(days=7)
# "Link has expired" keeps answering this long after the purge; the tombstone holds no personal data.
DEFAULT_TOMBSTONE_TTL = timedelta(days=90)

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MS = timedelta(milliseconds=1)

# Position in the lifecycle; a job never goes back to a lower rank (see shared.domain.model.TRANSITIONS).
_RANK = {
    JobStatus.SCHEDULED: 0,
    JobStatus.RUNNING: 1,
    JobStatus.PACKAGING: 2,
    JobStatus.READY: 3,
    JobStatus.FAILED: 3,
    JobStatus.CANCELLED: 3,
    JobStatus.EXPIRED: 4,
}


def to_ms(value: datetime) -> int:
    """Milliseconds since the epoch, truncated (a naive datetime is taken as UTC)."""
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return (value - EPOCH) // _MS


def from_ms(value: int) -> datetime:
    return EPOCH + value * _MS


def purge_deadline_ms(job: Job, retention: timedelta) -> int:
    """When the job's records go even if nobody purges them (milliseconds since the epoch)."""
    last = job.scheduled_at if job.expires_at is None else max(job.scheduled_at, job.expires_at)
    return to_ms(last) + retention // _MS


def left_for_good(hint: JobStatus, current: JobStatus) -> bool:
    """True if a job now in `current` can never again be in `hint` (so a `hint` index entry is stale)."""
    return current is not hint and _RANK[current] >= _RANK[hint]


def email_claimable(record: EmailRecord, now: datetime) -> bool:
    """Whether a claim may take an email already tried: its next try, or one whose notifier died."""
    if record.state is EmailState.RETRYING:
        return True
    return record.state is EmailState.PENDING and not record.leased_at(now)


def email_from_row(row: Mapping[str, Any], to_datetime: Callable[[Any], datetime | None]) -> EmailRecord:
    """An email record from a row of either store; `to_datetime` reads that store's timestamps."""
    first_at = to_datetime(row["first_at"])
    assert first_at is not None
    return EmailRecord(
        kind=row["kind"],
        state=EmailState(row["state"]),
        attempts=row["attempts"],
        first_at=first_at,
        lease_until=to_datetime(row["lease_until"]),
        detail=row["detail"],
    )
