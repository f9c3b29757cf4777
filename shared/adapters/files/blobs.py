"""The embedded blob store: one file per object under a directory."""

from __future__ import annotations

import glob
import os
import shutil
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import BinaryIO

from shared.ports.blobs import NotEnoughRoom, validate_key
from shared.ports.migration import NotMigrated

CHUNK = 256 * 1024


def file_path(url: str) -> Path:
    """`file:relative/path` or `file:///absolute/path`."""
    if url.startswith("file://"):
        return Path(url[len("file://") :])
    if url.startswith("file:"):
        return Path(url[len("file:") :])
    raise ValueError(f"expected file:path, got {url!r}")


class FileBlobStore:
    def __init__(self, root: Path) -> None:
        self._root = root

    def _path(self, key: str) -> Path:
        return self._root.joinpath(*validate_key(key).split("/"))

    def migrate(self) -> None:
        self._root.mkdir(parents=True, exist_ok=True)

    def ping(self) -> None:
        if not self._root.exists():
            raise NotMigrated(f"blob directory {self._root}")
        if not self._root.is_dir():
            raise NotADirectoryError(f"the blob directory {self._root} is not a directory")

    @contextmanager
    def writer(self, key: str) -> Iterator[BinaryIO]:
        path = self._path(key)
        path.parent.mkdir(parents=True, exist_ok=True)
        temp = path.with_name(f".{path.name}.{uuid.uuid4().hex}.part")
        try:
            with open(temp, "wb") as stream:
                yield stream
            os.replace(temp, path)
        finally:
            temp.unlink(missing_ok=True)
        # A writer of this key killed before it finished (SIGKILL, power loss) left its partial file:
        # the key is now published, so that file is of no use (one still being written loses the race,
        # as it would on publishing: the last writer of a key wins).
        for stale in path.parent.glob(f".{glob.escape(path.name)}.*.part"):
            stale.unlink(missing_ok=True)

    def read(self, key: str, start: int = 0, length: int | None = None) -> Iterator[bytes]:
        path = self._path(key)
        with open(path, "rb") as stream:
            stream.seek(start)
            remaining = length
            while remaining is None or remaining > 0:
                chunk = stream.read(CHUNK if remaining is None else min(CHUNK, remaining))
                if not chunk:
                    return
                if remaining is not None:
                    remaining -= len(chunk)
                yield chunk

    def size(self, key: str) -> int | None:
        try:
            return self._path(key).stat().st_size
        except FileNotFoundError:
            return None

    def delete_prefix(self, prefix: str) -> int:
        if not self._root.exists():
            return 0
        removed = 0
        for path in sorted(self._root.rglob("*"), reverse=True):
            key = path.relative_to(self._root).as_posix()
            if path.is_file() and key.startswith(prefix):
                path.unlink()
                removed += 1
            elif path.is_dir() and (key + "/").startswith(prefix) and not any(path.iterdir()):
                path.rmdir()
        return removed

    def ensure_room(self, nbytes: int) -> None:
        """Free space on the directory's file system, as an unprivileged process may use it."""
        where = self._root
        while not where.exists() and where != where.parent:
            where = where.parent  # not migrated yet: the file system it will be on
        free = shutil.disk_usage(where).free
        if free < nbytes:
            raise NotEnoughRoom(nbytes, free, str(self._root))
