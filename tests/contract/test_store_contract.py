"""The job store contract: conditional transitions, links, notifications, tokens, purge."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

from shared.domain.model import JobStatus, Link, hash_token
from shared.ports import JobStore
from tests.support import SettableClock, new_job

clock = SettableClock()


def test_a_job_reads_back_as_written(store: JobStore) -> None:
    job = new_job(clock, query="été à Paris", timezone="Asia/Tokyo")
    store.add_job(job)
    assert store.get_job(job.id) == job
    assert store.get_job("missing") is None


def test_only_one_of_many_concurrent_writers_wins_a_transition(store: JobStore) -> None:
    job = new_job(clock)
    store.add_job(job)

    def claim(n: int) -> bool:
        return store.transition(job.with_status(JobStatus.RUNNING, note=f"worker {n}"), [JobStatus.SCHEDULED])

    with ThreadPoolExecutor(8) as pool:
        results = list(pool.map(claim, range(16)))
    assert results.count(True) == 1
    winner = results.index(True)
    assert store.get_job(job.id).note == f"worker {winner}"  # type: ignore[union-attr]


def test_a_transition_from_the_wrong_state_changes_nothing(store: JobStore) -> None:
    job = new_job(clock, status=JobStatus.CANCELLED)
    store.add_job(job)
    sneaky = job.with_status(JobStatus.EXPIRED)
    assert not store.transition(sneaky, [JobStatus.SCHEDULED])
    assert store.get_job(job.id).status is JobStatus.CANCELLED  # type: ignore[union-attr]


def test_progress_is_not_rolled_back_by_a_transition(store: JobStore) -> None:
    job = new_job(clock, status=JobStatus.PACKAGING)
    store.add_job(job)
    store.update_progress(job.id, links_found=40, images_downloaded=12, bytes_downloaded=99_000)
    store.update_progress(job.id, images_failed=3)
    assert store.transition(job.with_status(JobStatus.READY, download_token="t"), [JobStatus.PACKAGING])
    progress = store.get_job(job.id).progress  # type: ignore[union-attr]
    assert (progress.links_found, progress.images_downloaded, progress.images_failed, progress.bytes_downloaded) == (
        40,
        12,
        3,
        99_000,
    )


def test_links_are_replaced_not_duplicated_and_come_back_in_order(store: JobStore) -> None:
    job = new_job(clock)
    store.add_job(job)
    links = [Link(i, f"http://127.0.0.1/{i}.jpg", "http://127.0.0.1/page", "bing", 640, 480) for i in (2, 1, 3)]
    store.save_links(job.id, links)
    store.save_links(job.id, links)
    assert [link.position for link in store.get_links(job.id)] == [1, 2, 3]
    assert store.get_links(job.id)[0] == links[1]


def test_a_notification_is_claimed_once_until_released(store: JobStore) -> None:
    job = new_job(clock)
    store.add_job(job)
    assert store.claim_notification(job.id, "started")
    assert not store.claim_notification(job.id, "started")
    assert store.claim_notification(job.id, "ready")
    store.release_notification(job.id, "started")
    assert store.claim_notification(job.id, "started")


def test_due_stuck_and_expired_queries(store: JobStore) -> None:
    due = new_job(clock, delay=-5)
    later = new_job(clock, delay=5)
    running = new_job(clock, status=JobStatus.RUNNING)
    expired = new_job(clock, status=JobStatus.READY, expires_at=clock.now - timedelta(seconds=1))
    for job in (due, later, running, expired):
        store.add_job(job)
    assert [j.id for j in store.due_jobs(until=clock.now)] == [due.id]
    assert [j.id for j in store.jobs_in(JobStatus.RUNNING)] == [running.id]
    assert [j.id for j in store.expired_jobs(clock.now)] == [expired.id]


def test_purge_leaves_only_the_token_tombstone(store: JobStore) -> None:
    job = new_job(clock, status=JobStatus.READY, download_token="secret-token")
    store.add_job(job)
    store.save_links(job.id, [Link(1, "http://127.0.0.1/1.jpg")])
    store.claim_notification(job.id, "ready")
    assert store.job_for_token(hash_token("secret-token")) == job
    assert not store.is_tombstoned(hash_token("secret-token"))
    store.purge_job(job.id)
    store.purge_job(job.id)
    assert store.get_job(job.id) is None
    assert store.get_links(job.id) == []
    assert store.job_for_token(hash_token("secret-token")) is None
    assert store.is_tombstoned(hash_token("secret-token"))
    assert store.claim_notification(job.id, "ready")  # the old claim went with the job
