"""What every port's `ping` raises when it reaches its server but finds the schema missing."""

from __future__ import annotations

MIGRATE_HINT = "run `imgjob migrate` first"


class NotMigrated(RuntimeError):
    """The store, bucket or broker answers but lacks what `imgjob migrate` creates."""

    def __init__(self, what: str) -> None:
        super().__init__(f"{what} does not exist: {MIGRATE_HINT}")
