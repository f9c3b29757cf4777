"""Google Images through a real browser: the results page, then its JSON answers, else scrolling.

The page is JavaScript-only; its first results arrive as script data (see google_parse), read in bulk
rather than by clicking each thumbnail. For more, the provider asks for the JSON answers the page's own
code requests (`/search?...&async=_fmt:json,p:1,ijn:N`, see google_ischj) with fetch() from inside the
page, so they carry the session's cookies and cost no page load or rendering; a JSON page holds about
as many results as a scroll brings, without the wait for the page to settle. When the engine gives no
such answer, the page is scrolled (and "more results" clicked) until enough are found, the page says it
has no more, or nothing arrives.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import urlencode

from selenium.webdriver.remote.webdriver import WebDriver

from services.scraper.providers.base import (
    DistinctImages,
    FoundImage,
    PageNotUnderstood,
    ProgressCallback,
    ProviderResult,
)
from services.scraper.providers.blocks import CONSENT, block_by_url, detect_block, unreadable_page_result
from services.scraper.providers.engine_filters import EngineFilters, Mapped
from services.scraper.providers.google_ischj import ischj_answers
from services.scraper.providers.google_parse import parse_google_results, parse_google_scripts
from services.scraper.providers.page_actions import (
    ConsentChoice,
    PageState,
    answer_consent,
    ask_for_more,
    fetch_text,
    read_page,
)
from shared.domain.filters import CHOICES, Filters

log = logging.getLogger(__name__)

# However many results are wanted, a search never scrolls more than this many times...
MAX_ROUNDS = 60
# ...nor keeps going after this many rounds in a row that brought nothing new.
STALE_ROUNDS = 3
# JSON pages: never more than this many, nor after this many in a row that brought nothing new.
MAX_JSON_PAGES = 20
STALE_JSON_PAGES = 2


# Google's `tbs` items, as its "Tools" menus write them. It has no "small" but an "icon" size, and no
# wallpaper size; "transparent" is a colour to it (`ic:trans`), so it shares the one colour slot.
_TBS: tuple[tuple[str, dict[str, str]], ...] = (
    ("size", {"small": "isz:i", "medium": "isz:m", "large": "isz:l"}),
    (
        "type",
        {
            "photo": "itp:photo",
            "clipart": "itp:clipart",
            "lineart": "itp:lineart",
            "animated": "itp:animated",
            "transparent": "ic:trans",
        },
    ),
    (
        "color",
        {"color": "ic:color", "bw": "ic:gray"} | {name: f"ic:specific,isc:{name}" for name in CHOICES["color"][2:]},
    ),
    ("layout", {"square": "iar:s", "wide": "iar:w", "tall": "iar:t"}),
    # "Creative Commons licences", and "Commercial & other licences".
    ("license", {"creative_commons": "il:cl", "commercial": "il:ol"}),
    ("age", {"day": "qdr:d", "week": "qdr:w", "month": "qdr:m", "year": "qdr:y"}),
)
# SafeSearch: "moderate" is Google's default (explicit images blurred), so nothing is sent for it.
_SAFE = {"strict": "active", "moderate": "", "off": "off"}


def engine_filters(filters: Filters | None) -> EngineFilters:
    """`tbs=isz:l,itp:photo,ic:gray,...` and `safe=active|off`."""
    mapped = Mapped(filters)
    items = {name: item for name, table in _TBS if (item := mapped.token(name, table))}
    if items.get("type") == "ic:trans" and "color" in items:
        # One colour slot: the transparency asked for as a type takes it; the colour is not sent.
        del items["color"], mapped.given["color"]
        mapped.missing.append("color")
    params = {"tbs": ",".join(items.values())} if items else {}
    safe = mapped.token("safe", _SAFE)
    if safe:
        params["safe"] = safe
    return mapped.result(params)


def json_page_cap(wanted: int) -> int:
    """JSON pages worth asking for `wanted` results: room for repeats between pages, but bounded."""
    return min(MAX_JSON_PAGES, 2 + 2 * math.ceil(wanted / 100))


@dataclass
class _Run:
    found: DistinctImages
    on_progress: ProgressCallback
    pages: int = 0

    def add(self, images: list[FoundImage], where: str) -> int:
        added = self.found.add(images)
        log.info("google %s: %d results, %d new, %d so far", where, len(images), added, len(self.found))
        if added:
            self.on_progress(len(self.found))
        return added

    def result(self, exhausted: bool = False, blocked_reason: str | None = None) -> ProviderResult:
        if blocked_reason:
            log.warning("google %s (%d found before)", blocked_reason, len(self.found))
        return ProviderResult(self.found.images, blocked_reason, exhausted, pages=self.pages)


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

    def engine_filters(self, filters: Filters | None) -> EngineFilters:
        return engine_filters(filters)

    def search_url(self, query: str, extra: Mapping[str, str] | None = None) -> str:
        return f"{self._base}/search?" + urlencode({"q": query, "udm": 2, "hl": "en"} | dict(extra or {}), safe=":,")

    def json_url(self, query: str, page: int, extra: Mapping[str, str] | None = None) -> str:
        # `async` stays unencoded, as the page writes it; the filters go along as on the page.
        params = urlencode({"q": query, "tbm": "isch", "asearch": "isch", "hl": "en"} | dict(extra or {}), safe=":,")
        return f"{self._base}/search?{params}&async=_fmt:json,p:1,ijn:{page}"

    def search(
        self,
        driver: WebDriver,
        query: str,
        wanted: int,
        on_progress: ProgressCallback,
        filters: Filters | None = None,
    ) -> ProviderResult:
        run = _Run(DistinctImages(limit=wanted), on_progress)
        if wanted <= 0:
            return run.result()
        extra = engine_filters(filters).params
        state, done = self._open(driver, query, run, extra)
        if done is not None:
            return done
        if run.found.full or state.end:
            return run.result(exhausted=not run.found.full)
        before = len(run.found)
        done = self._json_pages(driver, query, run, extra)
        if done is not None:
            return done
        if len(run.found) > before:
            log.info("google: the JSON answers stopped bringing results; the search ends there")
            return run.result(exhausted=True)
        return self._scroll(driver, run, state)

    def _open(
        self, driver: WebDriver, query: str, run: _Run, extra: Mapping[str, str]
    ) -> tuple[PageState, ProviderResult | None]:
        """The results page read once (its consent interstitial answered), or the result if it ends there."""
        driver.get(self.search_url(query, extra))
        run.pages += 1
        for attempt in (1, 2):
            # Only the scripts added since the last read: the transfer stays small as the page grows.
            state, scripts = read_page(driver, only_new=True)
            images = parse_google_scripts("\n".join(scripts))
            reason = block_by_url(state.url)
            if reason is None and not images:
                page = driver.page_source
                try:
                    images = parse_google_results(page)
                except PageNotUnderstood as exc:
                    reason = detect_block(state.url, page)
                    if reason is None:
                        return state, unreadable_page_result("google", state.url, page, exc, [], run.pages)
            if reason == CONSENT and attempt == 1 and answer_consent(driver, self._consent, self._settle * 2):
                log.info("google: consent interstitial answered (%s)", self._consent)
                run.pages += 1
                continue
            if reason:
                return state, run.result(blocked_reason=reason)
            run.add(images, "results page")
            return state, None
        return state, run.result(blocked_reason=CONSENT)  # not reached: the second pass returns

    def _json_pages(self, driver: WebDriver, query: str, run: _Run, extra: Mapping[str, str]) -> ProviderResult | None:
        """More results from the JSON answers; None when the engine gives none, to scroll instead."""
        stale = 0
        cap = json_page_cap(run.found.limit or 1)
        for number in range(1, cap + 1):
            answer = fetch_text(driver, self.json_url(query, number, extra))
            run.pages += 1
            reason = block_by_url(answer.url)
            answers = [] if reason else list(ischj_answers(answer.text))
            if not answers:
                reason = reason or (detect_block(answer.url, answer.text) if answer.text.strip() else None)
                if reason:
                    return run.result(blocked_reason=reason)
                log.info("google: no JSON answer for page %d (HTTP %d)", number, answer.status)
                return None
            images = [image for found in answers for image in found]
            if not images:
                return run.result(exhausted=True)  # the engine's way of saying it has no more
            stale = 0 if run.add(images, f"JSON page {number}") else stale + 1
            if run.found.full:
                return run.result()
            if stale >= STALE_JSON_PAGES:
                return None
        log.warning("google: stopped after %d JSON pages with %d results", cap, len(run.found))
        return run.result(exhausted=True)

    def _scroll(self, driver: WebDriver, run: _Run, state: PageState) -> ProviderResult:
        stale = 0
        for number in range(2, MAX_ROUNDS + 1):
            if state.end or stale >= STALE_ROUNDS:
                return run.result(exhausted=True)
            ask_for_more(driver, state, self._settle)
            run.pages += 1
            state, scripts = read_page(driver, only_new=True)
            reason = block_by_url(state.url)
            if reason:
                return run.result(blocked_reason=reason)
            stale = 0 if run.add(parse_google_scripts("\n".join(scripts)), f"round {number}") else stale + 1
            if run.found.full:
                return run.result()
        log.warning("google: stopped after %d rounds with %d results", MAX_ROUNDS, len(run.found))
        return run.result(exhausted=True)
