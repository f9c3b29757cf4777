"""Browser adapters: a local Chromium through chromedriver, or a Selenium Grid."""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from contextlib import contextmanager

from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.remote.webdriver import WebDriver

# Chromium in a closed network: no sandbox as root, and none of the background calls home that the
# network would refuse.
CHROMIUM_FLAGS = (
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
    "--window-size=1366,900",
    "--lang=en-US",
)


def chrome_options(binary: str | None = None) -> webdriver.ChromeOptions:
    options = webdriver.ChromeOptions()
    for flag in CHROMIUM_FLAGS:
        options.add_argument(flag)
    if binary:
        options.binary_location = binary
    return options


class LocalChromium:
    """Starts Debian's chromium through chromedriver; Selenium Manager cannot download drivers here."""

    def __init__(self, chromium_path: str, chromedriver_path: str, page_load_timeout: float) -> None:
        self._chromium = chromium_path
        self._chromedriver = chromedriver_path
        self._timeout = page_load_timeout

    @contextmanager
    def session(self) -> Iterator[WebDriver]:
        with tempfile.TemporaryDirectory(prefix="imgjob-chromium-") as profile:
            options = chrome_options(self._chromium)
            options.add_argument(f"--user-data-dir={profile}")
            driver = webdriver.Chrome(service=Service(self._chromedriver), options=options)
            try:
                driver.set_page_load_timeout(self._timeout)
                yield driver
            finally:
                driver.quit()


class GridBrowser:
    """A session on a Selenium Grid (Remote WebDriver)."""

    def __init__(self, grid_url: str, page_load_timeout: float) -> None:
        self._url = grid_url
        self._timeout = page_load_timeout

    @contextmanager
    def session(self) -> Iterator[WebDriver]:
        driver = webdriver.Remote(command_executor=self._url, options=chrome_options())
        try:
            driver.set_page_load_timeout(self._timeout)
            yield driver
        finally:
            driver.quit()
