"""A fake DuckDuckGo Images on loopback: a results page carrying a `vqd` token, and `i.js` JSON pages.

The scenario lives in the base URL's path (the grammar of tests/fakeweb/bing.py):

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
the last page, and 403 when the `vqd` does not belong to the query. `image` is `{host}/img/<n>.<ext>`
on this server (tests/fakeweb/images.py), `url` a page of this fake site showing the image.
"""

from __future__ import annotations

import hashlib
import json
import time
from dataclasses import dataclass, field
from html import escape
from urllib.parse import quote, urlencode

from flask import Blueprint, Response, redirect, request
from werkzeug.wrappers import Response as BaseResponse

from tests.fakeweb.bing import IMAGE_SIDE, join_scenario, non_negative, refuse_bad_scenario, split_scenario

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
    consent_value = ("1" if consent else "") if isinstance(consent, bool) else consent
    optional = {
        "page": (page, 100),
        "captcha": (int(captcha), 0),
        "consent": (consent_value, ""),
        "ext": (ext, "jpg"),
        "delay_ms": (delay_ms, 0),
    }
    return join_scenario({"total": total}, optional, image_options)


def decode_scenario(text: str) -> Scenario:
    values, images = split_scenario(text, ("total", "page", "captcha", "consent", "ext", "delay_ms"))
    consent = values.get("consent", "")
    if consent not in ("", "0", "1", "wall"):
        raise ValueError(f"consent must be 1 or wall, not {consent!r}")
    return Scenario(
        total=non_negative(values, "total", 60),
        page=max(1, int(values.get("page", 100))),
        captcha=non_negative(values, "captcha", 0),
        consent="" if consent == "0" else consent,
        ext=values.get("ext", "jpg"),
        delay_ms=non_negative(values, "delay_ms", 0),
        image_options=images,
    )


def _scenario(text: str) -> Scenario:
    try:
        return decode_scenario(text)
    except ValueError as exc:
        refuse_bad_scenario(exc)


def vqd_for(query: str) -> str:
    """The token the fake engine gives (and expects) for `query`: same shape as the real `4-<digits>`."""
    return "4-" + str(int(hashlib.sha256(query.encode()).hexdigest()[:24], 16))


def _html(body: str, status: int = 200) -> Response:
    return Response(body, status=status, mimetype="text/html")


def _anomaly_page(status: int) -> Response:
    return _html(
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
    return _html(
        '<!DOCTYPE html><html><head><title>Before you continue</title></head><body><div id="consent">'
        f"<h1>Before you continue to DuckDuckGo</h1><p>We value your privacy.</p>{forms}</div></body></html>"
    )


def _pause(setup: Scenario) -> None:
    if setup.delay_ms:
        time.sleep(setup.delay_ms / 1000)


@blueprint.route("/duckduckgo/<scenario>/")
def search(scenario: str) -> Response:
    setup = _scenario(scenario)
    prefix = f"/duckduckgo/{scenario}"
    _pause(setup)
    if setup.consent and (setup.consent == "wall" or request.cookies.get(CONSENT_COOKIE) != "1"):
        return _consent_page(prefix)
    if setup.captcha == 1:
        return _anomaly_page(200)
    query = request.args.get("q", "")
    vqd = vqd_for(query)
    first = "i.js?" + urlencode({"l": "us-en", "o": "json", "q": query, "vqd": vqd, "f": ",,,", "p": 1}, safe=",")
    # The real page's script fetches the images from i.js and lays them out as tiles.
    render = (
        f"fetch({json.dumps(first)}).then(function (r) {{ return r.json(); }}).then(function (data) {{"
        " var grid = document.querySelector('.js-tiles');"
        " data.results.forEach(function (r) { var tile = document.createElement('div');"
        " tile.className = 'tile tile--img has-detail'; var img = document.createElement('img');"
        " img.className = 'tile--img__img'; img.src = r.thumbnail; img.alt = r.title; tile.appendChild(img);"
        " grid.appendChild(tile); }); }).catch(function () {});"
    )
    return _html(
        f'<!DOCTYPE html><html lang="en-US"><head><meta charset="utf-8"><title>{escape(query)} at DuckDuckGo</title>'
        f'</head><body class="body--serp"><form id="search_form" action="{escape(prefix)}/">'
        f'<input id="search_form_input" name="q" value="{escape(query)}"></form>'
        '<div id="zci-images" class="zci zci--images"><div class="zci__main zci__main--tiles js-tiles"></div></div>'
        f'<script>window.DDG = {{page: {{query: {json.dumps(query)}, vqd: "{vqd}"}}}};</script>'
        f"<script>{render}</script></body></html>"
    )


@blueprint.route("/duckduckgo/<scenario>/i.js")
def images_json(scenario: str) -> Response:
    setup = _scenario(scenario)
    _pause(setup)
    query = request.args.get("q", "")
    if request.args.get("vqd") != vqd_for(query):
        return Response("", status=403, mimetype="text/html")
    try:
        offset = max(0, int(request.args.get("s", 0)))
    except ValueError:
        offset = 0
    if setup.captcha and offset // setup.page + 2 >= setup.captcha:
        return _anomaly_page(403)
    host = request.host_url
    options = f"?{urlencode(setup.image_options)}" if setup.image_options else ""
    side = int(setup.image_options.get("size", IMAGE_SIDE))
    numbers = range(offset + 1, min(setup.total, offset + setup.page) + 1)
    results = [
        {
            "height": side,
            "image": f"{host}img/{n}.{setup.ext}{options}",
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
        params = {"q": query, "o": "json", "p": 1, "s": end, "u": "bing", "f": ",,,", "l": "us-en"}
        answer["next"] = "i.js?" + urlencode(params | {"vqd": vqd_for(query)}, safe=",")
    answer |= {"results": results, "vqd": {query: vqd_for(query)}}
    return Response(json.dumps(answer), mimetype="application/json")


@blueprint.route("/duckduckgo/<scenario>/consent/save", methods=["POST"])
def consent_saved(scenario: str) -> BaseResponse:
    setup = _scenario(scenario)
    prefix = f"/duckduckgo/{scenario}"
    target = request.form.get("continue", "")
    response = redirect(target if target.startswith(prefix + "/") else prefix + "/", code=303)
    if setup.consent != "wall":
        response.set_cookie(CONSENT_COOKIE, "1", path="/duckduckgo/", samesite="Lax")
    return response


@blueprint.route("/duckduckgo/<scenario>/page/<int:number>")
def page(scenario: str, number: int) -> Response:
    """The page a result was "found on": a title and the image."""
    setup = _scenario(scenario)
    return _html(
        f"<!DOCTYPE html><html><head><title>Picture {number}</title></head><body><h1>Picture {number}</h1>"
        f'<img src="/img/{number}.{setup.ext}" alt="picture {number}"></body></html>'
    )
