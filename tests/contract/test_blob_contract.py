"""The blob store contract: streamed round trip, ranges, atomic writes, prefix delete."""

from __future__ import annotations

import hashlib
import os

import pytest

from shared.adapters.files.blobs import FileBlobStore
from shared.ports import BlobStore, NotEnoughRoom, NotMigrated
from tests.contract.conftest import UnmigratedBlobs, assert_refused_until_migrated


def test_a_large_object_round_trips_in_chunks(blobs: BlobStore) -> None:
    payload = os.urandom(3 * 1024 * 1024 + 17)
    with blobs.writer("jobs/a/images.zip") as out:
        for start in range(0, len(payload), 1 << 20):
            out.write(payload[start : start + (1 << 20)])
    assert blobs.size("jobs/a/images.zip") == len(payload)
    chunks = list(blobs.read("jobs/a/images.zip"))
    assert hashlib.sha256(b"".join(chunks)).digest() == hashlib.sha256(payload).digest()
    assert len(chunks) > 1


def test_ranges_read_exactly_the_requested_bytes(blobs: BlobStore) -> None:
    with blobs.writer("jobs/b/x.bin") as out:
        out.write(bytes(range(256)) * 10)
    assert b"".join(blobs.read("jobs/b/x.bin", start=250, length=10)) == bytes(
        [250, 251, 252, 253, 254, 255, 0, 1, 2, 3]
    )
    assert b"".join(blobs.read("jobs/b/x.bin", start=2550)) == bytes(range(246, 256))


def test_a_failed_write_publishes_nothing(blobs: BlobStore) -> None:
    with pytest.raises(RuntimeError), blobs.writer("jobs/c/partial.zip") as out:
        out.write(b"half a zip")
        raise RuntimeError("packager died")
    assert blobs.size("jobs/c/partial.zip") is None


def test_rewriting_a_key_replaces_the_object(blobs: BlobStore) -> None:
    for content in (b"first", b"second version"):
        with blobs.writer("jobs/d/0001.jpg") as out:
            out.write(content)
    assert b"".join(blobs.read("jobs/d/0001.jpg")) == b"second version"


def test_delete_prefix_removes_one_jobs_objects_only(blobs: BlobStore) -> None:
    for key in ("jobs/e/images/0001.jpg", "jobs/e/images.zip", "jobs/ee/images.zip"):
        with blobs.writer(key) as out:
            out.write(b"x")
    assert blobs.delete_prefix("jobs/e/") == 2
    assert blobs.size("jobs/e/images.zip") is None
    assert blobs.size("jobs/ee/images.zip") == 1
    assert blobs.delete_prefix("jobs/e/") == 0


@pytest.mark.parametrize("key", ["../escape", "jobs/../../etc/passwd", "/absolute", ""])
def test_keys_cannot_escape(blobs: BlobStore, key: str) -> None:
    with pytest.raises(ValueError), blobs.writer(key) as out:
        out.write(b"x")


def test_an_object_larger_than_one_upload_part_streams_up_and_back(blobs: BlobStore) -> None:
    # 20 MB in 1 MB writes: several S3 multipart parts, never the whole object in memory at once.
    block = os.urandom(1 << 20)
    digest = hashlib.sha256()
    with blobs.writer("jobs/big/images.zip") as out:
        for index in range(20):
            piece = block[index:] + block[:index]
            digest.update(piece)
            out.write(piece)
    assert blobs.size("jobs/big/images.zip") == 20 << 20
    back = hashlib.sha256()
    for chunk in blobs.read("jobs/big/images.zip"):
        back.update(chunk)
    assert back.hexdigest() == digest.hexdigest()


def test_a_write_that_fails_after_several_parts_publishes_nothing(blobs: BlobStore) -> None:
    with pytest.raises(RuntimeError), blobs.writer("jobs/big/partial.zip") as out:
        for _ in range(18):
            out.write(os.urandom(1 << 20))
        raise RuntimeError("packager died after 18 MB")
    assert blobs.size("jobs/big/partial.zip") is None


def test_a_migrated_blob_store_pings_and_stays_usable(blobs: BlobStore) -> None:
    blobs.ping()
    with blobs.writer("jobs/ping/a.jpg") as out:
        out.write(b"image")
    blobs.ping()
    assert b"".join(blobs.read("jobs/ping/a.jpg")) == b"image"


def test_a_blob_store_never_migrated_fails_its_ping_and_creates_nothing(unmigrated_blobs: UnmigratedBlobs) -> None:
    assert_refused_until_migrated(unmigrated_blobs.open().ping, unmigrated_blobs.name)
    assert not unmigrated_blobs.exists()


def test_a_blob_store_pings_once_another_process_migrated_it(unmigrated_blobs: UnmigratedBlobs) -> None:
    service = unmigrated_blobs.open()
    with pytest.raises(NotMigrated):
        service.ping()
    unmigrated_blobs.open().migrate()  # `imgjob migrate`, while the service keeps running
    assert unmigrated_blobs.exists()
    service.ping()
    with service.writer("jobs/late/a.jpg") as out:
        out.write(b"image")
    assert service.size("jobs/late/a.jpg") == 5


def test_ensure_room_refuses_more_than_the_disk_holds_where_it_can_tell(blobs: BlobStore) -> None:
    blobs.ensure_room(0)
    blobs.ensure_room(1 << 20)
    if isinstance(blobs, FileBlobStore):
        with pytest.raises(NotEnoughRoom) as refused:
            blobs.ensure_room(10**18)
        assert refused.value.needed == 10**18
        assert 0 <= refused.value.free < 10**18
    else:
        blobs.ensure_room(10**18)  # object storage tells no free space: the check never refuses
    # Only a check: nothing was written or reserved.
    assert blobs.size("jobs/room/images.zip") is None
