"""The webhooks service: a job's events POSTed to its webhook URL, on a queue of its own so that slow
receivers never hold up the emails."""

from __future__ import annotations

from functools import partial

from services.webhooks import handlers
from services.webhooks.sender import WebhookSender
from shared.address_guard import AddressPolicy
from shared.events import JOB_WEBHOOK_DUE, QUEUE_WEBHOOKS, WEBHOOK_EVENT_TYPES
from shared.ports import Adapters
from shared.runtime import Service


def build_service(adapters: Adapters, sender: WebhookSender | None = None) -> Service:
    settings = adapters.settings
    sender = sender or WebhookSender(
        AddressPolicy(allow_private=settings.allow_private_networks), settings.webhook_timeout
    )
    on_event = partial(handlers.on_job_event, adapters, sender)
    return Service(
        name="webhooks",
        queue=QUEUE_WEBHOOKS,
        handlers={
            **dict.fromkeys(WEBHOOK_EVENT_TYPES, on_event),
            JOB_WEBHOOK_DUE: partial(handlers.on_webhook_due, adapters, sender),
        },
        # Each try may wait its whole timeout on a slow receiver: several at once.
        concurrency=8,
    )
