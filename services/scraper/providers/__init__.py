"""Search providers: which engines the scraper can drive, and the parsers for their saved pages."""

from __future__ import annotations

from collections.abc import Callable

from services.scraper.providers.base import FoundImage, PageNotUnderstood, ProviderResult, SearchProvider, Verdict
from services.scraper.providers.bing import BingProvider
from services.scraper.providers.bing_parse import parse_bing_results
from services.scraper.providers.blocks import ProviderBlocked, detect_block
from services.scraper.providers.brave import BraveProvider
from services.scraper.providers.brave_parse import parse_brave_results
from services.scraper.providers.duckduckgo import DuckDuckGoProvider
from services.scraper.providers.duckduckgo_parse import parse_duckduckgo_results
from services.scraper.providers.google import GoogleProvider
from services.scraper.providers.google_parse import parse_google_results

# Engines the settings may name; one without an implementation would be reported as unavailable.
KNOWN_PROVIDERS = ("google", "bing", "duckduckgo", "brave")

_FACTORIES: dict[str, Callable[[str], SearchProvider]] = {
    "google": GoogleProvider,
    "bing": BingProvider,
    "duckduckgo": DuckDuckGoProvider,
    "brave": BraveProvider,
}
# Each reads a saved page (or a saved JSON answer: google's ischj, duckduckgo's i.js) into its results, in
# page order, or raises PageNotUnderstood; nothing else, whatever the text (tests/unit/test_scraper_robustness.py).
PARSERS: dict[str, Callable[[str], list[FoundImage]]] = {
    "google": parse_google_results,
    "bing": parse_bing_results,
    "duckduckgo": parse_duckduckgo_results,
    "brave": parse_brave_results,
}


class ProviderUnavailable(LookupError):
    """The settings name an engine the scraper cannot drive; the message says why."""


def make_provider(name: str, base_url: str | None) -> SearchProvider:
    """The provider `name` searching under `base_url`, or ProviderUnavailable saying why not."""
    if name not in KNOWN_PROVIDERS:
        raise ProviderUnavailable("unknown search provider")
    factory = _FACTORIES.get(name)
    if factory is None:
        raise ProviderUnavailable("not available yet")
    if not base_url:
        raise ProviderUnavailable("no base URL configured")
    return factory(base_url)


__all__ = [
    "KNOWN_PROVIDERS",
    "PARSERS",
    "FoundImage",
    "PageNotUnderstood",
    "ProviderBlocked",
    "ProviderResult",
    "ProviderUnavailable",
    "SearchProvider",
    "Verdict",
    "detect_block",
    "make_provider",
]
