"""Reading Bing Images results pages: pure functions over HTML, no browser, no network.

Each result is an `a.iusc` anchor whose `m` attribute holds (HTML-escaped) JSON with `murl` (the
full-size image), `purl` (the page it is on) and `turl` (the thumbnail); the anchor's href, a link to
Bing's detail view, carries the image's pixel size as `expw`/`exph`. The results grid names the next
batch in `data-nextUrl` (`/images/async?...&first=36&count=35...`); a grid with no anchors at all is
a batch past the last result.
"""

from __future__ import annotations

import json
import logging
from html.parser import HTMLParser
from urllib.parse import parse_qs, urlsplit

from services.scraper.providers.base import FoundImage, PageNotUnderstood, is_web_url
from services.scraper.providers.page_text import feed_html

log = logging.getLogger(__name__)


def _positive_int(values: list[str] | None) -> int | None:
    if not values:
        return None
    try:
        number = int(values[0])
    except ValueError:
        return None
    return number if number > 0 else None


def _text(value: object) -> str | None:
    return value.strip() if isinstance(value, str) and value.strip() else None


def _image_from_anchor(attrs: dict[str, str]) -> FoundImage | None:
    try:
        meta = json.loads(attrs.get("m") or "")
    except (ValueError, RecursionError):  # RecursionError: nested deeper than the decoder goes
        log.debug("a.iusc with unreadable m attribute skipped")
        return None
    if not isinstance(meta, dict):
        return None
    url = _text(meta.get("murl"))
    if url is None or not is_web_url(url):
        return None
    query = parse_qs(urlsplit(attrs.get("href") or "").query)
    page_url = _text(meta.get("purl"))
    return FoundImage(
        url=url,
        page_url=page_url if page_url and is_web_url(page_url) else None,
        width=_positive_int(query.get("expw")),
        height=_positive_int(query.get("exph")),
        thumbnail_url=_text(meta.get("turl")),
    )


class _BingParser(HTMLParser):
    def __init__(self) -> None:
        # Attribute values arrive unescaped, so `m` is plain JSON by the time we see it.
        super().__init__(convert_charrefs=True)
        self.images: list[FoundImage] = []
        self.next_urls: list[str] = []
        self.anchors = 0
        self.grids = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = {name: value or "" for name, value in attrs}
        # The parser lower-cases attribute names, as browsers do when they serialise the DOM.
        if values.get("data-nexturl"):
            self.next_urls.append(values["data-nexturl"])
        classes = values.get("class", "").split()
        self.grids += "dgControl" in classes
        if tag == "a" and "iusc" in classes:
            self.anchors += 1
            image = _image_from_anchor(values)
            if image is not None:
                self.images.append(image)

    # Self-closing tags get the same treatment as open ones.
    handle_startendtag = handle_starttag


def _parse(html: str) -> _BingParser:
    parser = _BingParser()
    feed_html(parser, html)
    return parser


def parse_bing_results(html: str) -> list[FoundImage]:
    """Every result on the page, in page order, repeats included (see `base.distinct`).

    Raises PageNotUnderstood when the page has no readable result and no results grid either.
    """
    parser = _parse(html)
    if parser.images or (parser.grids and not parser.anchors):
        return parser.images
    raise PageNotUnderstood(f"no readable a.iusc result ({parser.anchors} anchors, {parser.grids} results grids)")


def next_url(html: str) -> str | None:
    """The continuation URL the results grid names (relative to the engine's root), if any."""
    urls = _parse(html).next_urls
    return urls[0] if urls else None


def next_offset(url: str | None) -> int | None:
    """The `first` parameter of a continuation URL: the 1-based index of the next batch's first result."""
    if not url:
        return None
    return _positive_int(parse_qs(urlsplit(url).query).get("first"))
