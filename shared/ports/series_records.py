"""The store's records of recurring searches: the series, its runs, and what its runs delivered."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from datetime import datetime
from typing import Protocol

from shared.domain.model import Job
from shared.domain.series import Series

# Series ids a sweeper reads at a time.
SERIES_PAGE = 1000


class SeriesRecords(Protocol):
    """Series beside the jobs of JobStore. A series' records hold its email address (like a job's) and
    keyed hashes of what it delivered, never images; every one of them goes by itself at the series'
    backstop (`Series.purge_after`, plus the store's retention) even if purge_series is never called."""

    def add_series(self, series: Series, purge_after: datetime) -> None:
        """Insert a new series (its id is a fresh uuid4); `purge_after` is its backstop deadline."""

    def get_series(self, series_id: str) -> Series | None:
        """The series, or None if it never existed or has been purged."""

    def end_series(self, series: Series) -> bool:
        """Write `series` (stopped or ended) if the stored one is still active; False otherwise."""

    def add_run(self, job: Job) -> bool:
        """Insert `job`, a run of its series (its id derived from the series and its time), unless a
        job with that id exists or existed; and list it among the series' runs. True only for the call
        that inserted it: of concurrent or repeated calls for one run, exactly one. Idempotent."""

    def series_runs(self, series_id: str) -> list[tuple[datetime, str]]:
        """The series' runs as (scheduled time, job id), earliest first; purged jobs included."""

    def remember_delivered(self, series_id: str, keys: Iterable[str]) -> None:
        """Add the keyed hashes of delivered images and URLs to the series' set; idempotent."""

    def delivered_among(self, series_id: str, keys: Sequence[str]) -> set[str]:
        """Which of `keys` the series' earlier runs delivered."""

    def delivered_url_count(self, series_id: str) -> int:
        """How many URL keys (those starting with "u", see shared.series_signing) the series holds."""

    def live_series(self, after: str = "", limit: int = SERIES_PAGE) -> list[str]:
        """Ids of series not yet purged (active or ended), in id order: the first `limit` after `after`.
        The sweepers read them all, a page at a time (every_live_series)."""

    def purge_series(self, series_id: str) -> None:
        """Delete every record of the series: the address, its runs' list and its hashes. Idempotent."""


def every_live_series(records: SeriesRecords, page: int = SERIES_PAGE) -> Iterator[str]:
    """Every live series' id, a page at a time: a sweep that read only the first page would never
    reach the series after it (their repairs and their purge backstop)."""
    after = ""
    while True:
        ids = records.live_series(after=after, limit=page)
        yield from ids
        if len(ids) < page:
            return
        after = ids[-1]
