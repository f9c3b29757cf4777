"""Publishing with confirms on one lazily opened connection, shared by every thread under a lock."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from typing import Any, TypeVar

import pika
import pika.exceptions

from shared.adapters.rabbitmq.connection import (
    FATAL,
    NOT_FOUND,
    RECOVERABLE,
    backoff,
    close_quietly,
    connect,
    connection_parameters,
)
from shared.ports.migration import NotMigrated

log = logging.getLogger(__name__)


T = TypeVar("T")

# How often (at most) an idle publisher lets pika exchange heartbeats, so that the broker does not drop
# the connection between two publishes minutes apart, and a dead one is noticed before the next publish.
KEEPALIVE_INTERVAL = 5.0


class PublishRefused(RuntimeError):
    """The broker did not take the message: nothing is bound to its routing key, or a queue refused it."""


class BusUnavailable(RuntimeError):
    """The broker could not be reached (or kept dropping the connection) for longer than allowed."""


class Publisher:
    """A confirm-mode channel used under a lock: pika connections are not thread-safe, and handlers
    publish from worker threads. A dropped connection is reopened and the message published again."""

    def __init__(self, url: str, name: str, retry_for: float, stopping: threading.Event) -> None:
        self._url = url
        self._name = name
        self._retry_for = retry_for
        self._stopping = stopping
        self._lock = threading.Lock()
        self._connection: Any = None
        self._channel: Any = None
        self._keepalive_running = False
        heartbeat = connection_parameters(url, name).heartbeat
        self._keepalive_interval = min(KEEPALIVE_INTERVAL, heartbeat / 2) if heartbeat else KEEPALIVE_INTERVAL

    def publish(self, exchange: str, routing_key: str, body: bytes, properties: pika.BasicProperties) -> None:
        """Publish persistently with `mandatory`; returns once confirmed, raises if refused or unreachable."""

        def send(channel: Any) -> None:
            try:
                channel.basic_publish(exchange, routing_key, body, properties, mandatory=True)
            except pika.exceptions.UnroutableError as exc:
                raise PublishRefused(f"no queue is bound to {routing_key!r} on {exchange!r}") from exc
            except pika.exceptions.NackError as exc:
                raise PublishRefused(f"the broker refused {routing_key!r} on {exchange!r}") from exc

        self.run(send)

    def run(self, action: Callable[[Any], T]) -> T:
        """Run `action(channel)` on the confirm channel, reconnecting and retrying on connection loss."""
        deadline = time.monotonic() + self._retry_for
        attempt = 0
        with self._lock:
            while True:
                try:
                    return action(self._open_channel())
                except FATAL:
                    self._drop()
                    raise
                except RECOVERABLE as exc:
                    self._drop()
                    if isinstance(exc, pika.exceptions.ChannelClosedByBroker) and exc.reply_code == NOT_FOUND:
                        # No broker restart loses a durable exchange: this one was never created.
                        raise NotMigrated(f"RabbitMQ exchange ({exc.reply_text})") from exc
                    pause = backoff(attempt)
                    if time.monotonic() + pause > deadline or self._stopping.is_set():
                        raise BusUnavailable(f"RabbitMQ unreachable for {self._retry_for:.0f}s: {exc!r}") from exc
                    log.warning("publisher lost its connection (%r); retrying in %.1fs", exc, pause)
                    time.sleep(pause)
                    attempt += 1

    def query(self, action: Callable[[Any], T]) -> T:
        """Run `action(channel)` once, without retrying: for probes whose caller polls anyway."""
        with self._lock:
            try:
                return action(self._open_channel())
            except Exception:
                self._drop()
                raise

    def close(self) -> None:
        with self._lock:
            self._drop()

    def _open_channel(self) -> Any:
        if self._channel is not None and self._channel.is_open and self._connection.is_open:
            return self._channel
        self._drop()
        self._connection = connect(self._url, self._name)
        channel = self._connection.channel()
        channel.confirm_delivery()
        self._channel = channel
        if not self._keepalive_running:
            self._keepalive_running = True
            threading.Thread(target=self._keep_alive, daemon=True, name="amqp-publisher-keepalive").start()
        return channel

    def _keep_alive(self) -> None:
        while True:
            time.sleep(self._keepalive_interval)
            with self._lock:
                if self._connection is None:
                    self._keepalive_running = False
                    return
                try:
                    self._connection.process_data_events(0)
                except RECOVERABLE as exc:
                    log.info("idle publisher connection lost (%r); the next publish reconnects", exc)
                    self._drop()

    def _drop(self) -> None:
        close_quietly(self._connection)
        self._connection = None
        self._channel = None


class PublisherPool:
    """Publishes on up to `size` confirm channels at once, each a Publisher of its own connection.

    A publish holds its channel until the broker confirms it, which for a quorum queue is after the
    write reached disk: on one channel every thread of a process waited in line for the one before it
    (a scheduler's 16 handler threads spent a quarter of their time there). Several channels keep
    several messages in flight, and the broker writes their confirms together. Connections are opened
    only as concurrent publishes need them; the most recently used is taken first."""

    def __init__(self, make: Callable[[], Publisher], size: int) -> None:
        if size < 1:
            raise ValueError("a publisher pool needs at least one publisher")
        self._make = make
        self._size = size
        self._lock = threading.Lock()
        self._made: list[Publisher] = []
        self._idle: list[Publisher] = []
        self._returned = threading.Condition(self._lock)

    def publish(self, exchange: str, routing_key: str, body: bytes, properties: pika.BasicProperties) -> None:
        publisher = self._take()
        try:
            publisher.publish(exchange, routing_key, body, properties)
        finally:
            with self._lock:
                self._idle.append(publisher)
                self._returned.notify()

    def close(self) -> None:
        with self._lock:
            made = list(self._made)
        for publisher in made:
            publisher.close()  # each reopens on its next publish, like a lone Publisher

    def _take(self) -> Publisher:
        with self._lock:
            while not self._idle and len(self._made) >= self._size:
                self._returned.wait()
            if self._idle:
                return self._idle.pop()
            publisher = self._make()
            self._made.append(publisher)
            return publisher
