"""Runs services: binds their handlers to the bus, runs their periodic sweeps, stops on a signal."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

from shared.bootstrap import Adapters
from shared.events import DEAD_LETTER_QUEUE, SUBSCRIPTIONS, Event
from shared.ports.bus import Handler

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Periodic:
    """A sweep run every `interval` seconds; an error is logged and the next round runs anyway."""

    name: str
    interval: float
    run: Callable[[], None]


@dataclass(frozen=True)
class Service:
    name: str
    handlers: Mapping[str, Handler] = field(default_factory=dict)  # queue name -> handler
    periodic: Sequence[Periodic] = ()


def by_event_type(handlers: Mapping[str, Handler]) -> Handler:
    """One queue, several event types: hand each event to the handler for its type."""

    def dispatch(event: Event) -> None:
        handler = handlers.get(event.type)
        if handler is None:
            log.warning("no handler for %s; ignored", event.type)
            return
        handler(event)

    return dispatch


def _subscribed_types(queue: str) -> tuple[str, ...]:
    return () if queue == DEAD_LETTER_QUEUE else SUBSCRIPTIONS[queue]


class Runner:
    def __init__(self, adapters: Adapters, services: Sequence[Service]) -> None:
        self._adapters = adapters
        self._services = services
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []

    def start(self) -> None:
        for service in self._services:
            for queue, handler in service.handlers.items():
                self._adapters.bus.subscribe(queue, _subscribed_types(queue), handler)
            for task in service.periodic:
                thread = threading.Thread(target=self._loop, args=(task,), daemon=True, name=task.name)
                self._threads.append(thread)
        self._adapters.bus.start()
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
