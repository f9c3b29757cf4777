"""RabbitMQ exchanges, queues and bindings of the bus, declared idempotently (and deleted, for tests)."""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import pika.exceptions

from shared.adapters.rabbitmq import ladder
from shared.adapters.rabbitmq.connection import PRECONDITION_FAILED
from shared.events import (
    DEAD_LETTER_EXCHANGE,
    DEAD_LETTER_QUEUE,
    DEAD_LETTER_WATCH_QUEUE,
    DELAY_DELIVERY_EXCHANGE,
    DELAY_LEVEL_PREFIX,
    EXCHANGE,
)

log = logging.getLogger(__name__)

DEAD_LETTERS_KEPT = 100_000


@dataclass(frozen=True)
class Names:
    """Broker names of one bus. `prefix` goes in front of every queue and every exchange but the events
    exchange, so that tests (or two installations on one vhost) do not see each other."""

    exchange: str = EXCHANGE
    prefix: str = ""

    def queue(self, name: str) -> str:
        return self.prefix + name

    @property
    def dead_letter_exchange(self) -> str:
        return self.prefix + DEAD_LETTER_EXCHANGE

    @property
    def dead_letter_queue(self) -> str:
        return self.prefix + DEAD_LETTER_QUEUE

    @property
    def dead_letter_watch_queue(self) -> str:
        return self.prefix + DEAD_LETTER_WATCH_QUEUE

    def unprefixed(self, queue: str) -> str:
        return queue.removeprefix(self.prefix)

    @property
    def delivery_exchange(self) -> str:
        return self.prefix + DELAY_DELIVERY_EXCHANGE

    def level(self, n: int) -> str:
        # Named by the time it holds a message, so a ladder of another tick (`imgjob.delay.00` held
        # whole seconds) never clashes with this one; its messages still drain to the delivery exchange.
        return f"{self.prefix}{DELAY_LEVEL_PREFIX}.{ladder.level_ttl_ms(n)}ms"


def service_queue_arguments(names: Names, max_deliveries: int) -> dict[str, Any]:
    return {
        "x-queue-type": "quorum",
        # The limit counts redeliveries: the first delivery plus `limit` more, then dead-lettered.
        "x-delivery-limit": max(max_deliveries - 1, 0),
        "x-dead-letter-exchange": names.dead_letter_exchange,
        # At-least-once dead-lettering (it needs reject-publish) so a poison event cannot vanish on the way.
        "x-dead-letter-strategy": "at-least-once",
        "x-overflow": "reject-publish",
    }


def dead_letter_queue_arguments() -> dict[str, Any]:
    # Only an operator's list (which puts everything back) or replay takes from it: no delivery limit,
    # but a length bound, the oldest going first, so that a flood of poison cannot fill the broker.
    return {"x-queue-type": "quorum", "x-max-length": DEAD_LETTERS_KEPT, "x-overflow": "drop-head"}


def dead_letter_watch_queue_arguments(max_deliveries: int) -> dict[str, Any]:
    # No dead-letter exchange of its own: a dead letter whose handler keeps failing is dropped, not looped
    # (its copy stays in the dead-letter queue).
    return {"x-queue-type": "quorum", "x-delivery-limit": max(max_deliveries - 1, 0)}


def level_queue_arguments(names: Names, n: int) -> dict[str, Any]:
    return {
        "x-queue-type": "quorum",
        "x-message-ttl": ladder.level_ttl_ms(n),
        "x-dead-letter-exchange": names.level(n - 1) if n > 0 else names.delivery_exchange,
        "x-dead-letter-strategy": "at-least-once",
        "x-overflow": "reject-publish",
    }


class Declarer:
    """Declares on a throwaway channel of `connection` (a refused declaration closes its channel)."""

    def __init__(self, connection: Any, names: Names, max_deliveries: int) -> None:
        self._connection = connection
        self._names = names
        self._max_deliveries = max_deliveries
        self._channel = connection.channel()

    def close(self) -> None:
        if self._channel.is_open:
            self._channel.close()

    def core(self) -> None:
        """The events exchange, the dead-letter exchange and queue, and the ladder's delivery exchange."""
        n = self._names
        self._channel.exchange_declare(n.exchange, "topic", durable=True)
        self._channel.exchange_declare(n.dead_letter_exchange, "fanout", durable=True)
        self._queue(n.dead_letter_queue, dead_letter_queue_arguments())
        self._channel.queue_bind(n.dead_letter_queue, n.dead_letter_exchange)
        self._queue(n.dead_letter_watch_queue, dead_letter_watch_queue_arguments(self._max_deliveries))
        self._channel.queue_bind(n.dead_letter_watch_queue, n.dead_letter_exchange)
        # A delayed event that no queue is bound to goes to the dead letters instead of piling up in level 0.
        arguments = {"alternate-exchange": n.dead_letter_exchange}
        self._channel.exchange_declare(n.delivery_exchange, "topic", durable=True, arguments=arguments)

    def ladder(self) -> None:
        n, levels = self._names, ladder.DELAY_LEVELS
        for level in range(levels):
            self._channel.exchange_declare(n.level(level), "topic", durable=True)
        for level in range(levels):
            self._queue(n.level(level), level_queue_arguments(n, level))
            self._channel.queue_bind(n.level(level), n.level(level), ladder.wait_pattern(level))
            below = n.level(level - 1) if level > 0 else n.delivery_exchange
            self._channel.exchange_bind(below, n.level(level), ladder.skip_pattern(level))

    def service_queue(self, queue: str, event_types: Iterable[str]) -> None:
        """A subscribed queue (unprefixed name) and its bindings, for immediate and for delayed events."""
        n = self._names
        name = n.queue(queue)
        self._queue(name, service_queue_arguments(n, self._max_deliveries))
        for event_type in event_types:
            self._channel.queue_bind(name, n.exchange, event_type)
            self._channel.queue_bind(name, n.delivery_exchange, ladder.delivery_pattern(event_type))

    def _queue(self, name: str, arguments: dict[str, Any]) -> None:
        try:
            self._channel.queue_declare(name, durable=True, arguments=arguments)
        except pika.exceptions.ChannelClosedByBroker as exc:
            if exc.reply_code != PRECONDITION_FAILED:
                raise
            # Declared earlier with other arguments (say another delivery limit): use it as it is rather
            # than stop the service; changing a queue's arguments takes a policy or a drained re-creation.
            log.warning("queue %s exists with other arguments (%s); using it as it is", name, exc.reply_text)
            self._channel = self._connection.channel()
            self._channel.queue_declare(name, passive=True)


def delete_topology(connection: Any, names: Names, queues: Iterable[str]) -> None:
    """Delete the queues (unprefixed names), the ladder and the exchanges of `names`: for throwaway
    namespaces such as a test's, never for a live installation."""
    channel = connection.channel()
    doomed = {names.queue(q) for q in queues} | {names.dead_letter_queue, names.dead_letter_watch_queue}
    doomed |= {names.level(level) for level in range(ladder.DELAY_LEVELS)}
    for queue in sorted(doomed):
        channel.queue_delete(queue)
    exchanges = [names.exchange, names.dead_letter_exchange, names.delivery_exchange]
    exchanges += [names.level(level) for level in range(ladder.DELAY_LEVELS)]
    for exchange in exchanges:
        channel.exchange_delete(exchange)
    channel.close()
