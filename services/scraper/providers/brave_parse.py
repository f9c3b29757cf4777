"""Reading Brave Search images results pages: pure functions over the page's data, no browser, no network.

The results page (`/images?q=...`) is drawn by SvelteKit from data the page hands its code in an inline
script, as a JavaScript literal rather than JSON (bare keys, `void 0`, repeated values hoisted into the
parameters of a function called on the spot):

    kit.start(app, element, {node_ids: [0, 19], data: [(function(a,b){return {type:"data", ...}}(..)),
      (function(a,b,c){return {type:"data",data:{body:{response:{type:"images",results:[
        {type:"image_result", title:"...", url:"<page>", source:"example.org",
         thumbnail:{src:"<thumbnail>", width:a, height:b}, properties:{url:"<full-size>",
         placeholder:"...", width:1200, height:800, format:"jpeg"}, ...}, ...]}}}}}("..", .., ..))],
      form: null, error: null});

Earlier versions of the page wrote the same array as `const data = [...]` or `data: [{type:"data",...}]`;
all three are read. Every object with a `properties.url` is one result, the page it is on is its `url`;
an empty `results` list under `response`, or `noResults: true`, is the engine saying it has nothing.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from services.scraper.providers.base import FoundImage, PageNotUnderstood, pixel_size, web_url
from services.scraper.providers.jsdata import JsSyntaxError, iife_values, read_value
from services.scraper.providers.page_text import script_texts

# Where the data array starts in the page's earlier forms: `const data = [` and `data: [{`.
_DATA_ARRAY = re.compile(r"\bdata\s*[:=]\s*(?=\[)")


def _data_values(script: str) -> list[Any]:
    values = list(iife_values(script))
    if values:
        return values
    for match in _DATA_ARRAY.finditer(script):
        try:
            values.append(read_value(script, match.end())[0])
        except JsSyntaxError:
            continue
    return values


def _image(node: Mapping[str, Any]) -> FoundImage | None:
    properties = node.get("properties")
    url = web_url(properties.get("url")) if isinstance(properties, dict) else None
    if url is None or not isinstance(properties, dict):
        return None
    thumbnail = node.get("thumbnail")
    return FoundImage(
        url=url,
        page_url=web_url(node.get("url")),
        width=pixel_size(properties.get("width")),
        height=pixel_size(properties.get("height")),
        thumbnail_url=web_url(thumbnail.get("src")) if isinstance(thumbnail, dict) else None,
    )


def _says_none(node: Mapping[str, Any]) -> bool:
    response = node.get("response")
    return node.get("noResults") is True or (isinstance(response, dict) and response.get("results") == [])


def read_data(values: list[Any]) -> tuple[list[FoundImage], bool]:
    """The results in the page's data values, in order, and whether the data says there are none."""
    images: list[FoundImage] = []
    says_none = False
    pending: list[Any] = list(reversed(values))
    while pending:  # depth first, in document order, without recursion
        node = pending.pop()
        if isinstance(node, list):
            pending.extend(reversed(node))
        elif isinstance(node, dict):
            image = _image(node)
            if image is not None:
                images.append(image)
                continue
            says_none = says_none or _says_none(node)
            pending.extend(reversed(node.values()))
    return images, says_none


def parse_brave_results(html: str) -> list[FoundImage]:
    """Every result of a saved Brave images page, in page order, repeats included (see `base.distinct`).

    Raises PageNotUnderstood when the page's scripts hold no results data.
    """
    values = [value for script in script_texts(html) for value in _data_values(script)]
    images, says_none = read_data(values)
    if not images and not says_none:
        raise PageNotUnderstood("no SvelteKit data with image results in the page's scripts")
    return images
