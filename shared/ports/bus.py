"""The message bus port."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Protocol

from shared.events import Event

Handler = Callable[[Event], None]


class MessageBus(Protocol):
    """Topic routing of events to per-service queues, with delayed delivery.

    Delivery is at least once: a handler that raises gets the event again, up to the bus's delivery
    limit, after which the event goes to the dead-letter queue (whose handler receives it once more).
    """

    def migrate(self) -> None:
        """Create the exchanges and queues (the delay ladder included) if missing; idempotent."""

    def ping(self) -> None:
        """Raise if the broker cannot be reached right now (readiness probes)."""

    def publish(self, event: Event, delay: float = 0.0) -> None:
        """Route the event by its type to every bound queue, after `delay` seconds.

        Returns once the bus has taken responsibility for the event (publisher confirm).
        """

    def subscribe(self, queue: str, event_types: Iterable[str], handler: Handler) -> None:
        """Bind `queue` to the event types and consume it with `handler` once `start` is called."""

    def start(self) -> None:
        """Begin delivering to the subscribed handlers, in background threads."""

    def wait_idle(self, timeout: float) -> bool:
        """True once nothing is being handled or due within the next moment (for tests and drains)."""

    def close(self) -> None:
        """Stop delivering and release connections; undelivered events stay on a durable bus."""
