"""Bing Images through a real browser: the results page, then its continuation batches."""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass
from urllib.parse import urlencode

from selenium.webdriver.remote.webdriver import WebDriver

from services.scraper.providers.base import DistinctImages, FoundImage, ProgressCallback, ProviderResult
from services.scraper.providers.bing_parse import next_offset, next_url, parse_bing_results
from services.scraper.providers.blocks import detect_block

log = logging.getLogger(__name__)

PAGE_SIZE = 35
# However many results are wanted, a search never loads more pages than this.
MAX_PAGES = 40


@dataclass(frozen=True)
class _Page:
    images: list[FoundImage]
    next_first: int | None
    blocked_reason: str | None


def page_cap(wanted: int) -> int:
    """Pages worth loading for `wanted` results: room for repeats between batches, but bounded."""
    return min(MAX_PAGES, 3 + 2 * math.ceil(wanted / PAGE_SIZE))


class BingProvider:
    """Requests the same paths as www.bing.com under `base_url`, so a fake engine can stand in."""

    name = "bing"

    def __init__(self, base_url: str) -> None:
        self._base = base_url.rstrip("/")

    def search_url(self, query: str) -> str:
        return f"{self._base}/images/search?" + urlencode({"q": query, "form": "HDRSC2", "first": 1})

    def async_url(self, query: str, first: int) -> str:
        # What the results page's infinite scroll requests: the next batch as an HTML fragment.
        params = {"q": query, "first": first, "count": PAGE_SIZE, "mmasync": 1}
        return f"{self._base}/images/async?" + urlencode(params)

    def search(self, driver: WebDriver, query: str, wanted: int, on_progress: ProgressCallback) -> ProviderResult:
        found = DistinctImages(limit=wanted)
        if wanted <= 0:
            return ProviderResult(found.images)
        first = 1
        url = self.search_url(query)
        for number in range(1, page_cap(wanted) + 1):
            page = self._load(driver, url)
            if page.blocked_reason:
                log.warning("bing %s on page %d (%d found before)", page.blocked_reason, number, len(found))
                return ProviderResult(found.images, blocked_reason=page.blocked_reason)
            added = found.add(page.images)
            log.info("bing page %d: %d results, %d new, %d of %d", number, len(page.images), added, len(found), wanted)
            if added:
                on_progress(len(found))
            if found.full:
                return ProviderResult(found.images)
            if added == 0:
                return ProviderResult(found.images, exhausted=True)
            # Trust the page's own continuation offset when it moves forward; count results otherwise.
            proposed = page.next_first
            first = proposed if proposed is not None and proposed > first else first + len(page.images)
            url = self.async_url(query, first)
        log.warning("bing: stopped after %d pages with %d of %d results", page_cap(wanted), len(found), wanted)
        return ProviderResult(found.images, exhausted=True)

    def _load(self, driver: WebDriver, url: str) -> _Page:
        driver.get(url)
        html = driver.page_source
        images = parse_bing_results(html)
        if images:
            return _Page(images, next_offset(next_url(html)), None)
        # Only an empty page can be a block: results pages carry cookie banners that are not walls.
        return _Page([], None, detect_block(driver.current_url, html))
