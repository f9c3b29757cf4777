"""Consuming one queue: an I/O thread that owns the connection, and worker threads that run the handler.

pika connections are single-threaded, and a handler may run for minutes (a browser search, a big zip),
so the I/O thread only dispatches and settles; heartbeats keep flowing while handlers work. A worker
hands its ack or nack back to the I/O thread with `add_callback_threadsafe`. Delivery tags belong to one
channel: after a reconnect, a late ack for a delivery of the old channel is dropped (the broker has
already put that message back), never sent on the new channel where the tag means another message.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Callable
from functools import partial
from typing import Any

import pika.exceptions

from shared import metrics
from shared.adapters.rabbitmq.connection import LOGIN_REFUSED, NOT_FOUND, RECOVERABLE, backoff, close_quietly, connect
from shared.events import Event, EventFormatError

# What a consumer hands each delivery to: the event and the message's AMQP headers.
DeliveryHandler = Callable[[Event, dict[str, Any]], None]

log = logging.getLogger(__name__)

# A failed delivery is nacked after this many seconds per delivery already made (capped), so that a
# passing outage (the store restarting) does not burn the whole delivery limit in a few milliseconds.
REDELIVERY_BACKOFF = 0.2
MAX_REDELIVERY_BACKOFF = 5.0
# On close, how long running handlers get to finish and be acked before the connection goes.
DRAIN_TIMEOUT = 10.0


Token = tuple[int, int]  # (connection generation, delivery tag)


class QueueConsumer:
    """Consumes `queue_name` (the broker's name). For a service queue, `max_deliveries` is the queue's
    delivery limit: the broker dead-letters a message whose last allowed delivery is nacked (or that
    is rejected), and the consumer that sends that nack counts it under `dead_letter_label`. None for
    a queue without a dead-letter exchange (the dead letters' watch queue), whose messages are dropped."""

    def __init__(
        self,
        url: str,
        queue_name: str,
        handler: DeliveryHandler,
        prefetch: int,
        on_event: Callable[[Event], None],
        max_deliveries: int | None = None,
        dead_letter_label: str = "",
    ) -> None:
        self.queue_name = queue_name
        self.ready = threading.Event()  # set once the first basic_consume is in place
        self._url = url
        self._handler = handler
        self._prefetch = prefetch
        self._on_event = on_event
        self._max_deliveries = max_deliveries
        self._dead_letter_label = dead_letter_label or queue_name
        self._live = threading.Event()  # set while a basic_consume is in place on an open connection
        self._stopping = threading.Event()
        self._lock = threading.Lock()
        self._unsettled: set[Token] = set()
        self._running = 0
        self._generation = 0
        self._work: queue.Queue[tuple[Any, Any, Token, Event, dict[str, Any]] | None] = queue.Queue()
        self._threads = [threading.Thread(target=self._consume, daemon=True, name=f"amqp-{queue_name}")]
        self._threads += [
            threading.Thread(target=self._serve, daemon=True, name=f"amqp-{queue_name}-{i}") for i in range(prefetch)
        ]

    def start(self) -> None:
        for thread in self._threads:
            thread.start()

    def stop(self) -> None:
        self._stopping.set()
        deadline = time.monotonic() + DRAIN_TIMEOUT + 2
        io_thread, workers = self._threads[0], self._threads[1:]
        io_thread.join(timeout=max(deadline - time.monotonic(), 0.1))
        # Workers block on the queue with no timeout (a scheduler has a hundred of them, idle most of
        # the time): one None each, behind whatever the drain left, ends them.
        for _ in workers:
            self._work.put(None)
        for thread in workers:
            thread.join(timeout=max(deadline - time.monotonic(), 0.1))

    def consuming(self) -> bool:
        """A consumer is in place on an open connection (cleared as soon as the I/O loop sees it drop)."""
        return self._live.is_set()

    def busy(self) -> bool:
        """A delivery is being handled or waits for its ack to reach the broker."""
        with self._lock:
            return bool(self._running or self._unsettled or not self._work.empty())

    # The I/O thread.

    def _consume(self) -> None:
        attempt = 0
        while not self._stopping.is_set():
            connection: Any = None
            try:
                connection = connect(self._url, f"imgjob consumer {self.queue_name}")
                channel = connection.channel()
                # Passive: consuming creates nothing, `imgjob migrate` does (it alone knows the bindings).
                channel.queue_declare(self.queue_name, passive=True)
                channel.basic_qos(prefetch_count=self._prefetch)
                with self._lock:
                    self._generation += 1
                    generation = self._generation
                on_message = partial(self._on_message, connection, generation)
                tag = channel.basic_consume(self.queue_name, on_message_callback=on_message)
                self.ready.set()
                self._live.set()
                attempt = 0
                while not self._stopping.is_set():
                    connection.process_data_events(time_limit=0.2)
                self._live.clear()
                self._drain(connection, channel, tag)
            # Only refused credentials end the consumer. A connection cut during the handshake
            # (IncompatibleProtocolError: a TCP proxy with no broker behind it, a broker still starting)
            # is retried like any lost connection: a consumer that gave up would leave the worker alive
            # but deaf even once the broker is back.
            except LOGIN_REFUSED:
                log.exception("consumer of %s cannot log in; giving up", self.queue_name)
                return
            except RECOVERABLE as exc:
                pause = backoff(attempt)
                if isinstance(exc, pika.exceptions.ChannelClosedByBroker) and exc.reply_code == NOT_FOUND:
                    log.error(
                        "queue %s does not exist: run `imgjob migrate`; looking again in %.1fs", self.queue_name, pause
                    )
                else:
                    log.warning(
                        "consumer of %s lost its connection (%r); reconnecting in %.1fs", self.queue_name, exc, pause
                    )
                attempt += 1
                self._stopping.wait(pause)
            except Exception:
                # Whatever went wrong, a consumer that stops consuming is worse: start over on a new connection.
                log.exception("consumer of %s failed; reconnecting", self.queue_name)
                attempt += 1
                self._stopping.wait(backoff(attempt))
            finally:
                self._live.clear()
                self._forget_generation()
                close_quietly(connection)

    def _on_message(self, connection: Any, generation: int, channel: Any, method: Any, props: Any, body: bytes) -> None:
        try:
            event = Event.from_json(body)
        except EventFormatError as exc:
            # Retrying cannot fix a malformed message: straight to the dead letters.
            log.error("%s: rejected a message that is not an event (%s)", self.queue_name, exc)
            channel.basic_reject(method.delivery_tag, requeue=False)
            self._count_dead_letter()
            return
        token = (generation, method.delivery_tag)
        with self._lock:
            self._unsettled.add(token)
        self._on_event(event)
        self._work.put((connection, channel, token, event, dict(props.headers or {})))

    def _settle(self, channel: Any, token: Token, ok: bool) -> None:
        with self._lock:
            if token not in self._unsettled:
                return  # its connection is gone; the broker redelivers it
            self._unsettled.discard(token)
        if not channel.is_open:
            return
        if ok:
            channel.basic_ack(token[1])
        else:
            channel.basic_nack(token[1], requeue=True)

    def _drain(self, connection: Any, channel: Any, consumer_tag: str) -> None:
        """Stop taking deliveries, and let running handlers finish and be acked before closing."""
        channel.basic_cancel(consumer_tag)
        deadline = time.monotonic() + DRAIN_TIMEOUT
        while self.busy() and time.monotonic() < deadline:
            connection.process_data_events(time_limit=0.1)

    def _forget_generation(self) -> None:
        with self._lock:
            self._unsettled = {t for t in self._unsettled if t[0] != self._generation}

    # The workers.

    def _serve(self) -> None:
        while True:
            work = self._work.get()
            if work is None:
                return
            connection, channel, token, event, headers = work
            with self._lock:
                if token not in self._unsettled:
                    continue  # taken before a reconnect: the broker has put it back already
                self._running += 1
            try:
                ok = self._run_handler(event, headers)
                try:
                    connection.add_callback_threadsafe(partial(self._settle, channel, token, ok))
                except Exception:  # connection closed: the broker redelivers the message
                    with self._lock:
                        self._unsettled.discard(token)
            finally:
                with self._lock:
                    self._running -= 1

    def _run_handler(self, event: Event, headers: dict[str, Any]) -> bool:
        deliveries = int(headers.get("x-delivery-count", 0)) + 1
        try:
            self._handler(event, headers)
            return True
        except Exception:
            last = self._max_deliveries is not None and deliveries >= self._max_deliveries
            log.exception(
                "%s failed on %s %s (delivery %d)%s",
                self.queue_name,
                event.type,
                event.event_id,
                deliveries,
                "; dead-lettering" if last else "",
            )
            if last:
                # No wait: the broker dead-letters it on this nack, nothing is retried.
                self._count_dead_letter()
                return False
            self._stopping.wait(min(REDELIVERY_BACKOFF * deliveries, MAX_REDELIVERY_BACKOFF))
            return False

    def _count_dead_letter(self) -> None:
        if self._max_deliveries is not None:
            metrics.dead_letters.labels(queue=self._dead_letter_label).inc()
