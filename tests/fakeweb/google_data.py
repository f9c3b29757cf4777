"""The fake Google's result data, in the real engine's two forms, and in a form it never used.

- `tiles`: the results grid's thumbnails (`div.isv-r[data-id] > a.wXeWr > img`).
- `data_script`: the results page's inline `AF_initDataCallback({key: 'ds:N', data: [...]})`, whose
  entries hold `[thumb, h, w]` and `[full, h, w]` triples and the page under `"2003"`.
- `ischj_answer`: the JSON the page's code requests for more (`async=_fmt:json,p:1,ijn:N`): the
  `)]}'` line, then `{"ischj": {"metadata": [{"original_image", "thumbnail", "result", ...}]}}`.
- `changed_data_script`, `changed_answer`: the same results in a made-up format, standing for a change
  of format.

Strings escape `=`, `&` and `<` as `\\u003d`, `\\u0026` and `\\u003c`, as Google's do.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from html import escape

from tests.fakeweb import common

THUMB_SIDE = 96


def _escaped(data: object) -> str:
    # None of these characters is JSON syntax, so replacing them everywhere is safe.
    text = json.dumps(data, separators=(",", ":"))
    return text.replace("=", "\\u003d").replace("&", "\\u0026").replace("<", "\\u003c")


def _urls(host: str, prefix: str, n: int, ext: str, image_options: Mapping[str, str]) -> tuple[str, str, str]:
    """Image n's full-size URL, thumbnail and "found on" page."""
    full = common.full_image_url(n, ext, image_options)
    return full, f"{host}img/{n}.{ext}?size={THUMB_SIDE}", f"{host}{prefix.lstrip('/')}/page/{n}"


def tiles(host: str, prefix: str, query: str, numbers: range, ext: str) -> str:
    """The results grid's thumbnails, as the real page lays them out."""
    site = host.split("//", 1)[-1].rstrip("/")
    return "".join(
        f'<div class="isv-r PNCib MSM1fd BUooTd" data-id="fake{n:06d}" data-ri="{n - 1}" role="listitem">'
        f'<a class="wXeWr islib nfEiy" jsname="sTFXNd" role="button" tabindex="0"><div class="bRMDJf islir">'
        f'<img class="rg_i Q4LuWd" src="{host}img/{n}.{ext}?size={THUMB_SIDE}" loading="lazy"'
        f' width="{THUMB_SIDE}" height="{THUMB_SIDE}" alt="{escape(query)} picture {n}"></div></a>'
        f'<a class="VFACy kGQAp" href="{escape(host + prefix.lstrip("/"))}/page/{n}">{escape(site)}</a></div>'
        for n in numbers
    )


def data_script(
    host: str, prefix: str, query: str, numbers: range, key: int, ext: str, image_options: Mapping[str, str]
) -> str:
    side = common.image_side(image_options)
    entries = []
    for n in numbers:
        full, thumb, page = _urls(host, prefix, n, ext, image_options)
        title = f"{query} picture {n}"
        doc = [None, f"doc{n}", page, title] + [None] * 10 + [host.split("//", 1)[-1].rstrip("/")]
        meta = {"2001": [None, None, None, 0, 0, 0, 0], "2003": doc, "2008": [None, title]}
        colour = f"rgb({n * 37 % 256},{n * 91 % 256},{n * 53 % 256})"
        entry = [0, f"fake{n:06d}", [thumb, THUMB_SIDE, THUMB_SIDE], [full, side, side], None, 0, colour, None, 0, meta]
        entries.append([1, entry, None, None, None])
    data = _escaped([None, [entries]])
    call = f"AF_initDataCallback({{key: 'ds:{key}', hash: '{key}', data:{data}, sideChannel: {{}}}});"
    return f'<script nonce="fake">{call}</script>'


def ischj_answer(host: str, prefix: str, query: str, numbers: range, ext: str, image_options: Mapping[str, str]) -> str:
    side = common.image_side(image_options)
    metadata = []
    for n in numbers:
        full, thumb, page = _urls(host, prefix, n, ext, image_options)
        metadata.append(
            {
                "image_docid": f"doc{n}",
                "original_image": {"url": full, "width": side, "height": side},
                "thumbnail": {"url": thumb, "width": THUMB_SIDE, "height": THUMB_SIDE},
                "result": {
                    "referrer_url": page,
                    "page_title": f"{query} picture {n}",
                    "site_title": host.split("//", 1)[-1].rstrip("/"),
                    "image_id": f"fake{n:06d}",
                },
                "text_in_grid": {"snippet": f"{query} picture {n}"},
            }
        )
    return ")]}'\n" + _escaped({"ischj": {"metadata": metadata, "scroll_token": f"fake{numbers.stop}"}})


def _changed(host: str, prefix: str, query: str, numbers: range, ext: str, image_options: Mapping[str, str]) -> str:
    side = common.image_side(image_options)
    items = []
    for n in numbers:
        full, thumb, page = _urls(host, prefix, n, ext, image_options)
        items.append({"media": {"src": full, "size": f"{side}x{side}"}, "preview": thumb, "origin": page})
    return _escaped({"items": items, "q": query})


def changed_data_script(
    host: str, prefix: str, query: str, numbers: range, ext: str, image_options: Mapping[str, str]
) -> str:
    data = _changed(host, prefix, query, numbers, ext, image_options)
    return f'<script nonce="fake">window.__imageGrid = {data};</script>'


def changed_answer(
    host: str, prefix: str, query: str, numbers: range, ext: str, image_options: Mapping[str, str]
) -> str:
    return ")]}'\n" + _changed(host, prefix, query, numbers, ext, image_options)
