"""The job's zip, streamed into object storage entry by entry as the images are settled.

The key is deterministic (`jobs/<id>/images.zip`) and the zip's bytes depend only on the job and its
plan, so a job redone after a crash overwrites its zip with the same one. The object is published
only when the zip is finished: a job that fails, or raises, leaves none.
"""

from __future__ import annotations

import zipfile
from collections.abc import Iterable
from contextlib import AbstractContextManager, suppress
from datetime import UTC
from types import TracebackType
from typing import Any, BinaryIO

from services.packager.manifest import manifest_csv, manifest_json
from services.packager.planning import Entry, Plan
from services.packager.verify import COMPRESSED_EXTENSIONS
from shared.domain.model import Job
from shared.ports import BlobStore


class _Abandoned(Exception):
    """Thrown into the blob writer so that it publishes nothing."""


class _Sink:
    """The zip's stream: writes go to the blob writer until the zip is abandoned, then nowhere (so
    closing the ZipFile after a failure writes nothing). Not seekable, so zipfile follows each entry
    with a data descriptor instead of seeking back: the same bytes on every blob store."""

    def __init__(self, target: BinaryIO) -> None:
        self._target: BinaryIO | None = target

    def write(self, data: bytes) -> int:
        if self._target is not None:
            self._target.write(data)
        return len(data)

    def flush(self) -> None:
        pass

    def close(self) -> None:
        pass  # the blob writer is closed by its own block

    def drop(self) -> None:
        self._target = None


def _info(job: Job, name: str, compress: int, size: int | None = None) -> zipfile.ZipInfo:
    # The job's creation time, not now: a redone job writes a byte-identical zip.
    stamp = job.created_at.astimezone(UTC)
    info = zipfile.ZipInfo(
        name, date_time=(max(stamp.year, 1980), stamp.month, stamp.day, stamp.hour, stamp.minute, stamp.second)
    )
    info.compress_type = compress
    info.external_attr = 0o644 << 16
    if size is not None:
        # Known up front, so zipfile picks ZIP64 fields only when an entry needs them.
        info.file_size = size
    return info


class ZipWriter:
    """`with ZipWriter(blobs, job) as out: out.add(entry, chunks) ...; size = out.finish(plan)`.

    Leaving the block without `finish` (an exception, or `abandon` for a job with nothing to zip)
    publishes nothing. One thread at a time; memory holds one chunk, whatever the images' sizes.
    """

    def __init__(self, blobs: BlobStore, job: Job) -> None:
        self._blobs = blobs
        self._job = job
        self._writer: AbstractContextManager[BinaryIO] | None = None
        self._sink: _Sink | None = None
        self._zip: zipfile.ZipFile | None = None
        self.entries = 0

    def __enter__(self) -> ZipWriter:
        self._writer = self._blobs.writer(self._job.zip_key)
        self._sink = _Sink(self._writer.__enter__())
        self._zip = zipfile.ZipFile(self._sink, "w", allowZip64=True)
        return self

    def add(self, entry: Entry, chunks: Iterable[bytes]) -> None:
        """The image's bytes as the zip's next entry (entries come in their plan's order)."""
        assert self._zip is not None, "not open"
        image = entry.image
        compress = zipfile.ZIP_STORED if image.ext in COMPRESSED_EXTENSIONS else zipfile.ZIP_DEFLATED
        with self._zip.open(_info(self._job, entry.name, compress, image.size), "w") as member:
            for chunk in chunks:
                member.write(chunk)
        self.entries += 1

    def finish(self, package: Plan, engine_filters: dict[str, Any] | None = None) -> int:
        """Add the manifests (`engine_filters`: what each engine was given of the job's filters, for
        manifest.json), publish the zip and return its size in bytes."""
        assert self._zip is not None and self._writer is not None, "not open"
        job = self._job
        manifest = manifest_json(job, package, engine_filters)
        self._zip.writestr(_info(job, "manifest.csv", zipfile.ZIP_DEFLATED), manifest_csv(package))
        self._zip.writestr(_info(job, "manifest.json", zipfile.ZIP_DEFLATED), manifest)
        self._zip.close()
        writer, self._writer = self._writer, None
        writer.__exit__(None, None, None)  # publishes (an S3 upload completes here)
        size = self._blobs.size(job.zip_key)
        if size is None:
            raise RuntimeError(f"the zip of job {job.id} is missing right after writing it")
        return size

    def abandon(self) -> None:
        """Publish nothing; idempotent (also what leaving the block without `finish` does)."""
        writer, self._writer = self._writer, None
        if writer is None:
            return
        assert self._sink is not None and self._zip is not None
        self._sink.drop()
        self._zip.close()  # its central directory goes nowhere
        abandoned = _Abandoned(f"the zip of job {self._job.id} was not finished")
        with suppress(_Abandoned):  # the writer may re-raise it
            writer.__exit__(_Abandoned, abandoned, None)

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, traceback: TracebackType | None
    ) -> None:
        self.abandon()
