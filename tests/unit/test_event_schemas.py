"""The published event contract: a JSON Schema per event type in schemas/events, every builder's event
matching it, malformed events refused, and the check really on for every event the tests publish."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import pytest
from jsonschema import Draft202012Validator

from shared import event_contract, events
from shared.adapters.memory.bus import MemoryBus
from shared.domain.model import JobStatus
from shared.event_contract import ContractViolation, check, load_schemas, problems, schema_path
from shared.events import ALL_EVENT_TYPES, SCHEMA_VERSION, WEBHOOK_EVENT_TYPES, Event
from tests.support import new_job

NOW = datetime(2030, 3, 14, 9, 30, tzinfo=UTC)


def every_built_event() -> list[Event]:
    job = new_job(lambda: NOW, id="job-1")
    ended = job.with_status(JobStatus.FAILED, failure_reason="no images found", expires_at=NOW, finished_at=NOW)
    return [
        events.job_due(job),
        events.job_started(job.id),
        events.job_links_collected(job, 12),
        events.job_ready(job),
        events.job_failed(ended),
        events.job_expire(ended),
        events.job_expire(job),  # no expiry yet: null
        events.job_expired(ended),
        events.job_email_due(job, "ready"),
        events.job_webhook_due(job.id, events.JOB_READY),
    ]


def as_json(event: Event) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(event.to_json())
    return data


def test_every_schema_is_a_valid_draft_2020_12_schema_named_by_its_type_and_version() -> None:
    schemas = load_schemas()
    for name, schema in schemas.items():
        Draft202012Validator.check_schema(schema)
        assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema", name
    for event_type in ALL_EVENT_TYPES:
        name = schema_path(event_type, SCHEMA_VERSION).name
        assert name in schemas, f"no schema for {event_type}"
        assert schemas[name]["properties"]["type"] == {"const": event_type}
        assert schemas[name]["properties"]["version"] == {"const": SCHEMA_VERSION}
    assert set(schemas) == {schema_path(t, SCHEMA_VERSION).name for t in ALL_EVENT_TYPES} | {"webhook-body.v1.json"}


def test_every_event_the_builders_make_matches_its_schema() -> None:
    built = every_built_event()
    assert {event.type for event in built} == set(ALL_EVENT_TYPES)
    for event in built:
        check(event)


@pytest.mark.parametrize(
    ("change", "complaint"),
    [
        (lambda e: e["payload"].pop("images"), "'images' is a required property"),
        (lambda e: e["payload"].update(images="twelve"), "'twelve' is not of type 'integer'"),
        (lambda e: e["payload"].update(failed=-1), "-1 is less than the minimum of 0"),
        (lambda e: e.pop("event_id"), "'event_id' is a required property"),
        (lambda e: e.update(occurred_at="yesterday"), "does not match"),
        (lambda e: e.update(occurred_at="2030-03-14T09:30:00"), "does not match"),  # no offset
        (lambda e: e.update(payload=[]), "is not of type 'object'"),
        (lambda e: e.update(extra=1), "Additional properties are not allowed"),
        (lambda e: e.update(version=2), "no schema job.ready.v2.json"),
        (lambda e: e.update(type="job.exploded"), "no schema job.exploded.v1.json"),
    ],
)
def test_a_malformed_event_fails_validation(change: Any, complaint: str) -> None:
    document = as_json(events.job_ready(new_job(lambda: NOW)))
    assert problems(document) == []
    change(document)
    found = problems(document)
    assert found and any(complaint in problem for problem in found), found


def test_payloads_may_grow_but_keep_what_they_document() -> None:
    # Added payload fields (another version of a service) are allowed within a version; required ones stay.
    document = as_json(events.job_links_collected(new_job(lambda: NOW), 3))
    document["payload"]["engine_filters"] = {"bing": {"qft": "+filterui:imagesize-large"}}
    assert problems(document) == []
    document["payload"].pop("links")
    assert problems(document) != []


def test_the_webhook_body_is_one_of_the_delivered_events() -> None:
    for event in every_built_event():
        found = problems(as_json(event), "webhook-body.v1.json")
        assert (found == []) == (event.type in WEBHOOK_EVENT_TYPES), event.type


def test_publishing_a_malformed_event_is_refused_and_recorded_while_the_check_is_on() -> None:
    assert event_contract.enabled(), "tests/conftest.py turns the check on for every test"
    bus = MemoryBus()
    try:
        with pytest.raises(ContractViolation, match="'links' is a required property"):
            bus.publish(Event(events.JOB_LINKS_COLLECTED, "job-1"))
        # The suite's autouse fixture would fail this test for it; taken here, as it is expected.
        assert len(event_contract.take_violations()) == 1
        bus.publish(events.job_links_collected(new_job(lambda: NOW), 3))
        assert event_contract.take_violations() == []
    finally:
        bus.close()


def test_the_check_is_off_unless_asked(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(event_contract.ENV_VAR)
    event_contract.check_published(Event(events.JOB_LINKS_COLLECTED, "job-1"))  # production: no check, no cost
    assert event_contract.take_violations() == []
