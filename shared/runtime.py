"""Runs services: binds their handlers to the bus, runs their periodic sweeps, stops on a signal.

Routing is declared once, by each service: the event types it handles and the handler of each. The
queue bindings (what `imgjob migrate` declares on the broker) are derived from those declarations.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import partial

from shared import metrics
from shared.events import Event
from shared.logs import job_context
from shared.ports import Adapters, DeadLetter, DeadLetterHandler, Handler

log = logging.getLogger(__name__)

Subscriptions = dict[str, tuple[str, ...]]  # queue name -> the event types bound to it


@dataclass(frozen=True)
class Periodic:
    """A sweep run every `interval` seconds; an error is logged and the next round runs anyway."""

    name: str
    interval: float
    run: Callable[[], None]


@dataclass(frozen=True)
class Service:
    """A service's declaration: its queue, the handler of each event type it consumes (the queue's
    bindings), what it does with dead letters if anything, and its periodic sweeps."""

    name: str
    queue: str
    handlers: Mapping[str, Handler] = field(default_factory=dict)  # event type -> handler
    dead_letters: DeadLetterHandler | None = None
    periodic: Sequence[Periodic] = ()
    # Events of its queue handled at once by one process: a service that mostly waits on round trips
    # (the scheduler) takes many; one that holds a browser or big downloads per event takes few.
    concurrency: int = 2

    def subscriptions(self) -> Subscriptions:
        return {self.queue: tuple(self.handlers)} if self.handlers else {}

    def dispatch(self, event: Event) -> None:
        """Run the event's handler with its job id in the log context, counted and timed by outcome.
        An error propagates unchanged: the bus redelivers (or dead-letters) as it would without us."""
        handler = self.handlers.get(event.type)
        if handler is None:
            # Only a binding left on the broker by another version of the service can get here.
            log.warning("%s has no handler for %s; ignored", self.name, event.type)
            metrics.events_handled.labels(self.name, event.type, "ignored").inc()
            return
        outcome = "error"
        started = time.perf_counter()
        try:
            with job_context(event.job_id):
                handler(event)
            outcome = "ok"
        finally:
            metrics.handler_duration.labels(self.name, event.type).observe(time.perf_counter() - started)
            metrics.events_handled.labels(self.name, event.type, outcome).inc()


def subscriptions_of(services: Iterable[Service]) -> Subscriptions:
    """Every queue the services consume, with its bindings; two services never share a queue."""
    merged: Subscriptions = {}
    for service in services:
        for queue, event_types in service.subscriptions().items():
            if queue in merged:
                raise ValueError(f"queue {queue} is declared by more than one service")
            merged[queue] = event_types
    return merged


def _with_job_context(handler: DeadLetterHandler, letter: DeadLetter) -> None:
    with job_context(letter.event.job_id if letter.event else None):
        handler(letter)


class Runner:
    def __init__(self, adapters: Adapters, services: Sequence[Service]) -> None:
        self._adapters = adapters
        self._services = services
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []

    def start(self) -> None:
        bus = self._adapters.bus
        for service in self._services:
            if service.handlers:
                bus.subscribe(service.queue, tuple(service.handlers), service.dispatch, service.concurrency)
            if service.dead_letters is not None:
                bus.subscribe_dead_letters(partial(_with_job_context, service.dead_letters))
            for task in service.periodic:
                thread = threading.Thread(target=self._loop, args=(task,), daemon=True, name=task.name)
                self._threads.append(thread)
        bus.start()
        for thread in self._threads:
            thread.start()

    def _loop(self, task: Periodic) -> None:
        while not self._stop.wait(task.interval):
            try:
                task.run()
            except Exception:
                log.exception("periodic task %s failed", task.name)

    def wait(self) -> None:
        self._stop.wait()

    def stop(self) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(timeout=5)
        self._adapters.close()
