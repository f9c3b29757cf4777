"""The scraper handler's decisions that need no browser: redeliveries, finished jobs, no usable provider."""

from __future__ import annotations

import contextlib
from pathlib import Path

import pytest

from services.scraper import handlers
from services.scraper.collect import Collection, Outcome, plan
from services.scraper.handlers import on_job_started
from services.scraper.providers.bing import BingProvider, page_cap
from services.scraper.service import build_service
from shared.domain.model import JobStatus, Link
from shared.events import JOB_FAILED, JOB_LINKS_COLLECTED, JOB_STARTED, QUEUE_SCRAPER, Event
from shared.ports import Adapters
from tests.support import EventRecorder, SettableClock, new_job


@pytest.fixture
def settings_changes(tmp_path: Path) -> dict[str, object]:
    # A browser that cannot start and no engine addresses: these paths must never open one.
    return {
        "search_providers": ("google", "altavista"),
        "search_urls": {},
        "chromium_path": str(tmp_path / "no-chromium"),
        "chromedriver_path": str(tmp_path / "no-chromedriver"),
    }


def started(job_id: str) -> Event:
    return Event(JOB_STARTED, job_id)


def test_a_vanished_job_is_ignored(adapters: Adapters, recorder: EventRecorder) -> None:
    on_job_started(adapters, started("nope"))
    assert adapters.bus.wait_idle(5)
    assert recorder.events == []


@pytest.mark.parametrize("status", [JobStatus.CANCELLED, JobStatus.FAILED, JobStatus.READY, JobStatus.EXPIRED])
def test_a_job_that_is_not_running_is_left_alone(
    adapters: Adapters, recorder: EventRecorder, clock: SettableClock, status: JobStatus
) -> None:
    job = new_job(clock, status=status)
    adapters.store.add_job(job)
    on_job_started(adapters, started(job.id))
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
    on_job_started(adapters, started(job.id))
    (event,) = recorder.wait_for(JOB_LINKS_COLLECTED, job.id)
    assert event.payload == {"links": 2}
    assert adapters.store.get_links(job.id) == links


def test_no_usable_provider_fails_the_job_without_opening_a_browser(
    adapters: Adapters, recorder: EventRecorder, clock: SettableClock
) -> None:
    job = new_job(clock, status=JobStatus.RUNNING)
    adapters.store.add_job(job)
    on_job_started(adapters, started(job.id))
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
    assert service.queue == QUEUE_SCRAPER
    assert set(service.handlers) == {JOB_STARTED}


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


def test_a_scraper_that_finishes_after_its_job_failed_keeps_no_links(
    adapters: Adapters, recorder: EventRecorder, clock: SettableClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    job = new_job(clock, status=JobStatus.RUNNING)
    adapters.store.add_job(job)
    links = [Link(1, "http://127.0.0.1/img/1.jpg", None, "bing")]

    def collect_while_the_sweeper_fails_the_job(*args: object) -> Collection:
        current = adapters.store.get_job(job.id)
        assert current is not None
        failed = current.finish(JobStatus.FAILED, clock(), 60, failure_reason="stuck")
        assert adapters.store.transition(failed, [JobStatus.RUNNING])
        return Collection(links, [Outcome("bing", "found 1", 1)])

    monkeypatch.setattr(handlers, "plan", lambda *args: plan(("bing",), {"bing": "http://127.0.0.1:1/bing"}))
    monkeypatch.setattr(handlers, "open_session", lambda *args: contextlib.nullcontext())
    monkeypatch.setattr(handlers, "collect_links", collect_while_the_sweeper_fails_the_job)
    on_job_started(adapters, started(job.id))
    assert adapters.bus.wait_idle(5)
    assert adapters.store.get_links(job.id) == []
    assert recorder.of(JOB_LINKS_COLLECTED, job.id) == []
