import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from services.scheduler import handlers
from shared import events
from shared.domain.model import JobStatus
from shared.events import (
    JOB_DUE,
    JOB_EXPIRE,
    JOB_FAILED,
    JOB_LINKS_COLLECTED,
    JOB_STARTED,
    QUEUE_JANITOR,
    QUEUE_NOTIFIER,
    QUEUE_PACKAGER,
    Event,
)
from shared.lifecycle import DUE_EARLY_BY, publish_due
from shared.ports import Adapters, DeadLetter
from tests.support import EventRecorder, SettableClock, new_job
from tests.support.adapters import embedded_adapters


@pytest.fixture
def settings_changes() -> dict[str, object]:
    return {"stuck_after": 600}


def test_a_due_job_starts_once_even_if_due_arrives_twice(adapters: Adapters, recorder: EventRecorder) -> None:
    job = new_job(adapters.clock)
    adapters.store.add_job(job)
    handlers.on_job_due(adapters, Event(JOB_DUE, job.id))
    stored = adapters.store.get_job(job.id)
    assert stored and stored.status is JobStatus.RUNNING and stored.started_at == adapters.clock()
    recorder.wait_for(JOB_STARTED, job.id)
    # The second delivery re-announces (consumers are idempotent) but does not restart.
    handlers.on_job_due(adapters, Event(JOB_DUE, job.id))
    assert adapters.store.get_job(job.id).started_at == stored.started_at  # type: ignore[union-attr]


def test_an_early_due_is_delayed_for_the_remainder_and_never_starts_early(
    adapters: Adapters, recorder: EventRecorder, clock: SettableClock
) -> None:
    job = new_job(clock, delay=0.5)
    adapters.store.add_job(job)
    began = time.monotonic()
    handlers.on_job_due(adapters, Event(JOB_DUE, job.id))
    assert adapters.store.get_job(job.id).status is JobStatus.SCHEDULED  # type: ignore[union-attr]
    assert recorder.of(JOB_STARTED) == []
    recorder.wait_for(JOB_DUE, job.id, timeout=5)
    # The re-delayed event comes back only once the remaining half second has passed.
    assert time.monotonic() - began >= 0.5


def test_cancelled_jobs_are_dropped(adapters: Adapters, recorder: EventRecorder) -> None:
    job = new_job(adapters.clock, status=JobStatus.CANCELLED)
    adapters.store.add_job(job)
    handlers.on_job_due(adapters, Event(JOB_DUE, job.id))
    assert adapters.store.get_job(job.id).status is JobStatus.CANCELLED  # type: ignore[union-attr]
    assert adapters.bus.wait_idle(5)
    assert recorder.of(JOB_STARTED) == []


def test_sweep_republishes_overdue_jobs_and_fails_stuck_ones(
    adapters: Adapters, recorder: EventRecorder, clock: SettableClock
) -> None:
    overdue = new_job(clock, delay=-60)
    on_time = new_job(clock, delay=60)
    stuck = new_job(clock, delay=-3600, status=JobStatus.RUNNING, started_at=clock.now - timedelta(seconds=601))
    busy = new_job(clock, delay=-60, status=JobStatus.PACKAGING, started_at=clock.now - timedelta(seconds=30))
    for job in (overdue, on_time, stuck, busy):
        adapters.store.add_job(job)
    handlers.sweep(adapters)
    recorder.wait_for(JOB_DUE, overdue.id)
    recorder.wait_for(JOB_FAILED, stuck.id)
    assert adapters.bus.wait_idle(5)
    assert recorder.of(JOB_DUE, on_time.id) == []
    assert adapters.store.get_job(stuck.id).status is JobStatus.FAILED  # type: ignore[union-attr]
    assert adapters.store.get_job(busy.id).status is JobStatus.PACKAGING  # type: ignore[union-attr]


def _dead_letter(queue: str, event: Event) -> DeadLetter:
    return DeadLetter(queue=queue, message_id=event.event_id, body=event.to_json(), event=event)


def test_a_dead_lettered_event_fails_its_job_with_a_reason(adapters: Adapters, recorder: EventRecorder) -> None:
    job = new_job(adapters.clock, status=JobStatus.PACKAGING)
    adapters.store.add_job(job)
    handlers.on_dead_letter(adapters, _dead_letter(QUEUE_PACKAGER, Event(JOB_LINKS_COLLECTED, job.id)))
    failed = adapters.store.get_job(job.id)
    assert failed and failed.status is JobStatus.FAILED
    assert "downloading" in (failed.failure_reason or "")
    assert failed.expires_at == adapters.clock() + timedelta(seconds=adapters.settings.link_ttl)
    recorder.wait_for(JOB_FAILED, job.id)


@pytest.mark.parametrize(
    ("queue", "event_type"),
    [
        (QUEUE_NOTIFIER, JOB_STARTED),
        (QUEUE_NOTIFIER, JOB_FAILED),
        (QUEUE_JANITOR, JOB_FAILED),
        (QUEUE_JANITOR, JOB_EXPIRE),
    ],
)
def test_a_notifier_or_janitor_dead_letter_fails_no_job(
    adapters: Adapters, recorder: EventRecorder, queue: str, event_type: str
) -> None:
    job = new_job(adapters.clock, status=JobStatus.RUNNING)
    adapters.store.add_job(job)
    handlers.on_dead_letter(adapters, _dead_letter(queue, Event(event_type, job.id)))
    assert adapters.bus.wait_idle(5)
    assert adapters.store.get_job(job.id).status is JobStatus.RUNNING  # type: ignore[union-attr]
    assert recorder.of(JOB_FAILED, job.id) == [] and recorder.of(JOB_EXPIRE, job.id) == []


def _wall_clock() -> datetime:
    return datetime.now(UTC)


def test_a_due_sent_early_arrives_early_and_the_job_starts_at_its_time_not_before(tmp_path: Path) -> None:
    """publish_due sends job.due up to DUE_EARLY_BY early (fewer hops on the ladder), and the scheduler
    holds it until the job's time: on the wall clock, not a test clock, since it really waits."""
    adapters = embedded_adapters(tmp_path, _wall_clock)
    try:
        recorder = EventRecorder(adapters)
        adapters.bus.start()
        job = new_job(_wall_clock, delay=DUE_EARLY_BY + 1.5)
        adapters.store.add_job(job)
        publish_due(adapters, job)
        (due,) = recorder.wait_for(events.JOB_DUE, job.id, timeout=10)
        arrived = _wall_clock()
        assert timedelta(0) < job.scheduled_at - arrived <= timedelta(seconds=DUE_EARLY_BY)
        handlers.on_job_due(adapters, due)
        started = adapters.store.get_job(job.id)
        assert started is not None and started.status is JobStatus.RUNNING and started.started_at is not None
        # Both as stored (to the millisecond): never before its time, and not long after it.
        assert started.scheduled_at <= started.started_at < started.scheduled_at + timedelta(seconds=0.5)
    finally:
        adapters.close()
