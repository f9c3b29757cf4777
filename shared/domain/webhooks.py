"""Webhook deliveries: what is kept of one until it is delivered or given up, and the rules of its tries.

A delivery is one event of a job POSTed to the job's webhook URL. It is recorded when the event is
first handled, with a snapshot of the URL and of the body, so that it outlives the job it belongs to
(`job.expired` is sent after the purge) but not its own retries: the record is deleted when the
delivery ends, and the store drops it by itself a little after `created_at + max_age` in any case.
Pure rules, no I/O.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import datetime, timedelta

# The longest wait between two tries: growing delays stop growing here.
MAX_RETRY_DELAY = timedelta(hours=1)
# How long a record outlives its last possible try (a try started just before the bound, plus slack).
RECORD_SLACK = timedelta(hours=1)


@dataclass(frozen=True)
class WebhookDelivery:
    """One event of a job for its webhook URL: `delivery_id` is the X-Imgjob-Delivery header of every
    try, `body` the exact bytes (UTF-8 JSON) sent each time. `attempts` counts the tries started;
    no try starts before `next_at` (while one runs it is the try's lease, after a failure the retry's time)."""

    job_id: str
    event_type: str
    delivery_id: str
    url: str
    body: str
    created_at: datetime
    attempts: int = 0
    next_at: datetime | None = None
    # Whose id the signing secret is derived from: the series' for a run of one (so the secret
    # returned when the series was created verifies every run), else the job's.
    signer: str = ""

    def keep_until(self, max_age: timedelta) -> datetime:
        """When the store may drop the record by itself: after every try the rules allow."""
        return self.created_at + max_age + RECORD_SLACK


class Outcome(enum.Enum):
    """What one try came to. Only RETRY leads to another try."""

    DELIVERED = "delivered"  # a 2xx answer
    RETRY = "retry"  # another status, a timeout, a connection error: tried again later
    GONE = "gone"  # 410: the receiver asked for no more deliveries
    REDIRECTED = "redirected"  # 3xx: not followed (its target would escape the address guard's check)
    REFUSED = "refused"  # the URL's host resolves to an address the guard refuses


def outcome_of(status: int) -> Outcome:
    if 200 <= status < 300:
        return Outcome.DELIVERED
    if status == 410:
        return Outcome.GONE
    if 300 <= status < 400:
        return Outcome.REDIRECTED
    return Outcome.RETRY


def retry_delay(attempts: int, first: float) -> timedelta:
    """The wait after the `attempts`-th failed try: `first` seconds, doubling, at most MAX_RETRY_DELAY."""
    seconds = first * 2 ** min(max(attempts, 1) - 1, 30)
    return min(timedelta(seconds=seconds), MAX_RETRY_DELAY)


def next_try_at(delivery: WebhookDelivery, now: datetime, first: float, max_age: timedelta) -> datetime | None:
    """When to try again after the delivery's latest failed try, or None: give up, the next try would
    come later than `max_age` after the delivery was created."""
    at = now + retry_delay(delivery.attempts, first)
    return None if at > delivery.created_at + max_age else at
