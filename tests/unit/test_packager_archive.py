"""The zip: every image in order with its bytes, whether read in line or a few ahead of the writer."""

from __future__ import annotations

import hashlib
import io
import threading
import zipfile
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from services.packager import archive
from services.packager.archive import READ_AHEAD, image_key, read_ahead_for, write_zip
from services.packager.download import StoredImage
from services.packager.manifest import Plan, plan
from shared.adapters.files.blobs import FileBlobStore
from shared.domain.model import Job, Link
from tests.support.jobs import new_job

NOW = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)


def _job() -> Job:
    return new_job(lambda: NOW, id="zipjob")


def _images(blobs: FileBlobStore, sizes: list[int]) -> tuple[Plan, dict[str, bytes]]:
    """One stored image per size, each of distinct bytes; the plan that zips them, and their bytes by name."""
    stored = []
    for position, size in enumerate(sizes, 1):
        data = bytes([position]) * size
        key = image_key("zipjob", position, "jpg")
        with blobs.writer(key) as out:
            out.write(data)
        link = Link(position=position, url=f"http://cdn.example/{position}.jpg")
        digest = hashlib.sha256(data).hexdigest()
        stored.append(StoredImage(link, key, "jpg", "image/jpeg", 1, 1, size, digest))
    package = plan(stored)
    return package, {entry.name: bytes([entry.image.link.position]) * entry.image.size for entry in package.entries}


@pytest.fixture
def blobs(tmp_path: Path) -> FileBlobStore:
    store = FileBlobStore(tmp_path / "blobs")
    store.migrate()
    return store


def _members(blobs: FileBlobStore, job: Job) -> dict[str, bytes]:
    with zipfile.ZipFile(io.BytesIO(b"".join(blobs.read(job.zip_key)))) as zipped:
        return {name: zipped.read(name) for name in zipped.namelist()}


@pytest.mark.parametrize("read_ahead", [0, 3])
def test_the_zip_holds_every_image_in_order_small_and_large(
    blobs: FileBlobStore, monkeypatch: pytest.MonkeyPatch, read_ahead: int
) -> None:
    monkeypatch.setattr(archive, "READ_AHEAD_MAX", 1000)  # so some images are streamed in their turn
    package, expected = _images(blobs, [500, 3000, 10, 999, 1001, 700, 5000, 1, 2, 3, 4])
    job = _job()
    size = write_zip(blobs, job, package, read_ahead=read_ahead)
    members = _members(blobs, job)
    assert list(members) == [*expected, "manifest.csv", "manifest.json"]
    assert {name: members[name] for name in expected} == expected
    assert size == blobs.size(job.zip_key)


class _Gated(FileBlobStore):
    """Reads of the first `gate.parties` images wait for one another: only reads under way at once pass."""

    def __init__(self, root: Path, gate: threading.Barrier, failing: str | None = None) -> None:
        super().__init__(root)
        self.gate = gate
        self.failing = failing

    def read(self, key: str, start: int = 0, length: int | None = None) -> Iterator[bytes]:
        if key == self.failing:
            raise OSError("object storage went away")
        if key in {image_key("zipjob", position, "jpg") for position in range(1, self.gate.parties + 1)}:
            self.gate.wait()
        return super().read(key, start, length)


def test_images_are_read_ahead_at_once(tmp_path: Path) -> None:
    gated = _Gated(tmp_path / "blobs", threading.Barrier(3, timeout=10))
    gated.migrate()
    package, expected = _images(gated, [100] * 8)
    job = _job()
    # Read one after the other, the first read would wait for two more that never come: a broken barrier.
    write_zip(gated, job, package, read_ahead=3)
    assert {name: data for name, data in _members(gated, job).items() if name in expected} == expected


def test_a_failed_read_fails_the_zip_and_publishes_nothing(tmp_path: Path) -> None:
    gated = _Gated(tmp_path / "blobs", threading.Barrier(1), failing=image_key("zipjob", 5, "jpg"))
    gated.migrate()
    package, _ = _images(gated, [100] * 8)
    job = _job()
    with pytest.raises(OSError, match="object storage went away"):
        write_zip(gated, job, package, read_ahead=3)
    assert gated.size(job.zip_key) is None


def test_only_object_storage_is_read_ahead() -> None:
    assert read_ahead_for("file:var/blobs") == 0
    assert read_ahead_for("s3://key:secret@127.0.0.1:9000/bucket") == READ_AHEAD
