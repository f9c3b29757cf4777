"""The bus adapters the contract suite runs against, and what the RabbitMQ-only tests need besides."""

from __future__ import annotations

import contextlib
import socket
import threading
import uuid
from collections.abc import Iterator
from urllib.parse import urlsplit, urlunsplit

import pika
import pika.exceptions
import pytest

from shared.adapters.memory.bus import MemoryBus
from shared.adapters.rabbitmq.bus import RabbitMqBus
from shared.ports import MessageBus
from tests.infra import require_reachable

MAX_DELIVERIES = 3


class TcpProxy:
    """A loopback port forwarded to RabbitMQ. `drop()` cuts every connection through it at once, as a
    broker restart or a network fault would, without touching the broker the other tests share; while
    `refusing` is set, new connections are closed as soon as they come (the broker is away)."""

    def __init__(self, target_url: str) -> None:
        parts = urlsplit(target_url)
        self._target = (parts.hostname or "127.0.0.1", parts.port or 5672)
        self._server = socket.create_server(("127.0.0.1", 0))
        port = self._server.getsockname()[1]
        credentials = f"{parts.username or 'guest'}:{parts.password or 'guest'}@"
        self.url = urlunsplit((parts.scheme, f"{credentials}127.0.0.1:{port}", parts.path, parts.query, ""))
        self._lock = threading.Lock()
        self._sockets: list[socket.socket] = []
        self.refusing = threading.Event()
        threading.Thread(target=self._accept, daemon=True, name="tcp-proxy").start()

    def drop(self) -> None:
        with self._lock:
            doomed, self._sockets = self._sockets, []
        for sock in doomed:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
            sock.close()

    def close(self) -> None:
        self._server.close()
        self.drop()

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self._server.accept()
            except OSError:
                return
            if self.refusing.is_set():
                client.close()
                continue
            upstream = socket.create_connection(self._target)
            with self._lock:
                self._sockets += [client, upstream]
            for source, sink in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pump, args=(source, sink), daemon=True).start()

    @staticmethod
    def _pump(source: socket.socket, sink: socket.socket) -> None:
        try:
            while data := source.recv(65536):
                sink.sendall(data)
        except OSError:
            pass
        finally:
            for sock in (source, sink):
                with contextlib.suppress(OSError):
                    sock.shutdown(socket.SHUT_RDWR)


class RabbitNamespace:
    """A test's own exchange and queue names on the shared broker, deleted when the test ends."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.prefix = f"test-{uuid.uuid4().hex[:10]}."
        self._buses: list[RabbitMqBus] = []
        self._proxies: list[TcpProxy] = []

    def new_bus(self, url: str | None = None, max_deliveries: int = MAX_DELIVERIES) -> RabbitMqBus:
        """A bus on this namespace; several of them are replicas sharing the same queues."""
        instance = RabbitMqBus(
            url or self.url,
            max_deliveries=max_deliveries,
            exchange=f"{self.prefix}events",
            queue_prefix=self.prefix,
            publish_retry_for=20.0,
        )
        self._buses.append(instance)
        return instance

    def proxy(self) -> TcpProxy:
        proxy = TcpProxy(self.url)
        self._proxies.append(proxy)
        return proxy

    def queue(self, name: str) -> str:
        """The broker's name for the queue a test subscribed as `name`."""
        return self.prefix + name

    def queue_exists(self, name: str) -> bool:
        connection = pika.BlockingConnection(pika.URLParameters(self.url))
        try:
            connection.channel().queue_declare(self.queue(name), passive=True)
            return True
        except pika.exceptions.ChannelClosedByBroker as exc:
            if exc.reply_code != 404:
                raise
            return False
        finally:
            if connection.is_open:
                connection.close()

    def tear_down(self) -> None:
        for instance in self._buses:
            instance.close()
        for proxy in self._proxies:
            proxy.close()
        for instance in self._buses:
            instance.delete_topology()


@pytest.fixture(params=["memory", "rabbitmq"])
def bus(request: pytest.FixtureRequest) -> Iterator[MessageBus]:
    if request.param == "memory":
        instance = MemoryBus(max_deliveries=MAX_DELIVERIES)
        yield instance
        instance.close()
        return
    namespace = RabbitNamespace(require_reachable("bus"))
    yield namespace.new_bus()
    namespace.tear_down()
