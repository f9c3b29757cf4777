"""The embedded job store: SQLite, one connection per thread, deletes that leave nothing on disk.

It keeps the rules of shared.adapters.store_rules like the Cassandra store: times to the millisecond,
and a backstop deadline (`purge_after`) past which every operation first sweeps the job away, as a
TTL would, leaving only its token's tombstone.
"""

from __future__ import annotations

import re
import sqlite3
import time
import uuid
from collections.abc import Sequence
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from shared.adapters.sqlite.abuse import SqliteAbuseRecords
from shared.adapters.sqlite.database import Database
from shared.adapters.sqlite.schema import ADDED_COLUMNS, INDEXES, SCHEMA, WRITTEN_COLUMNS, dt, job_from_row, ts
from shared.adapters.sqlite.series import SqliteSeriesRecords
from shared.adapters.sqlite.webhooks import SqliteWebhookRecords
from shared.adapters.store_rules import (
    DEFAULT_RETENTION,
    DEFAULT_TOMBSTONE_TTL,
    email_claimable,
    email_from_row,
    purge_deadline_ms,
)
from shared.domain.emails import EmailRecord, EmailState
from shared.domain.model import Job, JobStatus, Link

# Each rate-limit hit deletes at most this many rows of ended windows, so no hit pays for a long idle spell.

# The tables `migrate` creates, in the order of the schema.
TABLE_NAMES = tuple(re.findall(r"CREATE TABLE IF NOT EXISTS (\w+)", SCHEMA))


def sqlite_path(url: str) -> Path:
    """`sqlite:///relative/path` or `sqlite:////absolute/path`, as in SQLAlchemy."""
    if not url.startswith("sqlite:///"):
        raise ValueError(f"expected sqlite:///path, got {url!r}")
    return Path(url[len("sqlite:///") :])


class SqliteJobStore(SqliteWebhookRecords, SqliteSeriesRecords, SqliteAbuseRecords):
    """JobStore on one SQLite file; `retention` and `tombstone_ttl` as for the Cassandra store."""

    def __init__(
        self,
        path: Path,
        *,
        retention: timedelta = DEFAULT_RETENTION,
        tombstone_ttl: timedelta = DEFAULT_TOMBSTONE_TTL,
    ) -> None:
        self._path = path
        self._retention = retention
        self._tombstone_ttl = tombstone_ttl.total_seconds()
        self._db = Database(path)

    def _sweep(self, conn: sqlite3.Connection) -> bool:
        """What a TTL does in Cassandra: a job past its deadline is gone before anyone looks."""
        rows = conn.execute("SELECT id FROM jobs WHERE purge_after <= ?", (time.time(),)).fetchall()
        for row in rows:
            self._delete(conn, row["id"])
        return bool(rows)

    def _delete(self, conn: sqlite3.Connection, job_id: str) -> None:
        row = conn.execute("SELECT token_hash FROM jobs WHERE id = ?", (job_id,)).fetchone()
        if row and row["token_hash"]:
            conn.execute("INSERT OR REPLACE INTO tombstones VALUES (?, ?)", (row["token_hash"], time.time()))
        conn.execute("DELETE FROM links WHERE job_id = ?", (job_id,))
        conn.execute("DELETE FROM emails WHERE job_id = ?", (job_id,))
        conn.execute("DELETE FROM jobs WHERE id = ?", (job_id,))

    def migrate(self) -> None:
        with self._db.transaction() as conn:
            for statement in SCHEMA.split(";"):
                if statement.strip():
                    conn.execute(statement)
            columns = {row["name"] for row in conn.execute("PRAGMA table_info(jobs)")}
            for column, kind in ADDED_COLUMNS.items():
                if column not in columns:
                    conn.execute(f"ALTER TABLE jobs ADD COLUMN {column} {kind}")
            if "download_token" in columns:  # a database from before tokens were kept only as keyed hashes
                conn.execute("UPDATE jobs SET download_token = NULL")
            for statement in INDEXES.split(";"):
                if statement.strip():
                    conn.execute(statement)
            conn.execute(
                "UPDATE jobs SET purge_after = max(scheduled_at, coalesce(expires_at, scheduled_at)) + ?"
                " WHERE purge_after IS NULL",
                (self._retention.total_seconds(),),
            )

    def ping(self) -> None:
        self._db.check_tables(TABLE_NAMES, dict.fromkeys(ADDED_COLUMNS, "jobs"))

    @property
    def checkpoint_owed(self) -> bool:
        """True while deleted data may still sit in the write-ahead log."""
        return self._db.checkpoint_owed

    def _written_values(self, job: Job) -> dict[str, Any]:
        return {
            "query": job.query,
            "email": job.email,
            "count": job.count,
            "timezone": job.timezone,
            "created_at": ts(job.created_at),
            "filters": job.filters.to_json(),
            "webhook_url": job.webhook_url,
            "series_id": job.series_id,
            "status": job.status.value,
            "scheduled_at": ts(job.scheduled_at),
            "started_at": ts(job.started_at),
            "finished_at": ts(job.finished_at),
            "token_hash": job.token_hash,
            "expires_at": ts(job.expires_at),
            "zip_bytes": job.zip_bytes,
            "failure_reason": job.failure_reason,
            "note": job.note,
            "purge_after": purge_deadline_ms(job, self._retention) / 1000,
        }

    def add_job(self, job: Job) -> None:
        self.add_jobs([job])

    def add_jobs(self, jobs: Sequence[Job]) -> None:
        if not jobs:
            return
        rows = [self._written_values(job) | {"id": job.id} for job in jobs]
        columns = ", ".join(rows[0])
        marks = ", ".join(f":{name}" for name in rows[0])
        with self._db.transaction(self._sweep) as conn:
            # The same job again (a retry of a call that failed after writing) stays the one job.
            conn.executemany(f"INSERT INTO jobs ({columns}) VALUES ({marks}) ON CONFLICT (id) DO NOTHING", rows)

    def get_job(self, job_id: str) -> Job | None:
        with self._db.transaction(self._sweep) as conn:
            row = conn.execute("SELECT * FROM jobs WHERE id = ?", (job_id,)).fetchone()
        return job_from_row(row) if row else None

    def transition(self, job: Job, expected: Sequence[JobStatus]) -> bool:
        if not expected:
            return False
        assignments = ", ".join(f"{name} = :{name}" for name in WRITTEN_COLUMNS)
        expected_marks = ", ".join(f":e{i}" for i in range(len(expected)))
        params = self._written_values(job) | {"id": job.id} | {f"e{i}": s.value for i, s in enumerate(expected)}
        with self._db.transaction(self._sweep) as conn:
            cursor = conn.execute(
                f"UPDATE jobs SET {assignments} WHERE id = :id AND status IN ({expected_marks})", params
            )
        return cursor.rowcount == 1

    def start_due(self, job_id: str, scheduled_at: datetime, now: datetime) -> bool:
        with self._db.transaction(self._sweep) as conn:
            cursor = conn.execute(
                "UPDATE jobs SET status = ?, started_at = ? WHERE id = ? AND status = ? AND scheduled_at = ?"
                " AND series_id IS NULL",
                (JobStatus.RUNNING.value, ts(now), job_id, JobStatus.SCHEDULED.value, ts(scheduled_at)),
            )
        return cursor.rowcount == 1

    def update_progress(
        self,
        job_id: str,
        *,
        links_found: int | None = None,
        images_downloaded: int | None = None,
        images_failed: int | None = None,
        bytes_downloaded: int | None = None,
    ) -> None:
        values = {
            "links_found": links_found,
            "images_downloaded": images_downloaded,
            "images_failed": images_failed,
            "bytes_downloaded": bytes_downloaded,
        }
        changes = {k: v for k, v in values.items() if v is not None}
        if not changes:
            return
        assignments = ", ".join(f"{name} = :{name}" for name in changes)
        with self._db.transaction(self._sweep) as conn:
            conn.execute(f"UPDATE jobs SET {assignments} WHERE id = :id", changes | {"id": job_id})

    def save_links(self, job_id: str, links: Sequence[Link]) -> None:
        with self._db.transaction(self._sweep) as conn:
            conn.execute("DELETE FROM links WHERE job_id = ?", (job_id,))
            conn.executemany(
                "INSERT INTO links VALUES (?, ?, ?, ?, ?, ?, ?)",
                [(job_id, k.position, k.url, k.page_url, k.provider, k.width, k.height) for k in links],
            )

    def get_links(self, job_id: str) -> list[Link]:
        with self._db.transaction(self._sweep) as conn:
            rows = conn.execute("SELECT * FROM links WHERE job_id = ? ORDER BY position", (job_id,)).fetchall()
        return [Link(r["position"], r["url"], r["page_url"], r["provider"], r["width"], r["height"]) for r in rows]

    def claim_email(self, job_id: str, kind: str, now: datetime, lease_until: datetime) -> str | None:
        claim = uuid.uuid4().hex
        with self._db.transaction(self._sweep) as conn:
            row = conn.execute("SELECT * FROM emails WHERE job_id = ? AND kind = ?", (job_id, kind)).fetchone()
            if row is None:
                conn.execute(
                    "INSERT INTO emails VALUES (?, ?, ?, 1, ?, ?, ?, NULL)",
                    (job_id, kind, EmailState.PENDING.value, ts(now), ts(lease_until), claim),
                )
                return claim
            if not email_claimable(email_from_row(row, dt), now):
                return None
            conn.execute(
                "UPDATE emails SET state = ?, attempts = attempts + 1, lease_until = ?, claim_id = ?"
                " WHERE job_id = ? AND kind = ?",
                (EmailState.PENDING.value, ts(lease_until), claim, job_id, kind),
            )
        return claim

    def settle_email(self, job_id: str, kind: str, claim: str, state: EmailState, detail: str | None) -> bool:
        with self._db.transaction(self._sweep) as conn:
            cursor = conn.execute(
                "UPDATE emails SET state = ?, detail = ?, lease_until = NULL WHERE job_id = ? AND kind = ?"
                " AND claim_id = ? AND state = ?",
                (state.value, detail, job_id, kind, claim, EmailState.PENDING.value),
            )
        return cursor.rowcount == 1

    def emails(self, job_id: str) -> dict[str, EmailRecord]:
        with self._db.transaction(self._sweep) as conn:
            rows = conn.execute("SELECT * FROM emails WHERE job_id = ?", (job_id,)).fetchall()
        return {row["kind"]: email_from_row(row, dt) for row in rows}

    def job_for_token(self, token_hash: str) -> Job | None:
        with self._db.transaction(self._sweep) as conn:
            row = conn.execute("SELECT * FROM jobs WHERE token_hash = ?", (token_hash,)).fetchone()
        return job_from_row(row) if row else None

    def is_tombstoned(self, token_hash: str) -> bool:
        with self._db.transaction(self._sweep) as conn:
            row = conn.execute(
                "SELECT 1 FROM tombstones WHERE token_hash = ? AND purged_at > ?",
                (token_hash, time.time() - self._tombstone_ttl),
            ).fetchone()
        return row is not None

    def due_jobs(self, until: datetime, limit: int = 1000) -> list[Job]:
        with self._db.transaction(self._sweep) as conn:
            rows = conn.execute(
                "SELECT * FROM jobs WHERE status = ? AND scheduled_at <= ? ORDER BY scheduled_at, id LIMIT ?",
                (JobStatus.SCHEDULED.value, ts(until), limit),
            ).fetchall()
        return [job_from_row(r) for r in rows]

    def jobs_in(self, status: JobStatus, limit: int = 1000, scheduled_before: datetime | None = None) -> list[Job]:
        before = ts(scheduled_before) if scheduled_before is not None else float("inf")
        with self._db.transaction(self._sweep) as conn:
            rows = conn.execute(
                "SELECT * FROM jobs WHERE status = ? AND scheduled_at < ? ORDER BY scheduled_at, id LIMIT ?",
                (status.value, before, limit),
            ).fetchall()
        return [job_from_row(r) for r in rows]

    def expired_jobs(self, now: datetime, limit: int = 1000) -> list[Job]:
        with self._db.transaction(self._sweep) as conn:
            # The janitor's periodic sweep comes through here: old tombstones go as their TTL would.
            conn.execute("DELETE FROM tombstones WHERE purged_at <= ?", (time.time() - self._tombstone_ttl,))
            rows = conn.execute(
                "SELECT * FROM jobs WHERE expires_at IS NOT NULL AND expires_at <= ? ORDER BY expires_at, id LIMIT ?",
                (ts(now), limit),
            ).fetchall()
        return [job_from_row(r) for r in rows]

    def purge_job(self, job_id: str) -> None:
        with self._db.transaction(self._sweep, deletes=True) as conn:
            self._delete(conn, job_id)

    def close(self) -> None:
        self._db.close()
