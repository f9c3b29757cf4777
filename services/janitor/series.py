"""The janitor's part in recurring searches: a series that has ended goes once its last run has.

A stopped or ended series keeps its record (the address and what its runs delivered, as keyed hashes)
while any of its runs still has records, so its page can list them and a run still packaging can add
to it; when the last run's link has expired and the run is purged, the series is purged too.
"""

from __future__ import annotations

import logging

from shared.ports import Adapters
from shared.ports.series_records import every_live_series

log = logging.getLogger(__name__)


def purge_if_done(adapters: Adapters, series_id: str) -> bool:
    """Purge the series if it has ended and none of its runs has records left; True if it did."""
    series = adapters.store.get_series(series_id)
    if series is None or series.active:
        return False
    if any(adapters.store.get_job(job_id) is not None for _, job_id in adapters.store.series_runs(series_id)):
        return False
    adapters.store.purge_series(series_id)
    log.info("series %s purged", series_id)
    return True


def sweep(adapters: Adapters) -> None:
    """The backstop for a series whose last run was purged before the series had ended."""
    for series_id in every_live_series(adapters.store):
        purge_if_done(adapters, series_id)
