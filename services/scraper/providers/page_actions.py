"""Browser steps the providers share: answering consent interstitials, reading scripts, scrolling for more,
fetching JSON through the page.

Each step is one or two WebDriver round trips: the page is examined by a script running in it rather
than element by element, which is what keeps a 500-result search within seconds.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any, Literal

from selenium.common.exceptions import (
    JavascriptException,
    StaleElementReferenceException,
    TimeoutException,
    WebDriverException,
)
from selenium.webdriver.remote.webdriver import WebDriver
from selenium.webdriver.remote.webelement import WebElement
from selenium.webdriver.support.wait import WebDriverWait

from services.scraper.providers.blocks import CONSENT, block_by_url
from shared.redaction import redact

log = logging.getLogger(__name__)

ConsentChoice = Literal["reject", "accept"]

# Button labels of consent interstitials (Google's consent.google.com, and their translations).
CONSENT_LABELS: dict[str, tuple[str, ...]] = {
    "reject": ("reject all", "alle ablehnen", "tout refuser", "rechazar todo", "rifiuta tutto"),
    "accept": ("accept all", "i agree", "alle akzeptieren", "tout accepter", "aceptar todo", "accetta tutto"),
}

_FIND_BUTTON_JS = """
const wanted = arguments[0];
const candidates = document.querySelectorAll('button, input[type=submit], input[type=button], [role=button]');
for (const label of wanted) {
  for (const el of candidates) {
    const text = [el.innerText, el.value, el.getAttribute('aria-label')].join(' ').trim().toLowerCase();
    if (text.includes(label) && el.offsetParent !== null) return el;
  }
}
return null;
"""

# One call per step. "poll": what changes when more results arrive (cheap, for waiting). "advance":
# click a "more results" button if one is shown and scroll to the bottom. "state" and "read": whether
# the page says it has no more or waits for a click, and for "read" the text of the scripts (with
# arguments[1], only of those no earlier "read" returned: each round sends only what is new).
_PAGE_JS = """
const mode = arguments[0];
const onlyNew = arguments[1];
const signature = [location.href, document.scripts.length, document.documentElement.scrollHeight];
if (mode === 'poll') return {signature: signature};
const visible = function (el) { return el !== null && el.offsetParent !== null; };
const byText = function (words) {
  for (const word of words) {
    const found = document.evaluate(
      "//*[contains(translate(normalize-space(text()), 'ABCDEFGHIJKLMNOPQRSTUVWXYZ', 'abcdefghijklmnopqrstuvwxyz'), '"
      + word + "')]", document.body, null, XPathResult.ORDERED_NODE_SNAPSHOT_TYPE, null);
    for (let i = 0; i < found.snapshotLength; i++) if (visible(found.snapshotItem(i))) return true;
  }
  return false;
};
const more = Array.from(document.querySelectorAll('input[type=button], button, [role=button]')).find(function (el) {
  const text = (el.value || el.innerText || '').trim().toLowerCase();
  return visible(el) && (text.includes('more results') || text === 'show more' || text.includes('mehr ergebnisse'));
});
if (mode === 'advance') {
  if (more) more.click();
  window.scrollTo(0, document.documentElement.scrollHeight);
  return {signature: signature};
}
return {
  signature: signature,
  end: byText(["reached the end", "no more results", "keine weiteren ergebnisse"]),
  more: Boolean(more),
  scripts: mode !== 'read' ? [] : Array.from(document.scripts).filter(function (s) {
    const fresh = !s.imgjobRead;
    s.imgjobRead = true;
    return fresh || !onlyNew;
  }).map(function (s) { return s.text; })
};
"""


@dataclass(frozen=True)
class PageState:
    url: str
    signature: tuple[str, int, int]  # address, number of scripts, height: what more results change
    end: bool  # the page says the results ran out
    more: bool  # a "more results" button waits for a click


def _run(driver: WebDriver, mode: str, only_new: bool = False) -> dict[str, Any]:
    raw = driver.execute_script(_PAGE_JS, mode, only_new)
    if not isinstance(raw, dict):
        raise JavascriptException(f"page script answered {raw!r}")
    return raw


def _signature(raw: dict[str, Any]) -> tuple[str, int, int]:
    url, scripts, height = raw["signature"]
    return str(url), int(scripts), int(height)


def _state(raw: dict[str, Any]) -> PageState:
    signature = _signature(raw)
    return PageState(signature[0], signature, bool(raw.get("end")), bool(raw.get("more")))


def page_state(driver: WebDriver) -> PageState:
    """Where the page stands, without touching it."""
    return _state(_run(driver, "state"))


def read_page(driver: WebDriver, only_new: bool = False) -> tuple[PageState, list[str]]:
    """Where the page stands and the text of its scripts, in document order: one round trip.

    With `only_new`, only the scripts no earlier call returned (on this document).
    """
    raw = _run(driver, "read", only_new)
    return _state(raw), [str(text) for text in raw.get("scripts") or []]


def ask_for_more(driver: WebDriver, before: PageState, timeout: float) -> bool:
    """Click "more results" if it is shown, scroll to the bottom, and wait until the page changes.

    False if nothing changed within `timeout` seconds (the engine gave nothing more).
    """
    _run(driver, "advance")

    def changed(d: WebDriver) -> bool:
        return _signature(_run(d, "poll")) != before.signature

    try:
        wait = WebDriverWait(driver, timeout, poll_frequency=0.02, ignored_exceptions=(JavascriptException,))
        return bool(wait.until(changed))
    except TimeoutException:
        return False


def _consent_button(driver: WebDriver, choice: ConsentChoice) -> WebElement | None:
    other: ConsentChoice = "accept" if choice == "reject" else "reject"
    labels = list(CONSENT_LABELS[choice]) + list(CONSENT_LABELS[other])
    found = driver.execute_script(_FIND_BUTTON_JS, labels)
    return found if isinstance(found, WebElement) else None


def answer_consent(driver: WebDriver, choice: ConsentChoice, timeout: float) -> bool:
    """Click the interstitial's reject (or accept) button, as a person would, and wait for it to go.

    Falls back to the other answer when only that one is offered. True if a button was clicked and
    the page that follows is no longer a consent page by its address.
    """
    button = _consent_button(driver, choice)
    if button is None:
        log.info("consent page at %s offers no button we know", redact(driver.current_url))
        return False

    def left_the_page(_: WebDriver) -> bool:
        try:
            button.is_enabled()
        except WebDriverException:
            # Stale, or, when the next document replaced this one mid-call, Chrome's "node does not
            # belong to the document": either way the button's page is gone.
            return True
        return False

    try:
        button.click()
        WebDriverWait(driver, timeout, poll_frequency=0.05).until(left_the_page)
    except (TimeoutException, StaleElementReferenceException):
        return False
    return block_by_url(driver.current_url) != CONSENT


# Fetches a URL from inside the page, as the page's own requests for more results do: same session,
# cookies and origin, and no navigation away from the page.
_FETCH_JS = """
const url = arguments[0];
const done = arguments[arguments.length - 1];
fetch(url, {credentials: 'same-origin'}).then(function (response) {
  return response.text().then(function (text) { done({status: response.status, url: response.url, text: text}); });
}).catch(function (error) { done({status: 0, url: url, text: '', error: String(error)}); });
"""


@dataclass(frozen=True)
class Fetched:
    status: int  # 0 when the request failed before an answer
    url: str  # where the answer came from, after redirects
    text: str


def fetch_text(driver: WebDriver, url: str) -> Fetched:
    """GET `url` with the page's own fetch(); the answer's status, final address and text."""
    raw = driver.execute_async_script(_FETCH_JS, url)
    if not isinstance(raw, dict):
        raise JavascriptException(f"fetch answered {raw!r}")
    status = raw.get("status")
    return Fetched(status if isinstance(status, int) else 0, str(raw.get("url") or url), str(raw.get("text") or ""))
