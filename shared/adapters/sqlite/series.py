"""The SQLite store's records of recurring searches (shared.ports.series_records)."""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Callable, Iterable, Sequence
from datetime import datetime
from typing import Any

from shared.adapters.sqlite.database import Database
from shared.adapters.store_rules import from_ms, to_ms
from shared.domain.filters import Filters
from shared.domain.model import Job
from shared.domain.series import Series, SeriesStatus
from shared.ports.series_records import SERIES_PAGE

# Added to the store's SCHEMA (shared.adapters.sqlite.schema), so migrate creates them and ping checks them.
SERIES_SCHEMA = """
CREATE TABLE IF NOT EXISTS series (
    id TEXT PRIMARY KEY,
    query TEXT NOT NULL,
    email TEXT NOT NULL,
    count INTEGER NOT NULL,
    timezone TEXT NOT NULL,
    repeat TEXT NOT NULL,
    cron TEXT NOT NULL,
    first_at REAL NOT NULL,
    until_at REAL NOT NULL,
    created_at REAL NOT NULL,
    status TEXT NOT NULL,
    filters TEXT,
    webhook_url TEXT,
    ended_at REAL,
    purge_after REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS series_runs (
    series_id TEXT NOT NULL,
    scheduled_at REAL NOT NULL,
    job_id TEXT NOT NULL,
    PRIMARY KEY (series_id, scheduled_at)
);
CREATE TABLE IF NOT EXISTS series_delivered (
    series_id TEXT NOT NULL,
    key TEXT NOT NULL,
    PRIMARY KEY (series_id, key)
)
"""
# SQLite's limit on a statement's parameters is 999 in old builds; chunks stay well below.
CHUNK = 400


def _ts(value: datetime | None) -> float | None:
    return None if value is None else to_ms(value) / 1000


def _dt(value: float | None) -> datetime | None:
    return None if value is None else from_ms(round(value * 1000))


def _series_from_row(row: sqlite3.Row) -> Series:
    return Series(
        id=row["id"],
        query=row["query"],
        email=row["email"],
        count=row["count"],
        timezone=row["timezone"],
        repeat=row["repeat"],
        cron=row["cron"],
        first_at=from_ms(round(row["first_at"] * 1000)),
        until_at=from_ms(round(row["until_at"] * 1000)),
        created_at=from_ms(round(row["created_at"] * 1000)),
        status=SeriesStatus(row["status"]),
        filters=Filters.from_json(row["filters"]),
        webhook_url=row["webhook_url"],
        ended_at=_dt(row["ended_at"]),
    )


class SqliteSeriesRecords:
    """SeriesRecords on the store's database; a mixin of SqliteJobStore."""

    _db: Database
    _written_values: Callable[[Job], dict[str, Any]]

    @staticmethod
    def _sweep_series(conn: sqlite3.Connection) -> bool:
        """What a TTL does in Cassandra: a series past its deadline is gone before anyone looks."""
        rows = conn.execute("SELECT id FROM series WHERE purge_after <= ?", (time.time(),)).fetchall()
        for row in rows:
            SqliteSeriesRecords._delete_series(conn, row["id"])
        return bool(rows)

    @staticmethod
    def _delete_series(conn: sqlite3.Connection, series_id: str) -> None:
        for table, column in (("series_delivered", "series_id"), ("series_runs", "series_id"), ("series", "id")):
            conn.execute(f"DELETE FROM {table} WHERE {column} = ?", (series_id,))

    def add_series(self, series: Series, purge_after: datetime) -> None:
        with self._db.transaction(self._sweep_series) as conn:
            conn.execute(
                "INSERT INTO series VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    series.id,
                    series.query,
                    series.email,
                    series.count,
                    series.timezone,
                    series.repeat,
                    series.cron,
                    _ts(series.first_at),
                    _ts(series.until_at),
                    _ts(series.created_at),
                    series.status.value,
                    series.filters.to_json(),
                    series.webhook_url,
                    _ts(series.ended_at),
                    _ts(purge_after),
                ),
            )

    def get_series(self, series_id: str) -> Series | None:
        with self._db.transaction(self._sweep_series) as conn:
            row = conn.execute("SELECT * FROM series WHERE id = ?", (series_id,)).fetchone()
        return _series_from_row(row) if row else None

    def end_series(self, series: Series) -> bool:
        with self._db.transaction(self._sweep_series) as conn:
            cursor = conn.execute(
                "UPDATE series SET status = ?, ended_at = ? WHERE id = ? AND status = ?",
                (series.status.value, _ts(series.ended_at), series.id, SeriesStatus.ACTIVE.value),
            )
        return cursor.rowcount == 1

    def add_run(self, job: Job) -> bool:
        if job.series_id is None:
            raise ValueError(f"job {job.id} belongs to no series")
        values = self._written_values(job) | {"id": job.id}
        columns, marks = ", ".join(values), ", ".join(f":{name}" for name in values)
        with self._db.transaction(self._sweep_series) as conn:
            known = conn.execute(
                "SELECT 1 FROM series_runs WHERE series_id = ? AND scheduled_at = ?",
                (job.series_id, _ts(job.scheduled_at)),
            ).fetchone()
            if known:
                return False  # inserted before, maybe already run and purged: never again
            cursor = conn.execute(f"INSERT OR IGNORE INTO jobs ({columns}) VALUES ({marks})", values)
            conn.execute("INSERT INTO series_runs VALUES (?, ?, ?)", (job.series_id, _ts(job.scheduled_at), job.id))
        return cursor.rowcount == 1

    def series_runs(self, series_id: str) -> list[tuple[datetime, str]]:
        with self._db.transaction(self._sweep_series) as conn:
            rows = conn.execute(
                "SELECT scheduled_at, job_id FROM series_runs WHERE series_id = ? ORDER BY scheduled_at",
                (series_id,),
            ).fetchall()
        return [(from_ms(round(row["scheduled_at"] * 1000)), row["job_id"]) for row in rows]

    def remember_delivered(self, series_id: str, keys: Iterable[str]) -> None:
        with self._db.transaction(self._sweep_series) as conn:
            conn.executemany(
                "INSERT OR IGNORE INTO series_delivered VALUES (?, ?)", [(series_id, key) for key in set(keys)]
            )

    def delivered_among(self, series_id: str, keys: Sequence[str]) -> set[str]:
        wanted = sorted(set(keys))
        found: set[str] = set()
        with self._db.transaction(self._sweep_series) as conn:
            for start in range(0, len(wanted), CHUNK):
                chunk = wanted[start : start + CHUNK]
                rows = conn.execute(
                    f"SELECT key FROM series_delivered WHERE series_id = ? AND key IN ({', '.join('?' * len(chunk))})",
                    (series_id, *chunk),
                ).fetchall()
                found.update(row["key"] for row in rows)
        return found

    def delivered_url_count(self, series_id: str) -> int:
        with self._db.transaction(self._sweep_series) as conn:
            row = conn.execute(
                "SELECT count(*) AS n FROM series_delivered WHERE series_id = ? AND key >= 'u' AND key < 'v'",
                (series_id,),
            ).fetchone()
        return int(row["n"])

    def live_series(self, after: str = "", limit: int = SERIES_PAGE) -> list[str]:
        with self._db.transaction(self._sweep_series) as conn:
            rows = conn.execute("SELECT id FROM series WHERE id > ? ORDER BY id LIMIT ?", (after, limit)).fetchall()
        return [row["id"] for row in rows]

    def purge_series(self, series_id: str) -> None:
        with self._db.transaction(self._sweep_series, deletes=True) as conn:
            self._delete_series(conn, series_id)
