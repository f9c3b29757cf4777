"""A fake DuckDuckGo Images on loopback: a results page carrying a `vqd` token, and `i.js` JSON pages.

The scenario lives in the base URL's path (the grammar of tests/fakeweb/common.py):

    {web.url}/duckduckgo/<scenario>/?q=...&iax=images&ia=images
    {web.url}/duckduckgo/<scenario>/i.js?l=us-en&o=json&q=...&vqd=...&f=,,,&p=1[&s=100]

- `total=N`     how many distinct results the engine has (default 60); results are numbered 1..N.
- `page=P`      results per i.js page (default 100, as the real engine).
- `captcha=N`   from the N-th page on (1 = the results page, 2 = the first i.js page, ...) answer with
                the "bots use DuckDuckGo too" anomaly page (HTTP 403 for i.js).
- `consent=1`   the results page is first a consent page whose buttons set a cookie and come back;
  `consent=wall` the same page, but answering it leads back to it.
- `ext`, `delay_ms`, `img.NAME=V` as for the fake Bing.

i.js answers like the real one: `{"ads": null, "next": "i.js?...&s=100...", "query", "queryEncoded",
"response_type": "images", "results": [{"height", "width", "image", "image_token", "source",
"thumbnail", "thumbnail_token", "title", "url"}], "vqd": {query: token}}`, `next` relative and absent on
the last page (carrying the `f` and `p` filters it was asked with, as the real one does), and 403 when
the `vqd` does not belong to the query. The results page's own i.js request carries its `iaf` filters.
`image` is `{host}/img/<n>.<ext>` on this server (tests/fakeweb/images.py), `url` a page of this fake
site showing the image.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from html import escape
from urllib.parse import quote, urlencode

from flask import Blueprint, Response, request
from werkzeug.wrappers import Response as BaseResponse

from tests.fakeweb import common

blueprint = Blueprint("duckduckgo", __name__)

CONSENT_COOKIE = "fake_ddg_consent"


@dataclass(frozen=True)
class Scenario:
    total: int = 60
    page: int = 100
    captcha: int = 0
    consent: str = ""  # "", "1" (can be answered) or "wall"
    ext: str = "jpg"
    delay_ms: int = 0
    image_options: dict[str, str] = field(default_factory=dict)


def encode_scenario(
    total: int = 60,
    page: int = 100,
    captcha: bool | int = False,
    consent: bool | str = False,
    ext: str = "jpg",
    delay_ms: int = 0,
    **image_options: object,
) -> str:
    """The path segment that makes the fake DuckDuckGo behave as described (see the module docstring)."""
    optional = {
        "page": (page, 100),
        "captcha": (int(captcha), 0),
        "consent": (common.consent_setting(consent), ""),
    }
    return common.join_scenario(total, optional, ext, delay_ms, image_options)


def decode_scenario(text: str) -> Scenario:
    values, images = common.split_scenario(text, ("page", "consent"))
    return Scenario(
        **common.shared_settings(values, images),
        page=max(1, int(values.get("page", 100))),
        consent=common.consent_mode(values),
    )


def vqd_for(query: str) -> str:
    """The token the fake engine gives (and expects) for `query`: same shape as the real `4-<digits>`."""
    return "4-" + str(int(hashlib.sha256(query.encode()).hexdigest()[:24], 16))


def _anomaly_page(status: int) -> Response:
    return common.html(
        '<!DOCTYPE html><html lang="en-US"><head><title>DuckDuckGo</title></head><body>'
        '<div class="anomaly-modal__mask"><div class="anomaly-modal__modal" data-testid="anomaly-modal">'
        '<div class="anomaly-modal__title">Unfortunately, bots use DuckDuckGo too.</div>'
        '<div class="anomaly-modal__description">Please complete the following challenge to confirm this search'
        ' was made by a human.</div><div class="anomaly-modal__instructions">Select all squares containing a duck:'
        '</div><form action="anomaly.js" method="post"><div class="anomaly-modal__puzzle"></div>'
        '<button type="submit" class="anomaly-modal__submit">Submit</button></form></div></div></body></html>',
        status=status,
    )


def _consent_page(prefix: str) -> Response:
    target = escape(request.full_path)
    forms = "".join(
        f'<form method="post" action="{escape(prefix)}/consent/save"><input type="hidden" name="continue"'
        f' value="{target}"><button type="submit">{label}</button></form>'
        for label in ("Reject all", "Accept all")
    )
    return common.html(
        '<!DOCTYPE html><html><head><title>Before you continue</title></head><body><div id="consent">'
        f"<h1>Before you continue to DuckDuckGo</h1><p>We value your privacy.</p>{forms}</div></body></html>"
    )


@blueprint.route("/duckduckgo/<scenario>/")
def search(scenario: str) -> Response:
    setup = common.parse_scenario(decode_scenario, scenario)
    prefix = f"/duckduckgo/{scenario}"
    common.pause(setup.delay_ms)
    if common.consent_pending(setup.consent, CONSENT_COOKIE):
        return _consent_page(prefix)
    if setup.captcha == 1:
        return _anomaly_page(200)
    query = request.args.get("q", "")
    vqd = vqd_for(query)
    # The page's own first request carries its filters (`iaf` becomes `f`), as the real one's does.
    filters = request.args.get("iaf") or ",,,"
    first = "i.js?" + urlencode({"l": "us-en", "o": "json", "q": query, "vqd": vqd, "f": filters, "p": 1}, safe=",:")
    # The real page's script fetches the images from i.js and lays them out as tiles.
    render = (
        f"fetch({json.dumps(first)}).then(function (r) {{ return r.json(); }}).then(function (data) {{"
        " var grid = document.querySelector('.js-tiles');"
        " data.results.forEach(function (r) { var tile = document.createElement('div');"
        " tile.className = 'tile tile--img has-detail'; var img = document.createElement('img');"
        " img.className = 'tile--img__img'; img.src = r.thumbnail; img.alt = r.title; tile.appendChild(img);"
        " grid.appendChild(tile); }); }).catch(function () {});"
    )
    return common.html(
        f'<!DOCTYPE html><html lang="en-US"><head><meta charset="utf-8"><title>{escape(query)} at DuckDuckGo</title>'
        f'</head><body class="body--serp"><form id="search_form" action="{escape(prefix)}/">'
        f'<input id="search_form_input" name="q" value="{escape(query)}"></form>'
        '<div id="zci-images" class="zci zci--images"><div class="zci__main zci__main--tiles js-tiles"></div></div>'
        f'<script>window.DDG = {{page: {{query: {json.dumps(query)}, vqd: "{vqd}"}}}};</script>'
        f"<script>{render}</script></body></html>"
    )


@blueprint.route("/duckduckgo/<scenario>/i.js")
def images_json(scenario: str) -> Response:
    setup = common.parse_scenario(decode_scenario, scenario)
    common.pause(setup.delay_ms)
    query = request.args.get("q", "")
    if request.args.get("vqd") != vqd_for(query):
        return common.html("", status=403)
    offset = max(0, common.int_arg("s", 0))
    if setup.captcha and offset // setup.page + 2 >= setup.captcha:
        return _anomaly_page(403)
    host = request.host_url
    side = common.image_side(setup.image_options)
    numbers = range(offset + 1, min(setup.total, offset + setup.page) + 1)
    results = [
        {
            "height": side,
            "image": common.full_image_url(n, setup.ext, setup.image_options),
            "image_token": hashlib.sha1(f"i{n}".encode()).hexdigest(),
            "source": "Bing",
            "thumbnail": f"{host}img/{n}.{setup.ext}?size=96",
            "thumbnail_token": hashlib.sha1(f"t{n}".encode()).hexdigest(),
            "title": f"{query} picture {n}",
            "url": f"{host}duckduckgo/{scenario}/page/{n}",
            "width": side,
        }
        for n in numbers
    ]
    answer: dict[str, object] = {"ads": None, "query": query, "queryEncoded": quote(query), "response_type": "images"}
    end = offset + len(numbers)
    if numbers and end < setup.total:
        # The next page keeps the filters and safe search this one was asked for, as the real `next` does.
        params = {"q": query, "o": "json", "p": request.args.get("p", "1"), "s": end, "u": "bing"}
        params |= {"f": request.args.get("f", ",,,"), "l": "us-en"}
        answer["next"] = "i.js?" + urlencode(params | {"vqd": vqd_for(query)}, safe=",:")
    answer |= {"results": results, "vqd": {query: vqd_for(query)}}
    return Response(json.dumps(answer), mimetype="application/json")


@blueprint.route("/duckduckgo/<scenario>/consent/save", methods=["POST"])
def consent_saved(scenario: str) -> BaseResponse:
    setup = common.parse_scenario(decode_scenario, scenario)
    return common.save_consent("duckduckgo", scenario, "/", CONSENT_COOKIE, remember=setup.consent != "wall")


@blueprint.route("/duckduckgo/<scenario>/page/<int:number>")
def page(scenario: str, number: int) -> Response:
    """The page a result was "found on": a title and the image."""
    return common.found_on_page(number, common.parse_scenario(decode_scenario, scenario).ext)
