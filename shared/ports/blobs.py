"""The object storage port."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import AbstractContextManager
from typing import BinaryIO, Protocol


def validate_key(key: str) -> str:
    """Keys are built by the services, never from user input; still, refuse anything that could escape
    a directory or confuse a listing: empty, absolute, or with empty, '.' or '..' segments."""
    parts = key.split("/")
    if not key or any(part in ("", ".", "..") for part in parts):
        raise ValueError(f"bad object key {key!r}")
    return key


class NotEnoughRoom(Exception):
    """The object storage has less free space than asked for: a job should not start filling it."""

    def __init__(self, needed: int, free: int, where: str) -> None:
        super().__init__(f"{needed} bytes needed but only {free} free in {where}")
        self.needed = needed
        self.free = free


class BlobStore(Protocol):
    """Images and zips, by deterministic keys like `jobs/<id>/images/0001.jpg`.

    Writes are streamed and atomic: a reader sees the whole object or none of it.
    """

    def migrate(self) -> None:
        """Create the bucket or directory if missing; idempotent."""

    def ping(self) -> None:
        """Raise if the object storage cannot be reached now; raise NotMigrated if it answers but its
        bucket is missing. Creates nothing."""

    def writer(self, key: str) -> AbstractContextManager[BinaryIO]:
        """A stream to write the object to; it is published when the block exits without error and
        discarded otherwise. Memory stays bounded whatever the object's size."""

    def read(self, key: str, start: int = 0, length: int | None = None) -> Iterator[bytes]:
        """The object's bytes from `start`, `length` of them or to the end, in chunks."""

    def size(self, key: str) -> int | None:
        """The object's size in bytes, or None if there is no such object."""

    def delete_prefix(self, prefix: str) -> int:
        """Delete every object whose key starts with `prefix`; returns how many. Idempotent."""

    def ensure_room(self, nbytes: int) -> None:
        """Raise NotEnoughRoom if fewer than `nbytes` bytes can be stored now. A check, not a reservation;
        storage with no meaningful free space to ask about (S3) never raises."""
