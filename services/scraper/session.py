"""Opening a browser session despite a busy or restarting Selenium Grid: a few tries with backoff."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager

from selenium.common.exceptions import WebDriverException
from selenium.webdriver.remote.webdriver import WebDriver
from urllib3.exceptions import HTTPError as Urllib3Error

from shared.ports import BrowserFactory

log = logging.getLogger(__name__)

# What a session that cannot be created raises: the Grid refusing or queueing too long (Selenium's
# SessionNotCreatedException and friends), or nobody listening (urllib3's MaxRetryError, socket errors).
SESSION_ERRORS: tuple[type[BaseException], ...] = (WebDriverException, Urllib3Error, OSError)


class BrowserUnavailable(RuntimeError):
    """No browser session could be opened after every try; the message says why, for the job's record."""


def describe(exc: BaseException) -> str:
    """A one-line account of why a session could not be opened."""
    if isinstance(exc, WebDriverException):
        text = exc.msg or type(exc).__name__
    else:
        # urllib3's MaxRetryError wraps the useful part ("Connection refused") in `reason`.
        text = str(getattr(exc, "reason", None) or exc) or type(exc).__name__
    first = text.strip().splitlines()[0] if text.strip() else type(exc).__name__
    return first if len(first) <= 200 else first[:197] + "..."


@contextmanager
def open_session(
    browser: BrowserFactory, tries: int, delay: float, sleep: Callable[[float], None] = time.sleep
) -> Iterator[WebDriver]:
    """A session from `browser`, tried `tries` times, `delay` seconds before the second try and twice as
    long before each next one; BrowserUnavailable after the last. The session is closed when the block
    exits, errors included; errors inside the block are not retried here."""
    tries = max(1, tries)
    with ExitStack() as stack:
        for attempt in range(1, tries + 1):
            try:
                driver = stack.enter_context(browser.session())
                break
            except SESSION_ERRORS as exc:
                reason = describe(exc)
                if attempt == tries:
                    raise BrowserUnavailable(f"the browser could not be started ({tries} tries): {reason}") from exc
                wait = delay * 2 ** (attempt - 1)
                log.warning("browser session failed (try %d of %d): %s; again in %.1f s", attempt, tries, reason, wait)
                sleep(wait)
        yield driver
