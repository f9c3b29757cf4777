"""The janitor service: job.expire, job.failed, and the periodic expiry sweep."""

from __future__ import annotations

from functools import partial

from services.janitor import handlers
from shared.events import JOB_EXPIRE, JOB_FAILED, QUEUE_JANITOR
from shared.ports import Adapters
from shared.runtime import Periodic, Service


def build_service(adapters: Adapters) -> Service:
    return Service(
        name="janitor",
        queue=QUEUE_JANITOR,
        handlers={
            JOB_EXPIRE: partial(handlers.on_job_expire, adapters),
            JOB_FAILED: partial(handlers.on_job_failed, adapters),
        },
        periodic=[Periodic("janitor-sweep", adapters.settings.sweep_interval, partial(handlers.sweep, adapters))],
    )
