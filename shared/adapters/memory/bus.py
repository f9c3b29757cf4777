"""The embedded message bus: in-process queues, worker threads, and a heap of delayed deliveries."""

from __future__ import annotations

import heapq
import itertools
import logging
import queue
import threading
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from shared import metrics
from shared.adapters.memory.dead_letters import DeadLetterSpool
from shared.event_contract import check_published
from shared.events import Event
from shared.ports.bus import DeadLetter, DeadLetterHandler, Handler

log = logging.getLogger(__name__)

# How long a failed delivery waits before it is tried again, per attempt already made.
REDELIVERY_BACKOFF = 0.2
# How often a running bus looks for replays that `imgjob deadletters replay` asked for.
REPLAY_POLL = 1.0


@dataclass
class _Queue:
    name: str
    handler: Handler
    workers: int
    inbox: queue.Queue[tuple[Event, int] | None] = field(default_factory=queue.Queue)


class MemoryBus:
    """MessageBus in one process. Dead letters are kept in `dead_letter_dir` (in memory if None)."""

    def __init__(self, max_deliveries: int = 5, dead_letter_dir: Path | None = None) -> None:
        self._max_deliveries = max_deliveries
        self._spool = DeadLetterSpool(dead_letter_dir)
        self._dead_letter_handler: DeadLetterHandler | None = None
        self._dead_letters: queue.Queue[DeadLetter] = queue.Queue()
        self._queues: dict[str, _Queue] = {}
        self._bindings: dict[str, list[str]] = {}
        # (due monotonic time, tiebreak, event, destination queue or None to route by type, attempts)
        self._delayed: list[tuple[float, int, Event, str | None, int]] = []
        self._seq = itertools.count()
        self._cond = threading.Condition()
        self._stopping = threading.Event()
        self._threads: list[threading.Thread] = []
        self._started = False

    def migrate(self, subscriptions: Mapping[str, Iterable[str]] | None = None) -> None:
        """Nothing to create: the bus lives in this process, its queues exist once a service subscribes."""

    def ping(self) -> None:
        """Always reachable: it lives in this process."""

    def subscribe(self, queue_name: str, event_types: Iterable[str], handler: Handler, concurrency: int = 1) -> None:
        if concurrency < 1:
            raise ValueError("concurrency must be at least 1")
        with self._cond:
            self._queues[queue_name] = _Queue(queue_name, handler, concurrency)
            for event_type in event_types:
                self._bindings.setdefault(event_type, []).append(queue_name)

    def subscribe_dead_letters(self, handler: DeadLetterHandler) -> None:
        self._dead_letter_handler = handler

    def dead_letters(self, limit: int = 1000) -> list[DeadLetter]:
        return self._spool.letters(limit)

    def replay(self, message_id: str | None = None) -> int:
        letters = self._spool.take(message_id)
        for letter in letters:
            if not self._redeliver(letter):
                self._spool.ask_replay(letter)  # the process that consumes its queue will
        return len(letters)

    def publish(self, event: Event, delay: float = 0.0) -> None:
        check_published(event)  # the event contract, when the test suite turns the check on
        if delay > 0:
            self._schedule(event, None, delay, attempts=0)
        else:
            self._route(event)

    def start(self) -> None:
        with self._cond:
            if self._started:
                return
            self._started = True
            threads = [
                threading.Thread(target=self._timer_loop, daemon=True, name="bus-timer"),
                threading.Thread(target=self._dead_letter_loop, daemon=True, name="bus-dead-letters"),
            ]
            for q in self._queues.values():
                threads += [
                    threading.Thread(target=self._work, args=(q,), daemon=True, name=f"bus-{q.name}")
                    for _ in range(q.workers)
                ]
        for thread in threads:
            thread.start()
        self._threads.extend(threads)

    def consuming(self) -> bool:
        """In one process there is no connection to lose: consuming from `start` until `close`."""
        return self._started and not self._stopping.is_set()

    def wait_idle(self, timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self._cond:
                soon = self._delayed and self._delayed[0][0] < time.monotonic() + 0.5
                idle = not soon and all(q.inbox.unfinished_tasks == 0 for q in self._queues.values())
                idle = idle and self._dead_letters.unfinished_tasks == 0
            if idle:
                return True
            time.sleep(0.02)
        return False

    def close(self) -> None:
        self._stopping.set()
        with self._cond:
            self._cond.notify_all()
        # Workers wait on their inbox with no timeout (a scheduler has a hundred): one None each ends them.
        if self._started:
            for target in self._queues.values():
                for _ in range(target.workers):
                    target.inbox.put(None)
        for thread in self._threads:
            thread.join(timeout=5)

    def _route(self, event: Event) -> None:
        with self._cond:
            targets = [self._queues[name] for name in self._bindings.get(event.type, [])]
        if not targets:
            log.warning("no queue is bound to %s; event %s dropped", event.type, event.event_id)
        for target in targets:
            target.inbox.put((event, 0))

    def _schedule(self, event: Event, destination: str | None, delay: float, attempts: int) -> None:
        with self._cond:
            due = time.monotonic() + delay
            heapq.heappush(self._delayed, (due, next(self._seq), event, destination, attempts))
            self._cond.notify_all()

    def _redeliver(self, letter: DeadLetter) -> bool:
        target = self._queues.get(letter.queue)
        if target is None or letter.event is None:
            return False
        target.inbox.put((letter.event, 0))
        return True

    def _timer_loop(self) -> None:
        polled = 0.0
        while not self._stopping.is_set():
            if time.monotonic() - polled >= REPLAY_POLL:
                polled = time.monotonic()
                for letter in self._spool.replay_requests(set(self._queues)):
                    self._redeliver(letter)
            with self._cond:
                now = time.monotonic()
                ready = []
                while self._delayed and self._delayed[0][0] <= now:
                    ready.append(heapq.heappop(self._delayed))
                if not ready:
                    wait = self._delayed[0][0] - now if self._delayed else REPLAY_POLL
                    self._cond.wait(timeout=min(wait, REPLAY_POLL))
                    continue
            for _, _, event, destination, attempts in ready:
                if destination is None:
                    self._route(event)
                elif destination in self._queues:
                    self._queues[destination].inbox.put((event, attempts))

    def _work(self, target: _Queue) -> None:
        while True:
            item = target.inbox.get()
            if item is None:
                target.inbox.task_done()
                return
            event, attempts = item
            try:
                target.handler(event)
            except Exception:
                self._handle_failure(target, event, attempts + 1)
            finally:
                # Counted as pending until here, so wait_idle never sees a handler in flight as idle.
                target.inbox.task_done()

    def _handle_failure(self, target: _Queue, event: Event, attempts: int) -> None:
        if attempts < self._max_deliveries:
            log.exception("%s failed on %s (delivery %d); redelivering", target.name, event.type, attempts)
            self._schedule(event, target.name, REDELIVERY_BACKOFF * attempts, attempts)
            return
        log.exception("%s failed on %s %d times; dead-lettering", target.name, event.type, attempts)
        letter = DeadLetter.of(target.name, event.to_json())
        self._spool.keep(letter)
        metrics.dead_letters.labels(queue=target.name).inc()
        self._dead_letters.put(letter)

    def _dead_letter_loop(self) -> None:
        while not self._stopping.is_set():
            try:
                letter = self._dead_letters.get(timeout=0.2)
            except queue.Empty:
                continue
            try:
                if self._dead_letter_handler is not None:
                    self._dead_letter_handler(letter)
            except Exception:
                # Once only: a dead-letter handler that fails leaves the letter kept for operators.
                log.exception("the dead-letter handler failed on %s", letter.message_id)
            finally:
                self._dead_letters.task_done()
