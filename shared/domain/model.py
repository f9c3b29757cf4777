"""The job, its states and the transitions allowed between them."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from enum import StrEnum

from shared.domain.filters import Filters


class JobStatus(StrEnum):
    SCHEDULED = "scheduled"
    RUNNING = "running"
    PACKAGING = "packaging"
    READY = "ready"
    EXPIRED = "expired"
    FAILED = "failed"
    CANCELLED = "cancelled"


S = JobStatus
# The lifecycle of DESIGN.md; every write is conditional on the current state being a valid source.
TRANSITIONS: dict[JobStatus, frozenset[JobStatus]] = {
    S.SCHEDULED: frozenset({S.RUNNING, S.CANCELLED, S.FAILED}),
    S.RUNNING: frozenset({S.PACKAGING, S.FAILED}),
    S.PACKAGING: frozenset({S.READY, S.FAILED}),
    S.READY: frozenset({S.EXPIRED}),
    S.FAILED: frozenset({S.EXPIRED}),
    S.CANCELLED: frozenset({S.EXPIRED}),
    S.EXPIRED: frozenset(),
}
FINISHED = frozenset({S.READY, S.FAILED, S.CANCELLED, S.EXPIRED})


class InvalidTransition(ValueError):
    """A state change the lifecycle does not allow."""


def check_transition(source: JobStatus, target: JobStatus) -> None:
    if target not in TRANSITIONS[source]:
        raise InvalidTransition(f"a job cannot go from {source} to {target}")


@dataclass(frozen=True)
class Progress:
    links_found: int = 0
    images_downloaded: int = 0
    images_failed: int = 0
    bytes_downloaded: int = 0


@dataclass(frozen=True)
class Job:
    id: str
    query: str
    email: str
    count: int
    scheduled_at: datetime
    timezone: str
    created_at: datetime
    status: JobStatus = JobStatus.SCHEDULED
    progress: Progress = field(default_factory=Progress)
    started_at: datetime | None = None
    finished_at: datetime | None = None
    token_hash: str | None = None  # keyed hash of the download token (shared.tokens)
    expires_at: datetime | None = None
    zip_bytes: int = 0
    failure_reason: str | None = None
    note: str | None = None
    filters: Filters = field(default_factory=Filters)
    # Where every event of the job is POSTed (it is personal data, purged with the job).
    webhook_url: str | None = None
    # The recurring series this job is one occurrence of.
    series_id: str | None = None

    def with_status(self, target: JobStatus, **changes: object) -> Job:
        check_transition(self.status, target)
        return replace(self, status=target, **changes)  # type: ignore[arg-type]

    def finish(self, target: JobStatus, now: datetime, link_ttl: float, **changes: object) -> Job:
        """The job at the end of its run (ready, failed or cancelled). Its link, or its status page and
        retry link, live `link_ttl` seconds from `now`; then every record and file of it goes."""
        if target not in FINISHED:
            raise InvalidTransition(f"{target} does not finish a job")
        expires_at = now + timedelta(seconds=link_ttl)
        return self.with_status(target, finished_at=now, expires_at=expires_at, **changes)

    @property
    def blob_prefix(self) -> str:
        return f"jobs/{self.id}/"

    @property
    def zip_key(self) -> str:
        return f"jobs/{self.id}/images.zip"


@dataclass(frozen=True)
class Link:
    """A full-size image URL the scraper found, in result order."""

    position: int
    url: str
    page_url: str | None = None
    provider: str = ""
    width: int | None = None
    height: int | None = None
