"""What every search provider returns, and the interface the scraper drives them through."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Literal, Protocol
from urllib.parse import urlsplit

from selenium.webdriver.remote.webdriver import WebDriver

from services.scraper.providers.engine_filters import EngineFilters
from shared.domain.filters import Filters
from shared.domain.urls import normalise_url

_UNUSABLE = re.compile("[\x00-\x1f\x7f\ud800-\udfff]")

# Told the number of distinct images found so far, so the status page can show live progress.
ProgressCallback = Callable[[int], None]


@dataclass(frozen=True)
class FoundImage:
    """One result: the full-size image URL and, when the engine says, its page and pixel size."""

    url: str
    page_url: str | None = None
    width: int | None = None
    height: int | None = None
    thumbnail_url: str | None = None


class PageNotUnderstood(ValueError):
    """What a parser raises for a text that is neither results nor the engine's way of saying it has none.

    The one exception a parser lets out, whatever its input (truncated pages, garbage, huge or deeply
    nested values): a block page, another engine's page, or the engine's page after a change of format.
    """


# How a provider's run ended, as counted by the scraper's metric and shown by `imgjob probe`.
Verdict = Literal["ok", "exhausted", "blocked", "not_understood", "unreachable"]


@dataclass(frozen=True)
class ProviderResult:
    """The distinct images a provider found, in result order, and why it stopped short if it did.

    `blocked_reason` is set when the engine answered with a CAPTCHA, "unusual traffic" or consent
    page; `exhausted` when the engine ran out of results before `wanted` was reached; `not_understood`
    when its first page held no results and was no block page either (the engine changed its format,
    most likely), with that page in `unparsed` so it can become a test fixture. `pages` counts the
    results pages and answers the provider loaded.
    """

    images: list[FoundImage] = field(default_factory=list)
    blocked_reason: str | None = None
    exhausted: bool = False
    not_understood: bool = False
    unparsed: str | None = None
    pages: int = 0

    @property
    def verdict(self) -> Verdict:
        if self.blocked_reason:
            return "blocked"
        if self.not_understood:
            return "not_understood"
        return "exhausted" if self.exhausted else "ok"


class SearchProvider(Protocol):
    """A search engine driven through a real browser."""

    @property
    def name(self) -> str: ...

    def search(
        self,
        driver: WebDriver,
        query: str,
        wanted: int,
        on_progress: ProgressCallback,
        filters: Filters | None = None,
    ) -> ProviderResult:
        """Collect up to `wanted` distinct full-size image URLs for `query`, asking the engine for
        `filters` in its own parameters (see `engine_filters`).

        Browser errors (timeouts, a crashed session) propagate as Selenium exceptions.
        """
        ...

    def engine_filters(self, filters: Filters | None) -> EngineFilters:
        """What `filters` become on this engine: its parameters, and the filters it has none for."""
        ...


def is_web_url(url: str) -> bool:
    """Only absolute http(s) URLs are worth downloading; engines also emit `data:` and relative ones.

    Control characters and unpaired surrogates (which no store can encode) make a URL unusable too.
    """
    text = url.strip()
    if _UNUSABLE.search(text):
        return False
    try:
        parts = urlsplit(text)
    except ValueError:  # "http://[::1": a bracket that does not close
        return False
    return parts.scheme.lower() in ("http", "https") and bool(parts.netloc)


def pixel_size(value: object) -> int | None:
    """A width or height as engines write it (a number, or digits in a string); None unless plausible."""
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        return None
    try:
        number = int(value)
    except (ValueError, OverflowError):  # "n/a", NaN, infinity, more digits than Python converts
        return None
    return number if 0 < number < 1_000_000 else None


def web_url(value: object) -> str | None:
    """`value` stripped, if it is an absolute http(s) URL (see is_web_url); else None."""
    return value.strip() if isinstance(value, str) and is_web_url(value) else None


class DistinctImages:
    """Accumulates images in first-seen order, dropping ones whose normalised URL was seen already."""

    def __init__(self, limit: int | None = None) -> None:
        self.limit = limit
        self._seen: set[str] = set()
        self.images: list[FoundImage] = []

    @property
    def full(self) -> bool:
        return self.limit is not None and len(self.images) >= self.limit

    def add(self, images: Iterable[FoundImage]) -> int:
        """Add what is new (up to the limit); returns how many were added."""
        added = 0
        for image in images:
            if self.full:
                break
            url = normalise_url(image.url)
            if url in self._seen:
                continue
            self._seen.add(url)
            self.images.append(FoundImage(url, image.page_url, image.width, image.height, image.thumbnail_url))
            added += 1
        return added

    def __len__(self) -> int:
        return len(self.images)


def distinct(images: Iterable[FoundImage]) -> list[FoundImage]:
    """The images without repeats, in first-seen order, URLs normalised."""
    collector = DistinctImages()
    collector.add(images)
    return collector.images
