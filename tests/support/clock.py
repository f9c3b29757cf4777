"""The clock the tests set and move: the adapters, the store and the gateway read it, nothing sleeps."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

# Where the `clock` fixture (tests/support/fixtures.py) starts.
NOW = datetime(2030, 3, 14, 9, 30, tzinfo=UTC)
# Where a SettableClock starts unless told.
START = datetime(2030, 1, 1, 12, 0, tzinfo=UTC)


class SettableClock:
    """A clock that stands still until the test moves it: `advance(61)` or `advance(minutes=30)`."""

    def __init__(self, start: datetime | None = None) -> None:
        self.now = start or START

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float = 0, **delta: float) -> None:
        """Move on by `seconds` and any other `timedelta` keywords (minutes, hours, days)."""
        self.now += timedelta(seconds=seconds, **delta)
