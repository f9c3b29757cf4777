"""The scheduler's part in recurring searches: each run, as it starts, schedules the next.

The next run is a job like any other, created through the store's `add_run` (its id derived from the
series and its time, so a redelivered `job.due`, two replicas or a restarted scheduler create it once)
and woken by the same delayed `job.due`. The sweep repairs a series whose next run was never created
(a scheduler that died between the claim and the creation), and ends those past their last day.
"""

from __future__ import annotations

import logging
from datetime import datetime

from shared.domain.model import Job, JobStatus
from shared.domain.series import Series, SeriesStatus
from shared.lifecycle import publish_due, publish_expiry
from shared.ports import Adapters
from shared.ports.series_records import every_live_series

log = logging.getLogger(__name__)


def run_is_cancelled(adapters: Adapters, job: Job) -> bool:
    """True (and the job cancelled) for a run whose series was stopped or is gone: it must not start.
    A run of an ended series is its last one, and runs."""
    if job.series_id is None:
        return False
    series = adapters.store.get_series(job.series_id)
    if series is not None and series.status is not SeriesStatus.STOPPED:
        return False
    cancelled = job.finish(JobStatus.CANCELLED, adapters.clock(), adapters.settings.link_ttl)
    if adapters.store.transition(cancelled, expected=[JobStatus.SCHEDULED]):
        publish_expiry(adapters, cancelled)
        log.info("job %s cancelled: its series %s was stopped", job.id, job.series_id)
    return True


def schedule_next(adapters: Adapters, series_id: str, after: datetime) -> Job | None:
    """Create (once) and announce the series' run after the one at `after`; None if there is none.
    A series with no run left ends here."""
    series = adapters.store.get_series(series_id)
    if series is None or not series.active:
        return None
    following = series.next_after(after)
    now = adapters.clock()
    if following is None:
        if adapters.store.end_series(series.end(SeriesStatus.ENDED, now)):
            log.info("series %s ended: its last run is at %s", series.id, after.isoformat())
        return None
    run = series.run_at(following, now)
    if adapters.store.add_run(run):
        log.info("series %s: next run %s at %s", series.id, run.id, following.isoformat())
    else:
        stored = adapters.store.get_job(run.id)
        if stored is None or stored.status is not JobStatus.SCHEDULED:
            return stored  # created before, and already started, finished or purged
        run = stored
    # Announced on every call: a repeated job.due is dropped or re-delayed by on_job_due, a lost one
    # would lose the run until the sweep.
    publish_due(adapters, run)
    _stop_if_stopped(adapters, series, run)
    return run


def _stop_if_stopped(adapters: Adapters, series: Series, run: Job) -> None:
    """The series may have been stopped while we created its run: then the run goes too."""
    current = adapters.store.get_series(series.id)
    if current is None or current.status is SeriesStatus.STOPPED:
        run_is_cancelled(adapters, run)


def sweep_series(adapters: Adapters) -> None:
    """Every live series whose latest run has started gets its next run (when it has one)."""
    for series_id in every_live_series(adapters.store):
        series = adapters.store.get_series(series_id)
        if series is None or not series.active:
            continue
        runs = adapters.store.series_runs(series_id)
        if not runs:
            # The gateway stored the series but not its first run: create it now.
            first = series.run_at(series.first_at, adapters.clock())
            if adapters.store.add_run(first):
                log.warning("series %s had no first run; created it", series_id)
            publish_due(adapters, first)
            continue
        scheduled_at, job_id = runs[-1]
        latest = adapters.store.get_job(job_id)
        if latest is not None and latest.status is JobStatus.SCHEDULED:
            continue  # waiting for its time (the due sweep above republishes a lost job.due)
        # Started (or long gone) with no run after it: its next run was never created.
        if schedule_next(adapters, series_id, scheduled_at) is not None:
            log.warning("series %s: created the run after %s, which the start had not", series_id, job_id)
