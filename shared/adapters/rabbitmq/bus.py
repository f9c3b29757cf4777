"""The distributed message bus: RabbitMQ through pika, with quorum queues and the binary delay ladder."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterable, Mapping
from functools import partial
from typing import Any

import pika
import pika.exceptions

from shared.adapters.rabbitmq import dead_letters
from shared.adapters.rabbitmq.connection import NOT_FOUND, close_quietly, connect, validate_url
from shared.adapters.rabbitmq.consumer import DeliveryHandler, QueueConsumer
from shared.adapters.rabbitmq.ladder import delay_routing_key, delay_seconds, entry_level
from shared.adapters.rabbitmq.publisher import Publisher, PublisherPool
from shared.adapters.rabbitmq.topology import Declarer, Names, delete_topology
from shared.event_contract import check_published
from shared.events import EXCHANGE, Event
from shared.ports.bus import DeadLetter, DeadLetterHandler, Handler
from shared.ports.migration import NotMigrated

log = logging.getLogger(__name__)

# wait_idle treats a delayed event it published as pending from shortly before it is due until it has
# reached one of this bus's consumers, or until this long after it was due (it may be bound elsewhere).
ARRIVAL_GRACE = 2.0
# Delayed events further away than this are not remembered: a drain does not wait for them anyway.
TRACKED_DELAY = 3600.0
# Publishes of one process in flight at once, each on a connection of its own (see PublisherPool).
PUBLISH_CHANNELS = 8


class RabbitMqBus:
    """MessageBus on RabbitMQ. Nothing connects until the first publish, `start` or `migrate`.

    `url` is `amqp://user:password@host:port/vhost` (vhost percent-encoded, `%2F` for `/`) or `amqps://`,
    with pika's query options (`?heartbeat=30&connection_attempts=3`). `queue_prefix` goes in front of
    every queue name and every exchange except `exchange`, so tests and parallel installations can share
    a vhost. Nothing is declared but by `migrate`: a bus that only consumes or publishes changes no topology.
    """

    def __init__(
        self,
        url: str,
        max_deliveries: int = 5,
        prefetch: int = 2,
        exchange: str = EXCHANGE,
        queue_prefix: str = "",
        publish_retry_for: float = 60.0,
        start_timeout: float = 30.0,
    ) -> None:
        validate_url(url)
        if max_deliveries < 1 or prefetch < 1:
            raise ValueError("max_deliveries and prefetch must be at least 1")
        self._url = url
        self._max_deliveries = max_deliveries
        self._prefetch = prefetch
        self._names = Names(exchange, queue_prefix)
        self._start_timeout = start_timeout
        self._declared_queues: dict[str, tuple[str, ...]] = {}
        self._handlers: dict[str, Handler] = {}
        self._concurrency: dict[str, int] = {}  # broker queue name -> its prefetch and handler threads
        self._dead_letter_handler: DeadLetterHandler | None = None
        self._consumers: list[QueueConsumer] = []
        self._started = False
        self._lock = threading.Lock()
        self._delayed: dict[str, float] = {}  # event_id -> monotonic time it is due
        self._stopping = threading.Event()
        # Declarations and probes use one channel; events are published through the pool.
        self._publisher = Publisher(url, "imgjob publisher", publish_retry_for, self._stopping)
        self._publishers = PublisherPool(
            partial(Publisher, url, "imgjob publisher", publish_retry_for, self._stopping), PUBLISH_CHANNELS
        )

    def subscribe(self, queue: str, event_types: Iterable[str], handler: Handler, concurrency: int = 1) -> None:
        if concurrency < 1:
            raise ValueError("concurrency must be at least 1")
        with self._lock:
            if self._consumers:
                raise RuntimeError("subscribe before start")
            self._declared_queues[queue] = tuple(event_types)
            self._handlers[queue] = handler
            self._concurrency[self._names.queue(queue)] = concurrency

    def subscribe_dead_letters(self, handler: DeadLetterHandler) -> None:
        with self._lock:
            if self._consumers:
                raise RuntimeError("subscribe before start")
            self._dead_letter_handler = handler

    def dead_letters(self, limit: int = 1000) -> list[DeadLetter]:
        return dead_letters.kept(self._url, self._names, limit)

    def replay(self, message_id: str | None = None) -> int:
        return dead_letters.replay(self._url, self._names, message_id)

    def publish(self, event: Event, delay: float = 0.0) -> None:
        check_published(event)  # the event contract, when the test suite turns the check on
        seconds = delay_seconds(delay)
        if seconds:
            exchange, routing_key = self._names.level(entry_level(seconds)), delay_routing_key(seconds, event.type)
        else:
            exchange, routing_key = self._names.exchange, event.type
        properties = pika.BasicProperties(
            content_type="application/json",
            delivery_mode=pika.DeliveryMode.Persistent,
            message_id=event.event_id,
            type=event.type,
            timestamp=int(time.time()),
        )
        self._publishers.publish(exchange, routing_key, event.to_json(), properties)
        if 0 < seconds <= TRACKED_DELAY:
            with self._lock:
                self._delayed[event.event_id] = time.monotonic() + seconds

    def migrate(self, subscriptions: Mapping[str, Iterable[str]] | None = None) -> None:
        """Create the exchanges, the delay ladder and the queues if missing (`imgjob migrate`); idempotent."""
        with self._lock:
            for queue, event_types in (subscriptions or {}).items():
                self._declared_queues[queue] = tuple(event_types)
        self._publisher.run(lambda channel: self._declare_all(channel.connection))

    def ping(self) -> None:
        def check(channel: Any) -> None:
            try:
                channel.exchange_declare(self._names.exchange, passive=True)
            except pika.exceptions.ChannelClosedByBroker as exc:
                if exc.reply_code == NOT_FOUND:
                    raise NotMigrated(f"exchange {self._names.exchange}") from exc
                raise

        self._publisher.query(check)

    def start(self) -> None:
        if self._consumers:
            return
        self._stopping.clear()
        with self._lock:
            watch = self._names.dead_letter_watch_queue
            self._consumers = [
                QueueConsumer(
                    self._url,
                    name,
                    handler,
                    self._concurrency.get(name, self._prefetch),
                    self._arrived,
                    # The watch queue has no dead-letter exchange: what it gives up on is dropped.
                    max_deliveries=None if name == watch else self._max_deliveries,
                    dead_letter_label=self._names.unprefixed(name),
                )
                for name, handler in self._consumed().items()
            ]
            self._started = True
        for consumer in self._consumers:
            consumer.start()
        deadline = time.monotonic() + self._start_timeout
        for consumer in self._consumers:
            if not consumer.ready.wait(max(deadline - time.monotonic(), 0)):
                log.warning("consumer of %s is not consuming yet; it keeps trying", consumer.queue_name)

    def consuming(self) -> bool:
        with self._lock:
            started, consumers = self._started, list(self._consumers)
        return started and not self._stopping.is_set() and all(consumer.consuming() for consumer in consumers)

    def wait_idle(self, timeout: float) -> bool:
        """True once no handler runs, the subscribed queues are empty, and no delayed event this bus
        published is due within half a second (delayed events published elsewhere count once they have
        reached a subscribed queue). Two quiet looks in a row, as a delivery may be on the wire."""
        deadline = time.monotonic() + timeout
        quiet = 0
        while True:
            quiet = quiet + 1 if self._idle_now() else 0
            if quiet >= 2:
                return True
            if time.monotonic() >= deadline:
                return False
            time.sleep(0.05)

    def close(self) -> None:
        self._stopping.set()
        with self._lock:
            consumers, self._consumers = self._consumers, []
            self._started = False
        for consumer in consumers:
            consumer.stop()
        self._publishers.close()
        self._publisher.close()

    def delete_topology(self) -> None:
        """Delete every queue and exchange of this bus's names: for a test's throwaway prefix only."""
        connection = connect(self._url, "imgjob teardown")
        try:
            delete_topology(connection, self._names, self._declared_queues)
        finally:
            close_quietly(connection)

    def _idle_now(self) -> bool:
        if any(consumer.busy() for consumer in self._consumers):
            return False
        now = time.monotonic()
        with self._lock:
            self._delayed = {i: due for i, due in self._delayed.items() if due + ARRIVAL_GRACE > now}
            if any(due < now + 0.5 for due in self._delayed.values()):
                return False
            queues = list(self._consumed())

        def empty(channel: Any) -> bool:
            return all(channel.queue_declare(q, passive=True).method.message_count == 0 for q in queues)

        try:
            return self._publisher.query(empty)
        except Exception as exc:  # unreachable or missing queues are simply not idle
            log.debug("wait_idle could not count messages: %r", exc)
            return False

    def _consumed(self) -> dict[str, DeliveryHandler]:
        """Broker queue name -> what its consumer hands each delivery to."""
        consumed: dict[str, DeliveryHandler] = {
            self._names.queue(queue): partial(_without_headers, handler) for queue, handler in self._handlers.items()
        }
        dead_letter_handler = self._dead_letter_handler
        if dead_letter_handler is not None:

            def on_dead_letter(event: Event, headers: dict[str, Any]) -> None:
                properties = pika.BasicProperties(headers=headers, message_id=event.event_id)
                dead_letter_handler(dead_letters.from_message(self._names, properties, event.to_json()))

            consumed[self._names.dead_letter_watch_queue] = on_dead_letter
        return consumed

    def _arrived(self, event: Event) -> None:
        with self._lock:
            self._delayed.pop(event.event_id, None)

    def _declare_all(self, connection: Any) -> None:
        declarer = Declarer(connection, self._names, self._max_deliveries)
        declarer.core()
        declarer.ladder()
        with self._lock:
            queues = dict(self._declared_queues)
            queues.update({queue: () for queue in self._handlers if queue not in queues})
        for queue, event_types in queues.items():
            declarer.service_queue(queue, event_types)
        declarer.close()


def _without_headers(handler: Handler, event: Event, headers: dict[str, Any]) -> None:
    handler(event)
