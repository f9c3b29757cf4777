"""The binary delay ladder's arithmetic: routing keys and binding patterns, with no broker in sight.

A delayed message is published to the top level's exchange with a routing key that spells the delay in
whole seconds in binary, most significant bit first, followed by the destination routing key:
5 s to `job.due` over 22 levels is `0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.1.0.1.job.due`. Level n owns
the word at position `levels - 1 - n`. Its exchange sends a message whose bit is 1 into its queue, which
holds it for 2^n s (one TTL per queue, so expiry order is arrival order) and then dead-letters it to the
level below; a message whose bit is 0 goes straight on to the level below (exchange-to-exchange). Below
level 0 is the delivery exchange, which routes on the destination key (`#.job.due`) into the service
queues. The time spent in the ladder is exactly the sum of the 1 bits, plus the broker's hops.
"""

from __future__ import annotations

import math

# Levels 0..21: up to 2^22 - 1 s, about 48 days. Longer delays are capped; whoever waits for a
# far-future event (scheduler, janitor) re-checks the store on arrival and re-delays the remainder.
DELAY_LEVELS = 22
MAX_DELAY_SECONDS = 2**DELAY_LEVELS - 1


def delay_seconds(delay: float, levels: int = DELAY_LEVELS) -> int:
    """The delay the ladder applies: rounded up to whole seconds (never early), capped at its top."""
    if not delay > 0:  # also catches NaN
        return 0
    if math.isinf(delay):
        return 2**levels - 1
    return min(math.ceil(delay), 2**levels - 1)


def delay_routing_key(delay: float, destination: str, levels: int = DELAY_LEVELS) -> str:
    """The routing key that carries `destination` through the ladder for `delay` seconds."""
    bits = format(delay_seconds(delay, levels), f"0{levels}b")
    return ".".join([*bits, destination])


def _position_pattern(level: int, bit: str, levels: int) -> str:
    if not 0 <= level < levels:
        raise ValueError(f"level {level} is outside the ladder's 0..{levels - 1}")
    return "*." * (levels - 1 - level) + bit + ".#"


def wait_pattern(level: int, levels: int = DELAY_LEVELS) -> str:
    """Binds level n's queue to its exchange: the keys whose bit for level n is 1."""
    return _position_pattern(level, "1", levels)


def skip_pattern(level: int, levels: int = DELAY_LEVELS) -> str:
    """Binds the next exchange down to level n's exchange: the keys whose bit for level n is 0."""
    return _position_pattern(level, "0", levels)


def delivery_pattern(destination: str) -> str:
    """Binds a service queue to the delivery exchange for one destination routing key."""
    return f"#.{destination}"


def level_ttl_ms(level: int) -> int:
    """How long level n's queue holds a message."""
    return 2**level * 1000
