"""The fake DuckDuckGo serves a page with a vqd token and i.js pages in the real format, with blocks."""

from __future__ import annotations

from collections.abc import Iterator
from urllib.parse import parse_qs, urljoin, urlsplit

import pytest
import requests

from services.scraper.providers import detect_block
from services.scraper.providers.blocks import CAPTCHA, CONSENT
from services.scraper.providers.duckduckgo_parse import find_vqd, parse_json_text
from tests.fakeweb import FakeWeb
from tests.fakeweb.duckduckgo import Scenario, decode_scenario, encode_scenario, vqd_for


@pytest.fixture(scope="module")
def web() -> Iterator[FakeWeb]:
    with FakeWeb() as running:
        yield running


def results_page(base: str, query: str = "red fox", session: requests.Session | None = None) -> requests.Response:
    client = session or requests.Session()
    return client.get(f"{base}/", params={"q": query, "iax": "images", "ia": "images"}, timeout=10)


def ijs(base: str, query: str, vqd: str, **extra: str | int) -> requests.Response:
    params = {"l": "us-en", "o": "json", "q": query, "vqd": vqd, "f": ",,,", "p": 1} | extra
    return requests.get(f"{base}/i.js", params=params, timeout=10)


def test_the_results_page_carries_the_token_the_json_expects(web: FakeWeb) -> None:
    base = web.duckduckgo_url(total=10)
    page = results_page(base)
    assert page.status_code == 200 and page.headers["Content-Type"].startswith("text/html")
    assert find_vqd(page.text) == vqd_for("red fox")
    assert ijs(base, "red fox", vqd_for("red fox")).status_code == 200
    assert ijs(base, "red fox", vqd_for("grey wolf")).status_code == 403
    assert ijs(base, "red fox", "").status_code == 403


def test_ijs_answers_like_the_real_engine(web: FakeWeb) -> None:
    base = web.duckduckgo_url(total=150)
    response = ijs(base, "owls", vqd_for("owls"))
    assert response.headers["Content-Type"].startswith("application/json")
    data = response.json()
    assert set(data) == {"ads", "next", "query", "queryEncoded", "response_type", "results", "vqd"}
    first = data["results"][0]
    assert set(first) == {
        "height", "image", "image_token", "source", "thumbnail", "thumbnail_token", "title", "url", "width"
    }  # fmt: skip
    assert (first["image"], first["width"], first["height"]) == (f"{web.url}/img/1.jpg", 200, 200)
    assert requests.get(first["url"], timeout=10).status_code == 200
    assert requests.get(first["image"], timeout=10).headers["Content-Type"] == "image/jpeg"
    assert data["next"].startswith("i.js?") and parse_qs(urlsplit(data["next"]).query)["s"] == ["100"]


@pytest.mark.parametrize(("total", "sizes"), [(250, [100, 100, 50]), (100, [100]), (0, [0])])
def test_next_pages_hold_exactly_the_total(web: FakeWeb, total: int, sizes: list[int]) -> None:
    base = web.duckduckgo_url(total=total)
    url = f"{base}/i.js?l=us-en&o=json&q=owls&vqd={vqd_for('owls')}&f=,,,&p=1"
    seen, urls = [], []
    while url:
        page = parse_json_text(requests.get(url, timeout=10).text)
        assert page is not None
        seen.append(len(page.images))
        urls += [image.url for image in page.images]
        url = urljoin(base + "/", page.next_url) if page.next_url else ""
    assert seen == sizes
    assert urls == [f"{web.url}/img/{n}.jpg" for n in range(1, total + 1)]


def test_captcha_on_the_page_or_from_a_later_json_page(web: FakeWeb) -> None:
    first = results_page(web.duckduckgo_url(total=300, captcha=1))
    assert find_vqd(first.text) is None
    assert detect_block(first.url, first.text) == CAPTCHA
    base = web.duckduckgo_url(total=300, captcha=3)
    vqd = vqd_for("owls")
    assert ijs(base, "owls", vqd).status_code == 200
    blocked = ijs(base, "owls", vqd, s=100)
    assert blocked.status_code == 403
    assert parse_json_text(blocked.text) is None
    assert detect_block(blocked.url, blocked.text) == CAPTCHA


def test_consent_page_is_answered_with_a_cookie_unless_it_is_a_wall(web: FakeWeb) -> None:
    for consent, passes in (("1", True), ("wall", False)):
        base = web.duckduckgo_url(total=10, consent=consent)
        session = requests.Session()
        page = results_page(base, session=session)
        assert detect_block(page.url, page.text) == CONSENT
        assert find_vqd(page.text) is None
        target = urlsplit(page.url)
        answered = session.post(f"{base}/consent/save", data={"continue": f"{target.path}?{target.query}"}, timeout=10)
        assert (find_vqd(answered.text) == vqd_for("red fox")) is passes


def test_scenario_round_trips_and_rejects_typos(web: FakeWeb) -> None:
    text = encode_scenario(total=7, page=3, captcha=2, consent=True, ext="gif", delay_ms=4, size=64)
    assert decode_scenario(text) == Scenario(
        total=7, page=3, captcha=2, consent="1", ext="gif", delay_ms=4, image_options={"size": "64"}
    )
    assert requests.get(f"{web.url}/duckduckgo/pages=5/", params={"q": "x"}, timeout=10).status_code == 400
