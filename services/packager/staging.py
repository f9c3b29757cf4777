"""Where a job's verified images wait for their turn in the zip: on this machine, not in object storage.

Object storage gets the zip only. Storing each image there and reading it back for the zip cost one
PUT and one GET per image through the object store (on MinIO sharing the packager's cores, most of a
job's time), and nothing reads the single images but the zip.

A small body stays in memory while the job's staged bytes in memory are under `memory_limit`; past
that it is written to a scratch file of its own. A large body already is in a temporary file (the
spool's): staging takes that file over instead of copying it. The zip takes each image as soon as
the images before it are settled (services.packager.packing), which it tells the staging
(`settling`). Then, past `disk_limit` bytes in files, a download thread waits in `keep` until the
zip has caught up: a zip slower than the downloads (a large job into a slow object store), or a slow
first link, holds the downloads back instead of filling the disk. The link the zip waits for never
waits, so the zip always moves on. Without that (a recurring search's run zips at the end), files
are not bounded: the handler checks room for the job's byte budget.

`close` deletes whatever is left, and wakes and fails any thread still waiting: the handler closes
its staging on every path, success, failure or exception.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import threading
from collections.abc import Iterator
from pathlib import Path
from types import TracebackType

from services.packager.download import Downloaded, StoredImage
from shared.ports import NotEnoughRoom

# Per job: 64 download workers finishing ahead of a slow first image fill this in well under a second
# at 150 KB per image; beyond it images wait on disk.
STAGE_MEMORY = 32 * 1024 * 1024
# Per job, in scratch files beyond the spool's: a few seconds' worth of downloads, well inside the
# packager's scratch volume (k8s/base/packager.yaml) beside the spool's files.
STAGE_DISK = 512 * 1024 * 1024
READ_CHUNK = 256 * 1024


class StagingClosed(Exception):
    """The job's staging was closed (the job ended or failed) while a download waited for room."""


class Staging:
    """A job's images by key (`StoredImage.key`), in memory or in files under `temp_dir`. Thread-safe."""

    def __init__(
        self, temp_dir: Path | None = None, memory_limit: int = STAGE_MEMORY, disk_limit: int = STAGE_DISK
    ) -> None:
        self.temp_dir = temp_dir
        self.memory_limit = memory_limit
        self.disk_limit = disk_limit
        self._memory: dict[str, bytes] = {}
        self._files: dict[str, tuple[Path, int]] = {}
        self._in_memory = 0
        self._on_disk = 0
        self._next: int | None = None  # the link position the zip waits for; None: nothing waits for room
        self._closed = False
        self._changed = threading.Condition()

    @property
    def in_memory(self) -> int:
        """Bytes of images held in memory now."""
        with self._changed:
            return self._in_memory

    @property
    def on_disk(self) -> int:
        """Bytes of images held in scratch files now."""
        with self._changed:
            return self._on_disk

    def ensure_room(self, nbytes: int, bounded: bool) -> None:
        """Raise NotEnoughRoom unless the scratch directory's file system has room for `nbytes` of a
        job's images, or `disk_limit` of them if the job's zip keeps pace (`bounded`: it will call
        `settling`)."""
        needed = min(nbytes, self.disk_limit) if bounded else nbytes
        where = Path(self.temp_dir or tempfile.gettempdir())
        free = shutil.disk_usage(where).free
        if free < needed:
            raise NotEnoughRoom(needed, free, str(where))

    def settling(self, position: int | None) -> None:
        """The zip now waits for the link at `position` (None: for none): its image is kept even past
        `disk_limit`, and waiting downloads look again."""
        with self._changed:
            self._next = position
            self._changed.notify_all()

    def keep(self, image: Downloaded) -> StoredImage:
        """Take the verified image's body over (its spool then deletes nothing) under a key of its own,
        waiting for room on disk if the zip is behind (see the module's docstring)."""
        key = f"{image.link.position:06d}-{image.fetched.sha256[:16]}"
        size = image.fetched.size
        data, path = image.fetched.body.detach()
        try:
            with self._changed:
                if self._closed:
                    raise StagingClosed("the job's staging is closed")
                if data is not None and self._in_memory + size <= self.memory_limit:
                    self._memory[key] = data
                    self._in_memory += size
                    data = None
                else:
                    self._changed.wait_for(lambda: self._room_for(image.link.position, size))
                    if self._closed:
                        raise StagingClosed("the job's staging is closed")
                    self._on_disk += size
            if data is not None or path is not None:
                self._to_disk(key, size, data, path)
        except BaseException:
            if path is not None:
                path.unlink(missing_ok=True)
            raise
        return StoredImage(
            link=image.link,
            key=key,
            ext=image.info.ext,
            content_type=image.info.content_type,
            width=image.info.width,
            height=image.info.height,
            size=size,
            sha256=image.fetched.sha256,
            phash=image.phash,
        )

    def _room_for(self, position: int, size: int) -> bool:
        if self._closed or self._next is None or position == self._next:
            return True
        return self._on_disk == 0 or self._on_disk + size <= self.disk_limit

    def _to_disk(self, key: str, size: int, data: bytes | None, path: Path | None) -> None:
        """Register the image's file (its spool file, or one written now), counted on disk already."""
        try:
            if path is None:
                assert data is not None
                fd, name = tempfile.mkstemp(prefix="imgjob-", suffix=".staged", dir=self.temp_dir)
                with os.fdopen(fd, "wb") as out:
                    out.write(data)
                path = Path(name)
        except BaseException:
            with self._changed:
                self._on_disk -= size
            raise
        with self._changed:
            if self._closed:  # closed while the file was written: nobody will read or delete it
                self._on_disk -= size
                path.unlink(missing_ok=True)
                raise StagingClosed("the job's staging is closed")
            self._files[key] = (path, size)

    def read(self, key: str) -> Iterator[bytes]:
        """The image's bytes, in chunks (raises KeyError if it is not staged)."""
        with self._changed:
            data = self._memory.get(key)
            path = self._files[key][0] if data is None else None
        if data is not None:
            yield data
            return
        assert path is not None
        with open(path, "rb") as source:
            while chunk := source.read(READ_CHUNK):
                yield chunk

    def release(self, key: str) -> None:
        """Forget the image (it is in the zip, or not wanted); idempotent."""
        with self._changed:
            data = self._memory.pop(key, None)
            if data is not None:
                self._in_memory -= len(data)
            path, size = self._files.pop(key, (None, 0))
            self._on_disk -= size
            self._changed.notify_all()
        if path is not None:
            path.unlink(missing_ok=True)

    def close(self) -> None:
        """Delete everything still staged, and fail the downloads waiting for room; idempotent."""
        with self._changed:
            self._closed = True
            self._changed.notify_all()
            keys = [*self._memory, *self._files]
        for key in keys:
            self.release(key)

    def __enter__(self) -> Staging:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, traceback: TracebackType | None
    ) -> None:
        self.close()
