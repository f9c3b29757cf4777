"""Where a downloaded body waits while it is checked and stored: in memory if small, else a temporary file.

A temporary file costs a dozen system calls per image (create, write, reopen to check, reopen to
store, delete), each one a hand-over of the interpreter lock among the download threads, and every
file created and deleted makes later creations dearer on a file system without a journal (ext4 then
skips inodes freed in the last minute, reading each one's table block to tell). So a body of up to
SPOOL_BYTES stays in memory, and only a larger one (declared so, or growing past that while it
streams in) goes to a file. Memory stays bounded: at most SPOOL_BYTES per download worker.
"""

from __future__ import annotations

import io
import os
import tempfile
from pathlib import Path
from typing import BinaryIO

# Most web images are smaller; 64 download workers hold at most 32 MB of bodies in memory.
SPOOL_BYTES = 512 * 1024


class Body:
    """A downloaded body, in memory (`data`) or in a temporary file (`path`); `discard` frees it."""

    def __init__(self, data: bytes | None = None, path: Path | None = None) -> None:
        self.data = data
        self.path = path

    def open(self) -> BinaryIO:
        """The bytes from the start, as a file object (the caller closes it)."""
        if self.path is not None:
            return open(self.path, "rb")
        return io.BytesIO(self.data or b"")

    def discard(self) -> None:
        """Delete the temporary file, if any; idempotent."""
        self.data = None
        if self.path is not None:
            self.path.unlink(missing_ok=True)

    def detach(self) -> tuple[bytes | None, Path | None]:
        """Hand the bytes or the temporary file over to a new owner (the job's staging): this body
        then holds nothing, and discarding it deletes nothing."""
        data, path = self.data, self.path
        self.data = self.path = None
        return data, path


class Spool:
    """Collects a body as it streams in: in memory up to `limit` bytes, then in a temporary file."""

    def __init__(self, limit: int = SPOOL_BYTES, temp_dir: Path | None = None, to_file: bool = False) -> None:
        self._limit = limit
        self._temp_dir = temp_dir
        self._chunks: list[bytes] = []
        self._held = 0
        self._file: BinaryIO | None = None
        self._path: Path | None = None
        if to_file:  # known to be larger than the limit (its Content-Length says so)
            self._roll_over()

    def write(self, chunk: bytes) -> None:
        if self._file is None:
            self._chunks.append(chunk)
            self._held += len(chunk)
            if self._held > self._limit:
                self._roll_over()
        else:
            self._file.write(chunk)

    def _roll_over(self) -> None:
        fd, name = tempfile.mkstemp(prefix="imgjob-", suffix=".part", dir=self._temp_dir)
        self._path = Path(name)
        self._file = os.fdopen(fd, "wb")
        for chunk in self._chunks:
            self._file.write(chunk)
        self._chunks, self._held = [], 0

    def finish(self) -> Body:
        """The body collected; the spool is not used after this."""
        if self._file is None:
            return Body(data=b"".join(self._chunks))
        self._file.close()
        return Body(path=self._path)

    def abandon(self) -> None:
        """Drop what was collected (the download failed)."""
        self._chunks = []
        if self._file is not None:
            self._file.close()
        if self._path is not None:
            self._path.unlink(missing_ok=True)
