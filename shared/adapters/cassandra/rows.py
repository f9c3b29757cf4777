"""Conversions between the domain's jobs and Cassandra rows, and the time arithmetic of TTLs and buckets."""

from __future__ import annotations

import math
import time
import zlib
from datetime import datetime, timedelta
from typing import Any

from shared.adapters.store_rules import IDENTITY, STATE, from_ms, to_ms
from shared.domain.filters import Filters
from shared.domain.model import Job, JobStatus, Link, Progress

Row = dict[str, Any]

BUCKET_MS = 3_600_000  # due and expiry hints are partitioned by the hour
STATUS_SHARDS = 16
MAX_TTL = 630_720_000  # Cassandra's limit: 20 years
_EPOCH_NAIVE = datetime(1970, 1, 1)
_MS = timedelta(milliseconds=1)


def now_ms() -> int:
    return time.time_ns() // 1_000_000


def ttl_until(deadline_ms: int) -> int:
    """A TTL that ends a cell within two seconds after `deadline_ms`, never before it.

    Cassandra counts expiry from the whole second of the write, so a TTL of ceil(seconds left)
    could end a cell almost a second early; hence the extra second. Reads stop showing a job at the
    deadline itself (they compare `purge_after`). Never 0, which would mean "forever"."""
    return max(1, min(MAX_TTL, math.ceil((deadline_ms - now_ms()) / 1000) + 1))


def bucket(ms: int) -> int:
    return ms // BUCKET_MS


def shard(job_id: str) -> int:
    return zlib.crc32(job_id.encode()) % STATUS_SHARDS


def ms(value: datetime | None) -> int | None:
    return None if value is None else to_ms(value)


def read_ms(value: datetime | None) -> int | None:
    """The driver hands timestamps back as naive UTC datetimes built through a float; round to the ms."""
    return None if value is None else round((value.replace(tzinfo=None) - _EPOCH_NAIVE) / _MS)


def read_dt(value: datetime | None) -> datetime | None:
    stamp = read_ms(value)
    return None if stamp is None else from_ms(stamp)


def written_values(job: Job, deadline_ms: int) -> list[Any]:
    """The job's values for IDENTITY + STATE, in that order (see cassandra_cql)."""
    values: dict[str, Any] = {
        "query": job.query,
        "email": job.email,
        "count": job.count,
        "timezone": job.timezone,
        "created_at": ms(job.created_at),
        "filters": job.filters.to_json(),
        "webhook_url": job.webhook_url,
        "series_id": job.series_id,
        "status": job.status.value,
        "scheduled_at": ms(job.scheduled_at),
        "started_at": ms(job.started_at),
        "finished_at": ms(job.finished_at),
        "token_hash": job.token_hash,
        "expires_at": ms(job.expires_at),
        "zip_bytes": job.zip_bytes,
        "failure_reason": job.failure_reason,
        "note": job.note,
        "purge_after": deadline_ms,
    }
    return [values[name] for name in (*IDENTITY, *STATE)]


def stored_values(row: Row) -> list[Any]:
    """A row's IDENTITY + STATE values in the form written_values produces, to compare the two."""
    return [read_ms(row[name]) if isinstance(row[name], datetime) else row[name] for name in (*IDENTITY, *STATE)]


def is_live(row: Row | None) -> bool:
    """A row is a job if it has a status and its deadline has not passed (a TTL ends within a second
    of it; a counter written after a purge can leave a row without a status)."""
    if row is None or row["status"] is None or row["purge_after"] is None:
        return False
    deadline = read_ms(row["purge_after"])
    return deadline is not None and deadline > now_ms()


def job_from_row(row: Row) -> Job:
    scheduled_at, created_at = read_dt(row["scheduled_at"]), read_dt(row["created_at"])
    assert scheduled_at is not None and created_at is not None
    return Job(
        id=row["job_id"],
        query=row["query"],
        email=row["email"],
        count=row["count"],
        scheduled_at=scheduled_at,
        timezone=row["timezone"],
        created_at=created_at,
        status=JobStatus(row["status"]),
        progress=Progress(
            row["links_found"] or 0,
            row["images_downloaded"] or 0,
            row["images_failed"] or 0,
            row["bytes_downloaded"] or 0,
        ),
        started_at=read_dt(row["started_at"]),
        finished_at=read_dt(row["finished_at"]),
        token_hash=row["token_hash"],
        expires_at=read_dt(row["expires_at"]),
        zip_bytes=row["zip_bytes"] or 0,
        failure_reason=row["failure_reason"],
        note=row["note"],
        filters=Filters.from_json(row["filters"]),
        webhook_url=row["webhook_url"],
        series_id=row["series_id"],
    )


def link_from_row(row: Row) -> Link:
    return Link(row["position"], row["url"], row["page_url"], row["provider"] or "", row["width"], row["height"])
