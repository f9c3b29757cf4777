"""The browser port."""

from __future__ import annotations

from contextlib import AbstractContextManager
from typing import Protocol

from selenium.webdriver.remote.webdriver import WebDriver


class BrowserFactory(Protocol):
    """Opens a real browser session (Selenium WebDriver), closed when the block exits, errors included."""

    def session(self) -> AbstractContextManager[WebDriver]: ...
