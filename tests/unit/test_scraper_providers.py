"""Google, DuckDuckGo, Bing and Brave in a real local Chromium against the fake engines: 500 links, running out,
blocks that hand the job to the next provider, and which provider found which link."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from services.scraper.providers.google import STALE_ROUNDS, GoogleProvider
from shared.adapters.selenium.browsers import LocalChromium
from shared.domain.model import JobStatus
from shared.events import JOB_FAILED, JOB_LINKS_COLLECTED
from tests.fakeweb import FakeWeb
from tests.support.scraping import scrape_job

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def web() -> Iterator[FakeWeb]:
    with FakeWeb() as running:
        yield running


def image_urls(web: FakeWeb, numbers: range, ext: str = "jpg") -> list[str]:
    return [f"{web.url}/img/{n}.{ext}" for n in numbers]


@pytest.mark.parametrize("provider", ["google", "duckduckgo", "bing", "brave"])
def test_500_links_from_an_engine_with_600(tmp_path: Path, web: FakeWeb, provider: str) -> None:
    engines = {
        "google": web.google_url(total=600),
        "duckduckgo": web.duckduckgo_url(total=600),
        "bing": web.bing_url(total=600),
        "brave": web.brave_url(total=600, page=600),  # more on one page than the real one shows
    }
    base = engines[provider]
    began = time.monotonic()
    job, links, event = scrape_job(tmp_path, {provider: base}, count=500)
    elapsed = time.monotonic() - began
    assert event.type == JOB_LINKS_COLLECTED and event.payload == {"links": 500}
    assert [link.url for link in links] == image_urls(web, range(1, 501))
    assert [link.position for link in links] == list(range(1, 501))
    assert {link.provider for link in links} == {provider}
    assert [link.page_url for link in links[:2]] == [f"{base}/page/1", f"{base}/page/2"]
    assert {(link.width, link.height) for link in links} == {(200, 200)}
    assert job.status is JobStatus.PACKAGING
    assert job.progress.links_found == 500
    assert job.note == f"found 500 of 500 requested ({provider})"
    # Loose: the CPU is shared; the benchmark measures speed properly.
    assert elapsed < 90, f"{provider}: 500 links took {elapsed:.1f} s"


@pytest.mark.parametrize("provider", ["google", "duckduckgo"])
def test_an_engine_that_runs_out_gives_what_it_has_and_says_so(tmp_path: Path, web: FakeWeb, provider: str) -> None:
    base = {"google": web.google_url, "duckduckgo": web.duckduckgo_url}[provider](total=130)
    job, links, _ = scrape_job(tmp_path, {provider: base}, count=300)
    assert [link.url for link in links] == image_urls(web, range(1, 131))
    assert job.status is JobStatus.PACKAGING
    assert job.note == "found 130 of 300 requested: the search ran out of results"


def test_blocked_engines_are_skipped_with_the_reason_and_the_next_one_finishes(tmp_path: Path, web: FakeWeb) -> None:
    providers = {
        "google": web.google_url(total=600, captcha=True),
        "duckduckgo": web.duckduckgo_url(total=600, consent="wall"),
        "brave": web.brave_url(total=600, ratelimit=True),
        "bing": web.bing_url(total=600),
    }
    job, links, _ = scrape_job(tmp_path, providers, count=100)
    assert [link.url for link in links] == image_urls(web, range(1, 101))
    assert {link.provider for link in links} == {"bing"}
    assert job.status is JobStatus.PACKAGING
    assert job.note == (
        'found 100 of 100 requested (bing; google: blocked by an "unusual traffic" page;'
        ' duckduckgo: blocked by a consent wall; brave: blocked by a "too many requests" page)'
    )


def test_a_block_midway_keeps_what_was_found_and_the_next_engine_adds_the_rest(tmp_path: Path, web: FakeWeb) -> None:
    # Google shows its sorry page on the second load; DuckDuckGo has the same images first (repeats that
    # must not count twice), then others.
    providers = {"google": web.google_url(total=600, captcha=2), "duckduckgo": web.duckduckgo_url(total=600)}
    job, links, _ = scrape_job(tmp_path, providers, count=250)
    assert [link.url for link in links] == image_urls(web, range(1, 251))
    assert [link.provider for link in links] == ["google"] * 100 + ["duckduckgo"] * 150
    assert job.note == "found 250 of 250 requested (google, duckduckgo)"


def test_providers_are_tried_in_the_configured_order(tmp_path: Path, web: FakeWeb) -> None:
    providers = {"duckduckgo": web.duckduckgo_url(total=40, ext="png"), "google": web.google_url(total=600)}
    _, links, _ = scrape_job(tmp_path, providers, count=60)
    assert [(link.url, link.provider) for link in links] == [
        (url, "duckduckgo") for url in image_urls(web, range(1, 41), "png")
    ] + [(url, "google") for url in image_urls(web, range(1, 21))]


@pytest.mark.parametrize("provider", ["google", "duckduckgo"])
def test_a_consent_interstitial_is_answered_in_the_browser(tmp_path: Path, web: FakeWeb, provider: str) -> None:
    base = {"google": web.google_url, "duckduckgo": web.duckduckgo_url}[provider](total=150, consent=True)
    job, links, _ = scrape_job(tmp_path, {provider: base}, count=120)
    assert [link.url for link in links] == image_urls(web, range(1, 121))
    assert job.note == f"found 120 of 120 requested ({provider})"


def test_every_engine_blocked_fails_the_job_naming_each_reason(tmp_path: Path, web: FakeWeb) -> None:
    providers = {
        "google": web.google_url(total=60, consent="wall"),
        "duckduckgo": web.duckduckgo_url(total=60, captcha=True),
    }
    job, links, event = scrape_job(tmp_path, providers, count=10)
    assert links == []
    assert event.type == JOB_FAILED
    assert job.status is JobStatus.FAILED
    assert job.failure_reason == (
        "no images found (google: blocked by a consent wall; duckduckgo: blocked by a CAPTCHA page)"
    )


def test_an_engine_that_silently_stops_is_left_after_a_few_empty_rounds(web: FakeWeb) -> None:
    # No end marker, no error page: further loads just fail. The search must end, not scroll forever.
    provider = GoogleProvider(web.google_url(total=600, stall=2), settle_timeout=0.5)
    progress: list[int] = []
    began = time.monotonic()
    with LocalChromium("/usr/bin/chromium", "/usr/bin/chromedriver", 30).session() as driver:
        result = provider.search(driver, "red fox", 500, progress.append)
    elapsed = time.monotonic() - began
    assert [image.url for image in result.images] == image_urls(web, range(1, 101))
    assert result.exhausted and result.blocked_reason is None
    assert progress == [100]
    assert elapsed >= STALE_ROUNDS * 0.5
    assert elapsed < 60
