"""The state of each email about a job, and when to try a deferred one again."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

STARTED = "started"
READY = "ready"
FAILED = "failed"
KINDS = (STARTED, READY, FAILED)

# Waits between tries of an email the mail server deferred (4xx, no answer): growing, then hourly.
RETRY_DELAYS = (10, 30, 60, 300, 900, 1800, 3600)


class EmailState(StrEnum):
    PENDING = "pending"  # claimed by a notifier, being sent until its lease ends
    RETRYING = "retrying"  # deferred by the mail server; another try is scheduled
    SENT = "sent"  # the mail server took it
    REFUSED = "refused"  # refused for good by the mail server; not tried again
    UNDELIVERED = "undelivered"  # still deferred when its link stopped working; given up


# The detail of an email refused because its address asked to receive none.
UNSUBSCRIBED = "unsubscribed"

SETTLED = frozenset({EmailState.SENT, EmailState.REFUSED, EmailState.UNDELIVERED})


@dataclass(frozen=True)
class EmailRecord:
    """What the store keeps of one (job, kind) email: never its text or its address."""

    kind: str
    state: EmailState
    attempts: int
    first_at: datetime
    lease_until: datetime | None = None
    detail: str | None = None

    def leased_at(self, now: datetime) -> bool:
        """True while another notifier holds it (a notifier that died holds it until the lease ends)."""
        return self.state is EmailState.PENDING and self.lease_until is not None and self.lease_until > now


def retry_delay(attempts: int) -> timedelta:
    """The wait before the next try of an email tried `attempts` times."""
    return timedelta(seconds=RETRY_DELAYS[min(max(attempts, 1), len(RETRY_DELAYS)) - 1])
