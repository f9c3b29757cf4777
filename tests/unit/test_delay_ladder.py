"""The delay ladder's routing keys and bindings, checked by routing keys through a model of the ladder."""

from __future__ import annotations

import math

import pytest

from shared.adapters.rabbitmq import ladder as ladder
from shared.adapters.rabbitmq.topology import Names, level_queue_arguments, service_queue_arguments
from shared.events import JOB_DUE, JOB_EXPIRE

LEVELS = ladder.DELAY_LEVELS


def topic_matches(pattern: str, key: str) -> bool:
    """AMQP topic matching: `*` is exactly one word, `#` zero or more."""

    def match(p: list[str], k: list[str]) -> bool:
        if not p:
            return not k
        if p[0] == "#":
            return any(match(p[1:], k[i:]) for i in range(len(k) + 1))
        return bool(k) and p[0] in ("*", k[0]) and match(p[1:], k[1:])

    return match(pattern.split("."), key.split("."))


def walk(key: str, entry: int = LEVELS - 1) -> tuple[int, list[int]]:
    """Route `key` from the `entry` level down as the broker would: milliseconds spent, and the levels waited in."""
    waited, levels = 0, []
    for level in range(entry, -1, -1):
        waits = topic_matches(ladder.wait_pattern(level), key)
        skips = topic_matches(ladder.skip_pattern(level), key)
        assert waits != skips, (level, key)  # exactly one way on from every level
        if waits:
            waited += ladder.level_ttl_ms(level)
            levels.append(level)
    return waited, levels


def test_the_key_spells_the_delay_in_binary_most_significant_bit_first_then_the_destination() -> None:
    key = ladder.delay_routing_key(1.25, JOB_DUE)  # 5 ticks
    assert key == "0." * (LEVELS - 3) + "1.0.1.job.due"
    assert len(key.split(".")) == LEVELS + 2


@pytest.mark.parametrize(
    ("delay", "seconds"),
    [
        (0, 0),
        (-3, 0),
        (float("nan"), 0),
        (0.001, 0.25),
        (0.25, 0.25),
        (0.3, 0.5),
        (1.0, 1),
        (1.0001, 1.25),
        (2.5, 2.5),
        (59.9999, 60),
        (86400, 86400),
    ],
)
def test_delays_are_rounded_up_to_whole_ticks_never_down(delay: float, seconds: float) -> None:
    assert ladder.delay_seconds(delay) == seconds


@pytest.mark.parametrize("delay", [2**22, 10**9, math.inf])
def test_a_delay_beyond_the_top_of_the_ladder_is_capped(delay: float) -> None:
    assert ladder.delay_seconds(delay) == ladder.MAX_DELAY_SECONDS == (2**LEVELS - 1) / 4
    assert ladder.MAX_DELAY_SECONDS > 48 * 86400
    assert ladder.delay_routing_key(delay, JOB_EXPIRE) == "1." * LEVELS + "job.expire"


@pytest.mark.parametrize("delay", [1, 2, 3, 5, 0.3, 59.5, 59.6, 3600, 86400, 30 * 86400, 2**22 - 1])
def test_a_message_waits_in_exactly_the_levels_of_its_one_bits(delay: float) -> None:
    key = ladder.delay_routing_key(delay, JOB_DUE)
    waited, levels = walk(key)
    assert walk(key, ladder.entry_level(delay)) == (waited, levels)  # entering lower skips only 0 bits
    ticks = ladder.delay_ticks(delay)
    assert levels[0] == ladder.entry_level(delay)
    assert waited == ladder.delay_seconds(delay) * 1000 == ticks * 250
    assert delay <= waited / 1000 < delay + 0.25  # never early, at most a tick late
    assert levels == [n for n in range(LEVELS - 1, -1, -1) if ticks >> n & 1]
    # Below level 0 the delivery exchange hands it to the queues bound to the destination, and no other.
    assert topic_matches(ladder.delivery_pattern(JOB_DUE), key)
    assert not topic_matches(ladder.delivery_pattern(JOB_EXPIRE), key)


def test_each_level_holds_for_its_power_of_two_and_dead_letters_to_the_one_below() -> None:
    names = Names("imgjob.events", "t.")
    assert names.level(LEVELS - 1) == f"t.imgjob.delay.{2**23 * 250}ms"
    assert names.level(0) == "t.imgjob.delay.250ms"
    for level in range(LEVELS):
        arguments = level_queue_arguments(names, level)
        assert arguments["x-message-ttl"] == 2**level * 250
        below = names.level(level - 1) if level else names.delivery_exchange
        assert arguments["x-dead-letter-exchange"] == below
        assert arguments["x-dead-letter-strategy"] == "at-least-once"
        assert arguments["x-overflow"] == "reject-publish"
        assert arguments["x-queue-type"] == "quorum"


def test_a_service_queue_allows_max_deliveries_in_all_then_dead_letters() -> None:
    arguments = service_queue_arguments(Names(), max_deliveries=5)
    # RabbitMQ counts redeliveries: 4 means the first delivery and 4 more.
    assert arguments["x-delivery-limit"] == 4
    assert arguments["x-dead-letter-exchange"] == "imgjob.dlx"


def test_levels_outside_the_ladder_have_no_pattern() -> None:
    with pytest.raises(ValueError):
        ladder.wait_pattern(LEVELS)
    with pytest.raises(ValueError):
        ladder.skip_pattern(-1)
