"""Google Images through a real browser: one results page, scrolled and "more results"-clicked for more.

The page is JavaScript-only; its results arrive as script data (see google_parse). Rather than clicking
each thumbnail to make the preview show its full-size URL, every round reads all the page's scripts in
one call and parses the full-size URLs out of them in bulk, then scrolls (and clicks "more results"
when the page asks for it) until enough are found, the page says it has no more, or nothing arrives.
"""

from __future__ import annotations

import logging
from urllib.parse import urlencode

from selenium.webdriver.remote.webdriver import WebDriver

from services.scraper.providers.base import DistinctImages, ProgressCallback, ProviderResult
from services.scraper.providers.blocks import CONSENT, block_by_url, detect_block
from services.scraper.providers.google_parse import parse_google_scripts
from services.scraper.providers.page_actions import ConsentChoice, answer_consent, ask_for_more, read_page

log = logging.getLogger(__name__)

# However many results are wanted, a search never scrolls more than this many times...
MAX_ROUNDS = 60
# ...nor keeps going after this many rounds in a row that brought nothing new.
STALE_ROUNDS = 3


class GoogleProvider:
    """Requests the same paths as www.google.com under `base_url`, so a fake engine can stand in.

    `consent` is the answer given to the EU consent interstitial; `settle_timeout` how long to wait
    for more results after each scroll before counting the round as one that brought nothing.
    """

    name = "google"

    def __init__(self, base_url: str, consent: ConsentChoice = "reject", settle_timeout: float = 5.0) -> None:
        self._base = base_url.rstrip("/")
        self._consent = consent
        self._settle = settle_timeout

    def search_url(self, query: str) -> str:
        return f"{self._base}/search?" + urlencode({"q": query, "udm": 2, "hl": "en"})

    def search(self, driver: WebDriver, query: str, wanted: int, on_progress: ProgressCallback) -> ProviderResult:
        found = DistinctImages(limit=wanted)
        if wanted <= 0:
            return ProviderResult(found.images)
        driver.get(self.search_url(query))
        consent_answered = False
        stale = 0
        for number in range(1, MAX_ROUNDS + 1):
            # Only the scripts added since the last round: the transfer stays small as the page grows.
            state, scripts = read_page(driver, only_new=True)
            images = parse_google_scripts("\n".join(scripts))
            reason = block_by_url(state.url)
            if reason is None and not images and not found.images:
                # Only a page with nothing on it is judged by its content (see blocks).
                reason = detect_block(state.url, driver.page_source)
            if reason == CONSENT and not consent_answered:
                consent_answered = True
                if answer_consent(driver, self._consent, self._settle * 2):
                    log.info("google: consent interstitial answered (%s)", self._consent)
                    continue
            if reason:
                log.warning("google %s in round %d (%d found before)", reason, number, len(found))
                return ProviderResult(found.images, blocked_reason=reason)
            added = found.add(images)
            log.info(
                "google round %d: %d results on the page, %d new, %d of %d",
                number,
                len(images),
                added,
                len(found),
                wanted,
            )
            if added:
                on_progress(len(found))
            if found.full:
                return ProviderResult(found.images)
            stale = 0 if added else stale + 1
            if state.end or stale >= STALE_ROUNDS:
                return ProviderResult(found.images, exhausted=True)
            ask_for_more(driver, state, self._settle)
        log.warning("google: stopped after %d rounds with %d of %d results", MAX_ROUNDS, len(found), wanted)
        return ProviderResult(found.images, exhausted=True)
