"""The series records' contract (shared.ports.series_records), on SQLite and Cassandra alike."""

from __future__ import annotations

import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from datetime import UTC, datetime, timedelta

from shared.domain.filters import Filters
from shared.domain.model import JobStatus
from shared.domain.series import Series, SeriesStatus
from shared.ports import JobStore
from shared.ports.series_records import every_live_series

NOW = datetime(2030, 3, 14, 9, 30, tzinfo=UTC)


def new_series(**changes: object) -> Series:
    series = Series(
        id=uuid.uuid4().hex,
        query="new wallpapers",
        email="series-owner@example.com",
        count=5,
        timezone="Europe/Berlin",
        repeat="day",
        cron="30 10 * * *",
        first_at=NOW,
        until_at=NOW + timedelta(days=30),
        created_at=NOW,
        filters=Filters(size="large"),
        webhook_url="https://hooks.example.com/s",
    )
    return replace(series, **changes)  # type: ignore[arg-type]


def deadline() -> datetime:
    """A backstop well ahead of the real time (the stores' TTLs count from it)."""
    return datetime.now(UTC) + timedelta(days=2)


def test_a_series_reads_back_as_written_and_ends_once(store: JobStore) -> None:
    series = new_series()
    store.add_series(series, deadline())
    assert store.get_series(series.id) == series
    assert store.get_series(uuid.uuid4().hex) is None
    stopped = series.end(SeriesStatus.STOPPED, NOW + timedelta(hours=1))
    assert store.end_series(stopped)
    assert store.get_series(series.id) == stopped
    # Ended already: a second end (stopped again, or ended by the scheduler) changes nothing.
    assert not store.end_series(series.end(SeriesStatus.ENDED, NOW + timedelta(hours=2)))
    assert store.get_series(series.id) == stopped


def test_a_run_is_created_once_however_many_try_and_never_again_after_its_purge(store: JobStore) -> None:
    series = new_series()
    store.add_series(series, deadline())
    run = series.run_at(NOW + timedelta(days=1), NOW)
    with ThreadPoolExecutor(4) as pool:
        results = list(pool.map(lambda _: store.add_run(run), range(4)))
    assert results.count(True) == 1
    assert store.get_job(run.id) == run
    assert store.series_runs(series.id) == [(run.scheduled_at, run.id)]

    # A later attempt (a redelivered job.due) does not reset a run that has started.
    running = run.with_status(JobStatus.RUNNING, started_at=NOW + timedelta(days=1))
    assert store.transition(running, expected=[JobStatus.SCHEDULED])
    assert not store.add_run(run)
    assert store.get_job(run.id).status is JobStatus.RUNNING  # type: ignore[union-attr]

    store.purge_job(run.id)
    assert not store.add_run(run)
    assert store.get_job(run.id) is None


def test_runs_are_listed_in_time_order(store: JobStore) -> None:
    series = new_series()
    store.add_series(series, deadline())
    later, sooner = series.run_at(NOW + timedelta(days=2), NOW), series.run_at(NOW + timedelta(days=1), NOW)
    assert store.add_run(later) and store.add_run(sooner)
    assert store.series_runs(series.id) == [(sooner.scheduled_at, sooner.id), (later.scheduled_at, later.id)]
    assert store.series_runs(uuid.uuid4().hex) == []


def test_delivered_keys_are_kept_per_series_and_counted_by_kind(store: JobStore) -> None:
    one, other = new_series(), new_series()
    store.add_series(one, deadline())
    store.add_series(other, deadline())
    keys = [f"u{n:040x}" for n in range(250)] + [f"i{n:040x}" for n in range(3)]
    store.remember_delivered(one.id, keys)
    store.remember_delivered(one.id, keys[:10])  # idempotent
    asked = [*keys[240:], "u" + "f" * 40, "i" + "e" * 40]
    assert store.delivered_among(one.id, asked) == set(keys[240:])
    assert store.delivered_among(other.id, asked) == set()
    assert store.delivered_among(one.id, []) == set()
    assert store.delivered_url_count(one.id) == 250
    assert store.delivered_url_count(other.id) == 0


def test_purge_deletes_the_series_its_runs_list_and_its_hashes(store: JobStore) -> None:
    series, kept = new_series(), new_series()
    for each in (series, kept):
        store.add_series(each, deadline())
        store.add_run(each.run_at(NOW + timedelta(days=1), NOW))
        store.remember_delivered(each.id, ["u" + "a" * 40])
    assert {series.id, kept.id} <= set(store.live_series())
    store.purge_series(series.id)
    store.purge_series(series.id)  # idempotent
    assert store.get_series(series.id) is None
    assert store.series_runs(series.id) == []
    assert store.delivered_among(series.id, ["u" + "a" * 40]) == set()
    assert series.id not in store.live_series()
    assert store.get_series(kept.id) == kept and store.series_runs(kept.id)


def test_the_live_series_are_read_in_pages_in_id_order_every_one_once(store: JobStore) -> None:
    added = [new_series() for _ in range(8)]
    for each in added:
        store.add_series(each, deadline())
    purged = added.pop(3)
    store.purge_series(purged.id)
    ids = sorted(each.id for each in added)
    assert store.live_series(limit=3) == ids[:3]
    assert store.live_series(after=ids[2], limit=3) == ids[3:6]
    assert store.live_series(after=ids[-1]) == []
    assert list(every_live_series(store, page=3)) == ids  # 7 series: pages of 3, 3 and 1
    assert list(every_live_series(store, page=7)) == ids  # a full last page, then an empty one


def test_a_series_past_its_backstop_reads_as_gone(store: JobStore) -> None:
    series = new_series()
    store.add_series(series, datetime.now(UTC) - timedelta(seconds=1))
    assert store.get_series(series.id) is None
