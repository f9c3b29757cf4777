"""The form's "Advanced" section in a real Chromium: closed at first, opened by a field in it that the browser
refuses, and its filters submitted with the job."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webdriver import WebDriver
from selenium.webdriver.support.ui import Select, WebDriverWait

from shared.domain.filters import Filters
from shared.domain.model import JobStatus
from shared.ports import Adapters
from tests.support import SettableClock

pytestmark = pytest.mark.browser

SHOTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "screenshots"


@pytest.fixture
def clock() -> SettableClock:
    # The real time: the page's script checks the form against the browser's clock.
    return SettableClock(datetime.now(UTC))


def test_the_advanced_section_opens_on_a_refused_field_and_sends_its_filters(
    driver: WebDriver, base_url: str, adapters: Adapters
) -> None:
    driver.get(base_url + "/")
    section = driver.find_element(By.ID, "advanced")
    assert section.get_attribute("open") is None, "closed by default"
    width = driver.find_element(By.ID, "filters.min_width")
    assert not width.is_displayed()

    driver.find_element(By.ID, "query").send_keys("harbour cranes")
    driver.find_element(By.ID, "email").send_keys("someone@example.com")
    driver.find_element(By.ID, "now").click()
    # A value the number field refuses, typed while the section was open and then closed again.
    driver.execute_script("arguments[0].value = '0';", width)
    driver.find_element(By.CSS_SELECTOR, "button[type=submit]").click()

    error = driver.find_element(By.ID, "filters.min_width-error")
    WebDriverWait(driver, 5).until(lambda _: error.is_displayed())
    assert section.get_attribute("open") is not None, "the section opens to show the refused field"
    assert width.get_attribute("aria-invalid") == "true"
    assert adapters.store.jobs_in(JobStatus.SCHEDULED) == []

    width.clear()
    width.send_keys("1024")
    Select(driver.find_element(By.ID, "filters.size")).select_by_value("large")
    Select(driver.find_element(By.ID, "filters.safe")).select_by_value("strict")
    driver.find_element(By.ID, "filters.formats.png").click()
    driver.find_element(By.ID, "filters.formats.webp").click()
    SHOTS.mkdir(parents=True, exist_ok=True)
    driver.save_screenshot(str(SHOTS / "filters-advanced-open.png"))
    driver.find_element(By.CSS_SELECTOR, "button[type=submit]").click()
    WebDriverWait(driver, 10).until(lambda d: "/jobs/" in d.current_url)

    [job] = adapters.store.jobs_in(JobStatus.SCHEDULED)
    assert job.filters == Filters(size="large", safe="strict", min_width=1024, formats=("png", "webp"))
    shown = driver.find_element(By.CSS_SELECTOR, "[data-part=filters]").text
    assert shown == "size large, safe strict, min width 1024, formats png webp"
