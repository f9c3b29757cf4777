"""Reading Google Images' JSON results answers (`ischj`): pure functions, no browser, no network.

What the results page's own requests for more results get back from
`/search?q=...&tbm=isch&asearch=isch&async=_fmt:json,p:1,ijn:N` (N = 0, 1, ...: the page of results):
an anti-XSSI first line `)]}'`, then

    {"ischj": {"metadata": [{"original_image": {"url": "<full-size>", "width": 1200, "height": 800},
                             "thumbnail": {"url": "<thumbnail>", ...},
                             "result": {"referrer_url": "<page>", "page_title": "...", "site_title": "..."},
                             "text_in_grid": {"snippet": "..."}, ...}, ...], ...}}

with `=` and `&` inside strings escaped as `\\u003d` and `\\u0026` (plain JSON escapes). An answer whose
`metadata` is empty is the engine saying it has no more.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Mapping
from typing import Any

from services.scraper.providers.base import FoundImage, pixel_size, web_url

_START = re.compile(r'\{\s*"ischj"\s*:')


def _field(entry: Mapping[str, Any], name: str) -> Mapping[str, Any]:
    value = entry.get(name)
    return value if isinstance(value, dict) else {}


def _image(entry: Mapping[str, Any]) -> FoundImage | None:
    original = _field(entry, "original_image")
    url = web_url(original.get("url"))
    if url is None:
        return None
    return FoundImage(
        url=url,
        page_url=web_url(_field(entry, "result").get("referrer_url")),
        width=pixel_size(original.get("width")),
        height=pixel_size(original.get("height")),
        thumbnail_url=web_url(_field(entry, "thumbnail").get("url")),
    )


def read_ischj(data: object) -> list[FoundImage] | None:
    """The results of a decoded answer in order, or None if it is not one (no `ischj.metadata` list)."""
    ischj = data.get("ischj") if isinstance(data, dict) else None
    metadata = ischj.get("metadata") if isinstance(ischj, dict) else None
    if not isinstance(metadata, list):
        return None
    return [image for entry in metadata if isinstance(entry, dict) and (image := _image(entry)) is not None]


def ischj_answers(text: str) -> Iterator[list[FoundImage]]:
    """The results of every `{"ischj": ...}` answer in `text` (a saved answer, or a page holding some)."""
    decoder = json.JSONDecoder()
    position = 0
    while match := _START.search(text, position):
        try:
            value, position = decoder.raw_decode(text, match.start())
        except (ValueError, RecursionError):
            # RecursionError: JSON nested deeper than the decoder goes; not an answer either way.
            position = match.end()
            continue
        images = read_ischj(value)
        if images is not None:
            yield images
