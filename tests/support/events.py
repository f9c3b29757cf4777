"""A recorder of the events a bus delivers, for assertions and for waiting on one."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterable

from shared.events import ALL_EVENT_TYPES, Event
from shared.ports import Adapters, MessageBus


class EventRecorder:
    """Keeps every event handed to it, with when it came (`time.monotonic()`), so tests can look or wait.

    Given adapters or a bus, it subscribes itself there on its own `queue`, bound to `types` (every event
    type unless told); given neither, it is a handler for the test to subscribe.
    """

    def __init__(
        self,
        source: Adapters | MessageBus | None = None,
        queue: str = "test.recorder",
        types: Iterable[str] = ALL_EVENT_TYPES,
    ) -> None:
        self._arrivals: list[tuple[float, Event]] = []
        self._cond = threading.Condition()
        if source is not None:
            bus = source.bus if isinstance(source, Adapters) else source
            bus.subscribe(queue, list(types), self)

    def __call__(self, event: Event) -> None:
        with self._cond:
            self._arrivals.append((time.monotonic(), event))
            self._cond.notify_all()

    @property
    def arrivals(self) -> list[tuple[float, Event]]:
        """Each event with the `time.monotonic()` it came at, in the order they came."""
        with self._cond:
            return list(self._arrivals)

    @property
    def events(self) -> list[Event]:
        with self._cond:
            return [event for _, event in self._arrivals]

    def ids(self) -> list[str]:
        """The events' ids, in the order they came."""
        return [event.event_id for event in self.events]

    def of(self, event_type: str, job_id: str | None = None) -> list[Event]:
        return [e for e in self.events if e.type == event_type and (job_id is None or e.job_id == job_id)]

    def wait_for(
        self, event_type: str, job_id: str | None = None, timeout: float = 10.0, count: int = 1
    ) -> list[Event]:
        """The events of `event_type` (for `job_id`, if given), once there are `count` of them."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while True:
                found = self.of(event_type, job_id)
                if len(found) >= count:
                    return found
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise AssertionError(f"no {event_type} for {job_id} within {timeout} s; saw {self.events}")
                self._cond.wait(remaining)
