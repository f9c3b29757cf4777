"""Rate limits on job submission: a sliding window per client address and per email address.

The windows live in this process's memory. Under gunicorn each worker, and in Kubernetes each replica,
keeps its own, so the effective limit is the configured one times the number of gateway processes; that
is enough to stop a runaway script or a mail-bombing attempt without a shared store on the hot path.
"""

from __future__ import annotations

import hashlib
import math
import re
import threading
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass

UNITS = {"second": 1, "minute": 60, "hour": 3600, "day": 86400}
RATE_RE = re.compile(r"^\s*(\d+)\s*/\s*(\d*)\s*(second|minute|hour|day)s?\s*$", re.IGNORECASE)
OFF_WORDS = frozenset({"", "off", "none", "0"})
# Keys are only dropped when their window empties; past this many, every key is swept at once.
SWEEP_ABOVE_KEYS = 10_000


@dataclass(frozen=True)
class Rate:
    """At most `limit` events per `window` seconds."""

    limit: int
    window: float

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
        return cls(int(match.group(1)), float(multiple * UNITS[match.group(3).lower()]))

    def describe(self) -> str:
        for unit, seconds in reversed(UNITS.items()):
            if self.window % seconds == 0:
                count = int(self.window // seconds)
                return f"{self.limit} per {unit}" if count == 1 else f"{self.limit} per {count} {unit}s"
        return f"{self.limit} per {self.window:g} seconds"


class SlidingWindow:
    """Counts events per key over the last `rate.window` seconds; thread-safe (gunicorn threads, tests)."""

    def __init__(self, rate: Rate | None, clock: Callable[[], float]) -> None:
        self.rate = rate
        self._clock = clock
        self._events: dict[str, deque[float]] = {}
        self._lock = threading.Lock()

    def _prune(self, key: str, now: float) -> deque[float] | None:
        assert self.rate is not None
        times = self._events.get(key)
        if times is None:
            return None
        while times and times[0] <= now - self.rate.window:
            times.popleft()
        if not times:
            del self._events[key]
            return None
        return times

    def hit(self, key: str) -> float | None:
        """Record one event for `key` unless its window is full; then the seconds until a slot frees."""
        if self.rate is None:
            return None
        now = self._clock()
        with self._lock:
            if len(self._events) > SWEEP_ABOVE_KEYS:
                for stale in list(self._events):
                    self._prune(stale, now)
            times = self._prune(key, now)
            if times is not None and len(times) >= self.rate.limit:
                return max(1.0, times[0] + self.rate.window - now)
            self._events.setdefault(key, deque()).append(now)
            return None

    def __len__(self) -> int:
        return len(self._events)


def email_key(email: str) -> str:
    """Addresses are kept as hashes: the limiter outlives purged jobs and must not remember people."""
    return hashlib.sha256(email.strip().lower().encode("utf-8")).hexdigest()


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
    """The gateway's two submission limits."""

    per_address: SlidingWindow
    per_email: SlidingWindow

    @classmethod
    def create(cls, per_address: str, per_email: str, clock: Callable[[], float]) -> Limits:
        return cls(SlidingWindow(Rate.parse(per_address), clock), SlidingWindow(Rate.parse(per_email), clock))

    def admit_address(self, address: str) -> Refusal | None:
        """Count one submission attempt from `address` (valid or not: each costs us work)."""
        return _admit(self.per_address, address, "address", "Too many submissions from your network address")

    def admit_email(self, email: str) -> Refusal | None:
        """Count one job for `email`; checked after validation, so only real jobs use the allowance."""
        return _admit(self.per_email, email_key(email), "email", "Too many jobs for this email address")


def _admit(window: SlidingWindow, key: str, limit: str, what: str) -> Refusal | None:
    wait = window.hit(key)
    if wait is None or window.rate is None:
        return None
    message = f"{what} (at most {window.rate.describe()}). Please try again in {wait_phrase(wait)}."
    return Refusal(limit, wait, message)
