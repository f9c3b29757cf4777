"""The lookup tables beside `jobs`: which statements keep them, and how a scan reads them.

Hints for a job's new state are written *before* the conditional write to `jobs`, and the ones for
its old state deleted after it: a crash in between leaves an extra hint (which readers skip, and
delete once the job has moved past it for good), never a job that no hint leads to. Every hint
carries the job's backstop TTL, so none outlives the job by more than its deadline.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from typing import Any, Literal

from shared.adapters.cassandra.rows import Row, bucket, ms, read_ms, shard, ttl_until
from shared.adapters.store_rules import left_for_good
from shared.domain.model import Job, JobStatus

Call = tuple[str, Sequence[Any]]
Verdict = Literal["keep", "skip", "drop"]
# How many hour buckets a scan reads at once.
SCAN_CHUNK = 24


def hints_for(job: Job, deadline_ms: int, tombstone_ttl_ms: int) -> list[Call]:
    """The hints that lead to `job` in its current state."""
    ttl = ttl_until(deadline_ms)
    due = ms(job.scheduled_at) or 0
    calls: list[Call] = [("insert_status", [job.status.value, shard(job.id), due, job.id, ttl])]
    if job.status is JobStatus.SCHEDULED:
        calls.append(("insert_due", [bucket(due), due, job.id, ttl]))
    if job.expires_at is not None:
        at = ms(job.expires_at)
        assert at is not None
        calls.append(("insert_expiry", [bucket(at), at, job.id, ttl]))
    if job.token_hash:
        token_hash = job.token_hash
        calls.append(("insert_token", [token_hash, job.id, ttl]))
        # Written now so that the link says "Link has expired" even if the backstop TTL, not the
        # janitor, ends the job: the tombstone counts only from live_until on (see is_tombstoned).
        calls.append(("insert_tombstone", [token_hash, deadline_ms, ttl_until(deadline_ms + tombstone_ttl_ms)]))
    return calls


def stale_hints(before: Row, job: Job, expected: Sequence[JobStatus]) -> list[Call]:
    """After `job` replaced the stored row `before`: the hints that led to the old state only."""
    old_due, new_due = read_ms(before["scheduled_at"]), ms(job.scheduled_at)
    calls: list[Call] = [
        ("delete_status", [status.value, shard(job.id), old_due, job.id])
        for status in {*expected, JobStatus(before["status"])}
        if status is not job.status or old_due != new_due
    ]
    was_due = before["status"] == JobStatus.SCHEDULED.value and old_due is not None
    if was_due and (job.status is not JobStatus.SCHEDULED or old_due != new_due):
        calls.append(("delete_due", [bucket(old_due or 0), old_due, job.id]))
    old_expiry = read_ms(before["expires_at"])
    if old_expiry is not None and old_expiry != ms(job.expires_at):
        calls.append(("delete_expiry", [bucket(old_expiry), old_expiry, job.id]))
    if before["token_hash"] and before["token_hash"] != job.token_hash:
        calls.append(("delete_token", [before["token_hash"]]))
    return calls


def all_hints_of(row: Row) -> list[Call]:
    """Every hint a stored job row may have left (for purge)."""
    job_id = row["job_id"]
    due, expiry = read_ms(row["scheduled_at"]), read_ms(row["expires_at"])
    calls: list[Call] = []
    if due is not None:
        calls += [("delete_status", [status.value, shard(job_id), due, job_id]) for status in JobStatus]
        calls.append(("delete_due", [bucket(due), due, job_id]))
    if expiry is not None:
        calls.append(("delete_expiry", [bucket(expiry), expiry, job_id]))
    if row["token_hash"]:
        calls.append(("delete_token", [row["token_hash"]]))
    return calls


def due_verdict(hint: Row, job: Job | None) -> tuple[Verdict, Call | None]:
    at = read_ms(hint["scheduled_at"])
    if job is None:
        return "skip", None  # purged (its hints went with it) or not inserted yet: let the TTL decide
    if job.status is JobStatus.SCHEDULED and ms(job.scheduled_at) == at:
        return "keep", None
    if left_for_good(JobStatus.SCHEDULED, job.status):
        return "drop", ("delete_due", [bucket(at or 0), at, job.id])
    return "skip", None


def expiry_verdict(hint: Row, job: Job | None) -> tuple[Verdict, Call | None]:
    at = read_ms(hint["expires_at"])
    if job is None or job.expires_at is None:
        return "skip", None  # gone, or a transition that sets the expiry is still in flight
    if ms(job.expires_at) == at:
        return "keep", None
    return "drop", ("delete_expiry", [bucket(at or 0), at, job.id])


def status_verdict(status: JobStatus) -> Callable[[Row, Job | None], tuple[Verdict, Call | None]]:
    def verdict(hint: Row, job: Job | None) -> tuple[Verdict, Call | None]:
        at = read_ms(hint["scheduled_at"])
        if job is None:
            return "skip", None
        if job.status is status and ms(job.scheduled_at) == at:
            return "keep", None
        if left_for_good(status, job.status):
            return "drop", ("delete_status", [status.value, shard(job.id), at, job.id])
        return "skip", None

    return verdict


def bucket_chunks(lower_ms: int, upper_ms: int) -> Iterator[range]:
    """The hour buckets from `lower_ms` to `upper_ms`, oldest first, a chunk at a time."""
    first, last = bucket(lower_ms), bucket(upper_ms)
    for start in range(first, last + 1, SCAN_CHUNK):
        yield range(start, min(start + SCAN_CHUNK, last + 1))
