"""Loopback ports for tests: one to start a server on, or one to find nothing listening on."""

from __future__ import annotations

import socket


def free_port() -> int:
    """A loopback port nobody listens on now (bound by the system, then released)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])
