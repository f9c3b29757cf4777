"""The scheduler service: job.due, the dead-letter queue, and the periodic sweep."""

from __future__ import annotations

from functools import partial

from services.scheduler import handlers
from shared.events import JOB_DUE, QUEUE_SCHEDULER
from shared.ports import Adapters
from shared.runtime import Periodic, Service

SCHEDULER_CONCURRENCY = 128


def build_service(adapters: Adapters) -> Service:
    return Service(
        name="scheduler",
        queue=QUEUE_SCHEDULER,
        handlers={JOB_DUE: partial(handlers.on_job_due, adapters)},
        dead_letters=partial(handlers.on_dead_letter, adapters),
        periodic=[Periodic("scheduler-sweep", adapters.settings.sweep_interval, partial(handlers.sweep, adapters))],
        # Starting a job is a few store and broker round trips, mostly waiting, and a job.due that came
        # early (on purpose, see publish_due) is held in its thread until its time: at 10,000 jobs due in
        # a minute one process holds about 170 at once, up to 2 s each.
        concurrency=SCHEDULER_CONCURRENCY,
    )
