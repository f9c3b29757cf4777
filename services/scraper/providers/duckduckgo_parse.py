"""Reading DuckDuckGo Images: the `vqd` token of the results page and the `i.js` JSON pages.

The results page (`/?q=...&iax=images&ia=images`) holds no images; its scripts fetch them from
`/i.js?l=us-en&o=json&q=...&vqd=...&f=,,,&p=1`, which answers

    {"ads": null, "next": "i.js?q=...&o=json&p=1&s=100&u=bing&f=,,,&l=us-en&vqd=...", "query": "...",
     "results": [{"image": "<full-size>", "url": "<page>", "thumbnail": "...", "width": 1200,
                  "height": 800, "title": "...", "source": "Bing"}, ...], "vqd": {"<query>": "4-..."}}

100 results a page; `next` (relative to the engine's root) is absent on the last one. The `vqd` token
ties the JSON requests to the page's session: without it `i.js` answers 403.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from html.parser import HTMLParser
from typing import Any

from services.scraper.providers.base import FoundImage, PageNotUnderstood, pixel_size, web_url
from services.scraper.providers.page_text import feed_html

_VQD = (
    re.compile(r"""\bvqd\s*[=:]\s*["']?(\d-[\w-]+)"""),
    re.compile(r"""[?&;]vqd=(\d-[\w-]+)"""),
    re.compile(r"""name=["']vqd["'][^>]*?value=["'](\d-[\w-]+)"""),
)
# Where a JSON object that may be an i.js answer begins inside a page.
_JSON_START = re.compile(r'\{\s*"(?:ads|next|query|queryEncoded|response_type|results|vqd)"\s*:')


@dataclass(frozen=True)
class JsonPage:
    """One i.js answer: its results in order and the relative URL of the next page, if any."""

    images: list[FoundImage] = field(default_factory=list)
    next_url: str | None = None


def find_vqd(text: str) -> str | None:
    """The page's `vqd` token (`4-1234...`), from its scripts, links or a hidden input."""
    for pattern in _VQD:
        match = pattern.search(text)
        if match:
            return match.group(1)
    return None


def _image(result: Mapping[str, Any]) -> FoundImage | None:
    url = web_url(result.get("image"))
    if url is None:
        return None
    return FoundImage(
        url=url,
        page_url=web_url(result.get("url")),
        width=pixel_size(result.get("width")),
        height=pixel_size(result.get("height")),
        thumbnail_url=web_url(result.get("thumbnail")),
    )


def read_json_page(data: object) -> JsonPage | None:
    """The results of a decoded i.js answer, or None if it is not one (no `results` list)."""
    if not isinstance(data, dict) or not isinstance(data.get("results"), list):
        return None
    images = [image for r in data["results"] if isinstance(r, dict) and (image := _image(r)) is not None]
    following = data.get("next")
    return JsonPage(images, following if isinstance(following, str) and following.strip() else None)


def parse_json_text(text: str) -> JsonPage | None:
    """An i.js answer as the browser shows it (the body's text), or None if it is not one."""
    try:
        return read_json_page(json.loads(text))
    except (ValueError, RecursionError):  # RecursionError: nested deeper than the decoder goes
        return None


class _AllText(HTMLParser):
    """Every piece of text of a page, scripts and <pre> included, entities decoded."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []

    def handle_data(self, data: str) -> None:
        self.parts.append(data)


def _json_objects(text: str) -> Iterator[object]:
    decoder = json.JSONDecoder()
    position = 0
    while match := _JSON_START.search(text, position):
        try:
            value, end = decoder.raw_decode(text, match.start())
        except (ValueError, RecursionError):
            position = match.end()
            continue
        yield value
        position = end


def parse_duckduckgo_results(text: str) -> list[FoundImage]:
    """The results of a saved i.js answer, or of a page holding one or more (a browser's view of it,
    a results page with the JSON inline), in order, repeats included (see `base.distinct`).

    Raises PageNotUnderstood when the text holds no i.js answer (one with no results gives [])."""
    page = parse_json_text(text.strip())
    if page is not None:
        return page.images
    parser = _AllText()
    feed_html(parser, text)
    images: list[FoundImage] = []
    answers = 0
    for part in parser.parts:
        for value in _json_objects(part):
            found = read_json_page(value)
            if found is not None:
                answers += 1
                images += found.images
    if not answers:
        raise PageNotUnderstood("no i.js answer (a JSON object with a results list)")
    return images
