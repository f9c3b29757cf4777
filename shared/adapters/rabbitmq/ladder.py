"""The binary delay ladder's arithmetic: routing keys and binding patterns, with no broker in sight.

A delayed message is published to the top level's exchange with a routing key that spells the delay in
ticks (quarter seconds) in binary, most significant bit first, followed by the destination routing key:
1.25 s (5 ticks) to `job.due` over 24 levels is `0.0. ... .0.1.0.1.job.due`. Level n owns the word at
position `levels - 1 - n`. Its exchange sends a message whose bit is 1 into its queue, which
holds it for 2^n ticks (one TTL per queue, so expiry order is arrival order) and then dead-letters it to the
level below; a message whose bit is 0 goes straight on to the level below (exchange-to-exchange). Below
level 0 is the delivery exchange, which routes on the destination key (`#.job.due`) into the service
queues. The time spent in the ladder is exactly the sum of the 1 bits, plus the broker's hops. A message
enters at the level of its highest 1 bit (every level above would pass it on), with the same key.
"""

from __future__ import annotations

import math

# The ladder counts in quarter seconds: a delay is rounded up to the next tick, so a job starts at most
# a tick after its time plus the broker's hops (whole seconds made the rounding alone cost up to a second).
TICK_MS = 250
TICKS_PER_SECOND = 1000 // TICK_MS
# Levels 0..23: up to 2^24 - 1 ticks, about 48 days. Longer delays are capped; whoever waits for a
# far-future event (scheduler, janitor) re-checks the store on arrival and re-delays the remainder.
DELAY_LEVELS = 24
MAX_DELAY_SECONDS = (2**DELAY_LEVELS - 1) / TICKS_PER_SECOND


def delay_ticks(delay: float, levels: int = DELAY_LEVELS) -> int:
    """The delay the ladder applies, in ticks: rounded up (never early), capped at its top."""
    if not delay > 0:  # also catches NaN
        return 0
    if math.isinf(delay):
        return 2**levels - 1
    return min(math.ceil(delay * TICKS_PER_SECOND), 2**levels - 1)


def delay_seconds(delay: float, levels: int = DELAY_LEVELS) -> float:
    """The delay the ladder applies, in seconds: a whole number of ticks."""
    return delay_ticks(delay, levels) / TICKS_PER_SECOND


def entry_level(delay: float, levels: int = DELAY_LEVELS) -> int:
    """The level a delayed message is published to: that of its highest 1 bit. The levels above would
    only pass it on (their bits are 0), each hop a topic match in the broker for nothing."""
    return max(delay_ticks(delay, levels).bit_length() - 1, 0)


def delay_routing_key(delay: float, destination: str, levels: int = DELAY_LEVELS) -> str:
    """The routing key that carries `destination` through the ladder for `delay` seconds."""
    bits = format(delay_ticks(delay, levels), f"0{levels}b")
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
    """How long level n's queue holds a message: 2^n ticks."""
    return 2**level * TICK_MS
