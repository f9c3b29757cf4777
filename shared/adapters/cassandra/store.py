"""The distributed job store: Cassandra through cassandra-driver.

`jobs` (one partition per job) is the truth; every state change is a lightweight transaction on it,
so of many concurrent writers exactly one wins. Links, notification claims, token lookups and the
due / expiry / status scans live in tables of their own, each read by its partition key (see
cassandra_schema and cassandra_hints). Every cell carries a TTL up to the job's backstop deadline
(shared.adapters.store_rules), so the email address disappears even if the janitor never runs.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta

from cassandra.query import UNSET_VALUE

from shared.adapters.cassandra.abuse import CassandraAbuseRecords
from shared.adapters.cassandra.hints import (
    Call,
    Verdict,
    all_hints_of,
    bucket_chunks,
    due_verdict,
    expiry_verdict,
    hints_for,
    stale_hints,
    status_verdict,
)
from shared.adapters.cassandra.rows import (
    STATUS_SHARDS,
    Row,
    is_live,
    job_from_row,
    link_from_row,
    now_ms,
    read_dt,
    read_ms,
    stored_values,
    ttl_until,
    written_values,
)
from shared.adapters.cassandra.schema import parse_cassandra_url
from shared.adapters.cassandra.series import CassandraSeriesRecords
from shared.adapters.cassandra.session import CqlSession
from shared.adapters.cassandra.starts import CassandraDueStarts
from shared.adapters.cassandra.webhooks import CassandraWebhookRecords
from shared.adapters.store_rules import (
    DEFAULT_RETENTION,
    DEFAULT_TOMBSTONE_TTL,
    PROGRESS,
    email_claimable,
    email_from_row,
    purge_deadline_ms,
    to_ms,
)
from shared.domain.emails import EmailRecord, EmailState
from shared.domain.model import Job, JobStatus, Link

_MS = timedelta(milliseconds=1)
# Jobs in one logged batch at most: a few kilobytes, under Cassandra's batch size warning (5 KiB).
JOBS_PER_BATCH = 4
Judge = Callable[[Row, Job | None], tuple[Verdict, Call | None]]


class CassandraJobStore(CassandraDueStarts, CassandraWebhookRecords, CassandraSeriesRecords, CassandraAbuseRecords):
    """JobStore on Cassandra, for `cassandra://[user:pass@]h1[,h2...][:port]/keyspace[?replication=N&datacenter=DC]`.

    `retention` is the backstop bound of store_rules (also how far back the due and expiry scans
    look: no hint older than that can still exist); `tombstone_ttl` how long a purged token keeps
    answering "Link has expired". Nothing connects before the first call.
    """

    def __init__(
        self,
        url: str,
        *,
        retention: timedelta = DEFAULT_RETENTION,
        tombstone_ttl: timedelta = DEFAULT_TOMBSTONE_TTL,
        request_timeout: float = 10.0,
    ) -> None:
        self._cql = CqlSession(parse_cassandra_url(url), request_timeout)
        self._retention_ms = retention // _MS
        self._tombstone_ttl_ms = tombstone_ttl // _MS

    def migrate(self) -> None:
        self._cql.migrate()

    def ping(self) -> None:
        self._cql.ping()

    def add_job(self, job: Job) -> None:
        self.add_jobs([job])

    def add_jobs(self, jobs: Sequence[Job]) -> None:
        """Logged batches of up to JOBS_PER_BATCH jobs, sent at once: each job and its hints are
        written together. A plain write for a job, not `IF NOT EXISTS`: ids are fresh uuid4s, and a
        transaction to prove it would be the largest cost of a submission (see the port)."""
        batches: list[list[Call]] = []
        for first in range(0, len(jobs), JOBS_PER_BATCH):
            calls: list[Call] = []
            for job in jobs[first : first + JOBS_PER_BATCH]:
                deadline = purge_deadline_ms(job, self._retention_ms * _MS)
                calls += hints_for(job, deadline, self._tombstone_ttl_ms)
                calls.append(("insert_job", [job.id, *written_values(job, deadline), ttl_until(deadline)]))
            batches.append(calls)
        self._cql.run_together_many(batches)

    def get_job(self, job_id: str) -> Job | None:
        row = self._cql.one("select_job", [job_id])
        return job_from_row(row) if row is not None and is_live(row) else None

    def transition(self, job: Job, expected: Sequence[JobStatus]) -> bool:
        before = self._cql.one("select_job", [job.id])
        # A job already out of the expected states cannot come back to them (the lifecycle only
        # moves forward), so this read spares the losers of a race their transaction.
        if before is None or not is_live(before) or JobStatus(before["status"]) not in expected:
            return False
        deadline = purge_deadline_ms(job, self._retention_ms * _MS)
        self._cql.run_many(hints_for(job, deadline, self._tombstone_ttl_ms))
        values = written_values(job, deadline)
        params = [ttl_until(deadline), *values, job.id, [status.value for status in expected]]
        if not self._cql.cas("transition_job", params, self._holds(job.id, values)):
            return False
        self._cql.run_many(stale_hints(before, job, expected))
        if deadline > (read_ms(before["purge_after"]) or 0):
            self._carry_progress(job.id, deadline)
        return True

    def _holds(self, job_id: str, values: list[object]) -> Callable[[], bool]:
        def check() -> bool:
            row = self._cql.serial_one("select_job", [job_id])
            return row is not None and stored_values(row) == values

        return check

    def _carry_progress(self, job_id: str, deadline: int) -> None:
        """Re-write the counters under the later deadline the transition just set, unless one of
        them changes meanwhile (then its writer read the new deadline, or we try again)."""
        for _ in range(3):
            row = self._cql.one("select_job", [job_id])
            if row is None:
                return
            counters = [row[name] for name in PROGRESS]
            if all(value is None for value in counters):
                return
            settable = [UNSET_VALUE if value is None else value for value in counters]
            params = [ttl_until(deadline), *settable, job_id, *counters]
            if self._cql.cas("carry_progress", params, lambda: True):
                return

    def update_progress(
        self,
        job_id: str,
        *,
        links_found: int | None = None,
        images_downloaded: int | None = None,
        images_failed: int | None = None,
        bytes_downloaded: int | None = None,
    ) -> None:
        counters = (links_found, images_downloaded, images_failed, bytes_downloaded)
        if all(value is None for value in counters):
            return
        row = self._cql.one("select_job", [job_id])
        if row is None or not is_live(row):
            return  # like an UPDATE of a missing row in SQL: nothing (an upsert would leave a stray row)
        deadline = read_ms(row["purge_after"]) or 0
        settable = [UNSET_VALUE if value is None else value for value in counters]
        self._cql.run("set_progress", [ttl_until(deadline), *settable, job_id])

    def _deadline(self, job_id: str) -> int:
        """The job's deadline, or one retention from now for records of a job not (or no longer) stored."""
        row = self._cql.one("select_job", [job_id])
        if row is not None and is_live(row):
            return read_ms(row["purge_after"]) or 0
        return now_ms() + self._retention_ms

    def save_links(self, job_id: str, links: Sequence[Link]) -> None:
        ttl = ttl_until(self._deadline(job_id))
        # The old rows are deleted at t and the new ones written at t + 1, so the delete never
        # shadows them (in one timestamp a deletion would win).
        stamp = self._cql.timestamps(2)
        self._cql.run("delete_links", [stamp, job_id])
        self._cql.run_many(
            ("insert_link", [job_id, k.position, k.url, k.page_url, k.provider, k.width, k.height, ttl, stamp + 1])
            for k in links
        )

    def get_links(self, job_id: str) -> list[Link]:
        return [link_from_row(row) for row in self._cql.run("select_links", [job_id])]

    def claim_email(self, job_id: str, kind: str, now: datetime, lease_until: datetime) -> str | None:
        claim_id = uuid.uuid4()
        ttl = ttl_until(self._deadline(job_id))

        def ours() -> bool:
            row = self._cql.serial_one("select_email", [job_id, kind])
            return row is not None and row["claim_id"] == claim_id

        row = self._cql.serial_one("select_email", [job_id, kind])
        if row is None:
            params = [job_id, kind, to_ms(now), to_ms(lease_until), claim_id, ttl]
            return str(claim_id) if self._cql.cas("claim_email", params, ours) else None
        if not email_claimable(email_from_row(row, read_dt), now):
            return None
        params = [ttl, row["attempts"] + 1, to_ms(lease_until), claim_id, job_id, kind, row["claim_id"], row["state"]]
        return str(claim_id) if self._cql.cas("reclaim_email", params, ours) else None

    def settle_email(self, job_id: str, kind: str, claim: str, state: EmailState, detail: str | None) -> bool:
        ttl = ttl_until(self._deadline(job_id))

        def settled() -> bool:
            row = self._cql.serial_one("select_email", [job_id, kind])
            return row is not None and str(row["claim_id"]) == claim and row["state"] == state.value

        params = [ttl, state.value, detail, job_id, kind, uuid.UUID(claim)]
        return self._cql.cas("settle_email", params, settled)

    def emails(self, job_id: str) -> dict[str, EmailRecord]:
        return {row["kind"]: email_from_row(row, read_dt) for row in self._cql.run("select_emails", [job_id])}

    def job_for_token(self, token_hash: str) -> Job | None:
        row = self._cql.one("select_token", [token_hash])
        job = self.get_job(row["job_id"]) if row else None
        if job is None or job.token_hash != token_hash:
            return None
        return job

    def is_tombstoned(self, token_hash: str) -> bool:
        row = self._cql.one("select_tombstone", [token_hash])
        live_until = read_ms(row["live_until"]) if row else None
        return live_until is not None and live_until <= now_ms()

    def due_jobs(self, until: datetime, limit: int = 1000) -> list[Job]:
        # Bounded lookback: a due hint lives at most `retention` past its scheduled time (its TTL),
        # so buckets older than that are empty and reading them would be wasted work.
        upper = to_ms(until)
        return self._scan("scan_due", upper - self._retention_ms, upper, limit, due_verdict)

    def expired_jobs(self, now: datetime, limit: int = 1000) -> list[Job]:
        upper = to_ms(now)  # bounded for the same reason as due_jobs
        return self._scan("scan_expiry", upper - self._retention_ms, upper, limit, expiry_verdict)

    def jobs_in(self, status: JobStatus, limit: int = 1000, scheduled_before: datetime | None = None) -> list[Job]:
        # Every hint a shard gives is checked against its job row: the bound keeps the stuck sweep from
        # reading every running job (10,000 a minute at peak) to find the few that started long ago.
        before = to_ms(scheduled_before) if scheduled_before is not None else 2**62
        hints = self._cql.run_many(("scan_status", [status.value, n, before, limit]) for n in range(STATUS_SHARDS))
        found = self._judge([hint for rows in hints for hint in rows], status_verdict(status))
        return sorted(found, key=lambda job: (job.scheduled_at, job.id))[:limit]

    def _scan(self, name: str, lower: int, upper: int, limit: int, judge: Judge) -> list[Job]:
        found: list[Job] = []
        for chunk in bucket_chunks(lower, upper):
            pages = self._cql.run_many((name, [number, upper, limit]) for number in chunk)
            # Buckets in time order, each in clustering (time) order: the jobs come oldest first.
            found.extend(self._judge([hint for rows in pages for hint in rows], judge))
            if len(found) >= limit:
                break
        return found[:limit]

    def _judge(self, hints: list[Row], judge: Judge) -> list[Job]:
        """The jobs the hints lead to that the job rows confirm; definitely stale hints are deleted."""
        rows = self._cql.run_many(("select_job", [hint["job_id"]]) for hint in hints)
        kept, drops = [], []
        for hint, found in zip(hints, rows, strict=True):
            job = job_from_row(found[0]) if found and is_live(found[0]) else None
            verdict, drop = judge(hint, job)
            if verdict == "keep" and job is not None:
                kept.append(job)
            elif drop is not None:
                drops.append(drop)
        self._cql.run_many(drops)
        return kept

    def purge_job(self, job_id: str) -> None:
        row = self._cql.one("select_job", [job_id])
        if row is not None and row["token_hash"]:
            ttl = ttl_until(now_ms() + self._tombstone_ttl_ms)
            self._cql.run("insert_tombstone", [row["token_hash"], now_ms(), ttl])
        calls: list[Call] = all_hints_of(row) if row is not None else []
        calls += [("delete_links", [self._cql.timestamps(1), job_id]), ("delete_emails", [job_id])]
        self._cql.run_many(calls)
        # Last, so that a purge interrupted half way is found and finished by the next one.
        self._cql.cas("delete_job", [job_id], lambda: True)

    def close(self) -> None:
        self._cql.close()
