from datetime import UTC, datetime

import pytest

from shared.domain.model import InvalidTransition, Job, JobStatus
from shared.events import JOB_DUE, Event, EventFormatError
from tests.support import new_job

NOW = datetime(2030, 1, 1, tzinfo=UTC)


def job(status: JobStatus = JobStatus.SCHEDULED) -> Job:
    return new_job(lambda: NOW, id="j1", query="cats", email="a@example.com", count=3, timezone="UTC", status=status)


def test_lifecycle_follows_the_design() -> None:
    current = job()
    for target in (JobStatus.RUNNING, JobStatus.PACKAGING, JobStatus.READY, JobStatus.EXPIRED):
        current = current.with_status(target)
    assert current.status is JobStatus.EXPIRED


@pytest.mark.parametrize(
    ("source", "target"),
    [
        (JobStatus.SCHEDULED, JobStatus.READY),
        (JobStatus.RUNNING, JobStatus.SCHEDULED),
        (JobStatus.READY, JobStatus.FAILED),
        (JobStatus.CANCELLED, JobStatus.RUNNING),
        (JobStatus.EXPIRED, JobStatus.SCHEDULED),
    ],
)
def test_forbidden_transitions_raise(source: JobStatus, target: JobStatus) -> None:
    with pytest.raises(InvalidTransition):
        job(source).with_status(target)


def test_with_status_sets_fields_and_leaves_the_original_alone() -> None:
    original = job(JobStatus.RUNNING)
    failed = original.with_status(JobStatus.FAILED, failure_reason="blocked")
    assert (failed.status, failed.failure_reason) == (JobStatus.FAILED, "blocked")
    assert original.status is JobStatus.RUNNING


def test_event_round_trip_keeps_every_field() -> None:
    event = Event(JOB_DUE, "j1", {"scheduled_at": NOW.isoformat()})
    again = Event.from_json(event.to_json())
    assert again == event


@pytest.mark.parametrize(
    "raw",
    [
        b"not json",
        b'{"type": "job.nope", "job_id": "j", "event_id": "e", "occurred_at": "2030-01-01T00:00:00+00:00", '
        b'"version": 1}',
        b'{"type": "job.due", "job_id": "j", "event_id": "e", "occurred_at": "2030-01-01T00:00:00", "version": 1}',
        b'{"type": "job.due", "event_id": "e", "occurred_at": "2030-01-01T00:00:00+00:00", "version": 1}',
    ],
)
def test_malformed_events_are_rejected(raw: bytes) -> None:
    with pytest.raises(EventFormatError):
        Event.from_json(raw)
