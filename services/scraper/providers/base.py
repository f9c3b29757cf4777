"""What every search provider returns, and the interface the scraper drives them through."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Protocol
from urllib.parse import urlsplit, urlunsplit

from selenium.webdriver.remote.webdriver import WebDriver

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


@dataclass(frozen=True)
class ProviderResult:
    """The distinct images a provider found, in result order, and why it stopped short if it did.

    `blocked_reason` is set when the engine answered with a CAPTCHA, "unusual traffic" or consent
    page; `exhausted` when the engine ran out of results before `wanted` was reached.
    """

    images: list[FoundImage] = field(default_factory=list)
    blocked_reason: str | None = None
    exhausted: bool = False


class SearchProvider(Protocol):
    """A search engine driven through a real browser."""

    @property
    def name(self) -> str: ...

    def search(self, driver: WebDriver, query: str, wanted: int, on_progress: ProgressCallback) -> ProviderResult:
        """Collect up to `wanted` distinct full-size image URLs for `query`.

        Browser errors (timeouts, a crashed session) propagate as Selenium exceptions.
        """
        ...


def normalise_url(url: str) -> str:
    """The form two URLs are compared in: no fragment, scheme and host in lower case."""
    parts = urlsplit(url.strip())
    netloc = parts.netloc
    if "@" in netloc:
        # Credentials are case-sensitive; only the host part is not.
        userinfo, _, hostport = netloc.rpartition("@")
        netloc = f"{userinfo}@{hostport.lower()}"
    else:
        netloc = netloc.lower()
    return urlunsplit((parts.scheme.lower(), netloc, parts.path, parts.query, ""))


def is_web_url(url: str) -> bool:
    """Only absolute http(s) URLs are worth downloading; engines also emit `data:` and relative ones."""
    parts = urlsplit(url.strip())
    return parts.scheme.lower() in ("http", "https") and bool(parts.netloc)


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
