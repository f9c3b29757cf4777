"""The gateway's intake: a group of submission attempts is counted and stored together, and each
attempt gets its own outcome, whatever the others in its group are."""

from __future__ import annotations

import dataclasses
import threading
from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from pathlib import Path

import pytest

from services.gateway.commands import Unsubscribed
from services.gateway.intake import Attempt, Intake
from services.gateway.ratelimit import Limits, Refusal
from shared.adapters.memory.bus import MemoryBus
from shared.domain.model import Job, JobStatus
from shared.domain.submission import Submission, validate_api
from shared.events import JOB_DUE, Event
from shared.ports import Adapters
from shared.unsubscribe import mailbox_hash
from tests.support import SettableClock, embedded_adapters, wait_until


class PublishedBus(MemoryBus):
    """The embedded bus, keeping what was published (delayed events included) for the test to read."""

    def __init__(self) -> None:
        super().__init__()
        self.published: list[Event] = []

    def publish(self, event: Event, delay: float = 0.0) -> None:
        self.published.append(event)
        super().publish(event, delay)


@pytest.fixture
def bus() -> PublishedBus:
    return PublishedBus()


@pytest.fixture
def adapters(tmp_path: Path, bus: PublishedBus) -> Iterator[Adapters]:
    opened = embedded_adapters(tmp_path, SettableClock(), bus=bus)
    yield opened
    opened.close()


def due_ids(bus: PublishedBus) -> list[str]:
    return [event.job_id for event in bus.published if event.type == JOB_DUE]


def submission(adapters: Adapters, email: str, **extra: object) -> Submission:
    raw = {"query": "harbour seals", "email": email, "count": 5, **extra}
    return validate_api(raw, adapters.clock())


def intake_for(adapters: Adapters, per_address: str = "2/minute", per_email: str = "off") -> Intake:
    limits = Limits.create(per_address, per_email, adapters.store, adapters.settings.secret_key, adapters.clock)
    return Intake(adapters, limits)


def test_each_attempt_of_a_mixed_group_gets_its_own_outcome(adapters: Adapters, bus: PublishedBus) -> None:
    adapters.store.suppress(mailbox_hash(adapters.settings.secret_key, "gone@example.com"))
    intake = intake_for(adapters)
    later = (adapters.clock() + timedelta(days=1)).isoformat()
    attempts = [
        Attempt("192.0.2.1", submission(adapters, "one@example.com")),
        Attempt("192.0.2.1", None),  # invalid: counted against its address only
        Attempt("192.0.2.1", submission(adapters, "over@example.com")),  # its network's third in the minute
        Attempt("192.0.2.2", submission(adapters, "gone@example.com")),
        Attempt("192.0.2.3", submission(adapters, "series@example.com", scheduled_at=later, repeat="daily")),
        Attempt("192.0.2.4", submission(adapters, "two@example.com")),
    ]
    outcomes = intake._take(attempts)

    first, invalid, over, unsubscribed, series_run, second = outcomes
    assert invalid is None
    assert isinstance(over, Refusal) and over.limit == "address"
    assert isinstance(unsubscribed, Unsubscribed)
    assert isinstance(first, Job) and isinstance(second, Job) and isinstance(series_run, Job)
    assert series_run.series_id is not None
    for job, email in ((first, "one@example.com"), (second, "two@example.com"), (series_run, "series@example.com")):
        stored = adapters.store.get_job(job.id)
        assert stored is not None and stored.email == email and stored.status is JobStatus.SCHEDULED
    # Refused and unsubscribed attempts stored nothing.
    assert not any(
        job.email in ("over@example.com", "gone@example.com")
        for job in adapters.store.jobs_in(JobStatus.SCHEDULED, limit=100)
    )
    # The series' first run was announced as it started; the others are each thread's to announce.
    assert due_ids(bus) == [series_run.id]


def test_submit_publishes_the_job_due_of_a_stored_job_only(adapters: Adapters, bus: PublishedBus) -> None:
    intake = intake_for(adapters, per_address="1/minute")
    job = intake.submit("198.51.100.7", submission(adapters, "a@example.com"))
    refused = intake.submit("198.51.100.7", submission(adapters, "b@example.com"))
    assert isinstance(job, Job) and isinstance(refused, Refusal)
    assert due_ids(bus) == [job.id]


class CountingStore:
    """Counts the store calls the intake makes, and lets the first group's jobs wait on a gate."""

    def __init__(self, adapters: Adapters) -> None:
        self.inner = adapters.store
        self.add_calls: list[int] = []
        self.gate = threading.Event()
        self.entered = threading.Event()

    def add_jobs(self, jobs: Sequence[Job]) -> None:
        self.add_calls.append(len(jobs))
        self.entered.set()
        self.gate.wait(timeout=10)
        self.inner.add_jobs(jobs)

    def __getattr__(self, name: str) -> object:
        return getattr(self.inner, name)


def submitted_behind_the_first(adapters: Adapters, store: CountingStore, emails: list[str]) -> list[object]:
    """The first email's job submitted and held at the store's gate, then the others', each waiting
    behind it; then let go. Every attempt's outcome, in that order."""
    intake = intake_for(dataclasses.replace(adapters, store=store), per_address="off")  # type: ignore[arg-type]
    with ThreadPoolExecutor(len(emails)) as pool:
        first = pool.submit(intake.submit, "192.0.2.9", submission(adapters, emails[0]))
        assert store.entered.wait(timeout=5)
        rest = [pool.submit(intake.submit, "192.0.2.9", submission(adapters, email)) for email in emails[1:]]
        waiting = len(emails) - 1
        wait_until(lambda: len(intake._groups._waiting) == waiting, timeout=5, what=f"{waiting} attempts waiting")
        store.gate.set()
        return [future.result(timeout=10) for future in [first, *rest]]


def test_attempts_that_come_while_a_group_is_with_the_store_go_together(adapters: Adapters) -> None:
    store = CountingStore(adapters)
    emails = [f"person-{n}@example.com" for n in range(9)]
    jobs = submitted_behind_the_first(adapters, store, emails)
    assert store.add_calls == [1, 8]
    assert [job.email for job in jobs if isinstance(job, Job)] == emails


class FailsOnceAfterWriting(CountingStore):
    """A store whose second add_jobs (the first is held at the gate) writes the jobs and then fails, as
    a timed-out write may have."""

    def add_jobs(self, jobs: Sequence[Job]) -> None:
        super().add_jobs(jobs)
        if len(self.add_calls) == 2:
            raise TimeoutError("the store did not answer in time")


def test_a_group_that_failed_is_tried_again_attempt_by_attempt_without_a_job_twice(adapters: Adapters) -> None:
    store = FailsOnceAfterWriting(adapters)
    emails = [f"retry-{n}@example.com" for n in range(4)]
    jobs = submitted_behind_the_first(adapters, store, emails)
    assert store.add_calls == [1, 3, 1, 1, 1]  # the group of three failed, then each went alone
    assert [job.email for job in jobs if isinstance(job, Job)] == emails
    stored = adapters.store.jobs_in(JobStatus.SCHEDULED, limit=100)
    assert sorted(job.email for job in stored) == emails  # each job once, the failed group's included
