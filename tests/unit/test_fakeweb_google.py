"""The fake Google serves the real page's data format and JSON answers, batches, the "more results" gate,
blocks, consent, and a changed format."""

from __future__ import annotations

import json
from collections.abc import Iterator
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webdriver import WebDriver

from services.scraper.providers import detect_block
from services.scraper.providers.base import PageNotUnderstood
from services.scraper.providers.blocks import CONSENT, UNUSUAL_TRAFFIC
from services.scraper.providers.google_parse import parse_google_results, parse_google_scripts
from services.scraper.providers.page_actions import page_state, read_page
from tests.browser import chromium
from tests.fakeweb import FakeWeb
from tests.fakeweb.google import Scenario, decode_scenario, encode_scenario
from tests.support import wait_until


@pytest.fixture(scope="module")
def web() -> Iterator[FakeWeb]:
    with FakeWeb() as running:
        yield running


def get(url: str, **params: str | int) -> requests.Response:
    return requests.get(url, params=params, timeout=10, allow_redirects=False)


def numbers(urls: list[str]) -> list[int]:
    return [int(urlsplit(url).path.rsplit("/", 1)[-1].split(".")[0]) for url in urls]


def test_the_results_page_holds_the_first_batch_as_script_data(web: FakeWeb) -> None:
    base = web.google_url(total=250, batch=100)
    response = get(f"{base}/search", q="red fox", udm=2)
    assert response.status_code == 200 and response.headers["Content-Type"].startswith("text/html")
    html = response.text
    assert "AF_initDataCallback({key: 'ds:1'" in html
    assert "\\u003d" in html  # sizes in the thumbnail URLs, escaped as Google escapes them
    results = parse_google_results(html)
    assert [image.url for image in results] == [f"{web.url}/img/{n}.jpg" for n in range(1, 101)]
    assert {(image.width, image.height) for image in results} == {(200, 200)}
    assert results[0].page_url == f"{base}/page/1"
    assert requests.get(results[0].page_url, timeout=10).status_code == 200
    assert requests.get(results[0].url, timeout=10).headers["Content-Type"] == "image/jpeg"
    assert html.count('class="isv-r ') == 100


def test_batches_follow_each_other_until_the_total(web: FakeWeb) -> None:
    base = web.google_url(total=250, batch=100, more_every=0)
    html = get(f"{base}/search", q="owls", udm=2).text
    urls = [image.url for image in parse_google_results(html)]
    following = parse_qs(urlsplit(html.split('data-next="', 1)[1].split('"', 1)[0].replace("&amp;", "&")).query)
    assert following["start"] == ["100"] and "async" in following
    second = get(f"{base}/search", q="owls", udm=2, start=100, **{"async": "_fmt:html"}).text
    third = get(f"{base}/search", q="owls", udm=2, start=200, **{"async": "_fmt:html"}).text
    for batch in (second, third):
        assert batch.startswith('<div class="islrc-batch"')
        urls += [image.url for image in parse_google_scripts(batch)]
    assert numbers(urls) == list(range(1, 251))
    assert 'data-next=""' in third


def test_the_more_results_gate_falls_every_more_every_results(web: FakeWeb) -> None:
    base = web.google_url(total=600, batch=100, more_every=300)
    assert 'data-gated=""' in get(f"{base}/search", q="x", start=100, **{"async": "1"}).text
    assert 'data-gated="1"' in get(f"{base}/search", q="x", start=200, **{"async": "1"}).text


def test_captcha_from_a_later_load_redirects_to_the_sorry_page(web: FakeWeb) -> None:
    base = web.google_url(total=600, captcha=2)
    assert get(f"{base}/search", q="x", udm=2).status_code == 200
    later = get(f"{base}/search", q="x", udm=2, start=100, **{"async": "1"})
    assert later.status_code == 302
    sorry_url = urlsplit(later.headers["Location"])
    assert sorry_url.path == f"{urlsplit(base).path}/sorry/index"
    sorry = requests.get(f"{web.url}{sorry_url.path}?{sorry_url.query}", timeout=10)
    assert sorry.status_code == 429
    with pytest.raises(PageNotUnderstood):
        parse_google_results(sorry.text)
    assert detect_block(sorry.url, sorry.text) == UNUSUAL_TRAFFIC


def test_consent_interstitial_is_answered_with_a_cookie_unless_it_is_a_wall(web: FakeWeb) -> None:
    for consent, passes in (("1", True), ("wall", False)):
        base = web.google_url(total=10, consent=consent)
        session = requests.Session()
        page = session.get(f"{base}/search", params={"q": "x", "udm": 2}, timeout=10)
        assert urlsplit(page.url).path.endswith("/consent/ml")
        assert detect_block(page.url, page.text) == CONSENT
        assert "Reject all" in page.text and "Accept all" in page.text
        target = parse_qs(urlsplit(page.url).query)["continue"][0]
        answered = session.post(f"{base}/consent/save", data={"continue": target, "set_eom": "true"}, timeout=10)
        if passes:
            assert len(parse_google_results(answered.text)) == 10
        else:
            assert detect_block(answered.url, answered.text) == CONSENT


def test_a_stalled_engine_answers_further_loads_with_an_error(web: FakeWeb) -> None:
    base = web.google_url(total=600, stall=2)
    assert get(f"{base}/search", q="x", udm=2).status_code == 200
    assert get(f"{base}/search", q="x", udm=2, start=100, **{"async": "_fmt:html"}).status_code == 500


def json_answer(base: str, page: int, query: str = "owls") -> requests.Response:
    return requests.get(
        f"{base}/search?q={query}&tbm=isch&asearch=isch&hl=en&async=_fmt:json,p:1,ijn:{page}", timeout=10
    )


def test_json_answers_come_in_the_ischj_format_page_by_page(web: FakeWeb) -> None:
    base = web.google_url(total=230, json_page=100)
    first = json_answer(base, 1)
    assert first.status_code == 200 and first.headers["Content-Type"].startswith("application/json")
    head, body = first.text.split("\n", 1)
    assert head == ")]}'" and "\\u003d" in body and "=" not in body
    (entry, *_) = json.loads(body)["ischj"]["metadata"]
    assert set(entry) >= {"original_image", "thumbnail", "result"}
    assert entry["original_image"] == {"url": f"{web.url}/img/101.jpg", "width": 200, "height": 200}
    assert entry["result"]["referrer_url"] == f"{base}/page/101"
    assert numbers([image.url for image in parse_google_results(first.text)]) == list(range(101, 201))
    assert numbers([image.url for image in parse_google_results(json_answer(base, 2).text)]) == list(range(201, 231))
    assert parse_google_results(json_answer(base, 3).text) == []


def test_json_loads_count_for_blocks_and_stalls_and_can_be_switched_off(web: FakeWeb) -> None:
    assert json_answer(web.google_url(total=600, stall=3), 1).status_code == 200
    assert json_answer(web.google_url(total=600, stall=3), 2).status_code == 500
    sorry = json_answer(web.google_url(total=600, captcha=2), 1)
    assert urlsplit(sorry.url).path.endswith("/sorry/index") and sorry.status_code == 429
    no_json = json_answer(web.google_url(total=600, json=False), 1)
    assert no_json.headers["Content-Type"].startswith("text/html")
    assert numbers([image.url for image in parse_google_results(no_json.text)]) == list(range(1, 101))


def test_a_changed_format_holds_the_results_where_the_parser_does_not_look(web: FakeWeb) -> None:
    base = web.google_url(total=30, changed=True)
    for response in (get(f"{base}/search", q="owls", udm=2), json_answer(base, 0)):
        assert f"{web.url}/img/30.jpg" in response.text
        with pytest.raises(PageNotUnderstood):
            parse_google_results(response.text)


def test_scenario_round_trips_and_rejects_typos(web: FakeWeb) -> None:
    text = encode_scenario(
        total=7, batch=5, more_every=0, captcha=2, consent="wall", stall=3, json_page=9, json=False, changed=True,
        ext="png", latency_ms=5,
    )  # fmt: skip
    assert decode_scenario(text) == Scenario(
        total=7,
        batch=5,
        more_every=0,
        captcha=2,
        consent="wall",
        stall=3,
        json_page=9,
        json=False,
        changed=True,
        ext="png",
        image_options={"latency_ms": "5"},
    )
    assert encode_scenario(total=60) == "total=60"
    assert get(f"{web.url}/google/totl=5/search", q="x").status_code == 400
    assert get(f"{web.url}/google/total=5,consent=maybe/search", q="x").status_code == 400


@pytest.fixture(scope="module")
def driver() -> Iterator[WebDriver]:
    with chromium().session() as session:
        yield session


def loaded(driver: WebDriver) -> int:
    _, scripts = read_page(driver)
    return len(parse_google_scripts("\n".join(scripts)))


@pytest.mark.browser
def test_scrolling_loads_batches_until_the_gate_and_the_button_opens_it(web: FakeWeb, driver: WebDriver) -> None:
    driver.get(f"{web.google_url(total=450, batch=100, more_every=300)}/search?q=owls&udm=2")
    assert loaded(driver) == 100
    for expected in (200, 300):
        driver.execute_script("window.scrollTo(0, document.documentElement.scrollHeight)")
        wait_until(lambda n=expected: loaded(driver) == n, timeout=10, what=f"{expected} results")
    # Scrolling no longer loads: the page waits for "Show more results".
    wait_until(lambda: page_state(driver).more, timeout=10, what="the more-results button")
    driver.execute_script("window.scrollTo(0, 0); window.scrollTo(0, document.documentElement.scrollHeight)")
    assert loaded(driver) == 300 and not page_state(driver).end
    driver.find_element(By.CSS_SELECTOR, "input.mye4qd").click()
    wait_until(lambda: loaded(driver) == 400, timeout=10, what="400 results")
    driver.execute_script("window.scrollTo(0, document.documentElement.scrollHeight)")
    wait_until(lambda: page_state(driver).end, timeout=10, what="the end of the results")
    assert loaded(driver) == 450


@pytest.mark.browser
def test_clicking_a_thumbnail_shows_the_full_size_image_in_the_preview(web: FakeWeb, driver: WebDriver) -> None:
    base = web.google_url(total=20)
    driver.get(f"{base}/search?q=owls&udm=2")
    thumbnails = driver.find_elements(By.CSS_SELECTOR, "div.isv-r a.wXeWr")
    assert len(thumbnails) == 20
    thumbnails[6].click()
    preview = driver.find_element(By.CSS_SELECTOR, "#islsp img.sFlh5c")
    assert preview.get_attribute("src") == f"{web.url}/img/7.jpg"
    assert driver.find_element(By.CSS_SELECTOR, "#islsp a.eHAdSb").get_attribute("href") == f"{base}/page/7"


@pytest.mark.browser
def test_the_page_follows_a_redirect_to_the_sorry_page(web: FakeWeb, driver: WebDriver) -> None:
    driver.get(f"{web.google_url(total=600, captcha=2)}/search?q=owls&udm=2")
    driver.execute_script("window.scrollTo(0, document.documentElement.scrollHeight)")
    wait_until(lambda: "/sorry/" in driver.current_url, timeout=10, what="the sorry page")
    assert detect_block(driver.current_url, driver.page_source) == UNUSUAL_TRAFFIC
