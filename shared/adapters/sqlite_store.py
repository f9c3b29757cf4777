"""The embedded job store: SQLite, one connection per thread, deletes that leave nothing on disk."""

from __future__ import annotations

import sqlite3
import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from shared.domain.model import Job, JobStatus, Link, Progress, hash_token

SCHEMA = """
CREATE TABLE IF NOT EXISTS jobs (
    id TEXT PRIMARY KEY,
    query TEXT NOT NULL,
    email TEXT NOT NULL,
    count INTEGER NOT NULL,
    scheduled_at REAL NOT NULL,
    timezone TEXT NOT NULL,
    created_at REAL NOT NULL,
    status TEXT NOT NULL,
    links_found INTEGER NOT NULL DEFAULT 0,
    images_downloaded INTEGER NOT NULL DEFAULT 0,
    images_failed INTEGER NOT NULL DEFAULT 0,
    bytes_downloaded INTEGER NOT NULL DEFAULT 0,
    started_at REAL,
    finished_at REAL,
    download_token TEXT,
    token_hash TEXT UNIQUE,
    expires_at REAL,
    zip_bytes INTEGER NOT NULL DEFAULT 0,
    failure_reason TEXT,
    note TEXT
);
CREATE INDEX IF NOT EXISTS jobs_by_status_time ON jobs (status, scheduled_at);
CREATE INDEX IF NOT EXISTS jobs_by_expiry ON jobs (expires_at);
CREATE TABLE IF NOT EXISTS links (
    job_id TEXT NOT NULL,
    position INTEGER NOT NULL,
    url TEXT NOT NULL,
    page_url TEXT,
    provider TEXT NOT NULL,
    width INTEGER,
    height INTEGER,
    PRIMARY KEY (job_id, position)
);
CREATE TABLE IF NOT EXISTS notifications (
    job_id TEXT NOT NULL,
    kind TEXT NOT NULL,
    claimed_at REAL NOT NULL,
    PRIMARY KEY (job_id, kind)
);
CREATE TABLE IF NOT EXISTS tombstones (
    token_hash TEXT PRIMARY KEY,
    purged_at REAL NOT NULL
);
"""

# Written by `transition`; progress counters have their own writer so a transition never rolls them back.
STATE_COLUMNS = (
    "status",
    "scheduled_at",
    "started_at",
    "finished_at",
    "download_token",
    "token_hash",
    "expires_at",
    "zip_bytes",
    "failure_reason",
    "note",
)


def _ts(value: datetime | None) -> float | None:
    return None if value is None else value.timestamp()


def _dt(value: float | None) -> datetime | None:
    return None if value is None else datetime.fromtimestamp(value, UTC)


def _state_values(job: Job) -> dict[str, Any]:
    return {
        "status": job.status.value,
        "scheduled_at": _ts(job.scheduled_at),
        "started_at": _ts(job.started_at),
        "finished_at": _ts(job.finished_at),
        "download_token": job.download_token,
        "token_hash": hash_token(job.download_token) if job.download_token else None,
        "expires_at": _ts(job.expires_at),
        "zip_bytes": job.zip_bytes,
        "failure_reason": job.failure_reason,
        "note": job.note,
    }


def _job(row: sqlite3.Row) -> Job:
    return Job(
        id=row["id"],
        query=row["query"],
        email=row["email"],
        count=row["count"],
        scheduled_at=datetime.fromtimestamp(row["scheduled_at"], UTC),
        timezone=row["timezone"],
        created_at=datetime.fromtimestamp(row["created_at"], UTC),
        status=JobStatus(row["status"]),
        progress=Progress(row["links_found"], row["images_downloaded"], row["images_failed"], row["bytes_downloaded"]),
        started_at=_dt(row["started_at"]),
        finished_at=_dt(row["finished_at"]),
        download_token=row["download_token"],
        expires_at=_dt(row["expires_at"]),
        zip_bytes=row["zip_bytes"],
        failure_reason=row["failure_reason"],
        note=row["note"],
    )


def sqlite_path(url: str) -> Path:
    """`sqlite:///relative/path` or `sqlite:////absolute/path`, as in SQLAlchemy."""
    if not url.startswith("sqlite:///"):
        raise ValueError(f"expected sqlite:///path, got {url!r}")
    return Path(url[len("sqlite:///") :])


class SqliteJobStore:
    def __init__(self, path: Path) -> None:
        self._path = path
        self._local = threading.local()

    @contextmanager
    def _tx(self) -> Iterator[sqlite3.Connection]:
        conn: sqlite3.Connection | None = getattr(self._local, "conn", None)
        if conn is None:
            self._path.parent.mkdir(parents=True, exist_ok=True)
            conn = sqlite3.connect(self._path, timeout=30, isolation_level=None)
            conn.row_factory = sqlite3.Row
            # A purged email address must not survive in free pages or in the write-ahead log.
            conn.execute("PRAGMA secure_delete=ON")
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA busy_timeout=30000")
            self._local.conn = conn
        conn.execute("BEGIN IMMEDIATE")
        try:
            yield conn
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        conn.execute("COMMIT")

    def migrate(self) -> None:
        with self._tx() as conn:
            for statement in SCHEMA.split(";"):
                if statement.strip():
                    conn.execute(statement)

    def add_job(self, job: Job) -> None:
        values = _state_values(job) | {
            "id": job.id,
            "query": job.query,
            "email": job.email,
            "count": job.count,
            "timezone": job.timezone,
            "created_at": _ts(job.created_at),
        }
        columns = ", ".join(values)
        marks = ", ".join(f":{name}" for name in values)
        with self._tx() as conn:
            conn.execute(f"INSERT INTO jobs ({columns}) VALUES ({marks})", values)

    def get_job(self, job_id: str) -> Job | None:
        with self._tx() as conn:
            row = conn.execute("SELECT * FROM jobs WHERE id = ?", (job_id,)).fetchone()
        return _job(row) if row else None

    def transition(self, job: Job, expected: Sequence[JobStatus]) -> bool:
        values = _state_values(job)
        assignments = ", ".join(f"{name} = :{name}" for name in STATE_COLUMNS)
        expected_marks = ", ".join(f":e{i}" for i in range(len(expected)))
        params = values | {"id": job.id} | {f"e{i}": s.value for i, s in enumerate(expected)}
        with self._tx() as conn:
            cursor = conn.execute(
                f"UPDATE jobs SET {assignments} WHERE id = :id AND status IN ({expected_marks})", params
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
        with self._tx() as conn:
            conn.execute(f"UPDATE jobs SET {assignments} WHERE id = :id", changes | {"id": job_id})

    def save_links(self, job_id: str, links: Sequence[Link]) -> None:
        with self._tx() as conn:
            conn.execute("DELETE FROM links WHERE job_id = ?", (job_id,))
            conn.executemany(
                "INSERT INTO links VALUES (?, ?, ?, ?, ?, ?, ?)",
                [(job_id, k.position, k.url, k.page_url, k.provider, k.width, k.height) for k in links],
            )

    def get_links(self, job_id: str) -> list[Link]:
        with self._tx() as conn:
            rows = conn.execute("SELECT * FROM links WHERE job_id = ? ORDER BY position", (job_id,)).fetchall()
        return [Link(r["position"], r["url"], r["page_url"], r["provider"], r["width"], r["height"]) for r in rows]

    def claim_notification(self, job_id: str, kind: str) -> bool:
        with self._tx() as conn:
            cursor = conn.execute("INSERT OR IGNORE INTO notifications VALUES (?, ?, ?)", (job_id, kind, time.time()))
        return cursor.rowcount == 1

    def release_notification(self, job_id: str, kind: str) -> None:
        with self._tx() as conn:
            conn.execute("DELETE FROM notifications WHERE job_id = ? AND kind = ?", (job_id, kind))

    def job_for_token(self, token_hash: str) -> Job | None:
        with self._tx() as conn:
            row = conn.execute("SELECT * FROM jobs WHERE token_hash = ?", (token_hash,)).fetchone()
        return _job(row) if row else None

    def is_tombstoned(self, token_hash: str) -> bool:
        with self._tx() as conn:
            row = conn.execute("SELECT 1 FROM tombstones WHERE token_hash = ?", (token_hash,)).fetchone()
        return row is not None

    def due_jobs(self, until: datetime, limit: int = 1000) -> list[Job]:
        with self._tx() as conn:
            rows = conn.execute(
                "SELECT * FROM jobs WHERE status = ? AND scheduled_at <= ? ORDER BY scheduled_at LIMIT ?",
                (JobStatus.SCHEDULED.value, until.timestamp(), limit),
            ).fetchall()
        return [_job(r) for r in rows]

    def jobs_in(self, status: JobStatus, limit: int = 1000) -> list[Job]:
        with self._tx() as conn:
            rows = conn.execute(
                "SELECT * FROM jobs WHERE status = ? ORDER BY scheduled_at LIMIT ?", (status.value, limit)
            ).fetchall()
        return [_job(r) for r in rows]

    def expired_jobs(self, now: datetime, limit: int = 1000) -> list[Job]:
        with self._tx() as conn:
            rows = conn.execute(
                "SELECT * FROM jobs WHERE expires_at IS NOT NULL AND expires_at <= ? LIMIT ?",
                (now.timestamp(), limit),
            ).fetchall()
        return [_job(r) for r in rows]

    def purge_job(self, job_id: str) -> None:
        with self._tx() as conn:
            row = conn.execute("SELECT token_hash FROM jobs WHERE id = ?", (job_id,)).fetchone()
            if row and row["token_hash"]:
                conn.execute("INSERT OR IGNORE INTO tombstones VALUES (?, ?)", (row["token_hash"], time.time()))
            conn.execute("DELETE FROM links WHERE job_id = ?", (job_id,))
            conn.execute("DELETE FROM notifications WHERE job_id = ?", (job_id,))
            conn.execute("DELETE FROM jobs WHERE id = ?", (job_id,))
        # Move the deletion out of the write-ahead log into the (securely overwritten) database file.
        conn = self._local.conn
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")

    def close(self) -> None:
        conn = getattr(self._local, "conn", None)
        if conn is not None:
            conn.close()
            self._local.conn = None
