"""Rate limits on job submission: per client network and per mailbox, counted in the shared store.

The counters live behind the JobStore port (`hit_rate_limits`), so every gunicorn worker of every
gateway replica counts into the same ones: the configured limit is the limit of the whole service.
A submission's two hits (its network's and, once it is valid, its mailbox's) are counted in one call.

Windows are fixed, not sliding: time is cut into windows of the rate's length, aligned to multiples of
it since the Unix epoch (`30/minute` counts from each whole minute of UTC), and at most `limit`
submissions are admitted per key in each window. A refused submission is not counted, and is told to
come back when the window ends (`Retry-After`). Fixed windows make every check a write and a read of
one window in the store, never more than `limit` per window across processes (see the port); the
price is that a burst straddling a window's edge can pass up to twice the limit within a short span.

Keys: the client's network (an IPv4 address; an IPv6 address's /64, which one subscriber usually owns
whole, so walking through its addresses does not escape the limit; an IPv4-mapped IPv6 address counts
as its IPv4 address) and the normalised mailbox (shared.unsubscribe.normalise_mailbox: case, `+tags`
and Gmail's dots do not make another mailbox). The store only ever sees keyed hashes of them
(HMAC-SHA256 under IMGJOB_SECRET_KEY): the counters do not hold addresses.
"""

from __future__ import annotations

import ipaddress
import math
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime

from shared.ports.store import JobStore, RateHit, rate_window
from shared.signing import keyed_hash
from shared.unsubscribe import normalise_mailbox

UNITS = {"second": 1, "minute": 60, "hour": 3600, "day": 86400}
RATE_RE = re.compile(r"^\s*(\d+)\s*/\s*(\d*)\s*(second|minute|hour|day)s?\s*$", re.IGNORECASE)
OFF_WORDS = frozenset({"", "off", "none", "0"})
# How much of an IPv6 address one subscriber gets, and so one client network.
IPV6_NETWORK_PREFIX = 64
NETWORK_PURPOSE = "rate-limit:network"
MAILBOX_PURPOSE = "rate-limit:mailbox"


@dataclass(frozen=True)
class Rate:
    """At most `limit` events per `window` seconds."""

    limit: int
    window: int

    @classmethod
    def parse(cls, text: str) -> Rate | None:
        """`"30/minute"`, `"10/hour"`, `"100/5minutes"`; None for `"off"`. ValueError for anything else."""
        if text.strip().lower() in OFF_WORDS:
            return None
        match = RATE_RE.match(text)
        if match is None or int(match.group(1)) < 1:
            raise ValueError(f"a rate limit looks like 30/minute, 10/hour or off, not {text!r}")
        multiple = int(match.group(2) or "1")
        if multiple < 1:
            raise ValueError(f"a rate limit's window must be positive, not {text!r}")
        return cls(int(match.group(1)), multiple * UNITS[match.group(3).lower()])

    def describe(self) -> str:
        for unit, seconds in reversed(UNITS.items()):
            if self.window % seconds == 0:
                count = self.window // seconds
                return f"{self.limit} per {unit}" if count == 1 else f"{self.limit} per {count} {unit}s"
        return f"{self.limit} per {self.window} seconds"


def client_network(address: str) -> str:
    """The network a client is counted by: an IPv4 address, or an IPv6 address's /64 (an IPv4-mapped
    IPv6 address is its IPv4 address). Anything that is not an address is its own key."""
    try:
        ip = ipaddress.ip_address(address.split("%", 1)[0])  # a zone (fe80::1%eth0) is not part of it
    except ValueError:
        return address
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.ipv4_mapped is not None:
            return str(ip.ipv4_mapped)
        return str(ipaddress.IPv6Network((ip, IPV6_NETWORK_PREFIX), strict=False))
    return str(ip)


def network_key(secret_key: str, address: str) -> str:
    """The counter key of a client address: a keyed hash of its network."""
    return f"network:{keyed_hash(secret_key, NETWORK_PURPOSE, client_network(address))}"


def mailbox_key(secret_key: str, email: str) -> str:
    """The counter key of an email address: a keyed hash of its normalised mailbox."""
    return f"mailbox:{keyed_hash(secret_key, MAILBOX_PURPOSE, normalise_mailbox(email))}"


def retry_after_header(seconds: float) -> str:
    return str(max(1, math.ceil(seconds)))


def wait_phrase(seconds: float) -> str:
    """ "30 seconds", "5 minutes", "2 hours": how long a person should wait, rounded up."""
    whole = max(1, math.ceil(seconds))
    for unit, size in (("hour", 3600), ("minute", 60)):
        if whole > size:
            count = math.ceil(whole / size)
            return f"{count} {unit}{'s' if count > 1 else ''}"
    return f"{whole} second{'s' if whole > 1 else ''}"


@dataclass(frozen=True)
class Refusal:
    """A submission over a limit: which one (`address` or `email`), when to retry, what to tell the person."""

    limit: str
    retry_after: float
    message: str


@dataclass(frozen=True)
class Limits:
    """The gateway's two submission limits (None: off), counted in `counters` (the store) on `clock`."""

    per_address: Rate | None
    per_email: Rate | None
    counters: JobStore
    secret_key: str
    clock: Callable[[], datetime]

    @classmethod
    def create(
        cls, per_address: str, per_email: str, counters: JobStore, secret_key: str, clock: Callable[[], datetime]
    ) -> Limits:
        """ValueError for a malformed rate, so a bad setting stops the gateway at start."""
        return cls(Rate.parse(per_address), Rate.parse(per_email), counters, secret_key, clock)

    def admit(self, address: str, email: str | None = None) -> Refusal | None:
        """Count one submission attempt from `address` (valid or not: each costs us work) and, for a
        valid one, one job for `email`; the refusal of the first limit it is over, if any."""
        return self.admit_all([(address, email)])[0]

    def admit_all(self, attempts: Sequence[tuple[str, str | None]]) -> list[Refusal | None]:
        """`admit` for several attempts, `(address, email or None)`, counted in one call to the store."""
        checks = [self._checks(address, email) for address, email in attempts]
        hits = [RateHit(key, rate.window, rate.limit) for attempt in checks for rate, key, _, _ in attempt]
        if not hits:
            return [None] * len(attempts)
        now = self.clock()
        counts = iter(self.counters.hit_rate_limits(hits, now))
        refusals: list[Refusal | None] = []
        for attempt in checks:
            refusal = None
            for rate, _, limit, what in attempt:
                if next(counts) > rate.limit and refusal is None:
                    _, end_ms = rate_window(now, rate.window)
                    wait = max(1.0, end_ms / 1000 - now.timestamp())  # until the window ends
                    message = f"{what} (at most {rate.describe()}). Please try again in {wait_phrase(wait)}."
                    refusal = Refusal(limit, wait, message)
            refusals.append(refusal)
        return refusals

    def _checks(self, address: str, email: str | None) -> list[tuple[Rate, str, str, str]]:
        """The limits an attempt is counted against: (rate, counter key, limit name, what to say)."""
        checks: list[tuple[Rate, str, str, str]] = []
        if self.per_address is not None:
            key = network_key(self.secret_key, address)
            checks.append((self.per_address, key, "address", "Too many submissions from your network address"))
        if email is not None and self.per_email is not None:
            key = mailbox_key(self.secret_key, email)
            checks.append((self.per_email, key, "email", "Too many jobs for this email address"))
        return checks
