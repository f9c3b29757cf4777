"""Google's JSON results answers (`ischj`): reading them, `imgjob extract` on a saved one, and the provider
paging through them in a real browser (fewer loads than scrolling), falling back to scrolling without."""

from __future__ import annotations

import io
import json
import time
from collections.abc import Iterator
from html import escape
from pathlib import Path

import pytest
import requests

from services.scraper.extract import extract_command
from services.scraper.providers import PageNotUnderstood
from services.scraper.providers.blocks import UNUSUAL_TRAFFIC
from services.scraper.providers.google import GoogleProvider
from services.scraper.providers.google_ischj import ischj_answers
from services.scraper.providers.google_parse import parse_google_results
from tests.browser import chromium
from tests.fakeweb import FakeWeb


def entry(n: int, **fields: object) -> dict[str, object]:
    values: dict[str, object] = {
        "original_image": {"url": f"https://img{n}.example.org/{n}.jpg?w=1&h=2", "width": 1200, "height": 800},
        "thumbnail": {"url": f"https://encrypted-tbn0.gstatic.com/images?q=tbn:{n}&usqp=CAU", "width": 259},
        "result": {"referrer_url": f"https://site{n}.example.org/page/{n}", "page_title": "A fox", "site_title": "x"},
        "text_in_grid": {"snippet": "A fox"},
    }
    return values | fields


def answer(*entries: dict[str, object]) -> str:
    """An answer as Google sends it: the anti-XSSI line, and `=` and `&` escaped inside strings."""
    text = json.dumps({"ischj": {"metadata": list(entries)}}, separators=(",", ":"))
    return ")]}'\n" + text.replace("=", "\\u003d").replace("&", "\\u0026")


def test_an_answer_gives_full_size_urls_pages_sizes_and_thumbnails() -> None:
    text = answer(entry(1), entry(2, original_image={"url": "https://img2.example.org/2.png", "width": 640}))
    assert "\\u003d" in text and "&" not in text
    images = parse_google_results(text)
    assert [(i.url, i.page_url, i.width, i.height) for i in images] == [
        ("https://img1.example.org/1.jpg?w=1&h=2", "https://site1.example.org/page/1", 1200, 800),
        ("https://img2.example.org/2.png", "https://site2.example.org/page/2", 640, None),
    ]
    assert images[0].thumbnail_url == "https://encrypted-tbn0.gstatic.com/images?q=tbn:1&usqp=CAU"


def test_bad_entries_are_skipped_and_an_empty_answer_is_the_end_not_a_mystery() -> None:
    text = answer(
        entry(1, original_image={"url": "data:image/png;base64,AAAA"}),
        entry(2, original_image="https://img2.example.org/2.jpg"),
        entry(3, result={"referrer_url": "javascript:void(0)"}, thumbnail=None),
        {"original_image": {"url": "https://img4.example.org/4.jpg", "width": True, "height": 1e300}},
    )
    images = parse_google_results(text)
    assert [(i.url, i.page_url, i.thumbnail_url) for i in images] == [
        ("https://img3.example.org/3.jpg?w=1&h=2", None, None),
        ("https://img4.example.org/4.jpg", None, None),
    ]
    assert (images[1].width, images[1].height) == (None, None)
    assert parse_google_results(answer()) == []
    for not_an_answer in (")]}'\n", ')]}\'\n{"ischj": {"results": []}}', '{"ischj": ', "[]"):
        with pytest.raises(PageNotUnderstood):
            parse_google_results(not_an_answer)


def test_answers_inside_a_page_or_a_browsers_saved_view_are_read() -> None:
    raw = answer(entry(5)).split("\n", 1)[1]
    assert [image.url for found in ischj_answers(f"<script>var a = 1; var r = {raw};</script>") for image in found] == [
        "https://img5.example.org/5.jpg?w=1&h=2"
    ]
    saved = f"<html><body><pre>{escape(answer(entry(6)))}</pre></body></html>"
    assert [image.url for image in parse_google_results(saved)] == ["https://img6.example.org/6.jpg?w=1&h=2"]


def test_the_provider_asks_for_the_json_the_page_asks_for() -> None:
    provider = GoogleProvider("http://127.0.0.1:9/google/total=5/")
    assert provider.json_url("red fox", 3) == (
        "http://127.0.0.1:9/google/total=5/search?q=red+fox&tbm=isch&asearch=isch&hl=en&async=_fmt:json,p:1,ijn:3"
    )


def run_extract(path: Path) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    return extract_command("google", path, out=out, err=err), out.getvalue(), err.getvalue()


@pytest.fixture(scope="module")
def web() -> Iterator[FakeWeb]:
    with FakeWeb() as running:
        yield running


def test_extract_accepts_a_saved_answer_of_the_fake_engine(tmp_path: Path, web: FakeWeb) -> None:
    base = web.google_url(total=130)
    url = f"{base}/search?q=owls&tbm=isch&asearch=isch&hl=en&async=_fmt:json,p:1,ijn:1"
    saved = tmp_path / "answer.json"
    saved.write_text(requests.get(url, timeout=10).text)
    status, out, err = run_extract(saved)
    assert (status, err) == (0, "")
    assert out.splitlines() == [f"{web.url}/img/{n}.jpg" for n in range(101, 131)]
    saved.write_text(requests.get(url.replace("ijn:1", "ijn:2"), timeout=10).text)
    status, out, err = run_extract(saved)
    assert (status, out) == (1, "") and "says it has none" in err


def search(base: str, wanted: int) -> tuple[list[str], int, str, float]:
    began = time.monotonic()
    with chromium().session() as driver:
        result = GoogleProvider(base, settle_timeout=1.0).search(driver, "red fox", wanted, lambda found: None)
    return [image.url for image in result.images], result.pages, result.verdict, time.monotonic() - began


@pytest.mark.browser
def test_json_answers_get_the_results_with_fewer_loads_than_scrolling(web: FakeWeb) -> None:
    wanted = [f"{web.url}/img/{n}.jpg" for n in range(1, 451)]
    by_json = search(web.google_url(total=600, more_every=0), 450)
    by_scrolling = search(web.google_url(total=600, more_every=0, json=False), 450)
    assert by_json[:3] == (wanted, 5, "ok")  # the page, then JSON pages 1 to 4
    assert by_scrolling[:3] == (wanted, 6, "ok")  # the page, a "no JSON here" answer, then 4 scrolls


@pytest.mark.browser
def test_json_paging_ends_with_the_engines_results_and_stops_at_a_block(web: FakeWeb) -> None:
    urls, pages, verdict, _ = search(web.google_url(total=230), 500)
    assert (urls, pages, verdict) == ([f"{web.url}/img/{n}.jpg" for n in range(1, 231)], 4, "exhausted")
    with chromium().session() as driver:
        result = GoogleProvider(web.google_url(total=600, captcha=3)).search(driver, "fox", 500, lambda found: None)
    assert (len(result.images), result.blocked_reason, result.pages) == (200, UNUSUAL_TRAFFIC, 3)
