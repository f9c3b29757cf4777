"""The gateway's page scripts in a real Chromium: the form's checks and the status page's live updates."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webdriver import WebDriver
from selenium.webdriver.remote.webelement import WebElement
from selenium.webdriver.support.ui import WebDriverWait

from shared.domain.model import JobStatus
from shared.ports import Adapters
from shared.tokens import download_token, token_hash
from tests.support import SettableClock, add_job, move

pytestmark = pytest.mark.browser


@pytest.fixture
def clock() -> SettableClock:
    # The real time: the page's script checks the form against the browser's clock, and the app must agree.
    return SettableClock(datetime.now(UTC))


def set_value(driver: WebDriver, element: WebElement, value: str) -> None:
    # Date and time widgets take typed keys in the browser's locale; setting the value is exact.
    driver.execute_script(
        "arguments[0].value = arguments[1]; arguments[0].dispatchEvent(new Event('input', {bubbles: true}));",
        element,
        value,
    )


def test_form_fills_the_time_zone_and_blocks_a_past_time(driver: WebDriver, base_url: str, adapters: Adapters) -> None:
    driver.get(base_url + "/")
    browser_zone = driver.execute_script("return Intl.DateTimeFormat().resolvedOptions().timeZone")
    assert driver.find_element(By.ID, "timezone").get_attribute("value") == browser_zone
    assert driver.find_element(By.ID, "timezone-name").text == browser_zone

    driver.find_element(By.ID, "query").send_keys("harbour cranes")
    driver.find_element(By.ID, "email").send_keys("someone@example.com")
    yesterday = driver.execute_script(
        "var d = new Date(Date.now() - 86400000);"
        "return d.getFullYear() + '-' + String(d.getMonth() + 1).padStart(2, '0') + '-'"
        " + String(d.getDate()).padStart(2, '0');"
    )
    set_value(driver, driver.find_element(By.ID, "date"), yesterday)
    set_value(driver, driver.find_element(By.ID, "time"), "12:00")
    driver.find_element(By.CSS_SELECTOR, "button[type=submit]").click()

    error = driver.find_element(By.ID, "time-error")
    WebDriverWait(driver, 5).until(lambda _: error.is_displayed())
    assert error.text == "Choose a time in the future."
    assert driver.current_url == base_url + "/"
    assert adapters.store.jobs_in(JobStatus.SCHEDULED) == []

    driver.find_element(By.ID, "now").click()
    assert driver.find_element(By.ID, "date").get_attribute("disabled") is not None
    driver.find_element(By.CSS_SELECTOR, "button[type=submit]").click()
    WebDriverWait(driver, 10).until(lambda d: "/jobs/" in d.current_url)
    [job] = adapters.store.jobs_in(JobStatus.SCHEDULED)
    assert driver.current_url == f"{base_url}/jobs/{job.id}"
    assert job.timezone == browser_zone


def test_status_page_follows_the_job_without_reloading(driver: WebDriver, base_url: str, adapters: Adapters) -> None:
    job = add_job(adapters, query="harbour cranes")
    driver.get(f"{base_url}/jobs/{job.id}")
    # A marker on the window survives only if the page is never reloaded.
    driver.execute_script("window.__sameDocument = true;")

    def field(name: str) -> str:
        return str(driver.find_element(By.CSS_SELECTOR, f'[data-field="{name}"]').text)

    now = adapters.clock()
    running = move(adapters, job, JobStatus.RUNNING, started_at=now)
    adapters.store.update_progress(job.id, links_found=42)
    WebDriverWait(driver, 10).until(lambda _: field("links_found") == "42")
    assert field("status") == "Searching for images"
    assert not driver.find_element(By.CSS_SELECTOR, '[data-part="cancel"]').is_displayed()

    packaging = move(adapters, running, JobStatus.PACKAGING)
    token = download_token(adapters.settings.secret_key, job.id)
    move(
        adapters,
        replace(packaging, zip_bytes=2_000_000),
        JobStatus.READY,
        token_hash=token_hash(adapters.settings.secret_key, token),
        finished_at=now,
        expires_at=now + timedelta(hours=1),
    )
    adapters.store.update_progress(job.id, images_downloaded=40, images_failed=2, bytes_downloaded=2_500_000)

    link = driver.find_element(By.CSS_SELECTOR, '[data-field="download_url"]')
    WebDriverWait(driver, 10).until(lambda _: link.is_displayed())
    assert link.get_attribute("href") == f"{base_url}/download/{token}"
    assert field("images_downloaded") == "40"
    assert field("bytes_downloaded") == "2.5 MB"
    assert field("status") == "Ready to download"
    assert field("expires_at").endswith(f"({job.timezone})")
    assert driver.execute_script("return window.__sameDocument === true;")
