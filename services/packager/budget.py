"""A budget of bytes that threads hold while they work on something of a given size."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager


class ByteBudget:
    """At most `limit` bytes held at once; one holder may exceed it alone, so nothing waits forever."""

    def __init__(self, limit: int) -> None:
        self.limit = max(1, limit)
        self._held = 0
        self._changed = threading.Condition()

    @property
    def held(self) -> int:
        with self._changed:
            return self._held

    @contextmanager
    def hold(self, size: int) -> Iterator[None]:
        """Wait until `size` more bytes fit (or nothing else is held), hold them for the block."""
        size = max(0, size)
        with self._changed:
            self._changed.wait_for(lambda: self._held == 0 or self._held + size <= self.limit)
            self._held += size
        try:
            yield
        finally:
            with self._changed:
                self._held -= size
                self._changed.notify_all()
