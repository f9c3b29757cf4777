"""The packager enforces a job's minimum size and formats on the decoded images, against the fake image host
serving mixed sizes and formats: only images that pass are zipped, the rest are in the manifest with the
reason, and a job with extra links stops at its count."""

from __future__ import annotations

import csv
import io
import json
import uuid
import zipfile
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from PIL import Image

from services.packager.filtering import rejection
from services.packager.service import build_service
from services.packager.verify import ImageInfo
from shared.domain.filters import Filters
from shared.domain.model import Job, JobStatus, Link
from shared.events import JOB_FAILED, JOB_LINKS_COLLECTED, JOB_READY, Event
from shared.ports import Adapters
from shared.runtime import Runner
from tests.fakeweb import FakeWeb
from tests.fakeweb.images import mixed
from tests.support import EventRecorder, embedded_adapters, move, new_job

WAIT = 60.0
SIZED = Filters(min_width=800, min_height=600, formats=("jpeg", "png"))
# What the scraper would have carried in job.links_collected for a job with these filters.
ENGINE_FILTERS = {"bing": {"given": {"safe": "moderate"}, "not_supported": [], "params": {"adlt": "moderate"}}}
PIL_TYPES = {"JPEG": "image/jpeg", "PNG": "image/png"}


@pytest.fixture(scope="module")
def web() -> Iterator[FakeWeb]:
    with FakeWeb() as server:
        yield server


@pytest.fixture
def adapters(tmp_path: Path) -> Iterator[Adapters]:
    # Two downloads at once, so links start about in order and the count is met before the last ones.
    built = embedded_adapters(tmp_path, download_concurrency=2, download_per_host=2)
    yield built
    built.close()


@pytest.fixture
def running(adapters: Adapters) -> Iterator[EventRecorder]:
    recorder = EventRecorder(adapters, "test.outgoing", [JOB_READY, JOB_FAILED])
    runner = Runner(adapters, [build_service(adapters)])
    runner.start()
    yield recorder
    runner.stop()


def _job(adapters: Adapters, urls: list[str], count: int, filters: Filters) -> Job:
    """A job in packaging for `count` images with `urls` as its links, as the scraper leaves it."""
    now = adapters.clock()
    job = new_job(
        lambda: now, id=uuid.uuid4().hex, count=count, filters=filters, scheduled_at=now - timedelta(minutes=1)
    )
    adapters.store.add_job(job)
    job = move(adapters, job, JobStatus.RUNNING, started_at=now)
    job = move(adapters, job, JobStatus.PACKAGING, note=f"found {len(urls)} links for {count} images (bing)")
    adapters.store.save_links(job.id, [Link(i, url, provider="bing") for i, url in enumerate(urls, 1)])
    return job


def _passes(n: int) -> bool:
    ext, width, height = mixed(n)
    return ext in ("jpg", "png") and width >= 800 and height >= 600


def _zip(adapters: Adapters, job: Job) -> zipfile.ZipFile:
    return zipfile.ZipFile(io.BytesIO(b"".join(adapters.blobs.read(job.zip_key))))


def test_rejection_reasons_name_the_image_and_the_filter() -> None:
    info = ImageInfo("jpg", "image/jpeg", 640, 480)
    assert rejection(Filters(min_width=800), info) == "640x480 is smaller than the minimum width 800"
    assert rejection(Filters(min_height=500), info) == "640x480 is smaller than the minimum height 500"
    assert rejection(Filters(min_width=640, min_height=480), info) is None
    gif = ImageInfo("gif", "image/gif", 900, 900)
    assert rejection(Filters(formats=("jpeg", "png")), gif) == "format gif is not among jpeg, png"
    assert rejection(Filters(formats=("gif",)), gif) is None
    assert rejection(Filters(formats=("jpeg",)), ImageInfo("tif", "image/tiff", 9, 9)) == (
        "format tiff is not among jpeg"
    )


def test_only_images_that_meet_the_filters_are_zipped_and_the_job_stops_at_its_count(
    web: FakeWeb, adapters: Adapters, running: EventRecorder
) -> None:
    urls = [f"{web.url}/img/{n}.jpg?mix=1" for n in range(1, 25)]  # three links per image, as the scraper asks
    job = _job(adapters, urls, count=6, filters=SIZED)
    adapters.bus.publish(Event(JOB_LINKS_COLLECTED, job.id, {"links": 24, "engine_filters": ENGINE_FILTERS}))
    [ready] = running.wait_for(JOB_READY, timeout=WAIT)

    assert ready.payload == {"images": 6, "failed": 0}
    archive = _zip(adapters, job)
    manifest = json.loads(archive.read("manifest.json"))
    wanted = [n for n in range(1, 25) if _passes(n)][:6]
    assert wanted == [1, 2, 7, 8, 13, 14]
    assert [entry["link_position"] for entry in manifest["images"]] == wanted
    for entry in manifest["images"]:
        with Image.open(io.BytesIO(archive.read(entry["file"]))) as image:
            assert image.size == (1000, 800) and PIL_TYPES[str(image.format)] == entry["content_type"]
    assert [entry["file"] for entry in manifest["images"]] == [
        "0001.jpg",
        "0002.png",
        "0003.jpg",
        "0004.png",
        "0005.jpg",
        "0006.png",
    ]

    filtered = {item["position"]: item["reason"] for item in manifest["filtered"]}
    expected_reasons = {
        3: "400x300 is smaller than the minimum width 800",
        4: "format gif is not among jpeg, png",
        5: "format webp is not among jpeg, png",
        6: "1000x500 is smaller than the minimum height 600",
    }
    for n in range(1, 13):
        if not _passes(n):
            assert filtered[n] == expected_reasons[(n - 1) % 6 + 1], n
    skipped = {item["position"]: item["reason"] for item in manifest["skipped"]}
    assert set(skipped.values()) == {"not needed: the job had its 6 images"}
    # Every link is accounted for, once: zipped, filtered out, or not needed.
    zipped = [entry["link_position"] for entry in manifest["images"]]
    assert sorted(zipped + list(filtered) + list(skipped)) == list(range(1, 25))
    assert skipped, "with two downloads at once, the last links are never fetched"
    assert 24 in skipped
    assert manifest["failed"] == []
    assert manifest["filters"] == {"safe": "moderate", "min_width": 800, "min_height": 600, "formats": ["jpeg", "png"]}
    assert manifest["engine_filters"] == ENGINE_FILTERS

    rows = list(csv.DictReader(io.StringIO(archive.read("manifest.csv").decode("utf-8-sig"))))
    statuses = {int(row["link_position"]): row["status"] for row in rows}
    assert [p for p, status in statuses.items() if status == "ok"] == wanted
    assert {p for p, status in statuses.items() if status == "filtered"} == set(filtered)
    gif_row = next(row for row in rows if row["status"] == "filtered" and row["content_type"] == "image/gif")
    assert (gif_row["width"], gif_row["height"], gif_row["reason"]) == ("1000", "800", expected_reasons[4])

    done = adapters.store.get_job(job.id)
    assert done is not None and done.status is JobStatus.READY
    assert (done.progress.images_downloaded, done.progress.images_failed) == (6, 0)
    assert done.note == f"found 24 links for 6 images (bing); {len(filtered)} images did not meet the filters"


def test_a_job_short_of_qualifying_images_delivers_those_there_are(
    web: FakeWeb, adapters: Adapters, running: EventRecorder
) -> None:
    urls = [f"{web.url}/img/{n}.jpg?mix=1" for n in range(1, 13)]  # 4 of the 12 pass
    job = _job(adapters, urls, count=6, filters=SIZED)
    adapters.bus.publish(Event(JOB_LINKS_COLLECTED, job.id, {"links": 12}))
    [ready] = running.wait_for(JOB_READY, timeout=WAIT)
    manifest: dict[str, Any] = json.loads(_zip(adapters, job).read("manifest.json"))
    assert [entry["link_position"] for entry in manifest["images"]] == [1, 2, 7, 8]
    assert len(manifest["filtered"]) == 8 and "skipped" not in manifest
    assert manifest["engine_filters"] == {}, "an event without the record: nothing is made up"
    assert ready.payload == {"images": 4, "failed": 0}


def test_a_job_none_of_whose_images_pass_fails_saying_so(
    web: FakeWeb, adapters: Adapters, running: EventRecorder
) -> None:
    urls = [f"{web.url}/img/{n}.jpg?mix=1" for n in (3, 4, 9)]  # small, gif, small
    job = _job(adapters, urls, count=2, filters=SIZED)
    adapters.bus.publish(Event(JOB_LINKS_COLLECTED, job.id, {"links": 3}))
    [failed] = running.wait_for(JOB_FAILED, timeout=WAIT)
    assert failed.payload["reason"] == (
        "none of the 3 images met the filters: 400x300 is smaller than the minimum width 800,"
        " format gif is not among jpeg, png"
    )
    assert adapters.blobs.size(job.zip_key) is None
