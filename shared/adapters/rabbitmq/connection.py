"""Connecting to RabbitMQ: URL parsing, which failures are worth a reconnect, and the backoff between tries."""

from __future__ import annotations

import random
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pika
import pika.exceptions

SCHEMES = ("amqp", "amqps")

# Failures that a new connection may cure. Wrong credentials or vhost (ProbableAuthenticationError,
# ProbableAccessDeniedError) are AMQPConnectionErrors too, but retrying them only hides the mistake.
# AMQP reply codes the adapter tells apart: a queue or exchange that was never declared (run
# `imgjob migrate`), and a declaration whose arguments differ from the existing one.
NOT_FOUND = 404
PRECONDITION_FAILED = 406

LOGIN_REFUSED = (
    pika.exceptions.AuthenticationError,
    pika.exceptions.ProbableAuthenticationError,
    pika.exceptions.ProbableAccessDeniedError,
)
FATAL = (*LOGIN_REFUSED, pika.exceptions.IncompatibleProtocolError)
RECOVERABLE = (
    pika.exceptions.AMQPConnectionError,
    pika.exceptions.ChannelClosed,
    pika.exceptions.ChannelWrongStateError,
    pika.exceptions.ConsumerCancelled,
    OSError,
)


def validate_url(url: str) -> None:
    """Raise ValueError unless `url` is an AMQP URL this adapter can use (without connecting)."""
    if urlsplit(url).scheme not in SCHEMES:
        raise ValueError(f"not an AMQP URL (amqp:// or amqps://): {url!r}")
    pika.URLParameters(url)


def connection_parameters(url: str, name: str) -> Any:
    """Parameters for one connection, named for the management UI; the URL's own query options win."""
    params = pika.URLParameters(url)
    given = set(parse_qs(urlsplit(url).query))
    if "blocked_connection_timeout" not in given:
        # A broker under a memory or disk alarm blocks publishers; fail (and retry) instead of hanging.
        params.blocked_connection_timeout = 30
    if "heartbeat" not in given:
        params.heartbeat = 30
    params.client_properties = {"connection_name": name}
    return params


def connect(url: str, name: str) -> Any:
    return pika.BlockingConnection(connection_parameters(url, name))


def backoff(attempt: int, first: float = 0.2, cap: float = 10.0) -> float:
    """Seconds to wait before reconnect number `attempt` (0-based): exponential, capped, with jitter."""
    base = min(cap, first * 2**attempt)
    return base * random.uniform(0.5, 1.0)


def close_quietly(connection: Any) -> None:
    """Close a connection that may already be broken; a close that fails has nothing left to do."""
    if connection is None:
        return
    try:
        if connection.is_open:
            connection.close()
    except Exception:  # the connection is being thrown away either way
        pass
