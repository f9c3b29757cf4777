"""The message bus contract: routing, redelivery, delay accuracy, dead-lettering."""

from __future__ import annotations

import threading
import time

from shared.events import DEAD_LETTER_QUEUE, JOB_DUE, JOB_READY, JOB_STARTED, Event
from shared.ports import MessageBus
from tests.support import wait_until


class Inbox:
    def __init__(self) -> None:
        self.events: list[tuple[float, Event]] = []
        self.lock = threading.Lock()

    def __call__(self, event: Event) -> None:
        with self.lock:
            self.events.append((time.monotonic(), event))

    def ids(self) -> list[str]:
        with self.lock:
            return [e.event_id for _, e in self.events]


def test_events_reach_every_queue_bound_to_their_type_and_no_other(bus: MessageBus) -> None:
    started, ready = Inbox(), Inbox()
    bus.subscribe("contract.started", [JOB_STARTED], started)
    bus.subscribe("contract.ready", [JOB_READY, JOB_STARTED], ready)
    bus.start()
    first, second = Event(JOB_STARTED, "j1"), Event(JOB_READY, "j1")
    bus.publish(first)
    bus.publish(second)
    wait_until(lambda: len(ready.ids()) == 2, what="both events on the ready queue")
    assert bus.wait_idle(5)
    assert started.ids() == [first.event_id]
    assert sorted(ready.ids()) == sorted([first.event_id, second.event_id])


def test_a_handler_that_fails_gets_the_event_again(bus: MessageBus) -> None:
    attempts: list[str] = []

    def flaky(event: Event) -> None:
        attempts.append(event.event_id)
        if len(attempts) == 1:
            raise RuntimeError("worker died before acking")

    bus.subscribe("contract.flaky", [JOB_STARTED], flaky)
    bus.start()
    event = Event(JOB_STARTED, "j2")
    bus.publish(event)
    wait_until(lambda: len(attempts) >= 2, what="redelivery")
    assert attempts[:2] == [event.event_id, event.event_id]


def test_delayed_events_arrive_on_time_and_never_early(bus: MessageBus) -> None:
    inbox = Inbox()
    bus.subscribe("contract.due", [JOB_DUE], inbox)
    bus.start()
    sent = time.monotonic()
    delays = {"late": 1.0, "soon": 0.3, "now": 0.0}
    events = {name: Event(JOB_DUE, name) for name in delays}
    for name, delay in delays.items():
        bus.publish(events[name], delay=delay)
    wait_until(lambda: len(inbox.ids()) == 3, timeout=10, what="three delayed events")
    arrivals = {event.job_id: at - sent for at, event in inbox.events}
    for name, delay in delays.items():
        assert delay <= arrivals[name] < delay + 0.5, (name, arrivals[name])
    assert [e.job_id for _, e in inbox.events] == ["now", "soon", "late"]


def test_an_event_that_keeps_failing_is_dead_lettered_once(bus: MessageBus) -> None:
    attempts: list[str] = []
    dead = Inbox()

    def always_fails(event: Event) -> None:
        attempts.append(event.event_id)
        raise RuntimeError("poison message")

    bus.subscribe("contract.poison", [JOB_READY], always_fails)
    bus.subscribe(DEAD_LETTER_QUEUE, [], dead)
    bus.start()
    event = Event(JOB_READY, "j3")
    bus.publish(event)
    wait_until(lambda: dead.ids(), timeout=15, what="the dead-lettered event")
    assert bus.wait_idle(10)
    assert dead.ids() == [event.event_id]
    assert dead.events[0][1].job_id == "j3"
    assert 1 < len(attempts) <= 5
