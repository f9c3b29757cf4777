"""The packager service end to end on the embedded adapters, with the fake image host on loopback."""

from __future__ import annotations

import csv
import hashlib
import io
import json
import threading
import time
import zipfile
from collections.abc import Iterator
from dataclasses import replace
from datetime import timedelta
from pathlib import Path

import pytest
import requests
from PIL import Image

from services.packager.service import build_service
from shared.domain.model import Job, JobStatus
from shared.events import JOB_FAILED, JOB_LINKS_COLLECTED, JOB_READY, Event
from shared.ports import Adapters
from shared.runtime import Runner
from shared.tokens import download_token, token_hash
from tests.fakeweb import FakeWeb
from tests.support import EventRecorder, embedded_adapters, packaging_job

CAP_KB = 300
WAIT = 60.0  # seconds for a job to be packaged
PIL_TYPES = {"JPEG": "image/jpeg", "PNG": "image/png", "GIF": "image/gif", "WEBP": "image/webp"}


@pytest.fixture(scope="module")
def web() -> Iterator[FakeWeb]:
    with FakeWeb() as server:
        yield server


@pytest.fixture
def adapters(tmp_path: Path) -> Iterator[Adapters]:
    built = embedded_adapters(tmp_path, max_image_bytes=CAP_KB * 1024)
    yield built
    built.close()


@pytest.fixture
def running(adapters: Adapters) -> Iterator[EventRecorder]:
    # A queue bound to the packager's outgoing events, as the notifier's would be.
    recorder = EventRecorder(adapters, "test.outgoing", [JOB_READY, JOB_FAILED])
    runner = Runner(adapters, [build_service(adapters)])
    runner.start()
    yield recorder
    runner.stop()


def _packaging_job(adapters: Adapters, urls: list[str]) -> Job:
    return packaging_job(adapters, urls, query="fake images", timezone="Europe/Paris", found_on_pages=True)


def _read_zip(adapters: Adapters, job: Job) -> bytes:
    return b"".join(adapters.blobs.read(job.zip_key))


def _blob_files(tmp_path: Path) -> list[str]:
    root = tmp_path / "blobs"
    return sorted(p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file())


def test_a_job_with_failures_and_duplicates_becomes_ready(
    web: FakeWeb, adapters: Adapters, running: EventRecorder, tmp_path: Path
) -> None:
    base = web.url
    exts = ["jpg", "png", "gif", "webp"]
    urls = [f"{base}/img/{n}.{exts[n % 4]}?size={120 + n}" for n in range(1, 31)]
    failing = {
        5: ("?status=404", "HTTP 404"),
        9: ("?status=404", "HTTP 404"),
        12: ("?fail_every=4", "HTTP 500"),
        17: ("?status=500", "HTTP 500"),
        14: ("?wrong_type=1", "not an image"),
        25: (f"?pad_kb={CAP_KB + 100}", f"too large: over {CAP_KB} KB"),
    }
    for position, (query, _) in failing.items():
        urls[position - 1] = f"{base}/img/{position}.jpg{query}"
    urls[19] = urls[2]  # position 20: the same URL (and bytes) as position 3
    urls[25] = f"{base}/img/26.jpg?pad_kb={CAP_KB - 50}"  # large but under the cap
    urls[26] = f"{base}/img/27.png?redirect=2"
    urls[27] = f"{base}/img/28.png?redirect_to=/img/28.gif"  # named .png, really a GIF
    job = _packaging_job(adapters, urls)

    adapters.bus.publish(Event(JOB_LINKS_COLLECTED, job.id, {"links": len(adapters.store.get_links(job.id))}))
    [ready_event] = running.wait_for(JOB_READY, timeout=WAIT)

    assert ready_event.job_id == job.id
    assert ready_event.payload == {"images": 23, "failed": 6}
    done = adapters.store.get_job(job.id)
    assert done is not None and done.status is JobStatus.READY
    assert done.token_hash == token_hash(
        adapters.settings.secret_key, download_token(adapters.settings.secret_key, done.id)
    )
    assert done.finished_at is not None and done.expires_at == done.finished_at + timedelta(seconds=86400)

    raw = _read_zip(adapters, job)
    assert done.zip_bytes == len(raw) == adapters.blobs.size(job.zip_key)
    archive = zipfile.ZipFile(io.BytesIO(raw))
    manifest = json.loads(archive.read("manifest.json"))
    names = [info.filename for info in archive.infolist()]
    expected_files = [entry["file"] for entry in manifest["images"]]
    assert names == [*expected_files, "manifest.csv", "manifest.json"]
    assert [int(name[:4]) for name in expected_files] == list(range(1, 24))

    # Kept in link order, without the failures and without the duplicate of position 3.
    kept_positions = [p for p in range(1, 31) if p not in failing and p != 20]
    assert [entry["url"] for entry in manifest["images"]] == [urls[p - 1] for p in kept_positions]
    assert [entry["link_position"] for entry in manifest["images"]] == kept_positions

    for entry in manifest["images"]:
        data = archive.read(entry["file"])
        info = archive.getinfo(entry["file"])
        with Image.open(io.BytesIO(data)) as image:
            image.load()
            assert PIL_TYPES[str(image.format)] == entry["content_type"]
            assert image.size == (entry["width"], entry["height"])
        assert hashlib.sha256(data).hexdigest() == entry["sha256"]
        assert len(data) == entry["bytes"]
        assert entry["page_url"] == f"https://pages.example/{entry['link_position']}"
        assert entry["provider"] == "bing"
        assert info.compress_type == zipfile.ZIP_STORED, "images are already compressed"
    assert archive.getinfo("manifest.csv").compress_type == zipfile.ZIP_DEFLATED
    assert archive.getinfo("manifest.json").compress_type == zipfile.ZIP_DEFLATED

    by_url = {entry["url"]: entry for entry in manifest["images"]}
    assert by_url[urls[27]]["file"].endswith(".gif") and by_url[urls[27]]["content_type"] == "image/gif"
    assert by_url[urls[0]]["width"] == 121
    assert by_url[urls[25]]["bytes"] >= (CAP_KB - 50) * 1024

    assert {(f["position"], f["url"], f["reason"]) for f in manifest["failed"]} == {
        (p, urls[p - 1], reason) for p, (_, reason) in failing.items()
    }
    [duplicate] = manifest["duplicates"]
    assert duplicate["link_position"] == 20 and duplicate["same_as"] == by_url[urls[2]]["file"]

    rows = list(csv.DictReader(io.StringIO(archive.read("manifest.csv").decode("utf-8-sig"))))
    assert [row["status"] for row in rows].count("ok") == 23
    assert [row["status"] for row in rows].count("failed") == 6
    assert [row["status"] for row in rows].count("duplicate") == 1
    assert [int(row["link_position"]) for row in rows] == list(range(1, 31))
    assert {row["url"]: row["reason"] for row in rows if row["status"] == "failed"} == {
        urls[p - 1]: reason for p, (_, reason) in failing.items()
    }
    ok_rows = [row for row in rows if row["status"] == "ok"]
    assert [(row["file"], row["sha256"]) for row in ok_rows] == [(e["file"], e["sha256"]) for e in manifest["images"]]

    assert done.progress.images_downloaded == 23
    assert done.progress.images_failed == 6
    assert done.progress.bytes_downloaded == sum(entry["bytes"] for entry in manifest["images"])
    assert _blob_files(tmp_path) == [job.zip_key], "single images are deleted once the zip holds them"


def test_a_job_whose_images_all_fail_is_failed(web: FakeWeb, adapters: Adapters, running: EventRecorder) -> None:
    urls = [f"{web.url}/img/{n}.jpg?status=404" for n in range(1, 4)] + [f"{web.url}/img/4.jpg?wrong_type=1"]
    job = _packaging_job(adapters, urls)
    adapters.bus.publish(Event(JOB_LINKS_COLLECTED, job.id, {"links": len(adapters.store.get_links(job.id))}))
    [failed_event] = running.wait_for(JOB_FAILED, timeout=WAIT)
    reason = "none of the 4 images could be downloaded: HTTP 404 (3), not an image"
    assert failed_event.job_id == job.id and failed_event.payload == {"reason": reason}
    failed = adapters.store.get_job(job.id)
    assert failed is not None and failed.status is JobStatus.FAILED
    assert failed.failure_reason == reason
    assert failed.token_hash is None
    assert adapters.blobs.size(job.zip_key) is None
    assert (failed.progress.images_downloaded, failed.progress.images_failed) == (0, 4)
    assert not [e for e in running.events if e.type == JOB_READY]


def test_redelivery_to_a_ready_job_repeats_the_announcement_only(
    web: FakeWeb, adapters: Adapters, running: EventRecorder
) -> None:
    job = _packaging_job(adapters, [f"{web.url}/img/{n}.png" for n in range(1, 6)])
    adapters.bus.publish(Event(JOB_LINKS_COLLECTED, job.id, {"links": len(adapters.store.get_links(job.id))}))
    [first] = running.wait_for(JOB_READY, timeout=WAIT)
    ready = adapters.store.get_job(job.id)
    assert ready is not None
    zip_digest = hashlib.sha256(_read_zip(adapters, job)).hexdigest()
    requests_before = _image_requests(web)

    adapters.bus.publish(Event(JOB_LINKS_COLLECTED, job.id, {"links": len(adapters.store.get_links(job.id))}))
    second = running.wait_for(JOB_READY, count=2, timeout=WAIT)[1]

    again = adapters.store.get_job(job.id)
    assert again == ready, "no new token, no new expiry, nothing rewritten"
    assert second.payload == first.payload == {"images": 5, "failed": 0}
    assert second.event_id != first.event_id
    assert hashlib.sha256(_read_zip(adapters, job)).hexdigest() == zip_digest
    assert _image_requests(web) == requests_before, "nothing downloaded again"


def _image_requests(web: FakeWeb) -> int:
    return int(requests.get(f"{web.url}/img/stats", timeout=5).json()["requests"])


def test_a_job_redone_after_a_crash_leaves_no_stale_files(web: FakeWeb, adapters: Adapters, tmp_path: Path) -> None:
    job = _packaging_job(adapters, [f"{web.url}/img/{n}.jpg" for n in range(1, 4)])
    # What a packager that died after publishing its zip, before marking the job ready, leaves behind.
    with adapters.blobs.writer(job.zip_key) as stream:
        stream.write(b"left over")
    service = build_service(adapters)
    [handler] = service.handlers.values()
    handler(Event(JOB_LINKS_COLLECTED, job.id))

    assert _blob_files(tmp_path) == [job.zip_key]
    archive = zipfile.ZipFile(io.BytesIO(_read_zip(adapters, job)))
    assert archive.namelist() == ["0001.jpg", "0002.jpg", "0003.jpg", "manifest.csv", "manifest.json"]
    assert archive.read("0001.jpg") == requests.get(f"{web.url}/img/1.jpg", timeout=5).content


def test_forty_slow_images_download_concurrently(web: FakeWeb, adapters: Adapters) -> None:
    job = _packaging_job(adapters, [f"{web.url}/img/{n}.jpg?latency_ms=200" for n in range(1, 41)])
    [handler] = build_service(adapters).handlers.values()
    started = time.monotonic()
    handler(Event(JOB_LINKS_COLLECTED, job.id))
    elapsed = time.monotonic() - started
    done = adapters.store.get_job(job.id)
    assert done is not None and done.status is JobStatus.READY
    assert done.progress.images_downloaded == 40
    # Sequentially this is 40 x 0.2 s = 8 s; 8 per host in parallel makes it about 1 s.
    assert elapsed < 4.0, f"took {elapsed:.2f} s"


def _variants(base: str) -> tuple[list[str], dict[int, int]]:
    """Ten pictures, and copies of three of them resized or re-encoded: link position -> original's."""
    urls = [f"{base}/img/{n}.jpg" for n in range(1, 11)]
    copies = {11: 2, 12: 5, 13: 2, 14: 9}
    urls += [f"{base}/img/2.png?size=300", f"{base}/img/5.webp", f"{base}/img/2.jpg?pad_kb=30", f"{base}/img/9.gif"]
    return urls, copies


def test_near_duplicates_are_kept_unless_asked_for(web: FakeWeb, adapters: Adapters) -> None:
    urls, _ = _variants(web.url)
    job = _packaging_job(adapters, urls)
    [handler] = build_service(adapters).handlers.values()
    handler(Event(JOB_LINKS_COLLECTED, job.id))
    archive = zipfile.ZipFile(io.BytesIO(_read_zip(adapters, job)))
    manifest = json.loads(archive.read("manifest.json"))
    assert len(manifest["images"]) == 14 and manifest["duplicates"] == []


def test_near_duplicates_are_dropped_when_asked_for(web: FakeWeb, tmp_path: Path) -> None:
    built = embedded_adapters(tmp_path, max_image_bytes=CAP_KB * 1024, near_duplicates=True)
    try:
        urls, copies = _variants(web.url)
        job = _packaging_job(built, urls)
        [handler] = build_service(built).handlers.values()
        handler(Event(JOB_LINKS_COLLECTED, job.id))
        done = built.store.get_job(job.id)
        assert done is not None and done.status is JobStatus.READY
        archive = zipfile.ZipFile(io.BytesIO(_read_zip(built, job)))
    finally:
        built.close()
    manifest = json.loads(archive.read("manifest.json"))
    assert [entry["link_position"] for entry in manifest["images"]] == list(range(1, 11))
    assert archive.namelist() == [f"{n:04d}.jpg" for n in range(1, 11)] + ["manifest.csv", "manifest.json"]
    found = {d["link_position"]: (d["same_as"], d["distance"]) for d in manifest["duplicates"]}
    assert {position: same_as for position, (same_as, _) in found.items()} == {
        position: f"{original:04d}.jpg" for position, original in copies.items()
    }
    assert all(0 <= d <= 8 for _, d in found.values())
    assert found[13][1] == 0, "a padded copy has the very same pixels"
    assert (done.progress.images_downloaded, done.progress.images_failed) == (10, 0)
    assert done.progress.bytes_downloaded == sum(entry["bytes"] for entry in manifest["images"])
    rows = list(csv.DictReader(io.StringIO(archive.read("manifest.csv").decode("utf-8-sig"))))
    assert rows[10]["status"] == "duplicate"
    assert rows[10]["reason"] == f"looks like 0002.jpg (perceptual distance {found[11][1]} of 64)"


def test_progress_is_written_while_downloading(web: FakeWeb, adapters: Adapters) -> None:
    # 24 images, 4 at a time, 300 ms each: about 1.8 s, long enough to watch the counters move.
    urls = [f"{web.url}/img/{n}.png?latency_ms=300" for n in range(1, 21)]
    urls += [f"{web.url}/img/{n}.png?latency_ms=300&status=404" for n in range(21, 25)]
    job = _packaging_job(adapters, urls)
    downloader_settings = replace(adapters.settings, download_per_host=4)
    service = build_service(replace(adapters, settings=downloader_settings))
    [handler] = service.handlers.values()
    worker = threading.Thread(target=handler, args=(Event(JOB_LINKS_COLLECTED, job.id),))
    worker.start()
    seen: list[tuple[JobStatus, int, int, int]] = []
    while worker.is_alive():
        current = adapters.store.get_job(job.id)
        assert current is not None
        progress = current.progress
        seen.append((current.status, progress.images_downloaded, progress.images_failed, progress.bytes_downloaded))
        worker.join(timeout=0.05)
    during = [(d, f, b) for status, d, f, b in seen if status is JobStatus.PACKAGING]
    assert any(0 < d < 20 and b > 0 for d, _, b in during), f"no partial progress seen: {sorted(set(seen))}"
    assert [d for d, _, _ in during] == sorted(d for d, _, _ in during), "the counters never go backwards"
    done = adapters.store.get_job(job.id)
    assert done is not None and done.status is JobStatus.READY
    assert (done.progress.images_downloaded, done.progress.images_failed) == (20, 4)


def test_a_packager_that_finishes_after_its_job_failed_keeps_no_files(
    web: FakeWeb, adapters: Adapters, tmp_path: Path
) -> None:
    job = _packaging_job(adapters, [f"{web.url}/img/{n}.jpg" for n in range(1, 4)])
    store, update_progress = adapters.store, adapters.store.update_progress

    def the_sweeper_fails_it_meanwhile(job_id: str, **counters: int | None) -> None:
        update_progress(job_id, **counters)
        current = store.get_job(job_id)
        if current is not None and current.status is JobStatus.PACKAGING and counters.get("images_downloaded") == 3:
            failed = current.finish(JobStatus.FAILED, adapters.clock(), 60, failure_reason="stuck")
            assert store.transition(failed, [JobStatus.PACKAGING])

    store.update_progress = the_sweeper_fails_it_meanwhile  # type: ignore[method-assign]
    build_service(adapters).dispatch(Event(JOB_LINKS_COLLECTED, job.id))
    assert store.get_job(job.id).status is JobStatus.FAILED  # type: ignore[union-attr]
    assert _blob_files(tmp_path) == []
