"""Webhooks: every event of a job with a webhook URL is POSTed to it, signed, until a 2xx or a day.

Each (job, event type) has one delivery record (shared.webhooks.record_delivery) holding the URL and
the body, and one delivery id for all its tries. A try is claimed by moving the record's attempt count
(a conditional write), so two workers handling copies of one event do not both send; the claim is a
lease that ends `timeout + LEASE_SLACK` later, so a worker that dies mid-try leaves the next try to
another. A failed try is retried on the delay ladder (`job.webhook_due`) with growing waits; at the
bound the delivery is given up. Ended deliveries are deleted with their URL. Nothing here raises
because of a receiver: a dead receiver never redelivers, dead-letters or fails anything.
"""

from __future__ import annotations

import logging
import time
from datetime import datetime, timedelta

from services.webhooks.sender import WebhookSender
from shared import events, metrics
from shared.domain.webhooks import Outcome, WebhookDelivery, next_try_at
from shared.events import WEBHOOK_EVENT_TYPES, Event
from shared.ports import Adapters
from shared.webhooks import headers, record_delivery, webhook_secret

log = logging.getLogger(__name__)

# A try's lease outlasts its timeout by this much (the answer's last bytes, a slow store write).
LEASE_SLACK = timedelta(seconds=5)


def on_job_event(adapters: Adapters, sender: WebhookSender, event: Event) -> None:
    """job.started, job.ready, job.failed, job.expired: record the delivery (the janitor recorded
    job.expired's before the purge), then try it."""
    # Every job's events come here, and most jobs have no webhook: one read tells, before any other.
    job = None if event.type == events.JOB_EXPIRED else adapters.store.get_job(event.job_id)
    if job is None:  # purged (its URL gone with it), or job.expired: only a delivery recorded before
        delivery = adapters.store.webhook_delivery(event.job_id, event.type)
    elif job.webhook_url:
        delivery = record_delivery(adapters, job, event)  # this copy's, or the one an earlier copy recorded
    else:
        return
    if delivery is not None:
        try_delivery(adapters, sender, delivery)


def on_webhook_due(adapters: Adapters, sender: WebhookSender, event: Event) -> None:
    """The next try of a delivery, or a look at one whose try's lease should have ended."""
    event_type = str(event.payload.get("event_type", ""))
    if event_type not in WEBHOOK_EVENT_TYPES:
        log.warning("job %s: %s for an unknown event %r; ignored", event.job_id, event.type, event_type)
        return
    delivery = adapters.store.webhook_delivery(event.job_id, event_type)
    if delivery is not None:
        try_delivery(adapters, sender, delivery)


def try_delivery(adapters: Adapters, sender: WebhookSender, delivery: WebhookDelivery) -> None:
    now = adapters.clock()
    if delivery.next_at is not None and delivery.next_at > now:
        # Another try holds it, or its retry is not due (an early or repeated message): look again then.
        _look_again_at(adapters, delivery, delivery.next_at)
        return
    settings = adapters.settings
    lease_end = now + timedelta(seconds=settings.webhook_timeout) + LEASE_SLACK
    attempts = delivery.attempts + 1
    if not adapters.store.set_webhook_try(delivery.job_id, delivery.event_type, delivery.attempts, attempts, lease_end):
        return  # another worker claimed this try
    secret = webhook_secret(settings.secret_key, delivery.signer or delivery.job_id)
    result = sender.post(delivery.url, delivery.body.encode(), headers(secret, delivery, int(time.time())))
    if result.outcome is Outcome.DELIVERED:
        _end(adapters, delivery, "delivered", f"delivered on try {attempts} ({result.detail})", logging.INFO)
        return
    if result.outcome is not Outcome.RETRY:
        # 410, a redirect, a refused address: another try would get the same answer.
        _end(adapters, delivery, result.outcome.value, f"not delivered: {result.detail}", logging.WARNING)
        return
    tried = WebhookDelivery(**{**delivery.__dict__, "attempts": attempts})
    max_age = timedelta(seconds=settings.webhook_max_age)
    retry_at = next_try_at(tried, adapters.clock(), settings.webhook_first_retry, max_age)
    if retry_at is None:
        _end(adapters, delivery, "undelivered", f"given up after {attempts} tries ({result.detail})", logging.ERROR)
        return
    if adapters.store.set_webhook_try(delivery.job_id, delivery.event_type, attempts, attempts, retry_at):
        _count(delivery, "retry")
        _look_again_at(adapters, delivery, retry_at)
        log.warning(
            "job %s: %s webhook try %d failed (%s); next at %s",
            delivery.job_id,
            delivery.event_type,
            attempts,
            result.detail,
            retry_at.isoformat(),
        )


def _end(adapters: Adapters, delivery: WebhookDelivery, outcome: str, message: str, level: int) -> None:
    adapters.store.drop_webhook_delivery(delivery.job_id, delivery.event_type)
    _count(delivery, outcome)
    log.log(level, "job %s: %s webhook %s", delivery.job_id, delivery.event_type, message)


def _count(delivery: WebhookDelivery, outcome: str) -> None:
    """Each try counts once, by its outcome: a delivery that failed twice then arrived counts 2 retry, 1 delivered."""
    metrics.webhook_deliveries.labels(event_type=delivery.event_type, outcome=outcome).inc()


def _look_again_at(adapters: Adapters, delivery: WebhookDelivery, when: datetime) -> None:
    delay = max(0.0, (when - adapters.clock()).total_seconds())
    adapters.bus.publish(events.job_webhook_due(delivery.job_id, delivery.event_type), delay=delay)
