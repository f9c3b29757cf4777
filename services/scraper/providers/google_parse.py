"""Reading Google Images results: pure functions over the page's script data, no browser, no network.

The results page (`/search?q=...&udm=2`, formerly `tbm=isch`) is built by JavaScript from data held in
inline scripts (`AF_initDataCallback({key: 'ds:1', ..., data: [...]})` and similar JSON blobs). Every
result is an entry of the form

    [1, [0, "<id>", ["<thumbnail>", h, w], ["<full-size>", h, w], null, 0, "rgb(..)", null, 0,
         {"2003": [null, "<doc id>", "<page url>", "<title>", ...], ...}], ...]

so the full-size URLs are read in bulk as the `["https://...", height, width]` triples of the scripts:
a triple directly followed by another triple is that result's thumbnail (as are gstatic.com ones), and
the page a result was found on is the URL in the first `"2003"` entry after its full-size triple.
Strings are JSON-escaped (`\\u003d` for `=`, `\\u0026` for `&`), sometimes once more inside a JS string.
The JSON answers the page requests for more results are read by google_ischj.
"""

from __future__ import annotations

import json
import re
from html import unescape
from urllib.parse import urlsplit

from services.scraper.providers.base import FoundImage, PageNotUnderstood, is_web_url
from services.scraper.providers.google_ischj import ischj_answers
from services.scraper.providers.page_text import script_text

__all__ = ["parse_google_results", "parse_google_scripts", "script_text"]

_STRING = r'"((?:[^"\\]|\\.)*)"'
_TRIPLE = re.compile(r"\[\s*" + _STRING + r"\s*,\s*(\d+)\s*,\s*(\d+)\s*\]")
_PAGE = re.compile(r'"2003"\s*:\s*\[\s*null\s*,\s*"(?:[^"\\]|\\.)*"\s*,\s*' + _STRING)
_THUMBNAIL_HOSTS = ("gstatic.com",)
# The data of one result is short; never look further than this for its page URL.
_PAGE_WINDOW = 4000


def _unescape(literal: str) -> str | None:
    try:
        value = json.loads(f'"{literal}"')
    except ValueError:
        return None
    return value if isinstance(value, str) else None


def _size(text: str) -> int | None:
    # No image is a billion pixels wide; longer digit strings are not even converted.
    number = int(text) if len(text) < 10 else 0
    return number if number > 0 else None


def _is_thumbnail_host(url: str) -> bool:
    host = (urlsplit(url).hostname or "").lower()
    return any(host == name or host.endswith("." + name) for name in _THUMBNAIL_HOSTS)


def _page_url(text: str, start: int, end: int) -> str | None:
    match = _PAGE.search(text, start, min(end, start + _PAGE_WINDOW))
    if match is None:
        return None
    url = _unescape(match.group(1))
    return url if url and is_web_url(url) else None


def _triples(text: str) -> list[FoundImage]:
    matches = list(_TRIPLE.finditer(text))
    images: list[FoundImage] = []
    thumbnail: str | None = None
    for index, match in enumerate(matches):
        url = _unescape(match.group(1))
        following = matches[index + 1] if index + 1 < len(matches) else None
        # `[thumb],[full]`: the first of two adjacent triples is the result's thumbnail.
        paired = following is not None and text[match.end() : following.start()].strip() == ","
        if url is None or not is_web_url(url) or paired or _is_thumbnail_host(url):
            thumbnail = url if paired else None
            continue
        end = following.start() if following is not None else len(text)
        images.append(
            FoundImage(
                url=url,
                page_url=_page_url(text, match.end(), end),
                height=_size(match.group(2)),
                width=_size(match.group(3)),
                thumbnail_url=thumbnail,
            )
        )
        thumbnail = None
    return images


def parse_google_scripts(text: str) -> list[FoundImage]:
    """Every full-size result in the scripts' text, in page order, repeats included (see `base.distinct`)."""
    images = _triples(text)
    if not images and '\\"' in text:
        # The data may sit inside a JS string literal: one more level of escaping to take off.
        images = _triples(text.replace("\\\\", "\\").replace('\\"', '"'))
    return images


def parse_google_results(text: str) -> list[FoundImage]:
    """The full-size results of a saved Google Images page (read from its scripts only), of a saved
    `ischj` answer, or of a page holding such answers, in order, repeats included (see `base.distinct`).

    Raises PageNotUnderstood when the text holds neither script results nor an answer (an answer with
    no results, the engine's way of saying it has no more, gives an empty list).
    """
    answers = list(ischj_answers(text))
    if not answers and "&quot;" in text:
        # A browser's saved view of an answer escapes the quotes.
        answers = list(ischj_answers(unescape(text)))
    images = [image for answer in answers for image in answer] + parse_google_scripts(script_text(text))
    if not images and not answers:
        raise PageNotUnderstood("no Google Images results in the page's scripts, and no ischj answer")
    return images
