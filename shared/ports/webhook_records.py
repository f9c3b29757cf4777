"""The store's webhook deliveries: the part of the JobStore port the webhooks worker and the janitor use."""

from __future__ import annotations

from datetime import datetime
from typing import Protocol

from shared.domain.webhooks import WebhookDelivery


class WebhookRecords(Protocol):
    """Pending webhook deliveries, one per (job, event type), each kept apart from the job's records.

    They hold a webhook URL, which is personal data: purge_job leaves them (a job's last event,
    `job.expired`, is delivered after its purge), but each is deleted when its delivery ends and goes
    by itself at the `keep_until` it was added with (a TTL), whatever happens to the worker.
    """

    def add_webhook_delivery(self, delivery: WebhookDelivery, keep_until: datetime) -> bool:
        """Keep `delivery` until `keep_until` unless one for its (job, event type) exists already
        (a repeated event); True if this one was added. Of concurrent adds one wins."""

    def webhook_delivery(self, job_id: str, event_type: str) -> WebhookDelivery | None:
        """The pending delivery of the job's event, if any."""

    def set_webhook_try(
        self, job_id: str, event_type: str, seen_attempts: int, attempts: int, next_at: datetime
    ) -> bool:
        """Set the delivery's `attempts` and `next_at` if it still has `seen_attempts`: False if it is
        gone or another worker moved it meanwhile. A try is claimed with (n, n + 1, lease end), and
        its retry scheduled with (n + 1, n + 1, retry time); of concurrent claims one wins."""

    def drop_webhook_delivery(self, job_id: str, event_type: str) -> None:
        """Delete the delivery (delivered or given up), leaving nothing of its URL; idempotent."""
