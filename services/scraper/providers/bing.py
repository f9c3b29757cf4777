"""Bing Images through a real browser: the results page, then its continuation batches."""

from __future__ import annotations

import logging
import math
from urllib.parse import urlencode

from selenium.webdriver.remote.webdriver import WebDriver

from services.scraper.providers.base import DistinctImages, PageNotUnderstood, ProgressCallback, ProviderResult
from services.scraper.providers.bing_parse import next_offset, next_url, parse_bing_results
from services.scraper.providers.blocks import unreadable_page_result

log = logging.getLogger(__name__)

PAGE_SIZE = 35
# However many results are wanted, a search never loads more pages than this.
MAX_PAGES = 40


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
            driver.get(url)
            html = driver.page_source
            try:
                images = parse_bing_results(html)
            except PageNotUnderstood as exc:
                return unreadable_page_result("bing", driver.current_url, html, exc, found.images, number)
            added = found.add(images)
            log.info("bing page %d: %d results, %d new, %d of %d", number, len(images), added, len(found), wanted)
            if added:
                on_progress(len(found))
            if found.full:
                return ProviderResult(found.images, pages=number)
            if added == 0:
                return ProviderResult(found.images, exhausted=True, pages=number)
            # Trust the page's own continuation offset when it moves forward; count results otherwise.
            proposed = next_offset(next_url(html))
            first = proposed if proposed is not None and proposed > first else first + len(images)
            url = self.async_url(query, first)
        log.warning("bing: stopped after %d pages with %d of %d results", page_cap(wanted), len(found), wanted)
        return ProviderResult(found.images, exhausted=True, pages=page_cap(wanted))
