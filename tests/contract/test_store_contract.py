"""The job store contract: conditional transitions, links, email records, tokens, purge."""

from __future__ import annotations

import sqlite3
import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from shared.adapters.cassandra.schema import parse_cassandra_url
from shared.adapters.sqlite.store import SqliteJobStore
from shared.domain.emails import EmailState
from shared.domain.filters import Filters
from shared.domain.model import JobStatus, Link, Progress
from shared.ports import JobStore, NotMigrated, RateHit
from shared.unsubscribe import mailbox_hash
from tests.contract.conftest import assert_refused_until_migrated
from tests.contract.fixtures_store import UnmigratedStore, _test_keyspace
from tests.support import SettableClock, new_job, wait_until

S = JobStatus

clock = SettableClock()


def test_a_job_reads_back_as_written(store: JobStore) -> None:
    job = new_job(clock, query="été à Paris", timezone="Asia/Tokyo")
    store.add_job(job)
    assert store.get_job(job.id) == job
    assert store.get_job("missing") is None


def test_a_jobs_filters_webhook_and_series_read_back_and_survive_a_transition(store: JobStore) -> None:
    filters = Filters(size="large", color="bw", safe="strict", min_width=800, formats=("jpeg", "png"))
    job = replace(new_job(clock), filters=filters, webhook_url="https://hooks.example.com/a?b=1", series_id="s1")
    store.add_job(job)
    assert store.get_job(job.id) == job
    running = job.with_status(S.RUNNING, started_at=clock())
    assert store.transition(running, expected=[S.SCHEDULED])
    stored = store.get_job(job.id)
    assert stored is not None and stored.filters == filters and stored.series_id == "s1"
    plain = new_job(clock)
    store.add_job(plain)
    assert store.get_job(plain.id) == plain
    assert plain.filters == Filters() and plain.webhook_url is None


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
    assert store.transition(job.with_status(JobStatus.READY, token_hash="t"), [JobStatus.PACKAGING])
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


LEASE = timedelta(seconds=60)


def test_an_email_is_held_by_one_claim_until_settled_or_its_lease_ends(store: JobStore) -> None:
    job = new_job(clock)
    store.add_job(job)
    now = clock.now
    first = store.claim_email(job.id, "started", now, now + LEASE)
    assert first is not None
    assert store.claim_email(job.id, "started", now, now + LEASE) is None  # leased
    assert store.claim_email(job.id, "ready", now, now + LEASE) is not None  # another kind
    record = store.emails(job.id)["started"]
    assert (record.state, record.attempts, record.first_at, record.lease_until) == (
        EmailState.PENDING,
        1,
        now,
        now + LEASE,
    )
    # Its notifier died: once the lease ends, the next claim takes over and the dead one's is void.
    later = now + LEASE + timedelta(seconds=1)
    second = store.claim_email(job.id, "started", later, later + LEASE)
    assert second is not None and second != first
    assert not store.settle_email(job.id, "started", first, EmailState.SENT, None)
    assert store.settle_email(job.id, "started", second, EmailState.SENT, None)
    assert store.claim_email(job.id, "started", later + 10 * LEASE, later + 11 * LEASE) is None  # sent: for good
    assert store.emails(job.id)["started"].state is EmailState.SENT
    assert store.emails(job.id)["started"].attempts == 2


def test_a_deferred_email_is_claimed_again_and_a_refused_one_never(store: JobStore) -> None:
    job = new_job(clock)
    store.add_job(job)
    now = clock.now
    claim = store.claim_email(job.id, "ready", now, now + LEASE)
    assert claim and store.settle_email(job.id, "ready", claim, EmailState.RETRYING, "SMTP 451")
    assert store.emails(job.id)["ready"].detail == "SMTP 451"
    retry = store.claim_email(job.id, "ready", now, now + LEASE)
    assert retry is not None and store.emails(job.id)["ready"].attempts == 2
    assert store.settle_email(job.id, "ready", retry, EmailState.REFUSED, "SMTP 550")
    assert store.claim_email(job.id, "ready", now + 2 * LEASE, now + 3 * LEASE) is None
    assert store.emails(job.id)["ready"].state is EmailState.REFUSED


def test_of_concurrent_claims_of_an_email_one_wins(store: JobStore) -> None:
    job = new_job(clock)
    store.add_job(job)
    with ThreadPoolExecutor(max_workers=8) as pool:
        claims = list(pool.map(lambda _: store.claim_email(job.id, "failed", clock.now, clock.now + LEASE), range(16)))
    assert sum(claim is not None for claim in claims) == 1


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
    job = new_job(clock, status=JobStatus.READY, token_hash="hash-of-a-token")
    store.add_job(job)
    store.save_links(job.id, [Link(1, "http://127.0.0.1/1.jpg")])
    assert store.claim_email(job.id, "ready", clock.now, clock.now + LEASE)
    assert store.job_for_token("hash-of-a-token") == job
    assert not store.is_tombstoned("hash-of-a-token")
    store.purge_job(job.id)
    store.purge_job(job.id)
    assert store.get_job(job.id) is None
    assert store.get_links(job.id) == []
    assert store.job_for_token("hash-of-a-token") is None
    assert store.is_tombstoned("hash-of-a-token")
    assert store.emails(job.id) == {}  # the email records went with the job


def test_times_are_kept_to_the_millisecond(store: JobStore) -> None:
    fine = clock.now + timedelta(microseconds=123_987)
    job = new_job(lambda: fine, status=JobStatus.READY, expires_at=fine + timedelta(hours=1), token_hash="t1")
    store.add_job(job)
    truncated = fine.replace(microsecond=123_000)
    stored = store.get_job(job.id)
    assert stored is not None
    assert (stored.scheduled_at, stored.created_at, stored.expires_at) == (
        truncated,
        truncated,
        truncated + timedelta(hours=1),
    )
    assert stored.scheduled_at.utcoffset() == timedelta(0)


def test_a_transition_writes_every_field_but_progress(store: JobStore) -> None:
    job = new_job(clock, status=JobStatus.RUNNING, started_at=clock.now)
    store.add_job(job)
    store.update_progress(job.id, links_found=9)
    failed = job.with_status(
        JobStatus.FAILED, failure_reason="no images", finished_at=clock.now, expires_at=clock.now + timedelta(days=1)
    )
    assert store.transition(failed, [JobStatus.RUNNING, JobStatus.PACKAGING])
    assert store.get_job(job.id) == replace(failed, progress=Progress(links_found=9))
    assert not store.transition(failed.with_status(JobStatus.EXPIRED), [])
    assert not store.transition(new_job(clock), [JobStatus.SCHEDULED])  # never added


def test_due_and_expired_queries_across_bucket_boundaries(store: JobStore) -> None:
    hour = clock.now.replace(minute=0, second=0, microsecond=0)
    ms = timedelta(milliseconds=1)
    until = hour + timedelta(hours=1) - ms  # the last millisecond of the hour
    times = [hour - timedelta(days=3), hour - ms, hour, until, until + ms, until + timedelta(hours=2)]
    scheduled = [new_job(lambda t=t: t) for t in times]  # type: ignore[misc]
    finished = [
        new_job(clock, status=JobStatus.READY, expires_at=t, token_hash=f"token-{n}") for n, t in enumerate(times)
    ]
    for job in reversed(scheduled + finished):
        store.add_job(job)
    assert [j.id for j in store.due_jobs(until)] == [j.id for j in scheduled[:4]]
    assert [j.id for j in store.due_jobs(until, limit=2)] == [j.id for j in scheduled[:2]]
    assert [j.id for j in store.expired_jobs(until)] == [j.id for j in finished[:4]]
    assert [j.id for j in store.expired_jobs(until, limit=3)] == [j.id for j in finished[:3]]

    # A started job is no longer due; a later expiry moves a job out of the expired ones.
    assert store.transition(scheduled[1].with_status(JobStatus.RUNNING), [JobStatus.SCHEDULED])
    later = replace(finished[2], status=JobStatus.READY, expires_at=until + timedelta(days=1))
    assert store.transition(later, [JobStatus.READY])
    assert [j.id for j in store.due_jobs(until)] == [scheduled[n].id for n in (0, 2, 3)]
    assert [j.id for j in store.expired_jobs(until)] == [finished[n].id for n in (0, 1, 3)]
    assert [j.id for j in store.jobs_in(JobStatus.RUNNING)] == [scheduled[1].id]
    assert [j.id for j in store.jobs_in(JobStatus.READY)] == [j.id for j in finished]


def test_jobs_in_follows_every_transition(store: JobStore) -> None:
    jobs = [new_job(clock, delay=-n) for n in range(5)]
    for job in jobs:
        store.add_job(job)
    for job in jobs[:3]:
        assert store.transition(job.with_status(JobStatus.RUNNING), [JobStatus.SCHEDULED])
    assert store.transition(jobs[0].with_status(JobStatus.RUNNING).with_status(JobStatus.PACKAGING), [S.RUNNING])
    assert [j.id for j in store.jobs_in(JobStatus.RUNNING)] == [jobs[2].id, jobs[1].id]
    assert [j.id for j in store.jobs_in(JobStatus.PACKAGING)] == [jobs[0].id]
    assert [j.id for j in store.jobs_in(JobStatus.SCHEDULED)] == [jobs[4].id, jobs[3].id]
    store.purge_job(jobs[2].id)
    assert [j.id for j in store.jobs_in(JobStatus.RUNNING)] == [jobs[1].id]


def test_jobs_in_gives_the_earliest_first_up_to_the_limit(store: JobStore) -> None:
    # Enough jobs that some share a partition of a sharded index; two share a time (then by id).
    jobs = [new_job(clock, delay=(n * 7) % 12, status=JobStatus.FAILED) for n in range(12)]
    jobs.append(new_job(clock, delay=0, status=JobStatus.FAILED))
    for job in jobs:
        store.add_job(job)
    ordered = [j.id for j in sorted(jobs, key=lambda j: (j.scheduled_at, j.id))]
    for limit in (1, 5, 13, 100):
        assert [j.id for j in store.jobs_in(JobStatus.FAILED, limit=limit)] == ordered[:limit]


def test_purging_a_job_without_a_token_or_a_missing_job_is_harmless(store: JobStore) -> None:
    job = new_job(clock)
    store.add_job(job)
    store.purge_job(job.id)
    store.purge_job("never-existed")
    assert store.get_job(job.id) is None
    assert store.due_jobs(until=clock.now + timedelta(minutes=1)) == []
    assert store.jobs_in(JobStatus.SCHEDULED) == []


@pytest.mark.store_options(retention=timedelta(seconds=1))
def test_the_backstop_removes_every_record_of_a_job_nobody_purged(store: JobStore) -> None:
    """With a one-second retention: the records outlive their first deadline when a transition
    pushes it later (progress included), then go by themselves, leaving the token's tombstone."""
    start = datetime.now(UTC)
    job = new_job(lambda: start, status=JobStatus.PACKAGING, started_at=start)  # deadline: start + 1 s
    store.add_job(job)
    store.save_links(job.id, [Link(1, "http://127.0.0.1/1.jpg")])
    store.update_progress(job.id, links_found=7, images_downloaded=5)
    assert [j.id for j in store.jobs_in(JobStatus.PACKAGING)] == [job.id]
    ready = job.with_status(JobStatus.READY, token_hash="backstop-token", expires_at=start + timedelta(seconds=2))
    assert store.transition(ready, [JobStatus.PACKAGING])  # deadline: start + 3 s
    assert store.claim_email(job.id, "ready", start, start + LEASE)
    token = "backstop-token"

    # Past the first deadline (and the two seconds a Cassandra TTL may run over): still all there.
    wait_until(lambda: datetime.now(UTC) >= start + timedelta(seconds=2, milliseconds=100), what="2.1 s")
    kept = store.get_job(job.id)
    assert kept is not None and kept.progress == Progress(links_found=7, images_downloaded=5)
    assert store.job_for_token(token) == kept
    assert not store.is_tombstoned(token)

    wait_until(lambda: store.get_job(job.id) is None, timeout=10, what="the backstop")
    # Never before the deadline, which the store keeps to the millisecond (start's sub-millisecond part is cut).
    assert datetime.now(UTC) >= start.replace(microsecond=start.microsecond // 1000 * 1000) + timedelta(seconds=3)
    assert store.job_for_token(token) is None
    assert store.is_tombstoned(token)
    assert store.jobs_in(JobStatus.READY) == []
    assert store.expired_jobs(datetime.now(UTC)) == []
    wait_until(lambda: store.get_links(job.id) == [], timeout=5, what="the links' TTL")
    wait_until(lambda: store.emails(job.id) == {}, timeout=5, what="the email record's TTL")


def test_a_migrated_store_pings_and_stays_usable(store: JobStore) -> None:
    store.ping()
    job = new_job(clock)
    store.add_job(job)
    store.ping()
    assert store.get_job(job.id) == job


def test_a_store_never_migrated_fails_its_ping_and_creates_nothing(unmigrated_store: UnmigratedStore) -> None:
    assert_refused_until_migrated(unmigrated_store.open().ping, unmigrated_store.name)
    assert unmigrated_store.tables() is None


def test_a_store_without_its_tables_fails_its_ping_and_creates_none(unmigrated_store: UnmigratedStore) -> None:
    unmigrated_store.create_empty()
    with pytest.raises(NotMigrated, match="imgjob migrate") as failure:
        unmigrated_store.open().ping()
    assert "jobs" in str(failure.value)
    assert unmigrated_store.tables() == set()


def test_a_store_pings_once_another_process_migrated_it(unmigrated_store: UnmigratedStore) -> None:
    service = unmigrated_store.open()
    with pytest.raises(NotMigrated):
        service.ping()
    unmigrated_store.open().migrate()  # `imgjob migrate`, while the service keeps running

    def ready() -> bool:
        try:
            service.ping()
        except NotMigrated:
            return False
        return True

    # Cassandra: the service's driver learns of the new schema from the cluster's schema events.
    wait_until(ready, timeout=20, what="the service's ping to pass after the migration")
    job = new_job(clock)
    service.add_job(job)
    assert service.get_job(job.id) == job


# Rate-limit counters and the suppression list (shared by every gateway process).

RATE_START = datetime(2030, 1, 1, 12, 0, 0, tzinfo=UTC)


def hit(store: JobStore, key: str, window_seconds: int, now: datetime, limit: int | None = None) -> int:
    """One hit, alone in its call."""
    return store.hit_rate_limits([RateHit(key, window_seconds, limit)], now)[0]


def test_the_hits_of_one_call_are_each_counted_as_if_alone(store: JobStore) -> None:
    now = RATE_START + timedelta(seconds=5)
    for _ in range(2):
        hit(store, "full", 60, now)
    both = [RateHit("full", 60, 2), RateHit("open", 3600, 5), RateHit("open", 60)]
    assert store.hit_rate_limits(both, now) == [3, 1, 1]  # the full window refuses; the others count
    assert store.hit_rate_limits(both, now) == [3, 2, 2]
    assert hit(store, "full", 60, now) == 3  # the refused hits were not kept
    assert store.hit_rate_limits([], now) == []


def test_rate_limit_hits_are_numbered_per_key_and_window(store: JobStore) -> None:
    now = RATE_START + timedelta(seconds=10)
    assert [hit(store, "key-a", 60, now) for _ in range(3)] == [1, 2, 3]
    assert hit(store, "key-b", 60, now) == 1  # every key has its own count
    assert hit(store, "key-a", 3600, now) == 1  # and every window length
    # Anywhere in the same window counts on; the window is [12:00:00, 12:01:00).
    assert hit(store, "key-a", 60, RATE_START) == 4
    assert hit(store, "key-a", 60, RATE_START + timedelta(seconds=59, milliseconds=999)) == 5


def test_a_rate_limit_window_ends_and_the_next_starts_from_one(store: JobStore) -> None:
    for _ in range(3):
        hit(store, "key", 60, RATE_START + timedelta(seconds=30))
    assert hit(store, "key", 60, RATE_START + timedelta(seconds=60)) == 1
    assert hit(store, "key", 60, RATE_START + timedelta(seconds=119)) == 2
    assert hit(store, "key", 60, RATE_START + timedelta(days=1)) == 1
    assert hit(store, "key", 3600, RATE_START + timedelta(days=1, minutes=59)) == 1


def test_a_full_window_counts_no_more_hits(store: JobStore) -> None:
    now = RATE_START + timedelta(seconds=5)
    assert [hit(store, "key", 60, now, limit=2) for _ in range(4)] == [1, 2, 3, 3]
    assert hit(store, "key", 60, now) == 3  # the refused hits were not counted
    assert hit(store, "key", 60, now + timedelta(minutes=1), limit=2) == 1


def test_concurrent_rate_limit_hits_are_all_counted(store: JobStore) -> None:
    """N threads x M hits on one key in one window: none is lost, and each saw itself and at most all."""
    threads, hits = 8, 5
    now = RATE_START + timedelta(seconds=1)
    start = threading.Barrier(threads)

    def hit_many(_: int) -> list[int]:
        start.wait()
        return [hit(store, "busy", 3600, now) for _ in range(hits)]

    with ThreadPoolExecutor(threads) as pool:
        numbers = [n for batch in pool.map(hit_many, range(threads)) for n in batch]
    assert all(1 <= n <= threads * hits for n in numbers)
    assert max(numbers) == threads * hits  # the last hit to be counted saw every other
    assert hit(store, "busy", 3600, now) == threads * hits + 1


def test_concurrent_hits_on_a_window_never_get_past_its_limit(store: JobStore) -> None:
    """A burst admits at most the limit and keeps only what it admitted: later hits fill the window to
    exactly the limit, and no further."""
    threads, hits, limit = 8, 3, 10
    now = RATE_START + timedelta(seconds=1)
    start = threading.Barrier(threads)

    def hit_many(_: int) -> list[int]:
        start.wait()
        return [hit(store, "crowd", 60, now, limit=limit) for _ in range(hits)]

    with ThreadPoolExecutor(threads) as pool:
        numbers = [n for batch in pool.map(hit_many, range(threads)) for n in batch]
    admitted = sum(1 for n in numbers if n <= limit)
    assert 1 <= admitted <= limit
    later = [hit(store, "crowd", 60, now, limit=limit) for _ in range(limit - admitted + 2)]
    assert later == [*range(admitted + 1, limit + 1), limit + 1, limit + 1]


def _rate_records(store: JobStore, request: pytest.FixtureRequest, tmp_path: Path, key: str, start_ms: int) -> int:
    """How many records of `key`'s one-second window the store still holds, read behind its back."""
    if isinstance(store, SqliteJobStore):
        db = sqlite3.connect(tmp_path / "store.sqlite3")
        try:
            return int(db.execute("SELECT count(*) FROM rate_limits WHERE rate_key = ?", (key,)).fetchone()[0])
        finally:
            db.close()
    url, admin = _test_keyspace(request.config)
    keyspace = parse_cassandra_url(url).keyspace
    rows = admin.execute(
        f"SELECT hit FROM {keyspace}.rate_marks WHERE rate_key = %s AND window_seconds = 1 AND window_start = %s",
        [key, start_ms],
    )
    return len(list(rows))


def test_an_ended_window_leaves_no_records(store: JobStore, request: pytest.FixtureRequest, tmp_path: Path) -> None:
    """On the real clock with one-second windows: Cassandra's rows expire by their TTL, SQLite's are
    deleted by later hits."""
    now = datetime.now(UTC)
    assert hit(store, "short", 1, now) == 1
    assert hit(store, "short", 1, now) == 2
    start_ms = (now - datetime(1970, 1, 1, tzinfo=UTC)) // timedelta(milliseconds=1) // 1000 * 1000
    assert _rate_records(store, request, tmp_path, "short", start_ms) > 0

    def gone() -> bool:
        hit(store, "other", 1, datetime.now(UTC))
        return _rate_records(store, request, tmp_path, "short", start_ms) == 0

    wait_until(gone, timeout=8, what="the ended window's records to go")


def test_a_suppressed_mailbox_stays_suppressed(store: JobStore) -> None:
    key = "k" * 48
    unsubscribed = mailbox_hash(key, "Someone+news@Example.com")
    assert not store.is_suppressed(unsubscribed)
    store.suppress(unsubscribed)
    store.suppress(unsubscribed)  # idempotent
    assert store.is_suppressed(unsubscribed)
    assert store.is_suppressed(mailbox_hash(key, "someone@example.com"))
    assert not store.is_suppressed(mailbox_hash(key, "someone.else@example.com"))
    # Purging the address's jobs does not forget it.
    job = new_job(clock, email="someone@example.com")
    store.add_job(job)
    store.purge_job(job.id)
    assert store.is_suppressed(unsubscribed)


def _drop_added_columns(store: JobStore, request: pytest.FixtureRequest, tmp_path: Path) -> None:
    """Make the store's jobs table look like one from before filters, webhooks and series."""
    if isinstance(store, SqliteJobStore):
        db = sqlite3.connect(tmp_path / "store.sqlite3")
        try:
            for column in ("filters", "webhook_url", "series_id"):
                db.execute(f"ALTER TABLE jobs DROP COLUMN {column}")
            db.commit()
        finally:
            db.close()
        return
    url, admin = _test_keyspace(request.config)
    keyspace = parse_cassandra_url(url).keyspace
    admin.execute(f"ALTER TABLE {keyspace}.jobs DROP (filters, webhook_url, series_id)")


def test_migrating_an_older_store_adds_the_new_columns_and_keeps_its_jobs(
    store: JobStore, request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    old = new_job(clock)
    store.add_job(old)
    _drop_added_columns(store, request, tmp_path)

    def refused() -> bool:
        try:
            store.ping()
        except NotMigrated:
            return True
        return False

    # Cassandra: the driver learns of the dropped columns from the cluster's schema events.
    wait_until(refused, timeout=20, what="the ping to notice the missing columns")
    store.migrate()
    wait_until(lambda: not refused(), timeout=20, what="the ping to pass after the migration")
    assert store.get_job(old.id) == old
    newer = replace(new_job(clock), filters=Filters(type="photo"), webhook_url="https://example.com/h")
    store.add_job(newer)
    assert store.get_job(newer.id) == newer


def test_jobs_added_together_are_each_stored_whole(store: JobStore) -> None:
    """The gateway adds the jobs its threads received at once in one call: each is readable and found
    by the due scan, more than fit in one of the adapter's batches included."""
    jobs = [new_job(clock, scheduled_at=clock.now - timedelta(seconds=n), email=f"p{n}@example.com") for n in range(11)]
    store.add_jobs([])  # nothing to add is not an error
    store.add_jobs(jobs)
    assert [store.get_job(job.id) for job in jobs] == jobs
    assert {job.id for job in store.due_jobs(until=clock.now)} >= {job.id for job in jobs}


def test_the_suppression_list_is_read_for_many_mailboxes_at_once(store: JobStore) -> None:
    key = "k" * 48
    hashes = [mailbox_hash(key, f"reader-{n}@example.com") for n in range(6)]
    for suppressed in hashes[::2]:
        store.suppress(suppressed)
    assert store.suppressed(hashes + hashes[:1]) == set(hashes[::2])  # a repeated one counts once
    assert store.suppressed(hashes[1::2]) == set()
    assert store.suppressed([]) == set()


def test_many_hits_in_one_call_are_each_counted(store: JobStore) -> None:
    """A group of submissions' hits, on two window lengths and more keys than one request of the
    adapter holds: each counted as if alone, the full windows refused and not kept."""
    now = RATE_START + timedelta(seconds=7)
    for _ in range(2):
        hit(store, "crowded", 60, now)
    hits = [RateHit(f"net-{n}", 60, 5) for n in range(12)] + [RateHit(f"mail-{n}", 3600, 5) for n in range(12)]
    full = RateHit("crowded", 60, 2)
    assert store.hit_rate_limits([*hits, full], now) == [1] * 24 + [3]
    assert store.hit_rate_limits([*hits, full], now) == [2] * 24 + [3]
    assert hit(store, "crowded", 60, now) == 3  # the refused hits were not kept
    assert hit(store, "net-0", 3600, now) == 1  # another window length is another count


def test_adding_the_same_new_jobs_again_leaves_each_one_job(store: JobStore) -> None:
    """What a retry after a failed call that did write does."""
    jobs = [new_job(clock, email=f"again-{n}@example.com") for n in range(3)]
    store.add_jobs(jobs[:2])
    store.add_jobs(jobs)
    assert [store.get_job(job.id) for job in jobs] == jobs
    mine = {job.id for job in jobs}
    assert sorted(job.id for job in store.jobs_in(JobStatus.SCHEDULED, limit=1000) if job.id in mine) == sorted(mine)
