"""The job store port."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Protocol

from shared.domain.emails import EmailRecord, EmailState
from shared.domain.model import Job, JobStatus, Link
from shared.ports.series_records import SeriesRecords
from shared.ports.webhook_records import WebhookRecords

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MS = timedelta(milliseconds=1)


def rate_window(now: datetime, window_seconds: int) -> tuple[int, int]:
    """The fixed rate-limit window of `window_seconds` that holds `now`: its start and end, in
    milliseconds since the Unix epoch. Windows start at whole multiples of their length since the
    epoch (a minute window at every whole minute of UTC), so every process and both stores cut time
    the same way, and a caller knows when the window it was counted in ends. A naive `now` is UTC."""
    if now.tzinfo is None:
        now = now.replace(tzinfo=UTC)
    if window_seconds < 1:
        raise ValueError(f"a rate-limit window is at least one second, not {window_seconds}")
    size = window_seconds * 1000
    start = (now - _EPOCH) // _MS // size * size
    return start, start + size


@dataclass(frozen=True)
class RateHit:
    """One hit to count: `key` (opaque, at most 200 characters; callers pass keyed hashes, never an
    address) in its fixed window of `window_seconds` (see rate_window), refused above `limit`."""

    key: str
    window_seconds: int
    limit: int | None = None


class JobStore(WebhookRecords, SeriesRecords, Protocol):
    """Jobs, their links, the notification log and download-token tombstones; and, beside them, the
    rate-limit counters every gateway process shares and the suppression list of unsubscribed mailboxes.

    Every state change is a conditional write: it applies only if the job is still in one of the
    expected states, so that concurrent or repeated handlers cannot both win.

    Times are kept to the millisecond: a job reads back with its datetimes truncated to whole
    milliseconds (UTC), equal to what was written when they had no finer part.

    Backstop: every record of a job goes by itself at `max(scheduled_at, expires_at) + retention`
    (an adapter option, 7 days by default) even if purge_job is never called; from then on the job
    reads as purged, and its token as tombstoned. Links and notification claims are kept at least
    until the deadline in force when they were written.
    """

    def migrate(self) -> None:
        """Create the schema if missing; idempotent."""

    def ping(self) -> None:
        """Raise if the store cannot be reached now; raise NotMigrated if it answers but its schema
        is missing. Creates nothing."""

    def add_job(self, job: Job) -> None:
        """Insert a new job. Its id is new: callers make it with uuid4, and no store checks it (on
        Cassandra that check is a lightweight transaction per submission, the gateway's largest cost)."""

    def add_jobs(self, jobs: Sequence[Job]) -> None:
        """Insert new jobs as add_job does, in as few round trips as the store allows (the gateway
        stores the submissions its threads received at once together). Each job is written whole or
        not at all; if this raises, any of them may have been written, and adding the same jobs again
        leaves each one job."""

    def get_job(self, job_id: str) -> Job | None:
        """The job, or None if it never existed or has been purged."""

    def transition(self, job: Job, expected: Sequence[JobStatus]) -> bool:
        """Write `job` (with its new status and fields) if the stored status is one of `expected`.

        Every field is written except the progress counters, which only update_progress changes
        (so a transition never rolls them back). False if the job is missing or in another state."""

    def start_due(self, job_id: str, scheduled_at: datetime, now: datetime) -> bool:
        """Start a job that is scheduled for exactly `scheduled_at` and is no run of a series: running,
        started at `now`, in one conditional write with no read before it (the scheduler's hot path).

        True if this call started it. False if the job is anything else: missing, started already,
        cancelled, moved to another time, or a series' run; the caller reads it and decides."""

    def update_progress(
        self,
        job_id: str,
        *,
        links_found: int | None = None,
        images_downloaded: int | None = None,
        images_failed: int | None = None,
        bytes_downloaded: int | None = None,
    ) -> None:
        """Set the live counters shown on the status page (absolute values, not increments)."""

    def save_links(self, job_id: str, links: Sequence[Link]) -> None:
        """Replace the job's links (idempotent for a repeated scrape)."""

    def get_links(self, job_id: str) -> list[Link]:
        """The job's links, in position order."""

    def claim_email(self, job_id: str, kind: str, now: datetime, lease_until: datetime) -> str | None:
        """Take the job's `kind` email for sending until `lease_until`: a claim id, or None.

        It is taken if it was never claimed (first try), is RETRYING (the next try), or is PENDING
        under a lease that ended by `now` (its notifier died). Of concurrent claims one wins. None if
        it is settled (sent, refused, undelivered) or another holder's lease runs."""

    def settle_email(self, job_id: str, kind: str, claim: str, state: EmailState, detail: str | None) -> bool:
        """Record the outcome of a try (RETRYING, SENT, REFUSED or UNDELIVERED) if `claim` still
        holds the email; False if another notifier took it over meanwhile."""

    def emails(self, job_id: str) -> dict[str, EmailRecord]:
        """The job's emails by kind, as far as they were tried."""

    def job_for_token(self, token_hash: str) -> Job | None:
        """The job whose download token hashes to `token_hash`, if it still exists."""

    def is_tombstoned(self, token_hash: str) -> bool:
        """True if a purged job once had this token (the link answers "Link has expired")."""

    def due_jobs(self, until: datetime, limit: int = 1000) -> list[Job]:
        """Scheduled jobs whose time is at or before `until` (for the sweeper), oldest first.

        `until` is about now: an adapter may look back no further than its retention before it
        (older jobs are gone by the backstop anyway)."""

    def jobs_in(self, status: JobStatus, limit: int = 1000, scheduled_before: datetime | None = None) -> list[Job]:
        """Jobs currently in `status` (running/packaging for the stuck sweep, finished for expiry),
        the `limit` earliest by scheduled time, earliest first; only those scheduled before
        `scheduled_before` if given (a job cannot have run longer than since its time)."""

    def expired_jobs(self, now: datetime, limit: int = 1000) -> list[Job]:
        """Jobs whose expiry time has passed and that still hold records, soonest expired first
        (looking back at most the adapter's retention before `now`, as due_jobs)."""

    def hit_rate_limits(self, hits: Sequence[RateHit], now: datetime) -> list[int]:
        """Count each hit in its window holding `now` and return, for each, the window's count as that
        hit saw it, its own included: hits one after another get 1, 2, 3, ... A hit that sees more
        than its `limit` is not kept (refused hits use no allowance) and gets a number above it.
        Hits at the same moment, from any thread, process or replica, may see the same count, so of
        any number of hits in one window never more than `limit` get a number within it; a burst at
        the edge may get fewer (the rest are refused and may retry), which spares the store a
        transaction per hit. The hits of one call (a submission's address and mailbox) are counted
        together, each as if alone, in as few round trips as the store allows.

        A window's count lasts until the window ends: ended windows are never read again and their
        records go by themselves (a TTL, or deleted by later hits)."""

    def suppress(self, address_hash: str) -> None:
        """Put a mailbox on the suppression list (it asked for no more emails); idempotent. The list
        holds keyed hashes only (shared.unsubscribe.mailbox_hash) and keeps them with no time limit."""

    def is_suppressed(self, address_hash: str) -> bool:
        """True if the mailbox with this keyed hash asked for no more emails."""

    def suppressed(self, address_hashes: Sequence[str]) -> set[str]:
        """Which of these keyed hashes are on the suppression list, in one round trip."""

    def purge_job(self, job_id: str) -> None:
        """Delete every record of the job, the email address included; keep only a tombstone of
        its token hash. Idempotent."""

    def close(self) -> None:
        """Release connections."""
