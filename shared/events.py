"""Event types, routing, and the JSON form of every message on the bus: the one place for these names."""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from shared.domain.model import Job

EXCHANGE = "imgjob.events"
SCHEMA_VERSION = 1

JOB_DUE = "job.due"
JOB_STARTED = "job.started"
JOB_LINKS_COLLECTED = "job.links_collected"
JOB_READY = "job.ready"
JOB_FAILED = "job.failed"
JOB_EXPIRE = "job.expire"
# The next try of one email of a job (payload: its kind), for the notifier alone.
JOB_EMAIL_DUE = "job.email_due"
# The janitor has purged the job (payload: the status it ended in); the last event of a job.
JOB_EXPIRED = "job.expired"
# The next try of one webhook delivery of a job (payload: the delivered event's type), for the webhooks worker.
JOB_WEBHOOK_DUE = "job.webhook_due"
ALL_EVENT_TYPES = (
    JOB_DUE,
    JOB_STARTED,
    JOB_LINKS_COLLECTED,
    JOB_READY,
    JOB_FAILED,
    JOB_EXPIRE,
    JOB_EMAIL_DUE,
    JOB_EXPIRED,
    JOB_WEBHOOK_DUE,
)
# The events of a job that are POSTed to its webhook URL.
WEBHOOK_EVENT_TYPES = (JOB_STARTED, JOB_READY, JOB_FAILED, JOB_EXPIRED)

QUEUE_SCHEDULER = "imgjob.scheduler"
QUEUE_SCRAPER = "imgjob.scraper"
QUEUE_PACKAGER = "imgjob.packager"
QUEUE_NOTIFIER = "imgjob.notifier"
QUEUE_JANITOR = "imgjob.janitor"
QUEUE_WEBHOOKS = "imgjob.webhooks"
# Dead letters are kept here for operators (`imgjob deadletters`); a copy of each goes to the watch
# queue, whose consumer (the scheduler) fails the job a dead letter belonged to.
DEAD_LETTER_QUEUE = "imgjob.dead-letter"
DEAD_LETTER_WATCH_QUEUE = "imgjob.dead-letter.watch"

# RabbitMQ names around the events exchange: where dead letters are routed into DEAD_LETTER_QUEUE, the
# delay ladder's levels (each is an exchange and a queue named f"{DELAY_LEVEL_PREFIX}.<its TTL>ms"), and the
# exchange below level 0 that hands delayed events to the service queues.
DEAD_LETTER_EXCHANGE = "imgjob.dlx"
DELAY_LEVEL_PREFIX = "imgjob.delay"
DELAY_DELIVERY_EXCHANGE = "imgjob.delay.delivery"


class EventFormatError(ValueError):
    """A message that is not a well-formed imgjob event."""


def _now() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True)
class Event:
    type: str
    job_id: str
    payload: dict[str, Any] = field(default_factory=dict)
    event_id: str = field(default_factory=lambda: uuid.uuid4().hex)
    occurred_at: datetime = field(default_factory=_now)
    version: int = SCHEMA_VERSION

    def to_json(self) -> bytes:
        return json.dumps(
            {
                "type": self.type,
                "version": self.version,
                "event_id": self.event_id,
                "job_id": self.job_id,
                "occurred_at": self.occurred_at.astimezone(UTC).isoformat(),
                "payload": self.payload,
            },
            separators=(",", ":"),
        ).encode()

    @classmethod
    def from_json(cls, raw: bytes | str) -> Event:
        try:
            data = json.loads(raw)
            event_type = data["type"]
            if event_type not in ALL_EVENT_TYPES:
                raise EventFormatError(f"unknown event type {event_type!r}")
            occurred_at = datetime.fromisoformat(data["occurred_at"])
            if occurred_at.tzinfo is None:
                raise EventFormatError("occurred_at has no UTC offset")
            payload = data.get("payload") or {}
            if not isinstance(payload, dict):
                raise EventFormatError("payload is not an object")
            return cls(
                type=event_type,
                job_id=str(data["job_id"]),
                payload=payload,
                event_id=str(data["event_id"]),
                occurred_at=occurred_at,
                version=int(data["version"]),
            )
        except EventFormatError:
            raise
        except (KeyError, TypeError, ValueError) as exc:
            raise EventFormatError(f"malformed event: {exc}") from exc


# The one place each event's payload is built: ids, times and counts, never the query or the address.


def job_due(job: Job) -> Event:
    return Event(JOB_DUE, job.id, {"scheduled_at": job.scheduled_at.isoformat()})


def job_started(job_id: str) -> Event:
    return Event(JOB_STARTED, job_id)


def job_links_collected(job: Job, links: int, engine_filters: dict[str, Any] | None = None) -> Event:
    # `engine_filters`: per engine that searched, the job's filters it was given (no query, no address),
    # carried here so the packager's manifest can say so however often the event is delivered.
    payload: dict[str, Any] = {"links": links}
    if engine_filters:
        payload["engine_filters"] = engine_filters
    return Event(JOB_LINKS_COLLECTED, job.id, payload)


def job_ready(job: Job) -> Event:
    return Event(JOB_READY, job.id, {"images": job.progress.images_downloaded, "failed": job.progress.images_failed})


def job_failed(job: Job) -> Event:
    return Event(JOB_FAILED, job.id, {"reason": job.failure_reason or ""})


def job_expire(job: Job) -> Event:
    return Event(JOB_EXPIRE, job.id, {"expires_at": job.expires_at.isoformat() if job.expires_at else None})


def job_email_due(job: Job, kind: str) -> Event:
    return Event(JOB_EMAIL_DUE, job.id, {"kind": kind})


def job_expired(job: Job) -> Event:
    return Event(JOB_EXPIRED, job.id, {"status": job.status.value})


def job_webhook_due(job_id: str, event_type: str) -> Event:
    return Event(JOB_WEBHOOK_DUE, job_id, {"event_type": event_type})
