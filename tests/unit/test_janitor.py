import time
from datetime import timedelta
from pathlib import Path

import pytest

from services.janitor import handlers
from shared.adapters.sqlite_store import sqlite_path
from shared.bootstrap import Adapters
from shared.domain.model import JobStatus, Link, hash_token
from shared.events import JOB_EXPIRE, JOB_FAILED, Event
from tests.support import EventRecorder, SettableClock, embedded_adapters, new_job


@pytest.fixture
def clock() -> SettableClock:
    return SettableClock()


@pytest.fixture
def adapters(tmp_path: Path, clock: SettableClock) -> Adapters:
    adapters = embedded_adapters(tmp_path, clock=clock)
    yield adapters
    adapters.close()


def ready_job(adapters: Adapters, clock: SettableClock, email: str, ttl: float = 60):  # type: ignore[no-untyped-def]
    job = new_job(
        clock,
        email=email,
        status=JobStatus.READY,
        download_token=f"token-{email}",
        expires_at=clock.now + timedelta(seconds=ttl),
    )
    adapters.store.add_job(job)
    adapters.store.save_links(job.id, [Link(1, "http://127.0.0.1/a.jpg", None, "bing")])
    adapters.store.claim_notification(job.id, "ready")
    with adapters.blobs.writer(job.zip_key) as out:
        out.write(b"zip bytes")
    return job


def test_expiry_deletes_files_and_records_and_leaves_a_tombstone(adapters: Adapters, clock: SettableClock) -> None:
    email = "unique-person-4711@example.com"
    job = ready_job(adapters, clock, email)
    clock.advance(61)
    handlers.expire_job(adapters, Event(JOB_EXPIRE, job.id))
    assert adapters.store.get_job(job.id) is None
    assert adapters.store.get_links(job.id) == []
    assert adapters.blobs.size(job.zip_key) is None
    assert adapters.store.is_tombstoned(hash_token(f"token-{email}"))
    # Gone from disk too: not in the database file, its free pages, or the write-ahead log.
    database = sqlite_path(adapters.settings.store_url)
    for path in database.parent.glob(database.name + "*"):
        assert email.encode() not in path.read_bytes(), path


def test_an_early_expiry_waits_for_the_rest(adapters: Adapters, clock: SettableClock) -> None:
    recorder = EventRecorder(adapters)
    adapters.bus.start()
    job = ready_job(adapters, clock, "early@example.com", ttl=0.3)
    began = time.monotonic()
    handlers.expire_job(adapters, Event(JOB_EXPIRE, job.id))
    assert adapters.store.get_job(job.id) is not None
    recorder.wait_for(JOB_EXPIRE, job.id)
    assert time.monotonic() - began >= 0.3


def test_a_failed_job_loses_its_files_but_keeps_its_record_until_expiry(
    adapters: Adapters, clock: SettableClock
) -> None:
    job = ready_job(adapters, clock, "failed@example.com")
    handlers.discard_partial_files(adapters, Event(JOB_FAILED, job.id))
    assert adapters.blobs.size(job.zip_key) is None
    assert adapters.store.get_job(job.id) is not None


def test_the_sweep_purges_whatever_expired_and_nothing_else(adapters: Adapters, clock: SettableClock) -> None:
    old = ready_job(adapters, clock, "old@example.com", ttl=10)
    fresh = ready_job(adapters, clock, "fresh@example.com", ttl=1000)
    clock.advance(11)
    handlers.sweep(adapters)
    assert adapters.store.get_job(old.id) is None
    assert adapters.store.get_job(fresh.id) is not None
