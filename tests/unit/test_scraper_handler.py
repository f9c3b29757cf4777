"""The scraper handler's decisions that need no browser: redeliveries, finished jobs, no usable provider."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from services.scraper.collect import Collection, Outcome, plan
from services.scraper.handlers import handle_job_started
from services.scraper.providers.bing import BingProvider, page_cap
from services.scraper.service import build_service
from shared.bootstrap import Adapters
from shared.domain.model import JobStatus, Link
from shared.events import JOB_FAILED, JOB_LINKS_COLLECTED, JOB_STARTED, QUEUE_SCRAPER, Event
from tests.support import EventRecorder, SettableClock, embedded_adapters, new_job


@pytest.fixture
def clock() -> SettableClock:
    return SettableClock()


def make_adapters(tmp_path: Path, clock: SettableClock, providers: tuple[str, ...]) -> Adapters:
    # A browser that cannot start and no engine addresses: these paths must never open one.
    return embedded_adapters(
        tmp_path,
        clock=clock,
        search_providers=providers,
        search_urls={},
        chromium_path=str(tmp_path / "no-chromium"),
        chromedriver_path=str(tmp_path / "no-chromedriver"),
    )


@pytest.fixture
def adapters(tmp_path: Path, clock: SettableClock) -> Iterator[Adapters]:
    built = make_adapters(tmp_path, clock, ("google", "altavista"))
    yield built
    built.close()


@pytest.fixture
def recorder(adapters: Adapters) -> EventRecorder:
    events = EventRecorder(adapters)
    adapters.bus.start()
    return events


def started(job_id: str) -> Event:
    return Event(JOB_STARTED, job_id)


def test_a_vanished_job_is_ignored(adapters: Adapters, recorder: EventRecorder) -> None:
    handle_job_started(adapters, started("nope"))
    assert adapters.bus.wait_idle(5)
    assert recorder.events == []


@pytest.mark.parametrize("status", [JobStatus.CANCELLED, JobStatus.FAILED, JobStatus.READY, JobStatus.EXPIRED])
def test_a_job_that_is_not_running_is_left_alone(
    adapters: Adapters, recorder: EventRecorder, clock: SettableClock, status: JobStatus
) -> None:
    job = new_job(clock, status=status)
    adapters.store.add_job(job)
    handle_job_started(adapters, started(job.id))
    assert adapters.bus.wait_idle(5)
    assert recorder.events == []
    stored = adapters.store.get_job(job.id)
    assert stored is not None and stored.status is status


def test_a_redelivery_after_collecting_announces_the_links_again(
    adapters: Adapters, recorder: EventRecorder, clock: SettableClock
) -> None:
    job = new_job(clock, status=JobStatus.PACKAGING)
    adapters.store.add_job(job)
    links = [Link(1, "http://127.0.0.1/img/1.jpg", None, "bing"), Link(2, "http://127.0.0.1/img/2.jpg", None, "bing")]
    adapters.store.save_links(job.id, links)
    handle_job_started(adapters, started(job.id))
    (event,) = recorder.wait_for(JOB_LINKS_COLLECTED, job.id)
    assert event.payload == {"links": 2}
    assert adapters.store.get_links(job.id) == links


def test_no_usable_provider_fails_the_job_without_opening_a_browser(
    adapters: Adapters, recorder: EventRecorder, clock: SettableClock
) -> None:
    job = new_job(clock, status=JobStatus.RUNNING)
    adapters.store.add_job(job)
    handle_job_started(adapters, started(job.id))
    (event,) = recorder.wait_for(JOB_FAILED, job.id)
    stored = adapters.store.get_job(job.id)
    assert stored is not None and stored.status is JobStatus.FAILED
    assert stored.failure_reason == (
        "no usable search provider (google: no base URL configured; altavista: unknown search provider)"
    )
    assert event.payload["reason"] == stored.failure_reason


def test_the_service_consumes_the_scraper_queue(adapters: Adapters) -> None:
    service = build_service(adapters)
    assert service.name == "scraper"
    assert set(service.handlers) == {QUEUE_SCRAPER}


def test_plan_keeps_the_settings_order_and_says_why_a_provider_is_unusable() -> None:
    urls = {name: f"http://127.0.0.1:1/{name}/total=1" for name in ("google", "bing", "duckduckgo")}
    attempts = plan(("duckduckgo", "bing", "altavista", "google"), urls)
    assert [(a.name, type(a.provider).__name__, a.unavailable) for a in attempts] == [
        ("duckduckgo", "DuckDuckGoProvider", ""),
        ("bing", "BingProvider", ""),
        ("altavista", "NoneType", "unknown search provider"),
        ("google", "GoogleProvider", ""),
    ]
    assert plan(("bing",), {})[0].unavailable == "no base URL configured"


def test_notes_explain_a_shortfall() -> None:
    links = [Link(n, f"http://127.0.0.1/img/{n}.jpg", None, "bing") for n in range(1, 38)]
    ran_out = Collection(links, [Outcome("google", "not available yet"), Outcome("bing", "ran out", 37, ran_out=True)])
    assert ran_out.note(50) == "found 37 of 50 requested: the search ran out of results"
    blocked = Collection(links, [Outcome("bing", "blocked by a CAPTCHA page after 37 links", 37, stopped=True)])
    assert blocked.note(50) == "found 37 of 50 requested: bing: blocked by a CAPTCHA page after 37 links"
    assert Collection(links, [Outcome("bing", "found 37", 37)]).note(37) == "found 37 of 37 requested (bing)"
    skipped = Collection(
        links,
        [
            Outcome("google", "blocked by a consent wall", stopped=True),
            Outcome("duckduckgo", "not available yet"),
            Outcome("bing", "found 37", 37),
        ],
    )
    assert skipped.note(37) == "found 37 of 37 requested (bing; google: blocked by a consent wall)"


def test_bing_requests_the_real_engine_paths_under_its_base_url() -> None:
    provider = BingProvider("http://127.0.0.1:9/bing/total=5/")
    assert (
        provider.search_url("red fox") == "http://127.0.0.1:9/bing/total=5/images/search?q=red+fox&form=HDRSC2&first=1"
    )
    assert provider.async_url("red fox", 36) == (
        "http://127.0.0.1:9/bing/total=5/images/async?q=red+fox&first=36&count=35&mmasync=1"
    )
    assert page_cap(1) == 5
    assert page_cap(500) == 33
    assert page_cap(100_000) == 40
