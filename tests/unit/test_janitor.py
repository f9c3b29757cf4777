import sqlite3
import time
from datetime import timedelta
from pathlib import Path

from services.janitor import handlers
from services.notifier.handlers import on_job_started
from shared.adapters.sqlite.store import SqliteJobStore, sqlite_path
from shared.domain.emails import EmailState
from shared.domain.model import Job, Link
from shared.events import JOB_EXPIRE, JOB_FAILED, JOB_STARTED, Event
from shared.ports import Adapters
from tests.support import EventRecorder, SettableClock, make_ready_job


def ready_job(adapters: Adapters, email: str, ttl: float = 60) -> Job:
    """A ready job of `email`'s, with a link, its zip and its ready email sent; its link lives `ttl` s."""
    job, _ = make_ready_job(adapters, b"zip bytes", ttl=ttl, email=email)
    adapters.store.save_links(job.id, [Link(1, "http://127.0.0.1/a.jpg", None, "bing")])
    now = adapters.clock()
    claim = adapters.store.claim_email(job.id, "ready", now, now + timedelta(minutes=1))
    assert claim and adapters.store.settle_email(job.id, "ready", claim, EmailState.SENT, None)
    return job


def test_expiry_deletes_files_and_records_and_leaves_a_tombstone(adapters: Adapters, clock: SettableClock) -> None:
    email = "unique-person-4711@example.com"
    job = ready_job(adapters, email)
    clock.advance(61)
    handlers.on_job_expire(adapters, Event(JOB_EXPIRE, job.id))
    assert adapters.store.get_job(job.id) is None
    assert adapters.store.get_links(job.id) == []
    assert adapters.blobs.size(job.zip_key) is None
    assert job.token_hash and adapters.store.is_tombstoned(job.token_hash)
    # Gone from disk too: not in the database file, its free pages, or the write-ahead log.
    database = sqlite_path(adapters.settings.store_url)
    for path in database.parent.glob(database.name + "*"):
        assert email.encode() not in path.read_bytes(), path


def test_an_early_expiry_waits_for_the_rest(adapters: Adapters, recorder: EventRecorder) -> None:
    job = ready_job(adapters, "early@example.com", ttl=0.3)
    began = time.monotonic()
    handlers.on_job_expire(adapters, Event(JOB_EXPIRE, job.id))
    assert adapters.store.get_job(job.id) is not None
    recorder.wait_for(JOB_EXPIRE, job.id)
    assert time.monotonic() - began >= 0.3


def test_a_failed_job_loses_its_files_but_keeps_its_record_until_expiry(adapters: Adapters) -> None:
    job = ready_job(adapters, "failed@example.com")
    handlers.on_job_failed(adapters, Event(JOB_FAILED, job.id))
    assert adapters.blobs.size(job.zip_key) is None
    assert adapters.store.get_job(job.id) is not None


def test_the_sweep_purges_whatever_expired_and_nothing_else(adapters: Adapters, clock: SettableClock) -> None:
    old = ready_job(adapters, "old@example.com", ttl=10)
    fresh = ready_job(adapters, "fresh@example.com", ttl=1000)
    clock.advance(11)
    handlers.sweep(adapters)
    assert adapters.store.get_job(old.id) is None
    assert adapters.store.get_job(fresh.id) is not None


def test_expiry_deletes_the_jobs_emails_from_the_outbox(adapters: Adapters, clock: SettableClock) -> None:
    mine, other = ready_job(adapters, "mine@example.com"), ready_job(adapters, "other@example.com", ttl=1000)
    for job in (mine, other):
        on_job_started(adapters, Event(JOB_STARTED, job.id))
    outbox = Path(adapters.settings.mail_outbox)
    assert len(list(outbox.iterdir())) == 2
    clock.advance(61)
    handlers.on_job_expire(adapters, Event(JOB_EXPIRE, mine.id))
    [left] = list(outbox.iterdir())
    assert b"mine@example.com" not in left.read_bytes() and b"other@example.com" in left.read_bytes()


def test_a_reader_holding_the_log_only_delays_its_emptying(adapters: Adapters, clock: SettableClock) -> None:
    email = "held-in-the-wal@example.com"
    job = ready_job(adapters, email)
    database = sqlite_path(adapters.settings.store_url)
    wal = database.with_name(database.name + "-wal")
    reader = sqlite3.connect(database)
    reader.execute("BEGIN")
    reader.execute("SELECT count(*) FROM jobs").fetchone()  # a read transaction pins the log
    clock.advance(61)
    handlers.on_job_expire(adapters, Event(JOB_EXPIRE, job.id))
    store = adapters.store
    assert isinstance(store, SqliteJobStore) and store.checkpoint_owed
    assert email.encode() in wal.read_bytes()  # what the failed truncation leaves, for now
    reader.rollback()
    reader.close()
    handlers.sweep(adapters)  # any later transaction pays the debt
    assert not store.checkpoint_owed
    for path in database.parent.glob(database.name + "*"):
        assert email.encode() not in path.read_bytes(), path
