"""The Cassandra store's records of recurring searches (shared.ports.series_records)."""

from __future__ import annotations

import zlib
from collections.abc import Iterable, Sequence
from datetime import datetime, timedelta

from shared.adapters.cassandra.hints import hints_for
from shared.adapters.cassandra.rows import Row, ms, now_ms, read_dt, read_ms, ttl_until, written_values
from shared.adapters.cassandra.series_cql import LIVE_SHARDS
from shared.adapters.cassandra.session import CqlSession
from shared.adapters.store_rules import from_ms, purge_deadline_ms, to_ms
from shared.domain.filters import Filters
from shared.domain.model import Job
from shared.domain.series import Series, SeriesStatus
from shared.ports.series_records import SERIES_PAGE

# Keys per `IN` read of delivered hashes: one partition, so a few hundred are one cheap query.
CHUNK = 200


def _when(value: datetime) -> datetime:
    return from_ms(read_ms(value) or 0)


def _live_shard(series_id: str) -> int:
    return zlib.crc32(series_id.encode()) % LIVE_SHARDS


def _series_from_row(row: Row) -> Series:
    return Series(
        id=row["series_id"],
        query=row["query"],
        email=row["email"],
        count=row["count"],
        timezone=row["timezone"],
        repeat=row["repeat"],
        cron=row["cron"],
        first_at=_when(row["first_at"]),
        until_at=_when(row["until_at"]),
        created_at=_when(row["created_at"]),
        status=SeriesStatus(row["status"]),
        filters=Filters.from_json(row["filters"]),
        webhook_url=row["webhook_url"],
        ended_at=read_dt(row["ended_at"]),
    )


class CassandraSeriesRecords:
    """SeriesRecords on the store's CQL session; a mixin of CassandraJobStore."""

    _cql: CqlSession
    _retention_ms: int
    _tombstone_ttl_ms: int

    def _series_row(self, series_id: str) -> Row | None:
        row = self._cql.one("select_series", [series_id])
        if row is None or (read_ms(row["purge_after"]) or 0) <= now_ms():
            return None  # past its deadline: gone, as its TTL will soon make it
        return row

    def _ttl(self, series_id: str) -> int:
        """The TTL of records written for the series now: to its backstop and the store's retention."""
        row = self._series_row(series_id)
        deadline = (read_ms(row["purge_after"]) or 0) if row is not None else now_ms()
        return ttl_until(deadline + self._retention_ms)

    def add_series(self, series: Series, purge_after: datetime) -> None:
        ttl = ttl_until(to_ms(purge_after) + self._retention_ms)
        values = [
            series.id,
            series.query,
            series.email,
            series.count,
            series.timezone,
            series.repeat,
            series.cron,
            ms(series.first_at),
            ms(series.until_at),
            ms(series.created_at),
            series.status.value,
            series.filters.to_json(),
            series.webhook_url,
            ms(series.ended_at),
            to_ms(purge_after),
        ]
        self._cql.run_together(
            [
                ("insert_series", [*values, ttl]),
                ("insert_series_live", [_live_shard(series.id), series.id, ttl]),
            ]
        )

    def get_series(self, series_id: str) -> Series | None:
        row = self._series_row(series_id)
        return _series_from_row(row) if row is not None else None

    def end_series(self, series: Series) -> bool:
        ended_at = ms(series.ended_at)

        def check() -> bool:
            row = self._cql.serial_one("select_series", [series.id])
            return row is not None and row["status"] == series.status.value and read_ms(row["ended_at"]) == ended_at

        params = [self._ttl(series.id), series.status.value, ended_at, series.id]
        return self._cql.cas("end_series", params, check)

    def add_run(self, job: Job) -> bool:
        if job.series_id is None:
            raise ValueError(f"job {job.id} belongs to no series")
        if self._cql.one("select_series_run", [job.series_id, ms(job.scheduled_at)]) is not None:
            # The job is written before its run's row, so the run was created: maybe already run and
            # purged, never to be created again.
            return False
        deadline = purge_deadline_ms(job, timedelta(milliseconds=self._retention_ms))
        self._cql.run_many(hints_for(job, deadline, self._tombstone_ttl_ms))
        params = [job.id, *written_values(job, deadline), ttl_until(deadline)]

        def ours() -> bool:
            row = self._cql.serial_one("select_job", [job.id])
            return (
                row is not None and row["created_at"] is not None and read_ms(row["created_at"]) == ms(job.created_at)
            )

        inserted = self._cql.cas("insert_job_once", params, ours)
        run_ttl = self._ttl(job.series_id)
        self._cql.run("insert_series_run", [job.series_id, ms(job.scheduled_at), job.id, run_ttl])
        return inserted

    def series_runs(self, series_id: str) -> list[tuple[datetime, str]]:
        rows = self._cql.run("select_series_runs", [series_id])
        return [(_when(row["scheduled_at"]), row["job_id"]) for row in rows]

    def remember_delivered(self, series_id: str, keys: Iterable[str]) -> None:
        ttl = self._ttl(series_id)
        self._cql.run_many(("insert_delivered", [series_id, key, ttl]) for key in set(keys))

    def delivered_among(self, series_id: str, keys: Sequence[str]) -> set[str]:
        wanted = sorted(set(keys))
        chunks = [wanted[start : start + CHUNK] for start in range(0, len(wanted), CHUNK)]
        pages = self._cql.run_many(("select_delivered_in", [series_id, chunk]) for chunk in chunks)
        return {row["key"] for rows in pages for row in rows}

    def delivered_url_count(self, series_id: str) -> int:
        row = self._cql.one("count_delivered_urls", [series_id])
        return int(row["n"]) if row is not None else 0

    def live_series(self, after: str = "", limit: int = SERIES_PAGE) -> list[str]:
        # Each shard's first `limit` after `after` (in clustering order) hold the first `limit` of all.
        pages = self._cql.run_many(("scan_series_live", [shard, after, limit]) for shard in range(LIVE_SHARDS))
        return sorted({row["series_id"] for rows in pages for row in rows})[:limit]

    def purge_series(self, series_id: str) -> None:
        self._cql.run_many(
            [
                ("delete_delivered", [series_id]),
                ("delete_series_runs", [series_id]),
                ("delete_series_live", [_live_shard(series_id), series_id]),
            ]
        )
        # Last, so that a purge interrupted half way is found and finished by the next sweep.
        self._cql.run("delete_series", [series_id])
