"""Only what is new: a run of a series skips the images an earlier run delivered, by normalised URL and
by SHA-256, downloads more links in their place, and says in its manifest how many it skipped."""

from __future__ import annotations

import csv
import io
import json
import uuid
import zipfile
from collections.abc import Iterator
from dataclasses import replace
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from services.packager.download import Downloader
from services.packager.handlers import package_job
from services.scraper.series import links_for_series
from shared.domain.model import Job, JobStatus, Link
from shared.domain.series import Series
from shared.ports import Adapters
from tests.fakeweb import FakeWeb
from tests.support import embedded_adapters, new_job


@pytest.fixture(scope="module")
def web() -> Iterator[FakeWeb]:
    with FakeWeb() as server:
        yield server


@pytest.fixture
def adapters(tmp_path: Path) -> Iterator[Adapters]:
    built = embedded_adapters(tmp_path)
    yield built
    built.close()


def series_of(adapters: Adapters, count: int) -> Series:
    now = adapters.clock()
    series = Series(
        uuid.uuid4().hex, "patterns", "p@example.com", count, "UTC", "day", "0 9 * * *", now,
        now + timedelta(days=10), now,
    )  # fmt: skip
    adapters.store.add_series(series, series.purge_after(adapters.settings.link_ttl))
    return series


def run_with_links(adapters: Adapters, series: Series, day: int, urls: list[str]) -> Job:
    """A run of the series in packaging, with `urls` as its links, as the scraper leaves it."""
    job = replace(
        series.run_at(adapters.clock() - timedelta(hours=10 - day), adapters.clock()),
        status=JobStatus.PACKAGING,
        started_at=adapters.clock(),
    )
    assert adapters.store.add_run(job)
    adapters.store.save_links(job.id, [Link(i, url, provider="bing") for i, url in enumerate(urls, 1)])
    return job


def delivered(adapters: Adapters, job: Job) -> tuple[dict[str, Any], list[dict[str, str]]]:
    ready = adapters.store.get_job(job.id)
    assert ready is not None and ready.status is JobStatus.READY, ready
    archive = zipfile.ZipFile(io.BytesIO(b"".join(adapters.blobs.read(job.zip_key))))
    rows = list(csv.DictReader(io.StringIO(archive.read("manifest.csv").decode("utf-8-sig"))))
    return json.loads(archive.read("manifest.json")), rows


def test_a_later_run_skips_what_an_earlier_one_delivered_and_still_gets_its_count(
    web: FakeWeb, adapters: Adapters
) -> None:
    series = series_of(adapters, count=3)
    downloader = Downloader.from_settings(adapters.settings)
    first = run_with_links(adapters, series, 1, [f"{web.url}/img/{n}.jpg" for n in (1, 2, 3)])
    package_job(adapters, downloader, first)
    first_manifest, _ = delivered(adapters, first)
    assert first_manifest["skipped_as_delivered"] == 0 and len(first_manifest["images"]) == 3
    first_digests = {image["sha256"] for image in first_manifest["images"]}
    # The scraper asks the engines for as many more links as the series has delivered URLs.
    later = series.run_at(adapters.clock() + timedelta(days=1), adapters.clock())
    assert links_for_series(adapters, later, 3) == 6
    assert links_for_series(adapters, new_job(adapters.clock), 3) == 3

    urls = [
        f"{web.url.upper().replace('HTTP://', 'http://')}/img/1.jpg#again",  # the same URL, once normalised
        f"{web.url}/img/2.jpg?size=200",  # another URL, the same bytes as run 1's second image
        *(f"{web.url}/img/{n}.jpg" for n in (4, 5, 6, 7, 8)),
    ]
    second = run_with_links(adapters, series, 2, urls)
    package_job(adapters, downloader, second)
    manifest, rows = delivered(adapters, second)
    assert len(manifest["images"]) == 3
    assert first_digests.isdisjoint(image["sha256"] for image in manifest["images"])
    assert manifest["skipped_as_delivered"] == 2
    assert [row["url"] for row in manifest["already_delivered"]] == urls[:2]
    assert [row["url"] for row in rows if row["status"] == "already_delivered"] == urls[:2]
    # What the second run delivered joins the set: a third run would skip it too.
    third = run_with_links(adapters, series, 3, [image["url"] for image in manifest["images"]])
    package_job(adapters, downloader, third)
    failed = adapters.store.get_job(third.id)
    assert failed is not None and failed.status is JobStatus.FAILED
    assert failed.failure_reason == "no new images: the 3 found had all been delivered by earlier runs of this series"


def test_the_series_keeps_keyed_hashes_only(web: FakeWeb, adapters: Adapters, tmp_path: Path) -> None:
    series = series_of(adapters, count=2)
    job = run_with_links(adapters, series, 1, [f"{web.url}/img/{n}.png" for n in (11, 12)])
    package_job(adapters, Downloader.from_settings(adapters.settings), job)
    manifest, _ = delivered(adapters, job)
    adapters.store.purge_job(job.id)  # the run's own records (its links, its URLs) go at its expiry
    data = b"".join(p.read_bytes() for p in tmp_path.glob("imgjob.sqlite3*") if p.is_file())
    assert adapters.store.delivered_url_count(series.id) == 2
    for image in manifest["images"]:
        assert image["sha256"].encode() not in data
        assert image["url"].encode() not in data
