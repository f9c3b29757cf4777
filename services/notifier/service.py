"""The notifier service: job.started, job.ready and job.failed become emails."""

from __future__ import annotations

from functools import partial

from services.notifier import handlers
from shared.events import JOB_EMAIL_DUE, JOB_FAILED, JOB_READY, JOB_STARTED, QUEUE_NOTIFIER
from shared.ports import Adapters
from shared.runtime import Service


def build_service(adapters: Adapters) -> Service:
    return Service(
        name="notifier",
        queue=QUEUE_NOTIFIER,
        handlers={
            JOB_STARTED: partial(handlers.on_job_started, adapters),
            JOB_READY: partial(handlers.on_job_ready, adapters),
            JOB_FAILED: partial(handlers.on_job_failed, adapters),
            JOB_EMAIL_DUE: partial(handlers.on_job_email_due, adapters),
        },
    )
