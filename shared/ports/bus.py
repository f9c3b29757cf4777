"""The message bus port."""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Protocol

from shared.events import Event, EventFormatError

Handler = Callable[[Event], None]


@dataclass(frozen=True)
class DeadLetter:
    """A message a service queue gave up on: kept for operators (`imgjob deadletters`) until replayed."""

    queue: str  # the service queue it came from (the name services use, without any prefix)
    message_id: str  # the event's id, or the broker's message id if it was not an event
    body: bytes
    event: Event | None  # None when the message was not a well-formed event

    @classmethod
    def of(cls, queue: str, body: bytes, message_id: str | None = None) -> DeadLetter:
        """The dead letter of `body`: its event if it is one, named by the event's id (else `message_id`,
        else a hash of the body)."""
        try:
            event: Event | None = Event.from_json(body)
        except EventFormatError:
            event = None
        name = event.event_id if event else message_id or hashlib.sha256(body).hexdigest()[:32]
        return cls(queue, name, body, event)


DeadLetterHandler = Callable[[DeadLetter], None]


class MessageBus(Protocol):
    """Topic routing of events to per-service queues, with delayed delivery.

    Delivery is at least once: a handler that raises gets the event again, up to the bus's delivery
    limit, after which the event is dead-lettered: kept for operators, and handed to the dead-letter
    handler if one subscribed.
    """

    def migrate(self, subscriptions: Mapping[str, Iterable[str]] | None = None) -> None:
        """Create the exchanges, the delay ladder and the queues if missing, each queue bound to its
        event types: those of `subscriptions` (queue -> event types) and of this bus's own `subscribe`
        calls. Idempotent. Only `imgjob migrate` and the all-in-one `imgjob up` call it."""

    def ping(self) -> None:
        """Raise if the broker cannot be reached right now; NotMigrated if it lacks the exchanges."""

    def publish(self, event: Event, delay: float = 0.0) -> None:
        """Route the event by its type to every bound queue, after `delay` seconds.

        Returns once the bus has taken responsibility for the event (publisher confirm).
        """

    def subscribe(self, queue: str, event_types: Iterable[str], handler: Handler, concurrency: int = 1) -> None:
        """Consume `queue` (bound to the event types by `migrate`) with `handler` once `start` is called,
        handling up to `concurrency` of its events at once (the distributed bus also takes no more than
        that many from the broker ahead of their acknowledgements)."""

    def subscribe_dead_letters(self, handler: DeadLetterHandler) -> None:
        """Also hand every well-formed dead letter, with the queue it came from, to `handler` (once
        `start` is called); the dead letters stay kept for operators whatever the handler does."""

    def dead_letters(self, limit: int = 1000) -> list[DeadLetter]:
        """The dead letters kept, oldest first, without removing them."""

    def replay(self, message_id: str | None = None) -> int:
        """Send the dead letter `message_id` (every one if None) back to the queue it came from, as a
        new delivery; how many went. A dead letter whose queue is gone stays kept."""

    def start(self) -> None:
        """Begin delivering to the subscribed handlers, in background threads. Declares nothing: a queue
        that `migrate` has not created is waited for, with a log line saying to run `imgjob migrate`."""

    def consuming(self) -> bool:
        """True while this bus delivers: `start` was called, `close` was not, and every subscribed queue
        (the dead letters' included) has a consumer on a live connection. False while a consumer waits
        for its queue or reconnects. What a worker's /readyz reports as "consumer"."""

    def wait_idle(self, timeout: float) -> bool:
        """True once nothing is being handled or due within the next moment (for tests and drains)."""

    def close(self) -> None:
        """Stop delivering and release connections; undelivered events stay on a durable bus."""
