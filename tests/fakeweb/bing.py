"""A fake Bing Images on loopback, serving pages with the structure of the real one.

The scenario lives in the base URL's path, so tests running in parallel share no state:

    {web.url}/bing/<scenario>/images/search?q=...&first=1
    {web.url}/bing/<scenario>/images/async?q=...&first=36&count=35&mmasync=1

`<scenario>` is a comma-separated list of `key=value` (values percent-encoded), for example
`total=150,overlap=2,img.latency_ms=100,img.status=500`:

- `total=N`     how many distinct results the engine has (default 60); results are numbered 1..N.
- `captcha=N`   from the N-th page on (1 = every page) answer with a CAPTCHA / "unusual traffic" page.
- `consent=1`   answer every page with a consent wall ("Before you continue to Bing").
- `overlap=K`   each continuation batch repeats the last K results of the batch before (as Bing does).
- `ext=jpg`     the extension of the image URLs.
- `delay_ms=M`  wait M ms before answering any results page (a slow or hanging engine).
- `img.NAME=V`  forwarded as `NAME=V` in the query string of every full-size image URL, for the
                image server's options (latency, failures, ...).

Pages match the saved real page (`shared/fixtures/search/bing_images.html`): `ul.dgControl_list >
li > div.iuscp > div.imgpt > a.iusc` whose `m` attribute is HTML-escaped JSON with `murl`, `purl`,
`turl` and `t`, an href carrying `expw`/`exph`, and `data-nextUrl` on the results grid naming the
`/images/async` continuation (35 results per batch). `murl` is `{host}/img/<n>.<ext>?<img options>`
on this same server (served by tests/fakeweb/images.py), `purl` a page of this fake site that shows
the image; `expw`/`exph` claim the size the image server makes (`img.size`, default 200).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from html import escape
from urllib.parse import urlencode

from flask import Blueprint, Response, request

from tests.fakeweb import common

blueprint = Blueprint("bing", __name__)

PAGE_SIZE = 35
MAX_COUNT = 150
ROW = 7


@dataclass(frozen=True)
class Scenario:
    total: int = 60
    captcha: int = 0
    consent: bool = False
    overlap: int = 0
    ext: str = "jpg"
    delay_ms: int = 0
    image_options: dict[str, str] = field(default_factory=dict)


def encode_scenario(
    total: int = 60,
    captcha: bool | int = False,
    consent: bool = False,
    overlap: int = 0,
    ext: str = "jpg",
    delay_ms: int = 0,
    **image_options: object,
) -> str:
    """The path segment that makes the fake engine behave as described (see the module docstring)."""
    optional = {"captcha": (int(captcha), 0), "consent": (int(consent), 0), "overlap": (overlap, 0)}
    return common.join_scenario(total, optional, ext, delay_ms, image_options)


def decode_scenario(text: str) -> Scenario:
    values, images = common.split_scenario(text, ("consent", "overlap"))
    return Scenario(
        **common.shared_settings(values, images),
        consent=values.get("consent", "0") not in ("", "0"),
        overlap=common.non_negative(values, "overlap", 0),
    )


def _page_number(first: int) -> int:
    return (max(first, 1) - 1) // PAGE_SIZE + 1


def _item(scenario: Scenario, prefix: str, query: str, n: int) -> str:
    host = request.host_url
    murl = common.full_image_url(n, scenario.ext, scenario.image_options)
    purl = f"{host}{prefix.lstrip('/')}/page/{n}"
    turl = f"{host}img/{n}.{scenario.ext}"
    width = height = common.image_side(scenario.image_options)
    title = f"{query} picture {n}"
    meta = {"sid": "", "cid": f"fake{n}", "purl": purl, "murl": murl, "turl": turl, "t": title, "desc": title}
    detail = urlencode(
        {"view": "detailV2", "id": f"FAKE{n:08d}", "mediaurl": murl, "exph": height, "expw": width, "q": query}
    )
    return (
        f'<li data-idx="{n}"><div class="iuscp"><div class="imgpt">'
        f'<a aria-label="Image result for {escape(query)}" role="link" class="iusc" m="{escape(json.dumps(meta))}"'
        f' href="{escape(f"{prefix}/images/search?{detail}")}" h="ID=images,{n}">'
        f'<div class="img_cont hoff"><img class="mimg" height="197" width="197" data-src="{escape(turl)}"'
        f' alt="Image result for {escape(query)}"/></div></a>'
        f'<div class="img_info hon"><span class="nowrap">{width}&#215;{height}</span>'
        f'<div class="lnkw"><a target="_blank" href="{escape(purl)}">{escape(request.host)}</a></div></div>'
        f"</div></div></li>"
    )


def _grid(scenario: Scenario, prefix: str, query: str, first: int, count: int, start: int) -> str:
    """The results `start`..`first+count-1` in rows, inside the grid that names the next batch."""
    end = min(scenario.total, first + count - 1)
    numbers = list(range(max(start, 1), end + 1))
    following = first + count
    next_url = (
        f"{prefix}/images/async?" + urlencode({"q": query, "first": following, "count": PAGE_SIZE, "mmasync": 1})
        if following <= scenario.total
        else ""
    )
    rows = [
        f'<ul data-row="{row}" class="dgControl_list">'
        + "".join(_item(scenario, prefix, query, n) for n in numbers[i : i + ROW])
        + "</ul>"
        for row, i in enumerate(range(0, len(numbers), ROW))
    ]
    return (
        f'<div id="mmComponent_images_{_page_number(first) + 1}" class="dgControl dtl hover"'
        f' data-nextUrl="{escape(next_url)}" data-iid="images.{first}" data-layout="row">{"".join(rows)}</div>'
    )


def _block_page(title: str, body: str) -> str:
    return f"<!DOCTYPE html><html><head><title>{title}</title></head><body>{body}</body></html>"


def _captcha_page(prefix: str) -> str:
    return _block_page(
        "Verify you are a human",
        '<div id="b_captcha" class="captcha"><h1>One last step</h1><p>Our systems have detected unusual traffic'
        " from your computer network. Please solve the challenge below to continue.</p>"
        f'<form id="captcha-form" method="post" action="{escape(prefix)}/images/verify">'
        '<div class="captcha-puzzle"></div><input name="answer"><button type="submit">Submit</button></form></div>',
    )


def _consent_page(prefix: str) -> str:
    return _block_page(
        "Before you continue to Bing",
        '<div id="consent-wall"><h1>Before you continue to Bing</h1><p>We use cookies and data to deliver and'
        " maintain our services and to measure audience engagement.</p>"
        f'<form method="post" action="{escape(prefix)}/consent/save">'
        '<button name="set" value="accept">Accept all</button><button name="set" value="reject">Reject all</button>'
        "</form></div>",
    )


def _instead_of_results(scenario: Scenario, prefix: str, first: int) -> Response | None:
    """The delay, then the block page the scenario serves instead of results, if any."""
    common.pause(scenario.delay_ms)
    if scenario.consent:
        return common.html(_consent_page(prefix))
    if scenario.captcha and _page_number(first) >= scenario.captcha:
        return common.html(_captcha_page(prefix))
    return None


@blueprint.route("/bing/<scenario>/images/search")
def search(scenario: str) -> Response:
    setup = common.parse_scenario(decode_scenario, scenario)
    prefix = f"/bing/{scenario}"
    first = max(1, common.int_arg("first", 1))
    detour = _instead_of_results(setup, prefix, first)
    if detour is not None:
        return detour
    query = request.args.get("q", "")
    grid = _grid(setup, prefix, query, first, PAGE_SIZE, first)
    return common.html(
        f"<!DOCTYPE html><html><head><title>{escape(query)} - Search Images</title></head><body>"
        f'<div id="b_content"><div id="vm_c"><div class="dg_b" data-pagewidth="1024">{grid}</div></div></div>'
        "</body></html>"
    )


@blueprint.route("/bing/<scenario>/images/async")
def more(scenario: str) -> Response:
    """A continuation batch: an HTML fragment, as the infinite scroll requests it."""
    setup = common.parse_scenario(decode_scenario, scenario)
    prefix = f"/bing/{scenario}"
    first = max(1, common.int_arg("first", 1))
    detour = _instead_of_results(setup, prefix, first)
    if detour is not None:
        return detour
    count = min(MAX_COUNT, max(1, common.int_arg("count", PAGE_SIZE)))
    start = first - setup.overlap if first > 1 else first
    return common.html(_grid(setup, prefix, request.args.get("q", ""), first, count, start))


@blueprint.route("/bing/<scenario>/page/<int:number>")
def page(scenario: str, number: int) -> Response:
    """The page a result was "found on": a title and the image."""
    return common.found_on_page(number, common.parse_scenario(decode_scenario, scenario).ext)
