"""The scheduler service: job.due, the dead-letter queue, and the periodic sweep."""

from __future__ import annotations

from functools import partial

from services.scheduler import handlers
from shared.bootstrap import Adapters
from shared.events import DEAD_LETTER_QUEUE, QUEUE_SCHEDULER
from shared.runtime import Periodic, Service


def build_service(adapters: Adapters) -> Service:
    return Service(
        name="scheduler",
        handlers={
            QUEUE_SCHEDULER: partial(handlers.start_due_job, adapters),
            DEAD_LETTER_QUEUE: partial(handlers.fail_dead_lettered, adapters),
        },
        periodic=[Periodic("scheduler-sweep", adapters.settings.sweep_interval, partial(handlers.sweep, adapters))],
    )
