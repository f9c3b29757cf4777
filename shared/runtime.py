"""Runs services: binds their handlers to the bus, runs their periodic sweeps, stops on a signal.

Routing is declared once, by each service: the event types it handles and the handler of each. The
queue bindings (what `imgjob migrate` declares on the broker) are derived from those declarations.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field

from shared.events import Event
from shared.ports import Adapters, DeadLetterHandler, Handler

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

    def subscriptions(self) -> Subscriptions:
        return {self.queue: tuple(self.handlers)} if self.handlers else {}

    def dispatch(self, event: Event) -> None:
        handler = self.handlers.get(event.type)
        if handler is None:
            # Only a binding left on the broker by another version of the service can get here.
            log.warning("%s has no handler for %s; ignored", self.name, event.type)
            return
        handler(event)


def subscriptions_of(services: Iterable[Service]) -> Subscriptions:
    """Every queue the services consume, with its bindings; two services never share a queue."""
    merged: Subscriptions = {}
    for service in services:
        for queue, event_types in service.subscriptions().items():
            if queue in merged:
                raise ValueError(f"queue {queue} is declared by more than one service")
            merged[queue] = event_types
    return merged


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
                bus.subscribe(service.queue, tuple(service.handlers), service.dispatch)
            if service.dead_letters is not None:
                bus.subscribe_dead_letters(service.dead_letters)
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
