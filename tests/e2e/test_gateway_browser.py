"""A person in a real browser: fills the form, is stopped on a past date, follows the job to its download,
and finds the expired link's page. Screenshots of each page at a phone and a desktop width are saved to
test-artifacts/screenshots/ for a person to look at.

The gateway runs in-process on the embedded adapters; the test plays the other services by moving the job
through the store and the blob store, so each state stays on screen as long as the test needs.
"""

from __future__ import annotations

import base64
import io
import zipfile
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webdriver import WebDriver
from selenium.webdriver.remote.webelement import WebElement
from selenium.webdriver.support.ui import WebDriverWait

from shared.domain.model import JobStatus
from shared.ports import Adapters
from shared.tokens import download_token, token_hash
from tests.support import OWNER_EMAIL, SettableClock, add_job, move

pytestmark = [pytest.mark.e2e, pytest.mark.browser]

REPO = Path(__file__).resolve().parents[2]
SHOTS = REPO / "test-artifacts" / "screenshots"
WIDTHS = {"phone": (390, 844, True), "desktop": (1366, 900, False)}
# The person's zone, unlike the machine's (UTC): times must be shown and judged in it.
ZONE = "America/New_York"
WAIT = 20  # generous: the CPU is shared with other test runs


@pytest.fixture
def clock() -> SettableClock:
    # The real time: the page's script checks the form against the browser's clock, and the app must agree.
    return SettableClock(datetime.now(UTC))


@pytest.fixture
def driver(driver: WebDriver) -> Iterator[WebDriver]:
    driver.execute_cdp_cmd("Emulation.setTimezoneOverride", {"timezoneId": ZONE})
    yield driver
    # Our pages run under a CSP without inline code: the browser must not have blocked anything.
    blocked = [entry["message"] for entry in driver.get_log("browser") if entry.get("source") == "security"]
    assert blocked == []


def screenshot(driver: WebDriver, name: str, *, dark: bool = False) -> None:
    """The whole page at each width, as a phone and a desktop browser lay it out (and in dark mode)."""
    SHOTS.mkdir(parents=True, exist_ok=True)
    if dark:
        scheme = {"features": [{"name": "prefers-color-scheme", "value": "dark"}]}
        driver.execute_cdp_cmd("Emulation.setEmulatedMedia", scheme)
        try:
            screenshot(driver, f"{name}-dark")
        finally:
            driver.execute_cdp_cmd("Emulation.setEmulatedMedia", {"features": []})
    for label, (width, height, mobile) in WIDTHS.items():
        metrics = {"width": width, "height": height, "deviceScaleFactor": 1, "mobile": mobile}
        driver.execute_cdp_cmd("Emulation.setDeviceMetricsOverride", metrics)
        # A scrollbar would take its width off the layout of a long page; phones overlay theirs.
        driver.execute_cdp_cmd("Emulation.setScrollbarsHidden", {"hidden": True})
        try:
            shot = driver.execute_cdp_cmd("Page.captureScreenshot", {"format": "png", "captureBeyondViewport": True})
        finally:
            driver.execute_cdp_cmd("Emulation.clearDeviceMetricsOverride", {})
        (SHOTS / f"{name}-{label}.png").write_bytes(base64.b64decode(shot["data"]))


def set_value(driver: WebDriver, element: WebElement, value: str) -> None:
    # Date and time widgets take keys in the locale's order; setting the value, as a picker does, is exact.
    driver.execute_script(
        "arguments[0].value = arguments[1];"
        "arguments[0].dispatchEvent(new Event('input', {bubbles: true}));"
        "arguments[0].dispatchEvent(new Event('change', {bubbles: true}));",
        element,
        value,
    )


def browser_date(driver: WebDriver, days_from_today: int) -> str:
    value: str = driver.execute_script(
        "var d = new Date(); d.setDate(d.getDate() + arguments[0]);"
        "return d.getFullYear() + '-' + String(d.getMonth() + 1).padStart(2, '0') + '-'"
        " + String(d.getDate()).padStart(2, '0');",
        days_from_today,
    )
    return value


def text_of(driver: WebDriver, css: str) -> str:
    return str(driver.find_element(By.CSS_SELECTOR, css).text)


def field(driver: WebDriver, name: str) -> str:
    return text_of(driver, f'[data-field="{name}"]')


def until(driver: WebDriver, condition: Any, message: str = "") -> None:
    WebDriverWait(driver, WAIT).until(lambda d: condition(), message)


def test_a_person_schedules_a_search_follows_it_and_downloads_the_zip(
    driver: WebDriver, base_url: str, adapters: Adapters, clock: SettableClock
) -> None:
    driver.get(base_url + "/")
    assert driver.find_element(By.ID, "timezone").get_attribute("value") == ZONE
    screenshot(driver, "01-form", dark=True)

    driver.find_element(By.ID, "query").send_keys("harbour cranes at dusk")
    count = driver.find_element(By.ID, "count")
    count.clear()
    count.send_keys("25")
    driver.find_element(By.ID, "email").send_keys("someone@example.com")
    set_value(driver, driver.find_element(By.ID, "date"), browser_date(driver, -1))
    set_value(driver, driver.find_element(By.ID, "time"), "12:00")
    driver.find_element(By.CSS_SELECTOR, "button[type=submit]").click()

    # The page stops it: the messages stand next to the fields, nothing reached the server.
    time_error = driver.find_element(By.ID, "time-error")
    until(driver, time_error.is_displayed, "no message next to the time")
    assert time_error.text == "Choose a time in the future."
    assert text_of(driver, "#date-error") == "Choose today or a later date."
    assert driver.current_url == base_url + "/"
    assert adapters.store.jobs_in(JobStatus.SCHEDULED) == []
    screenshot(driver, "02-form-past-date")

    set_value(driver, driver.find_element(By.ID, "date"), browser_date(driver, 1))
    set_value(driver, driver.find_element(By.ID, "time"), "09:30")
    until(driver, lambda: not time_error.is_displayed(), "the message did not go away once fixed")
    driver.find_element(By.CSS_SELECTOR, "button[type=submit]").click()
    until(driver, lambda: "/jobs/" in driver.current_url, "the form did not lead to the status page")

    [job] = adapters.store.jobs_in(JobStatus.SCHEDULED)
    assert driver.current_url == f"{base_url}/jobs/{job.id}"
    assert (job.query, job.count, job.timezone) == ("harbour cranes at dusk", 25, ZONE)
    assert job.email == "someone@example.com"
    local = job.scheduled_at.astimezone(ZoneInfo(ZONE))
    assert (local.date().isoformat(), local.strftime("%H:%M")) == (browser_date(driver, 1), "09:30")
    assert "09:30 (America/New_York)" in driver.page_source
    assert "someone@example.com" not in driver.page_source
    assert field(driver, "status") == "Scheduled"
    assert driver.find_element(By.CSS_SELECTOR, '[data-part="cancel"]').is_displayed()
    screenshot(driver, "03-status-scheduled")

    # The other services at work: the page follows without being reloaded.
    driver.execute_script("window.__sameDocument = true;")
    now = clock()
    running = move(adapters, job, JobStatus.RUNNING, started_at=now)
    adapters.store.update_progress(job.id, links_found=31)
    packaging = move(adapters, running, JobStatus.PACKAGING)
    adapters.store.update_progress(job.id, images_downloaded=14, images_failed=2, bytes_downloaded=3_400_000)
    until(driver, lambda: field(driver, "images_downloaded") == "14", "progress not shown")
    assert field(driver, "status") == "Downloading and packing"
    assert field(driver, "links_found") == "31"
    assert field(driver, "bytes_downloaded") == "3.4 MB"
    assert not driver.find_element(By.CSS_SELECTOR, '[data-part="cancel"]').is_displayed()
    screenshot(driver, "04-status-progress")

    archive = io.BytesIO()
    with zipfile.ZipFile(archive, "w") as zipped:
        zipped.writestr("manifest.csv", "file,source_url\n")
    data = archive.getvalue()
    with adapters.blobs.writer(packaging.zip_key) as out:
        out.write(data)
    adapters.store.update_progress(job.id, images_downloaded=23, images_failed=2, bytes_downloaded=5_600_000)
    token = download_token(adapters.settings.secret_key, job.id)
    ready = move(
        adapters,
        replace(packaging, zip_bytes=len(data)),
        JobStatus.READY,
        token_hash=token_hash(adapters.settings.secret_key, token),
        finished_at=now,
        expires_at=now + timedelta(hours=24),
    )
    button = driver.find_element(By.CSS_SELECTOR, '[data-field="download_url"]')
    until(driver, button.is_displayed, "no download button")
    assert field(driver, "status") == "Ready to download"
    assert button.get_attribute("href") == f"{base_url}/download/{token}"
    assert field(driver, "expires_at").endswith(f"({ZONE})")
    assert driver.execute_script("return window.__sameDocument === true;")
    screenshot(driver, "05-status-ready", dark=True)

    # The button's link serves the zip to this page (same origin, allowed by the policy).
    fetched = driver.execute_async_script(
        "var done = arguments[arguments.length - 1];"
        "fetch(arguments[0]).then(function (r) { return r.arrayBuffer().then(function (b) {"
        " done([r.status, r.headers.get('Content-Disposition'), b.byteLength]); }); });",
        button.get_attribute("href"),
    )
    assert fetched[0] == 200 and fetched[1].startswith("attachment;") and fetched[2] == len(data)

    # A day later the link has expired; until the janitor runs, the same search is offered again.
    clock.advance(hours=25)
    driver.get(f"{base_url}/download/{token}")
    assert text_of(driver, "h1") == "Link has expired"
    screenshot(driver, "06-expired")
    driver.find_element(By.LINK_TEXT, "Schedule the same search again").click()
    until(driver, lambda: driver.find_element(By.ID, "query").get_attribute("value") == ready.query)
    assert driver.find_element(By.ID, "count").get_attribute("value") == "25"
    assert driver.find_element(By.ID, "email").get_attribute("value") == ""

    # After the purge only the token's hash is left: the page still says so, and offers an empty form.
    adapters.store.purge_job(job.id)
    driver.get(f"{base_url}/download/{token}")
    assert text_of(driver, "h1") == "Link has expired"
    assert driver.find_element(By.LINK_TEXT, "Schedule a new search").get_attribute("href") == base_url + "/"
    screenshot(driver, "07-expired-purged")


def test_the_failed_and_refused_pages_read_well(driver: WebDriver, base_url: str, adapters: Adapters) -> None:
    """Pages a person meets when things go wrong: a failed job, and the form sent back by the server."""
    job = add_job(adapters, query="a very long search query " * 6, status=JobStatus.FAILED)
    driver.get(f"{base_url}/jobs/{job.id}")
    assert field(driver, "failure_reason") == "no images found"
    assert driver.find_element(By.LINK_TEXT, "Search again").is_displayed()
    # A failed job has no link; its date is when its record goes.
    assert text_of(driver, '[data-field="expiry_label"]') == "Kept until"
    assert not driver.find_element(By.CSS_SELECTOR, "progress").is_displayed()
    assert OWNER_EMAIL not in driver.page_source
    screenshot(driver, "08-status-failed")

    # The server's own checks, with the page's turned off: its messages come back next to the fields.
    driver.get(base_url + "/")
    driver.find_element(By.ID, "query").send_keys("x")
    driver.find_element(By.ID, "email").send_keys("not-an-address")
    # form.submit() skips the page's checks and its submit handler, as a browser without scripts would.
    driver.execute_script("document.getElementById('job-form').submit();")
    until(driver, lambda: driver.current_url == base_url + "/jobs", "the form was not sent")
    assert "Enter a valid email address" in text_of(driver, "#email-error")
    assert text_of(driver, "#date-error") == "Choose a date."
    assert driver.find_element(By.ID, "query").get_attribute("value") == "x"
    screenshot(driver, "09-form-server-errors")

    # A page left open too long (here: its session is gone) is sent back with what was typed, and works again.
    driver.get(base_url + "/")
    driver.delete_all_cookies()
    driver.find_element(By.ID, "query").send_keys("lighthouses")
    driver.find_element(By.ID, "email").send_keys("someone@example.com")
    driver.find_element(By.ID, "now").click()
    driver.find_element(By.CSS_SELECTOR, "button[type=submit]").click()
    until(driver, lambda: driver.current_url == base_url + "/jobs", "the form was not sent")
    assert "This form had expired" in text_of(driver, ".error-summary")
    assert driver.find_element(By.ID, "query").get_attribute("value") == "lighthouses"
    screenshot(driver, "10-form-expired-token")
    driver.find_element(By.CSS_SELECTOR, "button[type=submit]").click()
    until(driver, lambda: "/jobs/" in driver.current_url, "the form did not go through the second time")
    [job] = adapters.store.jobs_in(JobStatus.SCHEDULED)
    assert job.query == "lighthouses"
