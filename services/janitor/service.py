"""The janitor service: job.expire, job.failed, and the periodic expiry sweep."""

from __future__ import annotations

from functools import partial

from services.janitor import handlers
from shared.bootstrap import Adapters
from shared.events import JOB_EXPIRE, JOB_FAILED, QUEUE_JANITOR
from shared.runtime import Periodic, Service, by_event_type


def build_service(adapters: Adapters) -> Service:
    return Service(
        name="janitor",
        handlers={
            QUEUE_JANITOR: by_event_type(
                {
                    JOB_EXPIRE: partial(handlers.expire_job, adapters),
                    JOB_FAILED: partial(handlers.discard_partial_files, adapters),
                }
            )
        },
        periodic=[Periodic("janitor-sweep", adapters.settings.sweep_interval, partial(handlers.sweep, adapters))],
    )
