"""The fake Bing serves pages the real parser reads like the real capture, with the scenario's behaviour."""

from __future__ import annotations

from collections.abc import Iterator
from html.parser import HTMLParser
from urllib.parse import parse_qs, urlsplit

import pytest
import requests

from services.scraper.providers import detect_block
from services.scraper.providers.base import PageNotUnderstood, distinct
from services.scraper.providers.bing_parse import next_offset, next_url, parse_bing_results
from services.scraper.providers.blocks import CAPTCHA, CONSENT
from tests.fakeweb import FakeWeb
from tests.fakeweb.bing import Scenario, decode_scenario, encode_scenario
from tests.fixtures import bing_results_page


@pytest.fixture(scope="module")
def web() -> Iterator[FakeWeb]:
    with FakeWeb() as running:
        yield running


def get(url: str, **params: str | int) -> str:
    response = requests.get(url, params=params, timeout=10)
    response.raise_for_status()
    assert response.headers["Content-Type"].startswith("text/html")
    return response.text


class _Ancestry(HTMLParser):
    """For every a.iusc, the tag.class path of its three nearest ancestors."""

    VOID = frozenset({"img", "input", "br", "hr", "meta", "link", "source", "wbr"})

    def __init__(self) -> None:
        super().__init__()
        self.stack: list[str] = []
        self.paths: list[tuple[str, ...]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        classes = (dict(attrs).get("class") or "").split()
        if tag == "a" and "iusc" in classes:
            self.paths.append(tuple(self.stack[-3:]))
        if tag not in self.VOID:
            self.stack.append(f"{tag}.{classes[0]}" if classes else tag)

    def handle_endtag(self, tag: str) -> None:
        while self.stack:
            if self.stack.pop().split(".")[0] == tag:
                break


def ancestries(html: str) -> set[tuple[str, ...]]:
    parser = _Ancestry()
    parser.feed(html)
    return set(parser.paths)


def test_results_sit_in_the_same_markup_as_on_the_real_page(web: FakeWeb) -> None:
    real = ancestries(bing_results_page().read_text(encoding="utf-8"))
    fake = ancestries(get(f"{web.bing_url(total=40)}/images/search", q="cats", first=1))
    assert fake == {("li", "div.iuscp", "div.imgpt")}
    assert fake <= real


def test_first_page_parses_like_the_real_one(web: FakeWeb) -> None:
    base = web.bing_url(total=60)
    html = get(f"{base}/images/search", q="red fox", form="HDRSC2", first=1)
    results = parse_bing_results(html)
    assert len(results) == len(distinct(results)) == 35
    assert [image.url for image in results[:2]] == [f"{web.url}/img/1.jpg", f"{web.url}/img/2.jpg"]
    assert {(image.width, image.height) for image in results} == {(200, 200)}
    image = requests.get(results[0].url, timeout=10)
    assert image.status_code == 200 and image.headers["Content-Type"] == "image/jpeg"
    assert results[0].page_url is not None and results[0].page_url.startswith(base)
    assert requests.get(results[0].page_url, timeout=10).status_code == 200
    continuation = next_url(html)
    assert continuation is not None and urlsplit(continuation).path.endswith("/images/async")
    assert next_offset(continuation) == 36


@pytest.mark.parametrize(("total", "pages"), [(80, [35, 35, 10]), (35, [35]), (0, [0])])
def test_continuation_pages_hold_exactly_the_total(web: FakeWeb, total: int, pages: list[int]) -> None:
    base = web.bing_url(total=total)
    html = get(f"{base}/images/search", q="owls", first=1)
    sizes, urls = [], []
    while True:
        results = parse_bing_results(html)
        sizes.append(len(results))
        urls += [image.url for image in results]
        first = next_offset(next_url(html))
        if first is None:
            break
        html = get(f"{base}/images/async", q="owls", first=first, count=35, mmasync=1)
    assert sizes == pages
    assert urls == [f"{web.url}/img/{n}.jpg" for n in range(1, total + 1)]
    # Past the end the engine has nothing more to give.
    assert parse_bing_results(get(f"{base}/images/async", q="owls", first=total + 1, count=35, mmasync=1)) == []


def test_overlap_repeats_the_end_of_the_previous_batch(web: FakeWeb) -> None:
    html = get(f"{web.bing_url(total=100, overlap=3)}/images/async", q="owls", first=36, count=35, mmasync=1)
    numbers = [int(urlsplit(image.url).path.split("/")[-1].split(".")[0]) for image in parse_bing_results(html)]
    assert numbers == list(range(33, 71))


def test_image_options_are_forwarded_to_the_image_urls(web: FakeWeb) -> None:
    base = web.bing_url(total=5, ext="png", size=64, status=500)
    results = parse_bing_results(get(f"{base}/images/search", q="owls"))
    url = urlsplit(results[0].url)
    assert url.path == "/img/1.png"
    assert parse_qs(url.query) == {"size": ["64"], "status": ["500"]}
    assert (results[0].width, results[0].height) == (64, 64)
    assert requests.get(results[0].url, timeout=10).status_code == 500


def test_captcha_from_the_first_page(web: FakeWeb) -> None:
    url = f"{web.bing_url(total=60, captcha=True)}/images/search?q=owls"
    html = get(url)
    with pytest.raises(PageNotUnderstood):
        parse_bing_results(html)
    assert detect_block(url, html) == CAPTCHA


def test_captcha_from_a_later_page_lets_the_first_through(web: FakeWeb) -> None:
    base = web.bing_url(total=100, captcha=2)
    assert len(parse_bing_results(get(f"{base}/images/search", q="owls"))) == 35
    later = f"{base}/images/async?q=owls&first=36&count=35&mmasync=1"
    html = get(later)
    with pytest.raises(PageNotUnderstood):
        parse_bing_results(html)
    assert detect_block(later, html) == CAPTCHA


def test_consent_wall(web: FakeWeb) -> None:
    url = f"{web.bing_url(total=60, consent=True)}/images/search?q=owls"
    html = get(url)
    with pytest.raises(PageNotUnderstood):
        parse_bing_results(html)
    assert detect_block(url, html) == CONSENT


def test_scenario_round_trips_and_rejects_typos(web: FakeWeb) -> None:
    text = encode_scenario(total=7, captcha=3, overlap=1, ext="webp", delay_ms=5, latency_ms=250, note="a,b=c")
    assert decode_scenario(text) == Scenario(
        total=7, captcha=3, overlap=1, ext="webp", delay_ms=5, image_options={"latency_ms": "250", "note": "a,b=c"}
    )
    assert encode_scenario(total=60) == "total=60"
    response = requests.get(f"{web.url}/bing/totl=5/images/search?q=x", timeout=10)
    assert response.status_code == 400
    assert "totl" in response.text
