"""The budget of bytes one job may keep in all (JobByteBudget)."""

from __future__ import annotations

import threading


class JobByteBudget:
    """The image bytes one job may store (IMGJOB_MAX_JOB_BYTES), shared by the job's download threads.

    An image is stored only if it fits in what is left. The first image that does not fit (or is seen
    to be larger than what is left while it downloads) reaches the budget: from then on nothing more
    is fetched or stored, and each image left out is reported with `reason`. So the job's stored
    bytes never exceed the budget, and the job stops downloading once it is full.
    """

    def __init__(self, limit: int) -> None:
        self.limit = max(1, limit)
        self._used = 0
        self._reached = False
        self._lock = threading.Lock()

    @property
    def reason(self) -> str:
        return f"job byte budget of {self.limit} bytes reached"

    @property
    def used(self) -> int:
        with self._lock:
            return self._used

    @property
    def reached(self) -> bool:
        with self._lock:
            return self._reached

    def stop_reason(self, size: int = 0) -> str | None:
        """`reason` if the budget is reached or an image of `size` bytes could no longer fit; else None."""
        with self._lock:
            if self._used + size > self.limit:
                self._reached = True
            return self.reason if self._reached else None

    def take(self, size: int) -> bool:
        """Count `size` bytes as stored if they fit and the budget is not reached; False otherwise."""
        with self._lock:
            if self._reached or self._used + size > self.limit:
                self._reached = True
                return False
            self._used += size
            return True
