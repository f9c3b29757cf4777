"""The machine's Chromium, and a WSGI app served on loopback, for the tests that drive pages in a real browser.

The `driver` fixture is registered by tests/unit/conftest.py and tests/e2e/conftest.py.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

import pytest
from selenium.webdriver.remote.webdriver import WebDriver
from werkzeug.serving import make_server

from shared.adapters.selenium.browsers import LocalChromium

if TYPE_CHECKING:
    from _typeshed.wsgi import WSGIApplication

CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"


def chromium(page_load_timeout: float = 30) -> LocalChromium:
    """Debian's Chromium through its chromedriver; `.session()` opens a headless browser."""
    return LocalChromium(CHROMIUM, CHROMEDRIVER, page_load_timeout)


@pytest.fixture
def driver() -> Iterator[WebDriver]:
    """A headless Chromium session for one test."""
    with chromium().session() as session:
        yield session


@contextmanager
def serving(app: WSGIApplication) -> Iterator[str]:
    """Serve `app` from a thread on a free loopback port until the block ends; yields its base URL."""
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        thread.join(timeout=10)
