"""The dead-letter queue for operators: listed without taking anything, replayed to the queue of origin."""

from __future__ import annotations

import time
from typing import Any

import pika

from shared.adapters.rabbitmq.connection import close_quietly, connect
from shared.adapters.rabbitmq.topology import Names
from shared.ports.bus import DeadLetter


def from_message(names: Names, properties: Any, body: bytes) -> DeadLetter:
    """The dead letter a message of the dead-letter queue is, with the queue that gave up on it."""
    source = (properties.headers or {}).get("x-first-death-queue", "")
    source = source.decode() if isinstance(source, bytes) else str(source)
    return DeadLetter.of(names.unprefixed(source), body, properties.message_id)


def kept(url: str, names: Names, limit: int) -> list[DeadLetter]:
    # Taken without acks on a connection of their own; closing it puts every one back.
    connection = connect(url, "imgjob dead letters")
    try:
        channel = connection.channel()
        found: list[DeadLetter] = []
        while len(found) < limit:
            method, properties, body = channel.basic_get(names.dead_letter_queue, auto_ack=False)
            if method is None:
                break
            found.append(from_message(names, properties, body))
        return found
    finally:
        close_quietly(connection)


def replay(url: str, names: Names, message_id: str | None) -> int:
    """Publish the dead letter `message_id` (every one if None) to its queue, then ack it; how many."""
    connection = connect(url, "imgjob replay")
    replayed = 0
    try:
        channel = connection.channel()
        channel.confirm_delivery()
        while True:
            method, properties, body = channel.basic_get(names.dead_letter_queue, auto_ack=False)
            if method is None:
                return replayed
            letter = from_message(names, properties, body)
            if message_id not in (None, letter.message_id) or not letter.queue:
                continue  # left unacked: back in the queue when the connection closes
            fresh = pika.BasicProperties(
                content_type=properties.content_type,
                delivery_mode=pika.DeliveryMode.Persistent,
                message_id=properties.message_id,
                type=properties.type,
                timestamp=int(time.time()),
            )
            # Straight to the queue it came from (the default exchange routes by queue name).
            channel.basic_publish("", names.queue(letter.queue), body, fresh, mandatory=True)
            channel.basic_ack(method.delivery_tag)
            replayed += 1
    finally:
        close_quietly(connection)
