"""The notifier service: job.started, job.ready and job.failed become emails."""

from __future__ import annotations

from functools import partial

from services.notifier import emails
from services.notifier.handlers import send_once
from shared.bootstrap import Adapters
from shared.events import JOB_FAILED, JOB_READY, JOB_STARTED, QUEUE_NOTIFIER
from shared.runtime import Service, by_event_type


def build_service(adapters: Adapters) -> Service:
    return Service(
        name="notifier",
        handlers={
            QUEUE_NOTIFIER: by_event_type(
                {
                    JOB_STARTED: partial(send_once, adapters, emails.STARTED),
                    JOB_READY: partial(send_once, adapters, emails.READY),
                    JOB_FAILED: partial(send_once, adapters, emails.FAILED),
                }
            )
        },
    )
