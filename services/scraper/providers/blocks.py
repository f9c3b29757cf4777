"""Recognising the pages engines show instead of results: CAPTCHAs, "unusual traffic", rate limits, consent.

Only a page that yielded no results should be judged: real results pages carry cookie banners and
challenge scripts that are not walls (the saved Bing fixture names challenges.cloudflare.com in a
script). Markers are read from the URL, the visible text and element attributes, never from scripts.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass, field
from html.parser import HTMLParser
from urllib.parse import urlsplit

from services.scraper.providers.base import FoundImage, ProviderResult
from services.scraper.providers.page_text import feed_html

log = logging.getLogger(__name__)

CAPTCHA = "blocked by a CAPTCHA page"
UNUSUAL_TRAFFIC = 'blocked by an "unusual traffic" page'
CONSENT = "blocked by a consent wall"
RATE_LIMITED = 'blocked by a "too many requests" page'
# An answer that is neither results nor a page we recognise, where the engine's own JSON was expected.
REFUSED = "blocked: the engine refused the results request"

# Text never rendered, so never evidence of what the person would see.
_INVISIBLE = frozenset({"script", "style", "noscript", "template"})
_CAPTCHA_WIDGETS = ("recaptcha", "hcaptcha", "turnstile", "arkoselabs", "funcaptcha", "captcha")
_CAPTCHA_TEXT = (
    "captcha",
    "verify you are a human",
    "verify that you are a human",
    "are you a robot",
    "not a robot",
    # DuckDuckGo's anomaly page.
    "bots use duckduckgo too",
    "made by a human",
    # Brave's proof-of-work challenge.
    "confirm you're a human",
    "confirm you are a human",
)
_TRAFFIC_TEXT = ("unusual traffic", "automated queries", "suspicious activity from your")
_RATE_TEXT = ("too many requests", "rate limited", "rate-limited", "you have been rate limit")
_WORD_CAPTCHA = re.compile(r"[a-z_.-]*captcha[a-z_.-]*")
_CONSENT_TEXT = ("before you continue", "we value your privacy", "consent to cookies", "cookie consent")


class ProviderBlocked(Exception):
    """The engine answered with a page that is not results; `reason` says which kind."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass
class _PageScan:
    text: list[str] = field(default_factory=list)
    sources: list[str] = field(default_factory=list)  # src of iframes/scripts, action of forms
    names: list[str] = field(default_factory=list)  # ids and classes


class _Scanner(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.scan = _PageScan()
        self._hidden_depth = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _INVISIBLE:
            self._hidden_depth += 1
        values = {name: value or "" for name, value in attrs}
        for key in ("src", "action", "data-src"):
            if values.get(key):
                self.scan.sources.append(values[key].lower())
        for key in ("id", "class", "name"):
            if values.get(key):
                self.scan.names.append(values[key].lower())

    def handle_endtag(self, tag: str) -> None:
        if tag in _INVISIBLE and self._hidden_depth:
            self._hidden_depth -= 1

    def handle_data(self, data: str) -> None:
        if not self._hidden_depth:
            self.scan.text.append(data)


def _scan(html: str) -> _PageScan:
    scanner = _Scanner()
    feed_html(scanner, html)
    return scanner.scan


def _contains(haystack: str, needles: tuple[str, ...]) -> bool:
    return any(needle in haystack for needle in needles)


def block_by_url(url: str) -> str | None:
    """The block an address alone gives away (Google's `/sorry/`, `consent.` hosts), or None.

    Judged by whole path segments (`/sorry/index`, `/showcaptcha`, `/consent/ml`), so a query or a
    segment that merely mentions a word (`/q=captcha`) is not taken for a block.
    """
    try:
        parts = urlsplit(url)
    except ValueError:  # not an address at all
        return None
    host = (parts.hostname or "").lower()
    segments = parts.path.lower().split("/")
    if "sorry" in segments:
        return UNUSUAL_TRAFFIC
    if "challenge" in segments or any(_WORD_CAPTCHA.fullmatch(segment) for segment in segments):
        return CAPTCHA
    if host.startswith("consent.") or "consent" in segments:
        return CONSENT
    return None


def detect_block(url: str, html: str) -> str | None:
    """Why this page is a block rather than results, or None if it does not look like one."""
    reason = block_by_url(url)
    if reason:
        return reason
    scan = _scan(html)
    text = re.sub(r"\s+", " ", " ".join(scan.text)).lower()
    if any(_contains(source, _CAPTCHA_WIDGETS) for source in scan.sources) or any(
        "captcha" in name for name in scan.names
    ):
        return CAPTCHA
    if _contains(text, _CAPTCHA_TEXT):
        return CAPTCHA
    if _contains(text, _TRAFFIC_TEXT):
        return UNUSUAL_TRAFFIC
    if _contains(text, _RATE_TEXT):
        return RATE_LIMITED
    consent_markup = any("consent" in value for value in scan.sources + scan.names)
    if consent_markup or _contains(text, _CONSENT_TEXT):
        return CONSENT
    if "accept all" in text and "reject all" in text:
        return CONSENT
    return None


def unreadable_page_result(
    provider: str, url: str, page: str, why: object, found: list[FoundImage], pages: int
) -> ProviderResult:
    """What a page the provider's parser did not understand means for its search.

    A block page blocks; before any result it is the engine's page not understood (kept, so it can be
    saved as a fixture); after some, it is taken for the end of the results.
    """
    reason = detect_block(url, page)
    if reason:
        log.warning("%s %s (%d found before)", provider, reason, len(found))
        return ProviderResult(found, blocked_reason=reason, pages=pages)
    if not found:
        log.warning("%s: the results page was not understood (%s)", provider, why)
        return ProviderResult(not_understood=True, unparsed=page, pages=pages)
    log.warning("%s: page %d not understood (%s); taken for the end of the results", provider, pages, why)
    return ProviderResult(found, exhausted=True, pages=pages)
