"""Bing Images through a real browser: the results page, then its continuation batches."""

from __future__ import annotations

import logging
import math
from collections.abc import Mapping
from urllib.parse import urlencode

from selenium.webdriver.remote.webdriver import WebDriver

from services.scraper.providers.base import DistinctImages, PageNotUnderstood, ProgressCallback, ProviderResult
from services.scraper.providers.bing_parse import next_offset, next_url, parse_bing_results
from services.scraper.providers.blocks import unreadable_page_result
from services.scraper.providers.engine_filters import EngineFilters, Mapped
from shared.domain.filters import CHOICES, Filters

log = logging.getLogger(__name__)

PAGE_SIZE = 35
# However many results are wanted, a search never loads more pages than this.
MAX_PAGES = 40


def page_cap(wanted: int) -> int:
    """Pages worth loading for `wanted` results: room for repeats between batches, but bounded."""
    return min(MAX_PAGES, 3 + 2 * math.ceil(wanted / PAGE_SIZE))


# Bing's `filterui:` tokens, as its results page's filter menus write them into `qft`.
_QFT: tuple[tuple[str, dict[str, str]], ...] = (
    ("size", {name: f"imagesize-{name}" for name in ("small", "medium", "large", "wallpaper")}),
    (
        "type",
        {
            "photo": "photo-photo",
            "clipart": "photo-clipart",
            "lineart": "photo-linedrawing",
            "animated": "photo-animatedgif",
            "transparent": "photo-transparent",
        },
    ),
    (
        "color",
        {"color": "color2-color", "bw": "color2-bw"}
        | {name: f"color2-FGcls_{name.upper()}" for name in CHOICES["color"][2:]},
    ),
    ("layout", {name: f"aspect-{name}" for name in ("square", "wide", "tall")}),
    # "All Creative Commons", and "Free to share and use commercially".
    ("license", {"creative_commons": "licenseType-Any", "commercial": "license-L2_L3_L4"}),
    # Minutes: the past day, week, month (30 days) and year.
    ("age", {"day": "age-lt1440", "week": "age-lt10080", "month": "age-lt43200", "year": "age-lt525600"}),
)
# SafeSearch: Bing's own `adlt` words.
_ADLT = {"strict": "strict", "moderate": "moderate", "off": "off"}


def engine_filters(filters: Filters | None) -> EngineFilters:
    """`qft=+filterui:imagesize-large+filterui:photo-photo...` and `adlt=`: Bing has a token for every filter."""
    mapped = Mapped(filters)
    tokens = [token for name, table in _QFT if (token := mapped.token(name, table))]
    params = {"qft": "".join(f"+filterui:{token}" for token in tokens)} if tokens else {}
    adlt = mapped.token("safe", _ADLT)
    if adlt:
        params["adlt"] = adlt
    return mapped.result(params)


def _query(params: Mapping[str, object], extra: Mapping[str, str] | None) -> str:
    # The filters' `+` and `:` stay as Bing writes them in `qft` (its `+` reads as a space there);
    # the query itself is encoded in full, so a `+` in it stays a plus.
    return urlencode(params) + (f"&{urlencode(extra, safe='+:')}" if extra else "")


class BingProvider:
    """Requests the same paths as www.bing.com under `base_url`, so a fake engine can stand in."""

    name = "bing"

    def __init__(self, base_url: str) -> None:
        self._base = base_url.rstrip("/")

    def engine_filters(self, filters: Filters | None) -> EngineFilters:
        return engine_filters(filters)

    def search_url(self, query: str, extra: Mapping[str, str] | None = None) -> str:
        return f"{self._base}/images/search?" + _query({"q": query, "form": "HDRSC2", "first": 1}, extra)

    def async_url(self, query: str, first: int, extra: Mapping[str, str] | None = None) -> str:
        # What the results page's infinite scroll requests: the next batch as an HTML fragment, with
        # the same filters as the page.
        return f"{self._base}/images/async?" + _query(
            {"q": query, "first": first, "count": PAGE_SIZE, "mmasync": 1}, extra
        )

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
        first = 1
        extra = engine_filters(filters).params
        url = self.search_url(query, extra)
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
            url = self.async_url(query, first, extra)
        log.warning("bing: stopped after %d pages with %d of %d results", page_cap(wanted), len(found), wanted)
        return ProviderResult(found.images, exhausted=True, pages=page_cap(wanted))
