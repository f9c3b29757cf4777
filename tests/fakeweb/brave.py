"""A fake Brave Search images on loopback: a SvelteKit results page whose data holds every result.

The scenario lives in the base URL's path (the grammar of tests/fakeweb/common.py):

    {web.url}/brave/<scenario>/images?q=...

- `total=N`     how many distinct results the engine has (default 60); results are numbered 1..N.
- `page=P`      at most this many of them on the page (default 100); Brave's images page has no more.
- `captcha=1`   answer with Brave's "confirm you're a human" proof-of-work page instead of results.
- `ratelimit=1` answer HTTP 429 with a "too many requests" page instead of results.
- `changed=1`   the engine has changed its format: the same results, in data the scraper never saw.
- `ext`, `delay_ms`, `img.NAME=V` as for the fake Bing.

The page is built like the real one: an inline script hands SvelteKit's `kit.start(app, element,
{node_ids, data: [...], form, error})` its data as a JavaScript literal, not JSON, with repeated values
hoisted into the parameters of a function called on the spot:
`data: [(function(a){return {type:"data",data:{...}}}("en-us")),(function(a,b,...){return {type:"data",
data:{body:{response:{type:"images",results:[{type:a,title,url,source,thumbnail:{src,width,height},
properties:{url,placeholder,width,height,format},meta_url,confidence}]}}}}}(..))]`. `properties.url` is
`{host}/img/<n>.<ext>` on this server, `url` a page of this fake site showing the image. The static
/brave/static/start.js lays the thumbnails out from that data, as the real page's code does.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from html import escape
from urllib.parse import urlsplit

from flask import Blueprint, Response, request

from tests.fakeweb import common

blueprint = Blueprint("brave", __name__)

THUMB_SIDE = 96
_BARE_KEY = re.compile(r"[A-Za-z_$][\w$]*")

START_JS = """
export function start(app, element, options) {
  const grid = element.querySelector('#results');
  const last = options.data[options.data.length - 1] || {};
  const response = ((last.data || {}).body || {}).response || {};
  (response.results || []).forEach(function (result) {
    const link = document.createElement('a');
    link.className = 'image-result';
    link.href = result.url || '#';
    const img = document.createElement('img');
    img.src = (result.thumbnail || {}).src || '';
    img.alt = result.title || '';
    link.appendChild(img);
    grid.appendChild(link);
  });
}
"""


@dataclass(frozen=True)
class Scenario:
    total: int = 60
    page: int = 100
    captcha: int = 0
    ratelimit: bool = False
    changed: bool = False
    ext: str = "jpg"
    delay_ms: int = 0
    image_options: dict[str, str] = field(default_factory=dict)


def encode_scenario(
    total: int = 60,
    page: int = 100,
    captcha: bool | int = False,
    ratelimit: bool = False,
    changed: bool = False,
    ext: str = "jpg",
    delay_ms: int = 0,
    **image_options: object,
) -> str:
    """The path segment that makes the fake Brave behave as described (see the module docstring)."""
    optional = {
        "page": (page, 100),
        "captcha": (int(captcha), 0),
        "ratelimit": (int(ratelimit), 0),
        "changed": (int(changed), 0),
    }
    return common.join_scenario(total, optional, ext, delay_ms, image_options)


def decode_scenario(text: str) -> Scenario:
    values, images = common.split_scenario(text, ("page", "ratelimit", "changed"))
    return Scenario(
        **common.shared_settings(values, images),
        page=max(1, int(values.get("page", 100))),
        ratelimit=values.get("ratelimit", "0") not in ("", "0"),
        changed=values.get("changed", "0") not in ("", "0"),
    )


class _Hoisted(str):
    """A value written as the name of the function parameter it was hoisted into."""


def js_literal(value: object) -> str:
    """`value` as SvelteKit writes data: bare keys where they can be, `void 0` for None."""
    if isinstance(value, _Hoisted):
        return str(value)
    if isinstance(value, dict):
        items = (f"{key if _BARE_KEY.fullmatch(key) else json.dumps(key)}:{js_literal(v)}" for key, v in value.items())
        return "{" + ",".join(items) + "}"
    if isinstance(value, list):
        return "[" + ",".join(js_literal(item) for item in value) + "]"
    if value is None:
        return "void 0"
    if isinstance(value, bool):
        return "true" if value else "false"
    return json.dumps(value).replace("<", "\\u003c")


def _call(params: dict[str, object], body: object) -> str:
    names = ",".join(params)
    arguments = ",".join(js_literal(value) for value in params.values())
    return f"(function({names}){{return {js_literal(body)}}}({arguments}))"


def _results(setup: Scenario, prefix: str, query: str) -> tuple[dict[str, object], list[object]]:
    """The hoisted values and the results, in the real format or, with `changed`, another one."""
    host = request.host_url
    site = urlsplit(host)
    side = common.image_side(setup.image_options)
    hoisted: dict[str, object] = {"a": "image_result", "b": side, "c": THUMB_SIDE, "d": site.netloc, "e": "http"}
    a, b, c, d, e = (_Hoisted(name) for name in hoisted)
    results: list[object] = []
    for n in range(1, min(setup.total, setup.page) + 1):
        full = common.full_image_url(n, setup.ext, setup.image_options)
        thumb, page = f"{host}img/{n}.{setup.ext}?size={THUMB_SIDE}", f"{host}{prefix.lstrip('/')}/page/{n}"
        if setup.changed:
            results.append({"kind": "img", "src": {"full": full, "thumb": thumb}, "link": page, "host": d})
            continue
        results.append(
            {
                "type": a,
                "title": f"{query} picture {n}",
                "url": page,
                "source": d,
                "page_fetched": "2026-01-01T00:00:00Z",
                "thumbnail": {"src": thumb, "width": c, "height": c},
                "properties": {"url": full, "placeholder": thumb, "width": b, "height": b, "format": "jpeg"},
                "meta_url": {"scheme": e, "netloc": d, "hostname": site.hostname, "favicon": None, "path": page},
                "confidence": "high",
            }
        )
    return hoisted, results


def _page_data(setup: Scenario, prefix: str, query: str) -> str:
    hoisted, results = _results(setup, prefix, query)
    layout = _call({"a": "en-us"}, {"type": "data", "data": {"ui_lang": _Hoisted("a"), "safesearch": "off"}})
    response = {"type": "images", "query": {"original": query, "spellcheck_off": False}, "results": results}
    data: dict[str, object] = {"body": {"response": response}}
    if not results:
        data = {"noResults": True} | data
    body = _call(hoisted, {"type": "data", "data": data, "uses": {"url": 1}})
    return f"data: [{layout},{body}],"


def _instead(status: int, title: str, body: str) -> Response:
    return common.html(
        f'<!DOCTYPE html><html lang="en"><head><title>{title}</title></head><body><main class="error-page">'
        f"<h1>{title}</h1>{body}</main></body></html>",
        status=status,
    )


@blueprint.route("/brave/static/start.js")
def start_script() -> Response:
    return Response(START_JS, mimetype="text/javascript")


@blueprint.route("/brave/static/app.js")
def app_script() -> Response:
    return Response("export const nodes = [];\n", mimetype="text/javascript")


@blueprint.route("/brave/<scenario>/images")
def images(scenario: str) -> Response:
    setup = common.parse_scenario(decode_scenario, scenario)
    common.pause(setup.delay_ms)
    if setup.captcha:
        challenge = '<div id="pow-captcha" class="captcha-container"><button type="button">Verify</button></div>'
        return _instead(200, "Confirm you're a human being", f"<p>Solving this puzzle lets you go on.</p>{challenge}")
    if setup.ratelimit:
        return _instead(429, "Too many requests", "<p>You have been rate limited. Please try again later.</p>")
    query = request.args.get("q", "")
    return common.html(
        f'<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>{escape(query)} - Brave Search</title>'
        '<link rel="modulepreload" href="/brave/static/start.js"></head><body data-sveltekit-preload-data="hover">'
        '<div style="display: contents"><main id="main"><div id="results" class="images-grid"></div></main>'
        "<script>\n{\n__sveltekit_fake = {base: new URL('.', location).pathname.slice(0, -1)};\n"
        "const element = document.currentScript.parentElement;\n"
        "Promise.all([import('/brave/static/start.js'), import('/brave/static/app.js')]).then(([kit, app]) => {\n"
        f"kit.start(app, element, {{\nnode_ids: [0, 19],\n{_page_data(setup, f'/brave/{scenario}', query)}\n"
        "form: null,\nerror: null\n});\n});\n}\n</script></div></body></html>"
    )


@blueprint.route("/brave/<scenario>/page/<int:number>")
def page(scenario: str, number: int) -> Response:
    """The page a result was "found on": a title and the image."""
    return common.found_on_page(number, common.parse_scenario(decode_scenario, scenario).ext)
