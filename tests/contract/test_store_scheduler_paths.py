"""The scheduler's paths through the store, on both stores: `start_due` (a start with no read before
it) and the stuck sweep's bounded `jobs_in`."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from datetime import timedelta

from shared.adapters.cassandra.rows import shard
from shared.adapters.cassandra.store import CassandraJobStore
from shared.adapters.store_rules import to_ms
from shared.domain.model import JobStatus
from shared.ports import JobStore
from tests.support import SettableClock, new_job

clock = SettableClock()


def test_a_scheduled_job_due_at_the_named_time_starts_once(store: JobStore) -> None:
    job = new_job(clock, delay=-2)
    store.add_job(job)
    now = clock()
    with ThreadPoolExecutor(8) as pool:
        results = list(pool.map(lambda _: store.start_due(job.id, job.scheduled_at, now), range(8)))
    assert results.count(True) == 1
    stored = store.get_job(job.id)
    assert stored is not None
    assert stored.status is JobStatus.RUNNING and stored.started_at == now
    # Everything else is as it was: the write touched the status and the start only.
    assert replace(stored, status=JobStatus.SCHEDULED, started_at=None) == job


def test_its_hints_follow_the_start(store: JobStore) -> None:
    job = new_job(clock, delay=-2)
    store.add_job(job)
    assert [j.id for j in store.due_jobs(until=clock())] == [job.id]
    assert store.start_due(job.id, job.scheduled_at, clock())
    assert store.due_jobs(until=clock()) == []
    assert [j.id for j in store.jobs_in(JobStatus.RUNNING)] == [job.id]
    assert store.jobs_in(JobStatus.SCHEDULED) == []


def test_anything_but_a_plain_job_scheduled_for_that_time_is_left_to_the_caller(store: JobStore) -> None:
    moved = new_job(clock, delay=-2)
    series_run = replace(new_job(clock, delay=-2), series_id="s1")
    cancelled = new_job(clock, delay=-2, status=JobStatus.CANCELLED)
    for job in (moved, series_run, cancelled):
        store.add_job(job)
    now = clock()
    assert not store.start_due(moved.id, moved.scheduled_at - timedelta(minutes=5), now)  # an older time
    assert not store.start_due(series_run.id, series_run.scheduled_at, now)
    assert not store.start_due(cancelled.id, cancelled.scheduled_at, now)
    assert not store.start_due("missing", now, now)
    assert store.get_job("missing") is None  # no write made a row of it
    for job in (moved, series_run, cancelled):
        assert store.get_job(job.id) == job


def test_jobs_in_can_be_bounded_by_scheduled_time(store: JobStore) -> None:
    old = new_job(clock, delay=-7200, status=JobStatus.RUNNING, started_at=clock() - timedelta(hours=2))
    recent = new_job(clock, delay=-60, status=JobStatus.RUNNING, started_at=clock() - timedelta(minutes=1))
    for job in (old, recent):
        store.add_job(job)
    assert [j.id for j in store.jobs_in(JobStatus.RUNNING)] == [old.id, recent.id]
    assert [j.id for j in store.jobs_in(JobStatus.RUNNING, scheduled_before=clock() - timedelta(hours=1))] == [old.id]
    assert store.jobs_in(JobStatus.RUNNING, scheduled_before=old.scheduled_at) == []  # the bound is exclusive


def test_writing_a_running_job_again_restores_the_lookup_a_crash_cut_short(store: JobStore) -> None:
    """start_due writes the running job's lookup row after its transaction; if the process dies in
    between, the redelivered job.due writes the job again as it is (see the scheduler), which must
    make the stuck sweep find it."""
    job = new_job(clock, delay=-2)
    store.add_job(job)
    assert store.start_due(job.id, job.scheduled_at, clock())
    running = store.get_job(job.id)
    assert running is not None
    if isinstance(store, CassandraJobStore):  # the embedded store keeps no lookup rows to lose
        store._cql.run("delete_status", ["running", shard(job.id), to_ms(job.scheduled_at), job.id])
        assert store.jobs_in(JobStatus.RUNNING) == []
    assert store.transition(running, expected=[JobStatus.RUNNING])
    assert [j.id for j in store.jobs_in(JobStatus.RUNNING)] == [job.id]
    assert store.get_job(job.id) == running
