"""Loopback ports for tests: one to start a server on, or one to find nothing listening on."""

from __future__ import annotations

import random
import socket
from pathlib import Path

# Below the system's ephemeral range: the kernel hands ephemeral ports to every outgoing connection
# (the store's and the broker's drivers make many), so a port picked from that range and released can
# be taken by one of them before our server binds it. Ports here are only ever bound on purpose.
_LOW, _HIGH = 20_000, 32_000


def _ephemeral_range() -> range:
    try:
        low, high = Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()
        return range(int(low), int(high) + 1)
    except (OSError, ValueError):
        return range(32_768, 61_000)


def free_port() -> int:
    """A loopback port nobody listens on now, outside the ephemeral range (see above)."""
    ephemeral = _ephemeral_range()
    for _ in range(200):
        port = random.randint(_LOW, _HIGH)
        if port in ephemeral:
            continue
        with socket.socket() as probe:
            try:
                probe.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    raise RuntimeError(f"no free loopback port between {_LOW} and {_HIGH}")
