"""The message bus contract: routing, redelivery, delay accuracy, dead-lettering; then what only a
broker can show (consumers that die, connections that drop), against RabbitMQ."""

from __future__ import annotations

import logging
import math
import threading
import time
from collections.abc import Iterator
from contextlib import closing

import pika
import pytest

from shared import metrics
from shared.adapters.rabbitmq.publisher import PublishRefused
from shared.events import JOB_DUE, JOB_EXPIRE, JOB_READY, JOB_STARTED, Event
from shared.ports import DeadLetter, MessageBus, NotMigrated
from tests.contract.fixtures_bus import MAX_DELIVERIES, RabbitNamespace
from tests.infra import require_reachable
from tests.support import EventRecorder, wait_until
from tests.support.network import free_port

# Payloads as the event contract (schemas/events) requires them: every published event is checked.
DUE_PAYLOAD = {"scheduled_at": "2030-01-01T12:00:00+00:00"}
EXPIRE_PAYLOAD = {"expires_at": None}
READY_PAYLOAD = {"images": 0, "failed": 0}


def test_events_reach_every_queue_bound_to_their_type_and_no_other(bus: MessageBus) -> None:
    started, ready = EventRecorder(), EventRecorder()
    bus.subscribe("contract.started", [JOB_STARTED], started)
    bus.subscribe("contract.ready", [JOB_READY, JOB_STARTED], ready)
    bus.migrate()
    bus.start()
    first, second = Event(JOB_STARTED, "j1"), Event(JOB_READY, "j1", READY_PAYLOAD)
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
    bus.migrate()
    bus.start()
    event = Event(JOB_STARTED, "j2")
    bus.publish(event)
    wait_until(lambda: len(attempts) >= 2, what="redelivery")
    assert attempts[:2] == [event.event_id, event.event_id]


def test_delayed_events_arrive_on_time_and_never_early(bus: MessageBus) -> None:
    # Whole ticks: the RabbitMQ ladder counts in quarter seconds (other delays are rounded up, see below).
    inbox = EventRecorder()
    bus.subscribe("contract.due", [JOB_DUE], inbox)
    bus.migrate()
    bus.start()
    sent = time.monotonic()
    delays = {"late": 2.0, "soon": 1.0, "now": 0.0}
    events = {name: Event(JOB_DUE, name, DUE_PAYLOAD) for name in delays}
    for name, delay in delays.items():
        bus.publish(events[name], delay=delay)
    wait_until(lambda: len(inbox.ids()) == 3, timeout=10, what="three delayed events")
    arrivals = {event.job_id: at - sent for at, event in inbox.arrivals}
    for name, delay in delays.items():
        assert delay <= arrivals[name] < delay + 0.5, (name, arrivals[name])
    assert [e.job_id for e in inbox.events] == ["now", "soon", "late"]


def test_a_fractional_delay_is_never_early_and_at_most_a_quarter_second_late(bus: MessageBus) -> None:
    inbox = EventRecorder()
    bus.subscribe("contract.fraction", [JOB_EXPIRE], inbox)
    bus.migrate()
    bus.start()
    delays = {"a": 0.1, "b": 0.3, "c": 0.6, "d": 1.3, "e": 1.9}
    sent = {}
    for name, delay in delays.items():
        sent[name] = time.monotonic()
        bus.publish(Event(JOB_EXPIRE, name, EXPIRE_PAYLOAD), delay=delay)
    wait_until(lambda: len(inbox.ids()) == len(delays), timeout=8, what="the delayed events")
    for at, event in inbox.arrivals:
        delay = delays[event.job_id]
        waited = at - sent[event.job_id]
        # Never early; late by at most the rounding to the next quarter second and the broker's hops.
        assert delay <= waited < math.ceil(delay * 4) / 4 + 0.2, (event.job_id, waited)


def test_a_queue_handles_up_to_its_concurrency_at_once(bus: MessageBus) -> None:
    concurrency, events = 4, 8
    lock = threading.Lock()
    running, most = 0, 0
    release = threading.Event()

    def slow(_: Event) -> None:
        nonlocal running, most
        with lock:
            running += 1
            most = max(most, running)
        release.wait(10)
        with lock:
            running -= 1

    bus.subscribe("contract.concurrent", [JOB_STARTED], slow, concurrency=concurrency)
    bus.migrate()
    bus.start()
    for n in range(events):
        bus.publish(Event(JOB_STARTED, f"c{n}"))
    wait_until(lambda: most == concurrency, timeout=10, what=f"{concurrency} events in hand at once")
    release.set()
    assert bus.wait_idle(10)
    assert most == concurrency  # never more than its concurrency


def test_a_longer_delay_is_not_early(bus: MessageBus) -> None:
    # 3 s spends time in two levels of the RabbitMQ ladder (2 s, then 1 s).
    inbox = EventRecorder()
    bus.subscribe("contract.longer", [JOB_DUE], inbox)
    bus.migrate()
    bus.start()
    sent = time.monotonic()
    event = Event(JOB_DUE, "longer", DUE_PAYLOAD)
    bus.publish(event, delay=3.0)
    wait_until(lambda: inbox.ids(), timeout=10, what="the event delayed 3 s")
    assert inbox.ids() == [event.event_id]
    assert 3.0 <= inbox.arrivals[0][0] - sent < 3.5


def test_an_event_that_keeps_failing_is_dead_lettered_once_naming_its_queue(bus: MessageBus) -> None:
    attempts: list[str] = []
    dead: list[DeadLetter] = []

    def always_fails(event: Event) -> None:
        attempts.append(event.event_id)
        raise RuntimeError("poison message")

    bus.subscribe("contract.poison", [JOB_READY], always_fails)
    bus.subscribe_dead_letters(dead.append)
    bus.migrate()
    bus.start()
    counted_before = _dead_letters_counted("contract.poison")
    event = Event(JOB_READY, "j3", READY_PAYLOAD)
    bus.publish(event)
    wait_until(lambda: dead, timeout=15, what="the dead-lettered event")
    assert bus.wait_idle(10)
    assert [(d.queue, d.message_id) for d in dead] == [("contract.poison", event.event_id)]
    assert dead[0].event is not None and dead[0].event.job_id == "j3"
    assert attempts == [event.event_id] * MAX_DELIVERIES
    # Counted once, by the process whose last failed delivery dead-lettered it (the watch queue's
    # delivery to the dead-letter handler is not another one).
    assert _dead_letters_counted("contract.poison") - counted_before == 1


def _dead_letters_counted(queue: str) -> float:
    return metrics.REGISTRY.get_sample_value("imgjob_dead_letters_total", {"queue": queue}) or 0.0


def test_a_bus_is_consuming_from_start_until_close(bus: MessageBus) -> None:
    bus.subscribe("contract.consuming", [JOB_STARTED], EventRecorder())
    bus.migrate()
    assert not bus.consuming()
    bus.start()
    wait_until(bus.consuming, what="the bus to consume")
    bus.close()
    assert not bus.consuming()


def test_dead_letters_are_kept_until_replayed_to_their_own_queue(bus: MessageBus) -> None:
    healed = threading.Event()
    handled: list[tuple[str, str]] = []

    def fails_until_healed(event: Event) -> None:
        if not healed.is_set():
            raise RuntimeError("not yet")
        handled.append(("contract.replay", event.event_id))

    bus.subscribe("contract.replay", [JOB_READY], fails_until_healed)
    bus.subscribe(
        "contract.bystander", [JOB_READY], lambda event: handled.append(("contract.bystander", event.event_id))
    )
    bus.migrate()
    bus.start()
    first, second = Event(JOB_READY, "r1", READY_PAYLOAD), Event(JOB_READY, "r2", READY_PAYLOAD)
    bus.publish(first)
    bus.publish(second)
    wait_until(lambda: len(bus.dead_letters()) == 2, timeout=20, what="two dead letters")
    assert bus.wait_idle(10)
    # Listing takes nothing away.
    assert sorted(letter.message_id for letter in bus.dead_letters()) == sorted([first.event_id, second.event_id])
    assert {letter.queue for letter in bus.dead_letters()} == {"contract.replay"}
    healed.set()
    assert bus.replay(first.event_id) == 1
    wait_until(lambda: ("contract.replay", first.event_id) in handled, what="the replayed event")
    assert [letter.message_id for letter in bus.dead_letters()] == [second.event_id]
    assert bus.replay() == 1
    wait_until(lambda: ("contract.replay", second.event_id) in handled, what="the second replay")
    assert bus.wait_idle(10)
    assert bus.dead_letters() == []
    # Only the queue that gave up gets the replay; the bystander saw each event once.
    assert sorted(h for h in handled if h[0] == "contract.bystander") == sorted(
        [("contract.bystander", first.event_id), ("contract.bystander", second.event_id)]
    )


# RabbitMQ only: what an in-process bus has no counterpart for.


@pytest.fixture
def rabbitmq() -> Iterator[RabbitNamespace]:
    namespace = RabbitNamespace(require_reachable("bus"))
    yield namespace
    namespace.tear_down()


@pytest.mark.parametrize("death", ["closes its connection", "loses its socket"])
def test_rabbitmq_an_event_taken_by_a_consumer_that_dies_unacked_reaches_the_next_one(
    rabbitmq: RabbitNamespace, death: str
) -> None:
    bus = rabbitmq.new_bus()
    inbox = EventRecorder()
    bus.subscribe("contract.crash", [JOB_STARTED], inbox)
    bus.migrate()
    event = Event(JOB_STARTED, "j5")
    bus.publish(event)

    proxy = rabbitmq.proxy()
    rival = pika.BlockingConnection(pika.URLParameters(proxy.url))
    method, _, body = rival.channel().basic_get(rabbitmq.queue("contract.crash"), auto_ack=False)
    assert method is not None and Event.from_json(body).event_id == event.event_id
    if death == "closes its connection":
        rival.close()
    else:
        proxy.drop()  # no AMQP goodbye: the broker only sees the TCP connection go

    bus.migrate()

    bus.start()
    wait_until(lambda: inbox.ids(), timeout=10, what="the event at the next consumer")
    assert bus.wait_idle(5)
    assert inbox.ids() == [event.event_id]


def test_rabbitmq_an_event_in_hand_when_the_connection_drops_is_handled_again(rabbitmq: RabbitNamespace) -> None:
    proxy = rabbitmq.proxy()
    bus = rabbitmq.new_bus(proxy.url)
    release = threading.Event()
    deliveries: list[str] = []

    def slow(event: Event) -> None:
        deliveries.append(event.event_id)
        if len(deliveries) == 1:
            release.wait(10)

    bus.subscribe("contract.in-hand", [JOB_STARTED], slow)
    bus.migrate()
    bus.start()
    event = Event(JOB_STARTED, "j6")
    bus.publish(event)
    wait_until(lambda: deliveries, what="the first delivery")
    proxy.drop()
    wait_until(lambda: len(deliveries) == 2, timeout=15, what="the redelivery after reconnecting")
    # The first handler finishes now; its ack belongs to the dead channel and must not ack anything else.
    release.set()
    assert bus.wait_idle(10)
    assert deliveries == [event.event_id, event.event_id]


def test_rabbitmq_publishing_and_consuming_survive_a_dropped_connection(rabbitmq: RabbitNamespace) -> None:
    proxy = rabbitmq.proxy()
    bus = rabbitmq.new_bus(proxy.url)
    inbox = EventRecorder()
    bus.subscribe("contract.drop", [JOB_STARTED, JOB_DUE], inbox)
    bus.migrate()
    bus.start()
    before = Event(JOB_STARTED, "before")
    bus.publish(before)
    wait_until(lambda: inbox.ids() == [before.event_id], what="the event before the drop")

    proxy.drop()
    after, delayed = Event(JOB_STARTED, "after"), Event(JOB_DUE, "delayed", DUE_PAYLOAD)
    bus.publish(after)
    bus.publish(delayed, delay=1)
    wait_until(
        lambda: {after.event_id, delayed.event_id} <= set(inbox.ids()),
        timeout=15,
        what="the events published after the drop",
    )
    # At least once: an ack lost with the connection may bring `before` again, but nothing is lost and
    # the delayed event still comes after the immediate one.
    first_seen = list(dict.fromkeys(inbox.ids()))
    assert first_seen == [before.event_id, after.event_id, delayed.event_id]


def test_rabbitmq_a_message_that_is_not_an_event_goes_straight_to_the_dead_letters(
    rabbitmq: RabbitNamespace,
) -> None:
    bus = rabbitmq.new_bus()
    inbox = EventRecorder()
    bus.subscribe("contract.garbage", [JOB_STARTED], inbox)
    bus.migrate()
    bus.start()
    counted_before = _dead_letters_counted("contract.garbage")
    with closing(pika.BlockingConnection(pika.URLParameters(rabbitmq.url))) as connection:
        channel = connection.channel()
        channel.basic_publish(f"{rabbitmq.prefix}events", JOB_STARTED, b"{not json")
    letters = wait_until(bus.dead_letters, what="the malformed message in the dead-letter queue")
    assert [(letter.body, letter.event, letter.queue) for letter in letters] == [
        (b"{not json", None, "contract.garbage")
    ]
    assert bus.wait_idle(5)
    assert inbox.ids() == []
    assert _dead_letters_counted("contract.garbage") - counted_before == 1


def test_rabbitmq_a_bus_is_not_consuming_while_its_broker_is_away_and_is_again_once_back(
    rabbitmq: RabbitNamespace,
) -> None:
    proxy = rabbitmq.proxy()
    bus = rabbitmq.new_bus(proxy.url)
    bus.subscribe("contract.away", [JOB_STARTED], EventRecorder())
    bus.subscribe_dead_letters(lambda letter: None)
    bus.migrate()
    bus.start()
    assert bus.consuming()
    proxy.refusing.set()
    proxy.drop()
    wait_until(lambda: not bus.consuming(), timeout=10, what="the lost connection to be noticed")
    proxy.refusing.clear()
    wait_until(bus.consuming, timeout=30, what="both consumers to be back")


def test_rabbitmq_an_event_no_queue_is_bound_to_is_refused(rabbitmq: RabbitNamespace) -> None:
    bus = rabbitmq.new_bus()
    bus.migrate()
    with pytest.raises(PublishRefused):
        bus.publish(Event(JOB_EXPIRE, "nobody listens", EXPIRE_PAYLOAD))


def test_rabbitmq_a_bus_that_was_not_migrated_creates_nothing_and_says_so(rabbitmq: RabbitNamespace) -> None:
    bus = rabbitmq.new_bus()
    started = time.monotonic()
    with pytest.raises(NotMigrated, match="imgjob migrate"):
        bus.ping()
    with pytest.raises(NotMigrated, match="imgjob migrate"):
        bus.publish(Event(JOB_STARTED, "too early"))
    assert time.monotonic() - started < 5  # refused at once, not retried as if the broker were away
    inbox = EventRecorder()
    bus.subscribe("contract.unmigrated", [JOB_STARTED], inbox)
    bus.start()  # its consumer waits for the queue rather than declare it
    assert not bus.consuming()
    with pytest.raises(NotMigrated):
        bus.ping()
    bus.close()
    assert not rabbitmq.queue_exists("contract.unmigrated")


def test_rabbitmq_a_bus_with_another_delivery_limit_uses_the_queues_already_there(
    rabbitmq: RabbitNamespace,
) -> None:
    first = rabbitmq.new_bus()
    first.subscribe("contract.limit", [JOB_STARTED], EventRecorder())
    first.migrate()
    first.migrate()  # idempotent

    inbox = EventRecorder()
    second = rabbitmq.new_bus(max_deliveries=MAX_DELIVERIES + 2)
    second.subscribe("contract.limit", [JOB_STARTED], inbox)
    second.migrate()
    second.start()
    event = Event(JOB_STARTED, "j7")
    second.publish(event)
    wait_until(lambda: inbox.ids() == [event.event_id], what="the event on the existing queue")


def test_rabbitmq_an_idle_publisher_keeps_its_connection(
    rabbitmq: RabbitNamespace, caplog: pytest.LogCaptureFixture
) -> None:
    # With 1 s heartbeats the broker closes a connection that stays silent for about 2 s.
    bus = rabbitmq.new_bus(f"{rabbitmq.url}?heartbeat=1")
    inbox = EventRecorder()
    bus.subscribe("contract.idle", [JOB_STARTED], inbox)
    bus.migrate()
    bus.start()
    bus.publish(Event(JOB_STARTED, "first"))
    time.sleep(3.5)  # the idleness under test, not a stand-in for a condition
    with caplog.at_level(logging.WARNING, logger="shared.adapters.rabbitmq.publisher"):
        bus.publish(Event(JOB_STARTED, "second"))
    assert [r.getMessage() for r in caplog.records if r.name == "shared.adapters.rabbitmq.publisher"] == []
    wait_until(lambda: len(inbox.ids()) == 2, what="both events")


def test_a_reachable_migrated_bus_answers_a_ping(bus: MessageBus) -> None:
    bus.migrate()
    bus.ping()


def test_a_broker_that_is_not_there_fails_the_ping() -> None:
    from shared.adapters.rabbitmq.bus import RabbitMqBus

    absent = RabbitMqBus(f"amqp://guest:guest@127.0.0.1:{free_port()}/%2F")
    with pytest.raises(Exception):  # noqa: B017 - whichever connection error pika raises
        absent.ping()
    absent.close()
