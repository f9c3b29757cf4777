"""The SQLite store's tables and the conversion of its rows to jobs (times as float seconds, to the ms)."""

from __future__ import annotations

import sqlite3
from datetime import datetime

from shared.adapters.sqlite.series import SERIES_SCHEMA
from shared.adapters.store_rules import IDENTITY, STATE, from_ms, to_ms
from shared.domain.filters import Filters
from shared.domain.model import Job, JobStatus, Progress

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
    token_hash TEXT UNIQUE,
    expires_at REAL,
    zip_bytes INTEGER NOT NULL DEFAULT 0,
    failure_reason TEXT,
    note TEXT,
    purge_after REAL,
    filters TEXT,
    webhook_url TEXT,
    series_id TEXT
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
DROP TABLE IF EXISTS notifications;
CREATE TABLE IF NOT EXISTS emails (
    job_id TEXT NOT NULL,
    kind TEXT NOT NULL,
    state TEXT NOT NULL,
    attempts INTEGER NOT NULL,
    first_at REAL NOT NULL,
    lease_until REAL,
    claim_id TEXT,
    detail TEXT,
    PRIMARY KEY (job_id, kind)
);
CREATE TABLE IF NOT EXISTS tombstones (
    token_hash TEXT PRIMARY KEY,
    purged_at REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS rate_limits (
    rate_key TEXT NOT NULL,
    window_seconds INTEGER NOT NULL,
    window_start INTEGER NOT NULL,
    hits INTEGER NOT NULL,
    window_end INTEGER NOT NULL,
    PRIMARY KEY (rate_key, window_seconds)
);
CREATE TABLE IF NOT EXISTS suppressions (
    address_hash TEXT PRIMARY KEY,
    suppressed_at REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS webhook_deliveries (
    job_id TEXT NOT NULL,
    event_type TEXT NOT NULL,
    delivery_id TEXT NOT NULL,
    url TEXT NOT NULL,
    body TEXT NOT NULL,
    created_at REAL NOT NULL,
    attempts INTEGER NOT NULL,
    next_at REAL,
    keep_until REAL NOT NULL,
    signer TEXT NOT NULL DEFAULT '',
    PRIMARY KEY (job_id, event_type)
)
"""
# Recurring searches (shared.adapters.sqlite.series).
SCHEMA += ";" + SERIES_SCHEMA
# Run after SCHEMA, once a database made before `purge_after` existed has the column.
INDEXES = """
CREATE INDEX IF NOT EXISTS jobs_by_deadline ON jobs (purge_after);
CREATE INDEX IF NOT EXISTS tombstones_by_time ON tombstones (purged_at);
CREATE INDEX IF NOT EXISTS rate_limits_by_end ON rate_limits (window_end)
"""

# Columns added after the first release: migrate adds them to an older database (column -> type).
ADDED_COLUMNS = {"purge_after": "REAL", "filters": "TEXT", "webhook_url": "TEXT", "series_id": "TEXT"}

# Written by add_job and transition (see store_rules).
WRITTEN_COLUMNS = (*IDENTITY, *STATE)


def ts(value: datetime | None) -> float | None:
    return None if value is None else to_ms(value) / 1000


def dt(value: float | None) -> datetime | None:
    return None if value is None else from_ms(round(value * 1000))


def job_from_row(row: sqlite3.Row) -> Job:
    return Job(
        id=row["id"],
        query=row["query"],
        email=row["email"],
        count=row["count"],
        scheduled_at=from_ms(round(row["scheduled_at"] * 1000)),
        timezone=row["timezone"],
        created_at=from_ms(round(row["created_at"] * 1000)),
        status=JobStatus(row["status"]),
        progress=Progress(row["links_found"], row["images_downloaded"], row["images_failed"], row["bytes_downloaded"]),
        started_at=dt(row["started_at"]),
        finished_at=dt(row["finished_at"]),
        token_hash=row["token_hash"],
        expires_at=dt(row["expires_at"]),
        zip_bytes=row["zip_bytes"],
        failure_reason=row["failure_reason"],
        note=row["note"],
        filters=Filters.from_json(row["filters"]),
        webhook_url=row["webhook_url"],
        series_id=row["series_id"],
    )
