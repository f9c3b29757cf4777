"""Browser sessions: a Grid that is down is retried with backoff, then the job fails with an email; a Grid
that comes back is used; and the session is closed whatever happens inside it."""

from __future__ import annotations

import logging
import os
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from services.notifier.service import build_service as build_notifier
from services.scraper.handlers import SearchFailed, on_job_started
from services.scraper.service import build_service as build_scraper
from services.scraper.session import BrowserUnavailable, open_session
from shared.adapters.selenium.browsers import GridBrowser, LocalChromium
from shared.config import Settings
from shared.domain.model import JobStatus
from shared.events import JOB_FAILED, JOB_LINKS_COLLECTED, JOB_STARTED, Event
from shared.runtime import Runner
from tests.fakeweb import FakeWeb
from tests.support import EventRecorder, embedded_adapters, new_job, read_outbox, text_part, wait_until
from tests.support.network import free_port

CHROMEDRIVER = "/usr/bin/chromedriver"


def chromedrivers_of_this_process() -> set[int]:
    """Pids of chromedriver processes this test process started and that are still running."""
    found = set()
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as stat:
                fields = stat.read().rsplit(")", 1)[1].split()
            with open(f"/proc/{entry}/comm") as comm:
                name = comm.read().strip()
        except OSError:
            continue
        if name == "chromedriver" and int(fields[1]) == os.getpid() and fields[0] != "Z":
            found.add(int(entry))
    return found


def test_a_grid_that_is_down_is_retried_then_the_job_fails_with_an_email(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    grid = f"http://127.0.0.1:{free_port()}"
    adapters = embedded_adapters(
        tmp_path,
        browser_url=grid,
        browser_tries=3,
        browser_retry_delay=0.2,
        search_providers=("bing",),
        search_urls={"bing": "http://127.0.0.1:9/bing/total=5"},
    )
    assert isinstance(adapters.browser, GridBrowser)
    recorder = EventRecorder(adapters)
    runner = Runner(adapters, [build_scraper(adapters), build_notifier(adapters)])
    runner.start()
    try:
        job = new_job(adapters.clock, query="red fox", status=JobStatus.RUNNING)
        adapters.store.add_job(job)
        began = time.monotonic()
        with caplog.at_level(logging.WARNING, logger="services.scraper.session"):
            adapters.bus.publish(Event(JOB_STARTED, job.id))
            (failed,) = recorder.wait_for(JOB_FAILED, job.id, timeout=30)
        elapsed = time.monotonic() - began
        outbox = Path(adapters.settings.mail_outbox)
        emails = wait_until(
            lambda: [m for m in read_outbox(outbox) if "could not be completed" in text_part(m)],
            timeout=15,
            what="the failure email",
        )
        stored = adapters.store.get_job(job.id)
    finally:
        runner.stop()
    assert stored is not None and stored.status is JobStatus.FAILED
    reason = stored.failure_reason or ""
    assert reason.startswith("the browser could not be started (3 tries): ")
    assert "Connection refused" in reason
    assert failed.payload["reason"] == reason
    assert recorder.of(JOB_LINKS_COLLECTED) == []
    (email,) = emails
    assert email["To"] == job.email
    assert reason in text_part(email)
    retries = [r.getMessage() for r in caplog.records if "browser session failed" in r.getMessage()]
    assert len(retries) == 2 and "try 1 of 3" in retries[0] and "try 2 of 3" in retries[1]
    # Backoff: 0.2 s, then 0.4 s.
    assert elapsed >= 0.6


def test_tries_and_delay_come_from_the_environment() -> None:
    assert (Settings().browser_tries, Settings().browser_retry_delay) == (3, 3.0)
    settings = Settings.from_env({"IMGJOB_BROWSER_TRIES": "5", "IMGJOB_BROWSER_RETRY_DELAY": "0.5"})
    assert (settings.browser_tries, settings.browser_retry_delay) == (5, 0.5)


def test_the_backoff_doubles_and_the_last_error_is_the_reason() -> None:
    waits: list[float] = []
    grid = GridBrowser(f"http://127.0.0.1:{free_port()}", 5)
    refused = pytest.raises(BrowserUnavailable, match=r"\(4 tries\): .*Connection refused")
    with refused, open_session(grid, tries=4, delay=1.5, sleep=waits.append):
        pytest.fail("no session should have opened")
    assert waits == [1.5, 3.0, 6.0]


@pytest.mark.browser
def test_a_grid_that_comes_back_is_used(tmp_path: Path) -> None:
    port = free_port()
    started: list[subprocess.Popen[bytes]] = []

    def grid_comes_up_while_we_wait(seconds: float) -> None:
        # The "Grid" is chromedriver speaking the same WebDriver protocol; it starts after the first refusal.
        if not started:
            started.append(subprocess.Popen([CHROMEDRIVER, f"--port={port}"], stdout=subprocess.DEVNULL))
        time.sleep(seconds)

    try:
        with (
            FakeWeb() as web,
            open_session(
                GridBrowser(f"http://127.0.0.1:{port}", 10), tries=5, delay=0.5, sleep=grid_comes_up_while_we_wait
            ) as driver,
        ):
            driver.get(f"{web.bing_url(total=3)}/images/search?q=owls")
            title = driver.title
    finally:
        for process in started:
            process.terminate()
            process.wait(10)
    assert started, "the first try should have failed"
    assert title == "owls - Search Images"


@pytest.mark.browser
def test_the_session_is_closed_when_the_work_inside_fails() -> None:
    before = chromedrivers_of_this_process()
    browser = LocalChromium("/usr/bin/chromium", CHROMEDRIVER, 30)
    with pytest.raises(RuntimeError, match="boom"), open_session(browser, tries=1, delay=0) as driver:
        assert chromedrivers_of_this_process() - before, "a chromedriver should be running"
        driver.get("data:text/html,<title>x</title>")
        raise RuntimeError("boom")
    wait_until(lambda: chromedrivers_of_this_process() <= before, timeout=10, what="chromedriver to exit")


@pytest.mark.browser
def test_the_session_is_closed_after_a_page_load_timeout(tmp_path: Path) -> None:
    before = chromedrivers_of_this_process()
    with FakeWeb() as web:
        adapters = embedded_adapters(
            tmp_path,
            browser=LocalChromium("/usr/bin/chromium", CHROMEDRIVER, 1),
            search_providers=("google",),
            search_urls={"google": web.google_url(total=10, delay_ms=3000)},
        )
        try:
            job = new_job(adapters.clock, status=JobStatus.RUNNING)
            adapters.store.add_job(job)
            with pytest.raises(SearchFailed, match="google: browser error"):
                on_job_started(adapters, Event(JOB_STARTED, job.id))
        finally:
            adapters.close()
    wait_until(lambda: chromedrivers_of_this_process() <= before, timeout=10, what="chromedriver to exit")


@pytest.fixture(autouse=True)
def _no_stray_chromedriver() -> Iterator[None]:
    before = chromedrivers_of_this_process()
    yield
    # Whatever a test did, it must not leave a browser behind for the next one.
    wait_until(lambda: chromedrivers_of_this_process() <= before, timeout=10, what="no chromedriver left")
