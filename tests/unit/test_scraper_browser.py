"""The scraper with a real local Chromium against the fake Bing on loopback."""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from services.scraper.handlers import SearchFailed, on_job_started
from services.scraper.service import build_service
from shared.domain.model import Job, JobStatus, Link
from shared.events import JOB_FAILED, JOB_LINKS_COLLECTED, JOB_STARTED, Event
from shared.ports import Adapters
from shared.runtime import Runner
from tests.browser import chromium
from tests.fakeweb import FakeWeb
from tests.support import EventRecorder, SettableClock, embedded_adapters, new_job
from tests.support.network import free_port

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def web() -> Iterator[FakeWeb]:
    with FakeWeb() as running:
        yield running


def adapters_for(tmp_path: Path, bing_url: str, page_load_timeout: float = 30) -> Adapters:
    return embedded_adapters(
        tmp_path,
        SettableClock(),
        browser=chromium(page_load_timeout),
        search_providers=("bing",),
        search_urls={"bing": bing_url},
        allow_private_networks=True,
    )


def running_job(adapters: Adapters, count: int) -> Job:
    job = new_job(adapters.clock, count=count, query="red fox", status=JobStatus.RUNNING)
    adapters.store.add_job(job)
    return job


def stored(adapters: Adapters, job: Job) -> Job:
    current = adapters.store.get_job(job.id)
    assert current is not None
    return current


@dataclass(frozen=True)
class Search:
    """What a search left behind: the job's `until` events, the job and its links as stored, and every
    job.links_collected the bus carried."""

    events: list[Event]
    job: Job
    links: list[Link]
    links_collected: list[Event]


def search(tmp_path: Path, bing_url: str, count: int, until: str) -> Search:
    """Run the scraper's handler for a running job of `count` images against `bing_url`, until `until`."""
    adapters = adapters_for(tmp_path, bing_url)
    recorder = EventRecorder(adapters)
    adapters.bus.start()
    try:
        job = running_job(adapters, count=count)
        on_job_started(adapters, Event(JOB_STARTED, job.id))
        events = recorder.wait_for(until, job.id)
        return Search(events, stored(adapters, job), adapters.store.get_links(job.id), recorder.of(JOB_LINKS_COLLECTED))
    finally:
        adapters.close()


def test_collects_100_links_across_continuation_pages_through_the_bus(tmp_path: Path, web: FakeWeb) -> None:
    # overlap=2: each continuation batch repeats results, as Bing's does, and they must not count twice.
    adapters = adapters_for(tmp_path, web.bing_url(total=150, overlap=2))
    recorder = EventRecorder(adapters)
    runner = Runner(adapters, [build_service(adapters)])
    runner.start()
    try:
        job = running_job(adapters, count=100)
        began = time.monotonic()
        adapters.bus.publish(Event(JOB_STARTED, job.id))
        (event,) = recorder.wait_for(JOB_LINKS_COLLECTED, job.id, timeout=90)
        elapsed = time.monotonic() - began
        links = adapters.store.get_links(job.id)
        current = stored(adapters, job)
    finally:
        runner.stop()
    assert event.payload == {"links": 100}
    assert [link.position for link in links] == list(range(1, 101))
    assert [link.url for link in links] == [f"{web.url}/img/{n}.jpg" for n in range(1, 101)]
    assert {link.provider for link in links} == {"bing"}
    assert all(link.page_url and link.width and link.height for link in links)
    assert current.status is JobStatus.PACKAGING
    assert current.progress.links_found == 100
    assert current.note == "found 100 of 100 requested (bing)"
    assert elapsed < 60, f"collecting 100 links took {elapsed:.1f} s"


def test_an_engine_that_runs_out_gives_what_it_has_and_says_so(tmp_path: Path, web: FakeWeb) -> None:
    found = search(tmp_path, web.bing_url(total=20), count=50, until=JOB_LINKS_COLLECTED)
    (event,) = found.events
    assert event.payload == {"links": 20}
    assert [link.url for link in found.links] == [f"{web.url}/img/{n}.jpg" for n in range(1, 21)]
    assert found.job.status is JobStatus.PACKAGING
    assert found.job.note == "found 20 of 50 requested: the search ran out of results"


def test_a_captcha_fails_the_job_and_says_why(tmp_path: Path, web: FakeWeb) -> None:
    found = search(tmp_path, web.bing_url(total=60, captcha=True), count=10, until=JOB_FAILED)
    (event,) = found.events
    assert found.links == []
    assert found.links_collected == []
    assert found.job.status is JobStatus.FAILED
    assert found.job.failure_reason == "no images found (bing: blocked by a CAPTCHA page)"
    assert "CAPTCHA" in event.payload["reason"]


def test_a_captcha_after_the_first_page_keeps_what_was_found(tmp_path: Path, web: FakeWeb) -> None:
    found = search(tmp_path, web.bing_url(total=150, captcha=2), count=100, until=JOB_LINKS_COLLECTED)
    (event,) = found.events
    assert event.payload == {"links": 35}
    assert found.job.status is JobStatus.PACKAGING
    assert found.job.note == "found 35 of 100 requested: bing: blocked by a CAPTCHA page after 35 links"


def test_a_consent_wall_fails_the_job(tmp_path: Path, web: FakeWeb) -> None:
    found = search(tmp_path, web.bing_url(total=60, consent=True), count=10, until=JOB_FAILED)
    assert found.job.failure_reason == "no images found (bing: blocked by a consent wall)"


def test_an_engine_that_does_not_answer_in_time_is_retried_not_failed(tmp_path: Path, web: FakeWeb) -> None:
    adapters = adapters_for(tmp_path, web.bing_url(total=60, delay_ms=4000), page_load_timeout=1)
    try:
        job = running_job(adapters, count=10)
        with pytest.raises(SearchFailed, match="bing: browser error"):
            on_job_started(adapters, Event(JOB_STARTED, job.id))
        # Still running: the bus delivers the event again, and the job is failed only after the last try.
        assert stored(adapters, job).status is JobStatus.RUNNING
    finally:
        adapters.close()


def test_engines_that_cannot_be_reached_fail_the_job_now_saying_so(tmp_path: Path) -> None:
    # Nothing listens on the port: Chrome answers net::ERR_CONNECTION_REFUSED, as with no network or DNS.
    found = search(tmp_path, f"http://127.0.0.1:{free_port()}", count=10, until=JOB_FAILED)
    assert found.job.status is JobStatus.FAILED
    assert (
        found.job.failure_reason
        == "no search engine could be reached (bing: could not be reached (net::ERR_CONNECTION_REFUSED))"
    )
