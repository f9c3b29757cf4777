"""A recurring search: one series, many runs, each a job of its own that delivers only what is new.

The series holds what every run needs (query, address, count, filters, zone, repeat) and, beside it in
the store, keyed hashes of what its runs delivered (image bytes and normalised URLs), never images.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from enum import StrEnum

from shared.domain.filters import Filters
from shared.domain.model import Job, JobStatus
from shared.domain.recurrence import next_run, occurrence_id


class SeriesStatus(StrEnum):
    ACTIVE = "active"
    STOPPED = "stopped"  # by the person: the stop link, the status page or DELETE /api/series/<id>
    ENDED = "ended"  # its last run came (the next would fall after `until`)


# How long the series' records may outlive `until` even if nobody purges them: the last run's link
# life and a run's longest stay in its stages, with room to spare.
RECORD_MARGIN = timedelta(days=3)


@dataclass(frozen=True)
class Series:
    id: str
    query: str
    email: str
    count: int
    timezone: str
    repeat: str  # "day", "week", "month" or a cron expression, as the person chose it
    cron: str  # the five-field expression runs are computed from, in `timezone`
    first_at: datetime
    until_at: datetime  # no run starts at or after this (UTC)
    created_at: datetime
    status: SeriesStatus = SeriesStatus.ACTIVE
    filters: Filters = field(default_factory=Filters)
    webhook_url: str | None = None
    ended_at: datetime | None = None

    @property
    def active(self) -> bool:
        return self.status is SeriesStatus.ACTIVE

    def purge_after(self, link_ttl: float) -> datetime:
        """The backstop: every record of the series goes by then even if the janitor never runs."""
        return self.until_at + timedelta(seconds=link_ttl) + RECORD_MARGIN

    def next_after(self, scheduled_at: datetime) -> datetime | None:
        """The run after the one at `scheduled_at`, or None if the series has no run left."""
        if not self.active:
            return None
        following = next_run(self.cron, self.timezone, scheduled_at)
        return following if following is not None and following < self.until_at else None

    def run_at(self, scheduled_at: datetime, now: datetime) -> Job:
        """The series' run at `scheduled_at`: a job with an id derived from the two (see occurrence_id)."""
        return Job(
            id=occurrence_id(self.id, scheduled_at),
            query=self.query,
            email=self.email,
            count=self.count,
            scheduled_at=scheduled_at,
            timezone=self.timezone,
            created_at=now,
            status=JobStatus.SCHEDULED,
            filters=self.filters,
            webhook_url=self.webhook_url,
            series_id=self.id,
        )

    def end(self, status: SeriesStatus, now: datetime) -> Series:
        if status is SeriesStatus.ACTIVE:
            raise ValueError("a series ends as stopped or ended")
        return replace(self, status=status, ended_at=now)
