"""A bound on concurrent requests per host, shared by every download of the process."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass


@dataclass
class _Slot:
    semaphore: threading.BoundedSemaphore
    users: int = 0


class PerHostBound:
    """At most `per_host` holders of `slot(host)` at once for each host."""

    def __init__(self, per_host: int) -> None:
        self.per_host = max(1, per_host)
        self._slots: dict[str, _Slot] = {}
        self._lock = threading.Lock()

    def __len__(self) -> int:
        """How many hosts are tracked: those with a request under way or waiting."""
        with self._lock:
            return len(self._slots)

    @contextmanager
    def slot(self, host: str) -> Iterator[None]:
        # Entries are counted and dropped when unused, so a long-lived packager does not keep one
        # semaphore for every host it ever met.
        with self._lock:
            entry = self._slots.setdefault(host, _Slot(threading.BoundedSemaphore(self.per_host)))
            entry.users += 1
        try:
            with entry.semaphore:
                yield
        finally:
            with self._lock:
                entry.users -= 1
                if entry.users == 0:
                    del self._slots[host]
