"""A fake Google Images on loopback: a JavaScript results page fed by script data, with infinite scroll.

The scenario lives in the base URL's path (the grammar of tests/fakeweb/common.py):

    {web.url}/google/<scenario>/search?q=...&udm=2              the results page (first batch)
    {web.url}/google/<scenario>/search?q=...&udm=2&start=100&async=_fmt:html   a further batch
    {web.url}/google/<scenario>/search?q=...&tbm=isch&asearch=isch&async=_fmt:json,p:1,ijn:N
                                                                a JSON answer (results N*json_page+1...)

- `total=N`       how many distinct results the engine has (default 60); results are numbered 1..N.
- `batch=B`       results per load (default 100): the page holds the first B, each scroll loads B more.
- `more_every=M`  after every M results (default 300; 0 = never) the scroll stops loading by itself and
                  a "Show more results" button must be clicked, as on the real page.
- `captcha=N`     from the N-th load on (1 = the results page itself) redirect to `/sorry/index`, the
                  "unusual traffic" page with a reCAPTCHA; the page's script follows the redirect.
- `consent=1`     the results page first redirects to the EU consent interstitial (`/consent/ml`);
                  "Reject all" or "Accept all" sets a cookie and returns to the results.
  `consent=wall`  the same interstitial, but answering it leads back to it: a wall.
- `stall=N`       from the N-th load on answer HTTP 500: the page silently stops getting more results.
                  (A JSON answer for ijn:N counts as load N+1, as does the N-th further batch.)
- `json_page=J`   results per JSON answer (default 100); `json=0`: the engine answers JSON requests
                  with the results page instead, as if it did not offer them.
- `changed=1`     the engine has changed its format: the page and the JSON answers hold the same
                  results in a form the scraper has never seen (tests/fakeweb/google_data.py).
- `ext`, `delay_ms`, `img.NAME=V` as for the fake Bing.

The page is built like the real one: thumbnails (`div.isv-r[data-id] > a.wXeWr > img`) and, in inline
scripts, `AF_initDataCallback({key: 'ds:N', data: [...]})` whose entries are
`[1, [0, id, [thumb, h, w], [full, h, w], null, 0, "rgb(..)", null, 0, {"2003": [null, doc, page, title, ..]}]]`
with `=` and `&` escaped as `\\u003d` and `\\u0026`; the JSON answers are `)]}'` and
`{"ischj": {"metadata": [{"original_image": {url, width, height}, "thumbnail", "result": {referrer_url, ..}}]}}`
(tests/fakeweb/google_data.py). The static script /google/static/isr.js registers
that data, loads further batches on scroll or on the button, and opens a preview pane with the
full-size image (`#islsp img.sFlh5c`) when a thumbnail is clicked: the slow way of reading results.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from html import escape
from urllib.parse import urlencode

from flask import Blueprint, Response, redirect, request
from werkzeug.wrappers import Response as BaseResponse

from tests.fakeweb import common
from tests.fakeweb.google_data import changed_answer, changed_data_script, data_script, ischj_answer, tiles
from tests.fakeweb.google_script import ISR_JS

blueprint = Blueprint("google", __name__)

CONSENT_COOKIE = "SOCS"


@dataclass(frozen=True)
class Scenario:
    total: int = 60
    batch: int = 100
    more_every: int = 300
    captcha: int = 0
    consent: str = ""  # "", "1" (can be answered) or "wall"
    stall: int = 0
    json_page: int = 100
    json: bool = True
    changed: bool = False
    ext: str = "jpg"
    delay_ms: int = 0
    image_options: dict[str, str] = field(default_factory=dict)


def encode_scenario(
    total: int = 60,
    batch: int = 100,
    more_every: int = 300,
    captcha: bool | int = False,
    consent: bool | str = False,
    stall: int = 0,
    json_page: int = 100,
    json: bool = True,
    changed: bool = False,
    ext: str = "jpg",
    delay_ms: int = 0,
    **image_options: object,
) -> str:
    """The path segment that makes the fake Google behave as described (see the module docstring)."""
    optional = {
        "batch": (batch, 100),
        "more_every": (more_every, 300),
        "captcha": (int(captcha), 0),
        "consent": (common.consent_setting(consent), ""),
        "stall": (stall, 0),
        "json_page": (json_page, 100),
        "json": (int(json), 1),
        "changed": (int(changed), 0),
    }
    return common.join_scenario(total, optional, ext, delay_ms, image_options)


def decode_scenario(text: str) -> Scenario:
    keys = ("batch", "more_every", "consent", "stall", "json_page", "json", "changed")
    values, images = common.split_scenario(text, keys)
    return Scenario(
        **common.shared_settings(values, images),
        batch=max(1, int(values.get("batch", 100))),
        more_every=common.non_negative(values, "more_every", 300),
        consent=common.consent_mode(values),
        stall=common.non_negative(values, "stall", 0),
        json_page=max(1, int(values.get("json_page", 100))),
        json=values.get("json", "1") not in ("", "0"),
        changed=values.get("changed", "0") not in ("", "0"),
    )


def _batch(setup: Scenario, prefix: str, query: str, start: int) -> tuple[range, str, bool]:
    """The results of the load starting at `start`, the URL of the next load and whether it waits for a click."""
    numbers = range(start + 1, min(setup.total, start + setup.batch) + 1)
    end = start + len(numbers)
    following = ""
    if numbers and end < setup.total:
        following = f"{prefix}/search?" + urlencode({"q": query, "udm": 2, "start": end, "async": "_fmt:html"})
    gated = bool(following) and setup.more_every > 0 and end // setup.more_every > start // setup.more_every
    return numbers, following, gated


def _detour(setup: Scenario, prefix: str, load: int, first_load: bool) -> BaseResponse | None:
    """The delay, then what the scenario answers load number `load` with instead of results, if anything."""
    common.pause(setup.delay_ms)
    if first_load and common.consent_pending(setup.consent, CONSENT_COOKIE):
        return redirect(f"{prefix}/consent/ml?" + urlencode({"continue": request.full_path, "hl": "en"}), code=302)
    if setup.captcha and load >= setup.captcha:
        return redirect(f"{prefix}/sorry/index?" + urlencode({"continue": request.full_path, "q": "fake"}), code=302)
    if setup.stall and load >= setup.stall:
        return Response("fake server error\n", status=500, mimetype="text/plain")
    return None


def _json_page() -> int | None:
    """N of a JSON request (`async=_fmt:json,p:1,ijn:N`), or None for any other request."""
    parts = dict(part.split(":", 1) for part in request.args.get("async", "").split(",") if ":" in part)
    if parts.get("_fmt") != "json":
        return None
    try:
        return max(0, int(parts.get("ijn", "0")))
    except ValueError:
        return 0


def _json_answer(setup: Scenario, prefix: str, query: str, page: int) -> Response:
    first = page * setup.json_page
    numbers = range(first + 1, min(setup.total, first + setup.json_page) + 1)
    options = (request.host_url, prefix, query, numbers, setup.ext, setup.image_options)
    body = changed_answer(*options) if setup.changed else ischj_answer(*options)
    return Response(body, mimetype="application/json")


@blueprint.route("/google/static/isr.js")
def script() -> Response:
    return Response(ISR_JS, mimetype="text/javascript")


@blueprint.route("/google/<scenario>/search")
def search(scenario: str) -> BaseResponse:
    setup = common.parse_scenario(decode_scenario, scenario)
    prefix = f"/google/{scenario}"
    start = max(0, common.int_arg("start", 0))
    json_page = _json_page()
    is_batch = "async" in request.args and json_page is None
    load = json_page + 1 if json_page is not None else start // setup.batch + 1
    detour = _detour(setup, prefix, load, first_load=not is_batch and json_page is None)
    if detour is not None:
        return detour
    query = request.args.get("q", "")
    if json_page is not None and setup.json:
        return _json_answer(setup, prefix, query, json_page)
    if json_page is not None:
        start = 0  # no JSON here: the engine answers with its results page
    numbers, following, gated = _batch(setup, prefix, query, start)
    grid = tiles(request.host_url, prefix, query, numbers, setup.ext)
    options = (request.host_url, prefix, query, numbers)
    if setup.changed:
        data = changed_data_script(*options, setup.ext, setup.image_options)
    else:
        data = data_script(*options, start // setup.batch + 1, setup.ext, setup.image_options)
    state = f'data-next="{escape(following)}" data-gated="{"1" if gated else ""}"'
    if is_batch:
        return common.html(f'<div class="islrc-batch" {state}>{grid}</div>{data}')
    shown = {True: "block", False: "none"}
    return common.html(
        f'<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>{escape(query)} - Google Search</title>'
        '<script src="/google/static/isr.js"></script><style>.isv-r{display:inline-block;width:180px;height:180px;'
        "margin:4px}#rcnt{margin-right:380px}#islsp{position:fixed;top:0;right:0;width:360px;height:100%}</style>"
        "</head><body>"
        f'<div id="rcnt"><div id="islmp" {state}><div id="islrg"><div class="islrc">{grid}</div></div>'
        f'<div class="YstHxe" style="display:{shown[gated]}"><input class="mye4qd" type="button"'
        ' value="Show more results"></div>'
        f'<div class="OuJzKb Yu2Dnd" style="display:{shown[not following]}"><div>Looks like you\'ve reached the end'
        "</div></div></div></div>"
        '<div id="islsp" style="display:none" role="dialog" aria-label="Image preview">'
        '<a class="eHAdSb" target="_blank" rel="noopener" href=""><img class="sFlh5c pT0Scc iPVvYb" alt=""></a>'
        '<a class="umNKYc" target="_blank" rel="noopener" href="">Visit</a><span class="VSIspc"></span></div>'
        f"{data}</body></html>"
    )


@blueprint.route("/google/<scenario>/sorry/index")
def sorry(scenario: str) -> Response:
    """What Google answers automated traffic with: HTTP 429 and a reCAPTCHA."""
    common.parse_scenario(decode_scenario, scenario)
    return common.html(
        '<!DOCTYPE html><html><head><title>Sorry...</title></head><body><div style="max-width:400px">'
        '<form id="captcha-form" action="index" method="post"><div id="recaptcha" class="g-recaptcha"'
        ' data-sitekey="fake"></div><input type="hidden" name="q" value="fake"></form><hr>'
        "<div><b>About this page</b><br><br>Our systems have detected unusual traffic from your computer network."
        " This page checks to see if it's really you sending the requests, and not a robot.</div></div>"
        "</body></html>",
        status=429,
    )


@blueprint.route("/google/<scenario>/consent/ml")
def consent(scenario: str) -> Response:
    """The EU interstitial: two forms, as on consent.google.com."""
    common.parse_scenario(decode_scenario, scenario)
    target = escape(request.args.get("continue", ""))
    forms = "".join(
        f'<form method="post" action="save"><input type="hidden" name="continue" value="{target}">'
        f'<input type="hidden" name="set_eom" value="{eom}"><button type="submit" aria-label="{label}">'
        f"<span>{label}</span></button></form>"
        for label, eom in (("Reject all", "true"), ("Accept all", "false"))
    )
    return common.html(
        '<!DOCTYPE html><html lang="en"><head><title>Before you continue to Google</title></head><body>'
        "<div><h1>Before you continue to Google</h1><p>We use cookies and data to deliver and maintain Google"
        f" services.</p>{forms}</div></body></html>"
    )


@blueprint.route("/google/<scenario>/consent/save", methods=["POST"])
def consent_saved(scenario: str) -> BaseResponse:
    setup = common.parse_scenario(decode_scenario, scenario)
    return common.save_consent("google", scenario, "/search", CONSENT_COOKIE, remember=setup.consent != "wall")


@blueprint.route("/google/<scenario>/page/<int:number>")
def page(scenario: str, number: int) -> Response:
    """The page a result was "found on": a title and the image."""
    return common.found_on_page(number, common.parse_scenario(decode_scenario, scenario).ext)
