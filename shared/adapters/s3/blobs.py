"""The real blob store: MinIO or any S3, through the `minio` client; large objects go up in parts."""

from __future__ import annotations

import queue
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import BinaryIO, cast
from urllib.parse import parse_qs, unquote, urlsplit

from minio import Minio
from minio.commonconfig import ENABLED, Filter
from minio.deleteobjects import DeleteObject
from minio.error import S3Error
from minio.lifecycleconfig import AbortIncompleteMultipartUpload, Expiration, LifecycleConfig, Rule

from shared.ports.blobs import validate_key
from shared.ports.migration import NotMigrated

PART_SIZE = 8 * 1024 * 1024
CHUNK = 256 * 1024
HAND_OVER = 1024 * 1024  # bytes gathered by the writer before the uploader gets them
# Chunks waiting for the uploader at most: a whole part, so that the writer goes on while the part
# before it uploads (the uploader reads nothing meanwhile). With room for 2 chunks (3 MB) the writer
# stalled at every part: 500 x 150 KB zipped into MinIO as they downloaded took 1.20 to 1.78 s (3 of
# 10 runs over 1.6 s), against 1.23 to 1.52 s with a part's room; it costs 6 MB more per upload.
QUEUED = PART_SIZE // HAND_OVER
MISSING = ("NoSuchKey", "NoSuchObject", "NoSuchBucket")


@dataclass(frozen=True)
class S3Location:
    endpoint: str
    access_key: str
    secret_key: str
    bucket: str
    secure: bool
    region: str | None

    @classmethod
    def parse(cls, url: str) -> S3Location:
        """`s3://ACCESS:SECRET@host:port/bucket?secure=false&region=us-east-1`."""
        parts = urlsplit(url)
        bucket = parts.path.strip("/")
        if parts.scheme != "s3" or not parts.hostname or not bucket:
            raise ValueError(f"expected s3://access:secret@host:port/bucket, got {url!r}")
        options = parse_qs(parts.query)
        endpoint = parts.hostname + (f":{parts.port}" if parts.port else "")
        return cls(
            endpoint=endpoint,
            access_key=unquote(parts.username or ""),
            secret_key=unquote(parts.password or ""),
            bucket=bucket,
            secure=options.get("secure", ["true"])[0].lower() not in ("0", "false", "no"),
            region=options.get("region", [None])[0],
        )


class _UploadAborted(Exception):
    """Raised inside the uploader so that the client aborts the multipart upload."""


class _ChunkPipe:
    """A bounded hand-over from the writing thread to the uploading one: at most a few chunks in memory.

    Writes are gathered into chunks of about HAND_OVER bytes before they are handed over: each
    hand-over wakes the uploading thread, and a zip writes three times per entry (header, data,
    descriptor), so handing over every write was most of a zip's cost in the writing process.
    """

    def __init__(self) -> None:
        self._chunks: queue.Queue[bytes | BaseException | None] = queue.Queue(maxsize=QUEUED)
        self._gathered: list[bytes] = []
        self._gathered_bytes = 0
        # What is left of a chunk the last read cut. Reads join whole chunks: appending each chunk to
        # one bytes object copied a part's bytes over and over (for an 8 MB part, about 128 MB).
        self._rest = b""
        self._done = False
        self.upload_error: BaseException | None = None

    def _put(self, item: bytes | BaseException | None) -> None:
        # Never block for good: if the uploader died, nobody will take the item.
        while self.upload_error is None:
            try:
                self._chunks.put(item, timeout=0.5)
                return
            except queue.Full:
                continue

    # The writer side (a file-like object for zipfile and friends).
    def write(self, data: bytes) -> int:
        if data:
            self._gathered.append(bytes(data))
            self._gathered_bytes += len(data)
            if self._gathered_bytes >= HAND_OVER:
                self._hand_over()
        if self.upload_error is not None:
            raise self.upload_error
        return len(data)

    def _hand_over(self) -> None:
        if self._gathered:
            gathered = self._gathered[0] if len(self._gathered) == 1 else b"".join(self._gathered)
            self._gathered, self._gathered_bytes = [], 0
            self._put(gathered)

    def flush(self) -> None:
        pass  # gathered bytes go on with the next write or at `finish`; nobody reads the object before

    def finish(self) -> None:
        self._hand_over()
        self._put(None)

    def abort(self) -> None:
        self._put(_UploadAborted("the writer failed; nothing is published"))

    # The reader side, handed to Minio.put_object.
    def read(self, size: int = -1) -> bytes:
        # Whole chunks up to `size`, only the last one cut: the part is copied once, when joined.
        taken: list[bytes] = []
        count = 0
        while size < 0 or count < size:
            if self._rest:
                chunk, self._rest = self._rest, b""
            elif self._done:
                break
            else:
                item = self._chunks.get()
                if isinstance(item, BaseException):
                    raise item
                if item is None:
                    self._done = True
                    continue
                chunk = item
            if 0 <= size < count + len(chunk):
                chunk, self._rest = chunk[: size - count], chunk[size - count :]
            taken.append(chunk)
            count += len(chunk)
        return taken[0] if len(taken) == 1 else b"".join(taken)


def backstop_rule(days: int) -> Rule:
    """The bucket's lifecycle rule, a backstop for the janitor: whatever it misses is gone `days` after
    it was written (a few days past the longest link life). It also ends the uploads of a writer that
    was killed mid-zip, whose parts S3 would keep (and bill) until aborted; MinIO ignores that part of
    the rule and removes such uploads itself after a day (its `api stale_uploads_expiry`)."""
    return Rule(
        ENABLED,
        rule_filter=Filter(prefix="jobs/"),
        rule_id="imgjob-backstop",
        expiration=Expiration(days=days),
        abort_incomplete_multipart_upload=AbortIncompleteMultipartUpload(days_after_initiation=1),
    )


class S3BlobStore:
    def __init__(self, url: str, lifecycle_days: int = 3) -> None:
        self._location = S3Location.parse(url)
        self._lifecycle_days = lifecycle_days
        self._client: Minio | None = None
        self._lock = threading.Lock()

    @property
    def client(self) -> Minio:
        with self._lock:
            if self._client is None:
                where = self._location
                self._client = Minio(
                    where.endpoint, where.access_key, where.secret_key, secure=where.secure, region=where.region
                )
            return self._client

    @property
    def bucket(self) -> str:
        return self._location.bucket

    def migrate(self) -> None:
        try:
            if not self.client.bucket_exists(self.bucket):
                self.client.make_bucket(self.bucket)
        except S3Error as exc:
            if exc.code not in ("BucketAlreadyOwnedByYou", "BucketAlreadyExists"):
                raise
        self.client.set_bucket_lifecycle(self.bucket, LifecycleConfig([backstop_rule(self._lifecycle_days)]))

    def ping(self) -> None:
        """A HEAD of the bucket: connection and credential errors propagate."""
        if not self.client.bucket_exists(self.bucket):
            raise NotMigrated(f"bucket {self.bucket}")

    @contextmanager
    def writer(self, key: str) -> Iterator[BinaryIO]:
        validate_key(key)
        pipe = _ChunkPipe()

        def upload() -> None:
            try:
                # One part at a time: the writer fills parts slower than one connection sends them, and
                # the client's parallel uploads cost threads and a part's memory each (measured on a zip of
                # 500 x 150 KB images streamed while they download: 1.4-1.7 s with 3, 1.2 s with 1).
                self.client.put_object(
                    self.bucket, key, cast(BinaryIO, pipe), length=-1, part_size=PART_SIZE, num_parallel_uploads=1
                )
            except BaseException as exc:
                pipe.upload_error = exc

        uploader = threading.Thread(target=upload, name=f"s3-upload-{key}", daemon=True)
        uploader.start()
        try:
            yield cast(BinaryIO, pipe)
        except BaseException:
            pipe.abort()
            uploader.join()
            raise
        pipe.finish()
        uploader.join()
        if pipe.upload_error is not None and not isinstance(pipe.upload_error, _UploadAborted):
            raise pipe.upload_error

    def read(self, key: str, start: int = 0, length: int | None = None) -> Iterator[bytes]:
        if length == 0:
            return
        response = self.client.get_object(self.bucket, validate_key(key), offset=start, length=length or 0)
        try:
            yield from response.stream(CHUNK)
        finally:
            response.close()
            response.release_conn()

    def size(self, key: str) -> int | None:
        try:
            return self.client.stat_object(self.bucket, validate_key(key)).size
        except S3Error as exc:
            if exc.code in MISSING:
                return None
            raise

    def delete_prefix(self, prefix: str) -> int:
        names = [o.object_name for o in self.client.list_objects(self.bucket, prefix=prefix, recursive=True)]
        errors = list(self.client.remove_objects(self.bucket, (DeleteObject(n) for n in names if n)))
        if errors:
            raise RuntimeError(f"could not delete {len(errors)} objects under {prefix!r}: {errors[0]}")
        return len(names)

    def ensure_room(self, nbytes: int) -> None:
        """S3 tells no free space (MinIO's disks are the operator's to watch): always room."""
