"""DuckDuckGo Images through a real browser: the results page for its `vqd` token, then `i.js` JSON pages.

The JSON pages are fetched by navigating the same browser to them (and reading the body's text), so
they go out with the session's cookies and headers, as the page's own requests do.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Mapping
from urllib.parse import urlencode, urljoin

from selenium.webdriver.remote.webdriver import WebDriver

from services.scraper.providers.base import DistinctImages, ProgressCallback, ProviderResult
from services.scraper.providers.blocks import CONSENT, REFUSED, block_by_url, detect_block, unreadable_page_result
from services.scraper.providers.duckduckgo_parse import find_vqd, parse_json_text
from services.scraper.providers.engine_filters import EngineFilters, Mapped
from services.scraper.providers.page_actions import ConsentChoice, answer_consent
from shared.domain.filters import CHOICES, Filters
from shared.redaction import redact

log = logging.getLogger(__name__)

PAGE_SIZE = 100
# However many results are wanted, a search never loads more JSON pages than this.
MAX_PAGES = 20
NO_TOKEN = "the results page gave no vqd token"

# Chromium shows a JSON answer as text in a <pre> (followed by its own viewer's elements).
_BODY_TEXT_JS = "const pre = document.querySelector('body > pre'); return (pre || document.body).textContent;"


# DuckDuckGo's image filters, `name:Value` items as its filter menus write them (`iaf=` on the results
# page, `f=` on the i.js answers). It has no colour-in-general ("color") filter, only monochrome and
# the single colours.
_F: tuple[tuple[str, str, dict[str, str]], ...] = (
    ("age", "time", {"day": "Day", "week": "Week", "month": "Month", "year": "Year"}),
    ("size", "size", {name: name.title() for name in ("small", "medium", "large", "wallpaper")}),
    ("color", "color", {"bw": "Monochrome"} | {name: name.title() for name in CHOICES["color"][2:]}),
    (
        "type",
        "type",
        {"photo": "photo", "clipart": "clipart", "lineart": "line", "animated": "gif", "transparent": "transparent"},
    ),
    ("layout", "layout", {name: name.title() for name in ("square", "wide", "tall")}),
    # "All Creative Commons", and "Free to share and use commercially".
    ("license", "license", {"creative_commons": "Any", "commercial": "ShareCommercially"}),
)
# Safe search: the `kp` setting (1 strict, -1 moderate, -2 off); the i.js answers take `p` (-1 is off).
_KP = {"strict": "1", "moderate": "-1", "off": "-2"}


def engine_filters(filters: Filters | None) -> EngineFilters:
    """`f=size:Large,type:photo,...` (and `iaf=` on the page) and `kp=1|-1|-2`."""
    mapped = Mapped(filters)
    items = [f"{key}:{value}" for name, key, table in _F if (value := mapped.token(name, table))]
    params = {"f": ",".join(items)} if items else {}
    kp = mapped.token("safe", _KP)
    if kp:
        params["kp"] = kp
    return mapped.result(params)


def page_cap(wanted: int) -> int:
    """JSON pages worth loading for `wanted` results: room for repeats between pages, but bounded."""
    return min(MAX_PAGES, 2 + 2 * math.ceil(wanted / PAGE_SIZE))


class DuckDuckGoProvider:
    """Requests the same paths as duckduckgo.com under `base_url`, so a fake engine can stand in."""

    name = "duckduckgo"

    def __init__(self, base_url: str, consent: ConsentChoice = "reject", settle_timeout: float = 10.0) -> None:
        self._base = base_url.rstrip("/")
        self._consent = consent
        self._settle = settle_timeout

    def engine_filters(self, filters: Filters | None) -> EngineFilters:
        return engine_filters(filters)

    def search_url(self, query: str, extra: Mapping[str, str] | None = None) -> str:
        params = {"q": query, "iax": "images", "ia": "images"}
        if extra and extra.get("f"):
            params["iaf"] = extra["f"]
        if extra and extra.get("kp"):
            params["kp"] = extra["kp"]
        return f"{self._base}/?" + urlencode(params, safe=",:")

    def json_url(self, query: str, vqd: str, extra: Mapping[str, str] | None = None) -> str:
        extra = extra or {}
        params: dict[str, object] = {"l": "us-en", "o": "json", "q": query, "vqd": vqd, "f": extra.get("f") or ",,,"}
        params["p"] = -1 if extra.get("kp") == _KP["off"] else 1
        if extra.get("kp"):
            params["kp"] = extra["kp"]
        return f"{self._base}/i.js?" + urlencode(params, safe=",:")

    def _token(
        self, driver: WebDriver, query: str, extra: Mapping[str, str] | None = None
    ) -> tuple[str | None, ProviderResult | None]:
        """The page's vqd token, or None and the result of a search that ends there."""
        driver.get(self.search_url(query, extra))
        for attempt in (1, 2):
            html = driver.page_source
            vqd = None if block_by_url(driver.current_url) else find_vqd(html)
            if vqd:
                return vqd, None
            reason = block_by_url(driver.current_url) or detect_block(driver.current_url, html)
            if reason == CONSENT and attempt == 1 and answer_consent(driver, self._consent, self._settle):
                continue
            if reason:
                log.warning("duckduckgo %s", reason)
                return None, ProviderResult(blocked_reason=reason, pages=attempt)
            return None, unreadable_page_result("duckduckgo", driver.current_url, html, NO_TOKEN, [], attempt)
        return None, ProviderResult(blocked_reason=CONSENT, pages=2)  # not reached: the second pass returns

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
        extra = engine_filters(filters).params
        vqd, ended = self._token(driver, query, extra)
        if vqd is None:
            return ended or ProviderResult(blocked_reason=REFUSED)
        url = self.json_url(query, vqd, extra)
        pages = 1
        for number in range(1, page_cap(wanted) + 1):
            driver.get(url)
            pages += 1
            reason = block_by_url(driver.current_url)
            text = "" if reason else str(driver.execute_script(_BODY_TEXT_JS) or "")
            page = None if reason else parse_json_text(text)
            if page is None:
                if reason or not text.strip():
                    reason = reason or detect_block(driver.current_url, driver.page_source) or REFUSED
                    log.warning("duckduckgo %s on JSON page %d (%d found before)", reason, number, len(found))
                    return ProviderResult(found.images, blocked_reason=reason, pages=pages)
                why = f"JSON page {number} is no i.js answer"
                return unreadable_page_result("duckduckgo", driver.current_url, text, why, found.images, pages)
            added = found.add(page.images)
            log.info(
                "duckduckgo page %d: %d results, %d new, %d of %d", number, len(page.images), added, len(found), wanted
            )
            if added:
                on_progress(len(found))
            if found.full:
                return ProviderResult(found.images, pages=pages)
            if not page.next_url or added == 0:
                return ProviderResult(found.images, exhausted=True, pages=pages)
            url = urljoin(self._base + "/", page.next_url)
            if not url.startswith(self._base + "/"):
                # The engine's own pages only: a `next` elsewhere is not followed.
                log.warning("duckduckgo: next page %s is not under %s; stopped", redact(url), self._base)
                return ProviderResult(found.images, exhausted=True, pages=pages)
        log.warning("duckduckgo: stopped after %d pages with %d of %d", page_cap(wanted), len(found), wanted)
        return ProviderResult(found.images, exhausted=True, pages=pages)
