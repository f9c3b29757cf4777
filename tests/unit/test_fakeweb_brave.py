"""The fake Brave serves a SvelteKit page whose data is a JavaScript literal in the real format, with blocks."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import requests
from selenium.webdriver.common.by import By

from services.scraper.providers import PageNotUnderstood, detect_block
from services.scraper.providers.blocks import CAPTCHA, RATE_LIMITED
from services.scraper.providers.brave_parse import parse_brave_results
from services.scraper.providers.jsdata import iife_values
from services.scraper.providers.page_text import script_texts
from tests.browser import chromium
from tests.fakeweb import FakeWeb
from tests.fakeweb.brave import Scenario, decode_scenario, encode_scenario, js_literal
from tests.support import wait_until


@pytest.fixture(scope="module")
def web() -> Iterator[FakeWeb]:
    with FakeWeb() as running:
        yield running


def images_page(base: str, query: str = "red fox") -> requests.Response:
    return requests.get(f"{base}/images", params={"q": query}, timeout=10)


def test_the_page_hands_kit_start_its_data_as_javascript(web: FakeWeb) -> None:
    base = web.brave_url(total=250)
    response = images_page(base, "owls <b>")
    assert response.status_code == 200 and response.headers["Content-Type"].startswith("text/html")
    (script,) = script_texts(response.text)
    assert "kit.start(app, element, {" in script and "data: [(function(a){return {type:" in script
    assert "<b>" not in script  # the query's markup is escaped, as SvelteKit does
    layout, node = list(iife_values(script))
    assert layout == {"type": "data", "data": {"ui_lang": "en-us", "safesearch": "off"}}
    results = node["data"]["body"]["response"]["results"]
    assert len(results) == 100  # at most `page` of the 250
    first = results[0]
    assert set(first) == {
        "type", "title", "url", "source", "page_fetched", "thumbnail", "properties", "meta_url", "confidence"
    }  # fmt: skip
    assert first["type"] == "image_result" and first["title"] == "owls <b> picture 1"
    assert first["properties"] == {
        "url": f"{web.url}/img/1.jpg",
        "placeholder": f"{web.url}/img/1.jpg?size=96",
        "width": 200,
        "height": 200,
        "format": "jpeg",
    }
    assert requests.get(first["url"], timeout=10).status_code == 200
    assert requests.get(first["properties"]["url"], timeout=10).headers["Content-Type"] == "image/jpeg"
    assert [image.url for image in parse_brave_results(response.text)][-1] == f"{web.url}/img/100.jpg"


def test_no_results_and_a_changed_format(web: FakeWeb) -> None:
    empty = images_page(web.brave_url(total=0)).text
    assert "noResults:true" in empty and parse_brave_results(empty) == []
    changed = images_page(web.brave_url(total=5, changed=True)).text
    assert f"{web.url}/img/5.jpg" in changed
    with pytest.raises(PageNotUnderstood):
        parse_brave_results(changed)


def test_blocks(web: FakeWeb) -> None:
    captcha = images_page(web.brave_url(captcha=True))
    limited = images_page(web.brave_url(ratelimit=True))
    assert limited.status_code == 429
    assert detect_block(captcha.url, captcha.text) == CAPTCHA
    assert detect_block(limited.url, limited.text) == RATE_LIMITED


def test_js_literal_writes_what_the_reader_reads() -> None:
    value = {"a": [1, None, True, "x</script>"], "b c": {"d": -2.5}}
    assert js_literal(value) == '{a:[1,void 0,true,"x\\u003c/script>"],"b c":{d:-2.5}}'


def test_scenario_round_trips_and_rejects_typos(web: FakeWeb) -> None:
    text = encode_scenario(total=7, page=5, captcha=True, ratelimit=True, changed=True, ext="png", latency_ms=5)
    assert decode_scenario(text) == Scenario(
        total=7, page=5, captcha=1, ratelimit=True, changed=True, ext="png", image_options={"latency_ms": "5"}
    )
    assert encode_scenario(total=60) == "total=60"
    assert images_page(f"{web.url}/brave/totl=5").status_code == 400


@pytest.mark.browser
def test_the_pages_own_script_lays_out_the_thumbnails(web: FakeWeb) -> None:
    with chromium().session() as driver:
        driver.get(f"{web.brave_url(total=12)}/images?q=owls")
        wait_until(lambda: len(driver.find_elements(By.CSS_SELECTOR, "#results a.image-result img")) == 12)
        first = driver.find_element(By.CSS_SELECTOR, "#results a.image-result img")
        assert first.get_attribute("src") == f"{web.url}/img/1.jpg?size=96"
        # What the browser holds is still the data the parser reads.
        assert len(parse_brave_results(driver.page_source)) == 12
