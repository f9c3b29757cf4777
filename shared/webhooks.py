"""Webhook secrets and signatures, and the recording of a delivery (used by the webhooks worker, and by
the janitor for `job.expired`, which must be recorded before the job and its URL are purged).

A job's webhook secret is a keyed hash of its id (its series' id, for a run of a series) under
IMGJOB_SECRET_KEY: nothing secret is stored, every process can compute it, and it is shown once (the 201
answer of `POST /api/jobs`). Rotating the secret key changes the secrets of every job that is still running.
"""

from __future__ import annotations

import hashlib
import hmac
from datetime import timedelta

from shared.domain.model import Job
from shared.domain.webhooks import WebhookDelivery
from shared.events import WEBHOOK_EVENT_TYPES, Event
from shared.ports import Adapters
from shared.signing import keyed_hash

SECRET_PURPOSE = "webhook-secret"
DELIVERY_PURPOSE = "webhook-delivery"
SIGNATURE_PREFIX = "sha256="


def webhook_secret(secret_key: str, job_id: str) -> str:
    """The job's webhook secret (64 hex digits)."""
    return keyed_hash(secret_key, SECRET_PURPOSE, job_id)


def signer_of(job: Job) -> str:
    """The id a job's webhook secret is derived from: a run of a series shares the series' secret."""
    return job.series_id or job.id


def delivery_id(secret_key: str, job_id: str, event_type: str) -> str:
    """The X-Imgjob-Delivery of the job's event (32 hex digits): the same for every try, and for a
    delivery recorded again from a repeated copy of the event, so a receiver can drop the duplicate."""
    return keyed_hash(secret_key, DELIVERY_PURPOSE, f"{job_id}:{event_type}")[:32]


def signature(secret: str, timestamp: int, body: bytes) -> str:
    """`sha256=<hex HMAC-SHA256 of "<timestamp>.<body>">`, the X-Imgjob-Signature header."""
    signed = str(timestamp).encode() + b"." + body
    return SIGNATURE_PREFIX + hmac.new(secret.encode(), signed, hashlib.sha256).hexdigest()


def headers(secret: str, delivery: WebhookDelivery, timestamp: int) -> dict[str, str]:
    """The headers of one try: signed anew each time (the timestamp changes), the same delivery id."""
    return {
        "Content-Type": "application/json",
        "User-Agent": "imgjob-webhooks/1",
        "X-Imgjob-Event": delivery.event_type,
        "X-Imgjob-Delivery": delivery.delivery_id,
        "X-Imgjob-Timestamp": str(timestamp),
        "X-Imgjob-Signature": signature(secret, timestamp, delivery.body.encode()),
    }


def record_delivery(adapters: Adapters, job: Job, event: Event) -> WebhookDelivery | None:
    """Record the delivery of `event` to the job's webhook URL, if it has one and the event is one that
    is delivered; the recorded one (this or an earlier copy of the same event of the job), or None."""
    if not job.webhook_url or event.type not in WEBHOOK_EVENT_TYPES:
        return None
    delivery = WebhookDelivery(
        job_id=job.id,
        event_type=event.type,
        delivery_id=delivery_id(adapters.settings.secret_key, job.id, event.type),
        url=job.webhook_url,
        body=event.to_json().decode(),
        created_at=adapters.clock(),
        signer=signer_of(job),
    )
    max_age = timedelta(seconds=adapters.settings.webhook_max_age)
    if adapters.store.add_webhook_delivery(delivery, delivery.keep_until(max_age)):
        return delivery
    return adapters.store.webhook_delivery(job.id, event.type)
