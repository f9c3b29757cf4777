"""Brave Search images through a real browser: one results page, read from its SvelteKit data.

Brave keeps an index of its own, so it still answers when engines that share Bing's (DuckDuckGo) or
Google's are blocking. Its images page (`/images?q=...`) carries every result it shows in the page's
data (see brave_parse); the page offers no further pages of image results, so one load is the search.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from urllib.parse import urlencode

from selenium.webdriver.remote.webdriver import WebDriver

from services.scraper.providers.base import DistinctImages, PageNotUnderstood, ProgressCallback, ProviderResult
from services.scraper.providers.blocks import block_by_url, unreadable_page_result
from services.scraper.providers.brave_parse import parse_brave_results
from services.scraper.providers.engine_filters import ENGINE_FILTERS, EngineFilters, Mapped
from shared.domain.filters import Filters

log = logging.getLogger(__name__)


def engine_filters(filters: Filters | None) -> EngineFilters:
    """`safesearch=strict|moderate|off`: Brave's images page has no size, type, colour, layout, licence
    or date filter, so those are not sent (and the packager's checks are what enforce sizes)."""
    mapped = Mapped(filters)
    for name in ENGINE_FILTERS:
        if name != "safe":
            mapped.unsupported(name)
    safe = mapped.token("safe", {"strict": "strict", "moderate": "moderate", "off": "off"})
    return mapped.result({"safesearch": safe} if safe else {})


class BraveProvider:
    """Requests the same path as search.brave.com under `base_url`, so a fake engine can stand in."""

    name = "brave"

    def __init__(self, base_url: str) -> None:
        self._base = base_url.rstrip("/")

    def engine_filters(self, filters: Filters | None) -> EngineFilters:
        return engine_filters(filters)

    def search_url(self, query: str, extra: Mapping[str, str] | None = None) -> str:
        return f"{self._base}/images?" + urlencode({"q": query} | dict(extra or {}))

    def search(
        self,
        driver: WebDriver,
        query: str,
        wanted: int,
        on_progress: ProgressCallback,
        filters: Filters | None = None,
    ) -> ProviderResult:
        found = DistinctImages(limit=wanted)
        if wanted <= 0:
            return ProviderResult(found.images)
        driver.get(self.search_url(query, engine_filters(filters).params))
        reason = block_by_url(driver.current_url)
        if reason:
            log.warning("brave %s", reason)
            return ProviderResult(blocked_reason=reason, pages=1)
        html = driver.page_source
        try:
            images = parse_brave_results(html)
        except PageNotUnderstood as exc:
            return unreadable_page_result("brave", driver.current_url, html, exc, [], 1)
        added = found.add(images)
        log.info("brave: %d results, %d new, %d of %d", len(images), added, len(found), wanted)
        if added:
            on_progress(len(found))
        return ProviderResult(found.images, exhausted=not found.full, pages=1)
