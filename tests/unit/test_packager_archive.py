"""The zip from the staging: every image in link order, zipped as soon as the links before it settle,
the same plan whatever order the downloads finish in, and nothing published unless it is finished."""

from __future__ import annotations

import hashlib
import io
import random
import threading
import zipfile
from datetime import UTC, datetime
from pathlib import Path

import pytest

from services.packager.archive import ZipWriter
from services.packager.download import Downloaded, FailedImage, Outcome, StoredImage
from services.packager.fetch import Fetched
from services.packager.packing import InOrder
from services.packager.planning import Planner, plan
from services.packager.spool import Spool
from services.packager.staging import Staging, StagingClosed
from services.packager.verify import ImageInfo
from shared.adapters.files.blobs import FileBlobStore
from shared.domain.model import Job, Link
from shared.ports import NotEnoughRoom
from tests.support.jobs import new_job

NOW = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)
INFO = ImageInfo(ext="jpg", content_type="image/jpeg", width=1, height=1)


def _job() -> Job:
    return new_job(lambda: NOW, id="zipjob")


@pytest.fixture
def blobs(tmp_path: Path) -> FileBlobStore:
    store = FileBlobStore(tmp_path / "blobs")
    store.migrate()
    return store


@pytest.fixture
def scratch(tmp_path: Path) -> Path:
    path = tmp_path / "scratch"
    path.mkdir()
    return path


def _link(position: int) -> Link:
    return Link(position=position, url=f"http://cdn.example/{position}.jpg")


def _downloaded(position: int, data: bytes, scratch: Path, spool_limit: int = 1000) -> Downloaded:
    """A verified body as the downloader hands it to `keep`: in memory up to `spool_limit`, else in a file."""
    spool = Spool(limit=spool_limit, temp_dir=scratch)
    spool.write(data)
    fetched = Fetched(spool.finish(), len(data), hashlib.sha256(data).hexdigest(), _link(position).url)
    return Downloaded(_link(position), fetched, INFO)


def _members(blobs: FileBlobStore, job: Job) -> dict[str, bytes]:
    with zipfile.ZipFile(io.BytesIO(b"".join(blobs.read(job.zip_key)))) as zipped:
        return {name: zipped.read(name) for name in zipped.namelist()}


def test_staging_keeps_small_bodies_in_memory_up_to_its_limit_then_on_disk(scratch: Path) -> None:
    with Staging(scratch, memory_limit=250) as staging:
        small = [staging.keep(_downloaded(n, bytes([n]) * 100, scratch)) for n in (1, 2, 3)]
        assert (staging.in_memory, staging.on_disk) == (200, 100), "the third would pass 250 bytes"
        large_body = _downloaded(4, b"L" * 5000, scratch)
        spooled = large_body.fetched.body.path
        large = staging.keep(large_body)
        large_body.fetched.body.discard()  # what the downloader does after `keep`: the file is staging's now
        assert spooled is not None and spooled.exists(), "a spooled file is taken over, not copied"
        assert [b"".join(staging.read(s.key)) for s in small] == [bytes([n]) * 100 for n in (1, 2, 3)]
        assert b"".join(staging.read(large.key)) == b"L" * 5000
        staging.release(small[0].key)
        staging.release(large.key)
        assert not spooled.exists()
        assert (staging.in_memory, staging.on_disk) == (100, 100)
    assert list(scratch.iterdir()) == [], "closing deletes what is still staged"
    assert staging.in_memory == 0


def _keep_in_thread(staging: Staging, image: Downloaded) -> tuple[threading.Thread, list[object]]:
    result: list[object] = []

    def run() -> None:
        try:
            result.append(staging.keep(image))
        except StagingClosed as exc:
            result.append(exc)

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return thread, result


def test_past_its_disk_bound_a_download_waits_for_the_zip_but_never_the_one_the_zip_waits_for(
    scratch: Path,
) -> None:
    with Staging(scratch, memory_limit=0, disk_limit=2500) as staging:
        staging.settling(1)
        second, third = (staging.keep(_downloaded(n, bytes([n]) * 1000, scratch)) for n in (2, 3))
        waiting, result = _keep_in_thread(staging, _downloaded(4, b"4" * 1000, scratch))
        waiting.join(timeout=0.5)
        assert waiting.is_alive() and not result, "3000 bytes would pass the bound of 2500"
        first = staging.keep(_downloaded(1, b"1" * 1000, scratch))  # the zip's next: never waits
        assert staging.on_disk == 3000
        staging.settling(4)
        for kept in (first, second):
            staging.release(kept.key)  # zipped
        waiting.join(timeout=10)
        assert not waiting.is_alive()
        [fourth] = result
        assert isinstance(fourth, StoredImage) and b"".join(staging.read(fourth.key)) == b"4" * 1000
        assert staging.on_disk == 2000
        staging.release(third.key)
    assert list(scratch.iterdir()) == []


def test_closing_the_staging_fails_the_downloads_waiting_for_room_and_deletes_their_files(scratch: Path) -> None:
    staging = Staging(scratch, memory_limit=0, disk_limit=1500)
    staging.settling(1)
    staging.keep(_downloaded(2, b"2" * 1000, scratch))
    waiting, result = _keep_in_thread(staging, _downloaded(3, b"3" * 1000, scratch))
    waiting.join(timeout=0.5)
    assert waiting.is_alive()
    staging.close()
    waiting.join(timeout=10)
    assert not waiting.is_alive() and isinstance(result[0], StagingClosed)
    assert list(scratch.iterdir()) == []
    with pytest.raises(StagingClosed):
        staging.keep(_downloaded(4, b"4", scratch))


def test_without_a_zip_to_wait_for_nothing_waits(scratch: Path) -> None:
    with Staging(scratch, memory_limit=0, disk_limit=10) as staging:
        for n in range(1, 4):
            staging.keep(_downloaded(n, bytes([n]) * 100, scratch))
        assert staging.on_disk == 300


def test_the_room_asked_of_the_scratch_disk_is_bounded_when_the_zip_keeps_pace(scratch: Path) -> None:
    Staging(scratch, disk_limit=1 << 20).ensure_room(10**18, bounded=True)
    with pytest.raises(NotEnoughRoom):
        Staging(scratch, disk_limit=1 << 20).ensure_room(10**18, bounded=False)


def test_images_are_zipped_in_link_order_as_soon_as_the_links_before_them_settle(
    blobs: FileBlobStore, scratch: Path
) -> None:
    job = _job()
    data = {n: bytes([n]) * (100 if n % 2 else 3000) for n in range(1, 7)}  # every other one in a file
    links = [_link(n) for n in data]
    with Staging(scratch) as staging, ZipWriter(blobs, job) as out:
        in_order = InOrder(links, Planner(), staging, out)
        kept = {n: staging.keep(_downloaded(n, data[n], scratch)) for n in data if n != 5}  # 5 fails
        for n in (3, 2):
            in_order.add(kept[n])
        assert (in_order.settled, out.entries) == (0, 0), "link 1 is still downloading"
        in_order.add(kept[1])
        assert (in_order.settled, out.entries) == (3, 3)
        assert staging.on_disk == 6000, "zipped images left the staging (4 and 6 wait on disk)"
        in_order.add(FailedImage(links[4], "HTTP 404"))
        in_order.add(kept[6])
        assert (in_order.settled, out.entries) == (3, 3)
        in_order.add(kept[4])
        assert (in_order.settled, out.entries) == (6, 5)
        assert (staging.in_memory, staging.on_disk) == (0, 0)
        package = in_order.plan()
        size = out.finish(package)
    members = _members(blobs, job)
    expected = {f"{p:04d}.jpg": data[n] for p, n in enumerate((1, 2, 3, 4, 6), 1)}
    assert list(members) == [*expected, "manifest.csv", "manifest.json"]
    assert {name: members[name] for name in expected} == expected
    assert size == blobs.size(job.zip_key)


def _stored(position: int, digest: str, phash: int | None) -> StoredImage:
    return StoredImage(_link(position), f"k{position}", "jpg", "image/jpeg", 1, 1, 10, digest, phash)


class _Nowhere(ZipWriter):
    def __init__(self) -> None:  # records what would be zipped
        self.names: list[str] = []

    def add(self, entry: object, chunks: object) -> None:
        self.names.append(entry.name)  # type: ignore[attr-defined]


@pytest.mark.parametrize("seed", range(5))
def test_planning_as_images_settle_is_the_plan_of_all_of_them_in_any_order(seed: int) -> None:
    rng = random.Random(seed)
    outcomes: list[Outcome] = []
    for position in range(1, 41):
        if rng.random() < 0.2:
            outcomes.append(FailedImage(_link(position), "HTTP 404"))
        else:  # identical bytes and similar pictures among them
            outcomes.append(_stored(position, f"sha{rng.randrange(25)}", rng.choice([None, 0, 1, 3, 2**40 - 1])))
    staging = Staging()
    for near, wanted in ((None, None), (2, None), (2, 12)):
        out = _Nowhere()
        in_order = InOrder([o.link for o in outcomes], Planner(near, wanted), staging, out)
        for outcome in rng.sample(outcomes, len(outcomes)):
            in_order.add(outcome)
        expected = plan(outcomes, near, wanted)
        assert in_order.plan() == expected
        assert out.names == [entry.name for entry in expected.entries]


def test_a_plan_asked_for_before_every_link_settled_is_refused() -> None:
    in_order = InOrder([_link(1), _link(2)], Planner(), Staging(), _Nowhere())
    in_order.add(FailedImage(_link(2), "HTTP 404"))
    with pytest.raises(RuntimeError, match="2 links have no outcome yet"):
        in_order.plan()


def test_an_abandoned_or_failed_zip_publishes_nothing(blobs: FileBlobStore, scratch: Path, tmp_path: Path) -> None:
    job = _job()
    with ZipWriter(blobs, job) as out:
        out.abandon()
    assert blobs.size(job.zip_key) is None
    with pytest.raises(OSError, match="disk went away"), Staging(scratch) as staging, ZipWriter(blobs, job) as out:
        kept = staging.keep(_downloaded(1, b"x" * 5000, scratch))
        in_order = InOrder([_link(1), _link(2)], Planner(), staging, out)
        in_order.add(kept)
        raise OSError("disk went away")
    assert blobs.size(job.zip_key) is None
    assert list(scratch.iterdir()) == []
    assert [p for p in (tmp_path / "blobs").rglob("*") if p.is_file()] == [], "no partial file either"


def test_a_redone_zip_is_byte_identical(blobs: FileBlobStore, scratch: Path) -> None:
    job = _job()
    zips = []
    for _ in range(2):
        with Staging(scratch) as staging, ZipWriter(blobs, job) as out:
            in_order = InOrder([_link(1), _link(2)], Planner(), staging, out)
            for n in (2, 1):
                in_order.add(staging.keep(_downloaded(n, bytes([n]) * 2000, scratch)))
            out.finish(in_order.plan())
        zips.append(b"".join(blobs.read(job.zip_key)))
    assert zips[0] == zips[1]
