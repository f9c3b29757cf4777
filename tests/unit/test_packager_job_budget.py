"""A job's byte budget (IMGJOB_MAX_JOB_BYTES): downloads stop once it is full, and a job starts only
if the blob store and the local disk where images wait for the zip have room for it. On the embedded
adapters, with the fake image host on loopback."""

from __future__ import annotations

import csv
import io
import json
import shutil
import tempfile
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests

from services.notifier.emails import render
from services.packager.budget import JobByteBudget
from services.packager.fetch import Fetcher, FetchFailed, Limits
from services.packager.guard import AddressPolicy, guarded_pool
from services.packager.service import build_service
from shared.domain.model import Job, JobStatus
from shared.events import JOB_FAILED, JOB_LINKS_COLLECTED, JOB_READY, Event
from shared.ports import Adapters
from shared.runtime import Runner
from tests.fakeweb import FakeWeb
from tests.support import EventRecorder, embedded_adapters, packaging_job

WAIT = 60.0
PAD_KB = 40
IMAGE_BYTES = 41028  # what /img/<n>.jpg?pad_kb=40&size=64 weighs, whatever n (checked below)
BUDGET = IMAGE_BYTES * 7 // 2  # room for three images and a half
REASON = f"job byte budget of {BUDGET} bytes reached"


@pytest.fixture(scope="module")
def web() -> Iterator[FakeWeb]:
    with FakeWeb() as server:
        yield server


def _urls(web: FakeWeb, count: int) -> list[str]:
    return [f"{web.url}/img/{n}.jpg?pad_kb={PAD_KB}&size=64" for n in range(1, count + 1)]


def _image_requests(web: FakeWeb) -> int:
    return int(requests.get(f"{web.url}/img/stats", timeout=5).json()["requests"])


def _run(adapters: Adapters, job: Job, outcome: str) -> Event:
    recorder = EventRecorder(adapters, "test.outgoing", [JOB_READY, JOB_FAILED])
    runner = Runner(adapters, [build_service(adapters)])
    runner.start()
    try:
        adapters.bus.publish(Event(JOB_LINKS_COLLECTED, job.id, {"links": len(adapters.store.get_links(job.id))}))
        [event] = recorder.wait_for(outcome, job_id=job.id, timeout=WAIT)
    finally:
        runner.stop()
    return event


def _manifest(adapters: Adapters, job: Job) -> tuple[dict[str, Any], list[dict[str, str]]]:
    archive = zipfile.ZipFile(io.BytesIO(b"".join(adapters.blobs.read(job.zip_key))))
    rows = list(csv.DictReader(io.StringIO(archive.read("manifest.csv").decode("utf-8-sig"))))
    return json.loads(archive.read("manifest.json")), rows


def _blob_files(tmp_path: Path) -> list[str]:
    root = tmp_path / "blobs"
    return sorted(p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file())


def test_the_fake_images_weigh_what_the_budget_assumes(web: FakeWeb) -> None:
    for url in _urls(web, 3):
        assert len(requests.get(url, timeout=5).content) == IMAGE_BYTES


def test_a_full_budget_stops_the_downloads_and_the_job_is_ready_with_what_it_has(web: FakeWeb, tmp_path: Path) -> None:
    # One download at a time, so which images fit is known: the first three.
    adapters = embedded_adapters(tmp_path, max_job_bytes=BUDGET, download_concurrency=1)
    try:
        urls = _urls(web, 10)
        job = packaging_job(adapters, urls, query="budget", found_on_pages=True)
        before = _image_requests(web)

        ready = _run(adapters, job, JOB_READY)

        assert ready.payload == {"images": 3, "failed": 7}
        # The 4th image's Content-Length did not fit: its body was never read, and 5 to 10 never asked for.
        assert _image_requests(web) - before == 4
        done = adapters.store.get_job(job.id)
        assert done is not None and done.status is JobStatus.READY
        assert done.progress.images_downloaded == 3 and done.progress.images_failed == 7
        assert done.progress.bytes_downloaded == 3 * IMAGE_BYTES <= BUDGET
        sentence = f"stopped at the job byte budget of {BUDGET} bytes: 7 of 10 images not downloaded"
        assert done.note is not None and done.note.endswith(sentence)

        manifest, rows = _manifest(adapters, job)
        assert [image["link_position"] for image in manifest["images"]] == [1, 2, 3]
        assert [(f["position"], f["url"], f["reason"]) for f in manifest["failed"]] == [
            (p, urls[p - 1], REASON) for p in range(4, 11)
        ]
        assert [(row["status"], row["reason"]) for row in rows] == [("ok", "")] * 3 + [("failed", REASON)] * 7
        assert _blob_files(tmp_path) == [job.zip_key]

        # The ready email says why some images are missing.
        mail = render("ready", done, adapters.settings)
        assert f"{sentence}." in mail.text and f"{sentence}." in mail.html
    finally:
        adapters.close()


def test_concurrent_downloads_never_store_more_than_the_budget(web: FakeWeb, tmp_path: Path) -> None:
    adapters = embedded_adapters(tmp_path, max_job_bytes=BUDGET, download_concurrency=4, download_per_host=4)
    try:
        urls = _urls(web, 40)
        job = packaging_job(adapters, urls, query="budget")
        before = _image_requests(web)

        _run(adapters, job, JOB_READY)

        # Three fit; each of the 4 workers had at most one image under way when the budget was reached.
        assert _image_requests(web) - before <= 3 + 4
        done = adapters.store.get_job(job.id)
        assert done is not None and done.status is JobStatus.READY
        manifest, _ = _manifest(adapters, job)
        assert len(manifest["images"]) == 3
        assert sum(image["bytes"] for image in manifest["images"]) <= BUDGET
        assert {f["reason"] for f in manifest["failed"]} == {REASON}
        assert len(manifest["failed"]) == 37
    finally:
        adapters.close()


def test_a_budget_smaller_than_any_image_fails_the_job(web: FakeWeb, tmp_path: Path) -> None:
    adapters = embedded_adapters(tmp_path, max_job_bytes=IMAGE_BYTES - 1)
    try:
        job = packaging_job(adapters, _urls(web, 5), query="budget")
        failed = _run(adapters, job, JOB_FAILED)
        reason = f"none of the 5 images could be downloaded: job byte budget of {IMAGE_BYTES - 1} bytes reached (5)"
        assert failed.payload == {"reason": reason}
        done = adapters.store.get_job(job.id)
        assert done is not None and done.status is JobStatus.FAILED and done.failure_reason == reason
        assert _blob_files(tmp_path) == []
    finally:
        adapters.close()


def test_a_job_bigger_than_the_free_disk_fails_before_any_download(web: FakeWeb, tmp_path: Path) -> None:
    huge = 10**18  # more than any disk under tmp_path holds
    adapters = embedded_adapters(tmp_path, max_job_bytes=huge)
    try:
        job = packaging_job(adapters, _urls(web, 5), query="budget")
        before = _image_requests(web)

        failed = _run(adapters, job, JOB_FAILED)

        reason = f"not enough free storage space for the job byte budget of {huge} bytes; please try again later"
        assert failed.payload == {"reason": reason}
        done = adapters.store.get_job(job.id)
        assert done is not None and done.status is JobStatus.FAILED and done.failure_reason == reason
        assert _image_requests(web) == before, "nothing was downloaded"
        assert done.progress.images_downloaded == done.progress.images_failed == 0
        assert _blob_files(tmp_path) == []
    finally:
        adapters.close()


def test_a_job_bigger_than_the_free_local_disk_fails_before_any_download(
    web: FakeWeb, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The blob store has room, but the disk where images wait for the zip (the temporary directory) not.
    scratch = Path(tempfile.gettempdir())
    real_usage = shutil.disk_usage

    def usage(path: str | Path) -> Any:
        found = real_usage(path)
        return found._replace(free=1000) if Path(path) == scratch else found

    monkeypatch.setattr(shutil, "disk_usage", usage)
    adapters = embedded_adapters(tmp_path, max_job_bytes=BUDGET)
    try:
        adapters.blobs.ensure_room(BUDGET)
        job = packaging_job(adapters, _urls(web, 5), query="budget")
        before = _image_requests(web)

        failed = _run(adapters, job, JOB_FAILED)

        reason = f"not enough free local disk space for the job byte budget of {BUDGET} bytes; please try again later"
        assert failed.payload == {"reason": reason}
        assert _image_requests(web) == before, "nothing was downloaded"
        assert _blob_files(tmp_path) == []
    finally:
        adapters.close()


def test_the_budget_counts_what_fits_and_stays_reached() -> None:
    budget = JobByteBudget(100)
    assert budget.stop_reason() is None
    assert budget.take(60) and budget.used == 60
    assert budget.stop_reason(40) is None, "exactly full still fits"
    assert not budget.reached
    assert not budget.take(41), "more than what is left"
    assert budget.reached and budget.used == 60
    assert budget.stop_reason() == budget.reason == "job byte budget of 100 bytes reached"
    assert not budget.take(1), "once reached, nothing more, not even what would fit"
    assert JobByteBudget(0).limit == 1


@pytest.mark.parametrize("no_length", [False, True], ids=["content-length", "streamed"])
def test_the_fetcher_gives_up_an_image_that_cannot_fit(web: FakeWeb, tmp_path: Path, no_length: bool) -> None:
    temp = tmp_path / "temp"
    temp.mkdir()
    fetcher = Fetcher(guarded_pool(AddressPolicy(allow_private=True)), Limits(retries=0), per_host=2, temp_dir=temp)
    budget = JobByteBudget(100_000)
    asked: list[int] = []

    def stop(size: int) -> str | None:
        asked.append(size)
        return budget.stop_reason(size)

    url = f"{web.url}/img/1.jpg?pad_kb=1000&size=64" + ("&no_length=1" if no_length else "")
    with pytest.raises(FetchFailed) as failed:
        fetcher.fetch(url, stop=stop)
    assert failed.value.reason == "job byte budget of 100000 bytes reached"
    assert budget.reached
    if no_length:
        assert 100_000 < asked[-1] < 1000 * 1024, "given up as soon as it could not fit, not at its end"
    else:
        assert len(asked) == 2 and asked[0] == 0 and asked[1] >= 1000 * 1024, "given up on its Content-Length"
    assert list(temp.iterdir()) == [], "no temporary file left behind"
    # Once reached, the next image is not even requested.
    before = _image_requests(web)
    with pytest.raises(FetchFailed):
        fetcher.fetch(f"{web.url}/img/2.jpg", stop=stop)
    assert _image_requests(web) == before
