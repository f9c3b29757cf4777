"""Reading DuckDuckGo Images: the vqd token, the i.js JSON pages, saved answers and block pages."""

from __future__ import annotations

import io
import json
from html import escape
from pathlib import Path

import pytest
import requests

from services.scraper.extract import extract_command
from services.scraper.providers import detect_block
from services.scraper.providers.base import PageNotUnderstood
from services.scraper.providers.blocks import CAPTCHA
from services.scraper.providers.duckduckgo import DuckDuckGoProvider, page_cap
from services.scraper.providers.duckduckgo_parse import (
    find_vqd,
    parse_duckduckgo_results,
    parse_json_text,
    read_json_page,
)
from tests.fakeweb import FakeWeb


def result(n: int, **fields: object) -> dict[str, object]:
    values: dict[str, object] = {
        "height": 800,
        "image": f"https://img{n}.example.org/{n}.jpg?w=1&h=2",
        "image_token": "abc",
        "source": "Bing",
        "thumbnail": f"https://tse{n % 4}.mm.bing.net/th?id=OIP.{n}&pid=Api",
        "thumbnail_token": "def",
        "title": f"Picture {n}",
        "url": f"https://site{n}.example.org/page/{n}",
        "width": 1200,
    }
    values.update(fields)
    return values


def answer(*results: dict[str, object], next_url: str | None = None) -> dict[str, object]:
    data: dict[str, object] = {"ads": None, "query": "red fox", "queryEncoded": "red%20fox", "response_type": "images"}
    if next_url:
        data["next"] = next_url
    return data | {"results": list(results), "vqd": {"red fox": "4-123"}}


NEXT = "i.js?q=red+fox&o=json&p=1&s=100&u=bing&f=,,,&l=us-en&vqd=4-123"


def test_an_ijs_answer_gives_images_pages_sizes_and_the_next_page() -> None:
    page = parse_json_text(json.dumps(answer(result(1), result(2, width=640, height=480), next_url=NEXT)))
    assert page is not None
    assert page.next_url == NEXT
    assert [(i.url, i.page_url, i.width, i.height) for i in page.images] == [
        ("https://img1.example.org/1.jpg?w=1&h=2", "https://site1.example.org/page/1", 1200, 800),
        ("https://img2.example.org/2.jpg?w=1&h=2", "https://site2.example.org/page/2", 640, 480),
    ]
    assert page.images[0].thumbnail_url == "https://tse1.mm.bing.net/th?id=OIP.1&pid=Api"


def test_the_last_page_has_no_next_and_bad_entries_are_skipped() -> None:
    data = answer(
        result(1, image="data:image/png;base64,AAAA"),
        result(2, url="javascript:void(0)", width="n/a", height=-3),
        {"image": None},
        "not an object",
        result(3, width="640", height=True),
    )
    page = read_json_page(data)
    assert page is not None and page.next_url is None
    assert [(i.url, i.page_url, i.width, i.height) for i in page.images] == [
        ("https://img2.example.org/2.jpg?w=1&h=2", None, None, None),
        ("https://img3.example.org/3.jpg?w=1&h=2", "https://site3.example.org/page/3", 640, None),
    ]


@pytest.mark.parametrize("text", ["", "<html><body>403 Forbidden</body></html>", '{"results": "none"}', "[1, 2]"])
def test_anything_but_an_ijs_answer_is_not_one(text: str) -> None:
    assert parse_json_text(text) is None


@pytest.mark.parametrize(
    "page",
    [
        "<script>DDG.deep.initialize('/d.js?q=red%20fox&l=us-en&s=0&dl=en&ct=US&vqd=4-33366&p_ent=');</script>",
        '<script>vqd="4-33366";</script>',
        "<script>window.DDG = {page: {vqd: '4-33366'}};</script>",
        '<form><input type="hidden" name="vqd" value="4-33366"></form>',
    ],
)
def test_the_vqd_token_is_found_where_the_page_puts_it(page: str) -> None:
    assert find_vqd(page) == "4-33366"


def test_a_page_without_a_token_gives_none() -> None:
    assert find_vqd("<html><body>vqd is mentioned but not given</body></html>") is None


def test_a_browser_saved_view_of_the_json_is_read_too() -> None:
    # Chromium shows JSON as text in a <pre>, escaping & and < as HTML entities when saved.
    raw = json.dumps(answer(result(1), result(2), result(1), next_url=NEXT))
    saved = f"<html><head></head><body><pre>{escape(raw, quote=False)}</pre></body></html>"
    assert [image.url for image in parse_duckduckgo_results(saved)] == [
        "https://img1.example.org/1.jpg?w=1&h=2",
        "https://img2.example.org/2.jpg?w=1&h=2",
        "https://img1.example.org/1.jpg?w=1&h=2",
    ]


def test_a_results_page_holding_the_json_inline_is_read() -> None:
    page = (
        "<html><body><div id='zci-images'></div><script>var other = {\"ads\": 1};"
        f"DDG.duckbar.add({json.dumps(answer(result(7)))});</script></body></html>"
    )
    assert [image.url for image in parse_duckduckgo_results(page)] == ["https://img7.example.org/7.jpg?w=1&h=2"]


ANOMALY = """<html><body><div class="anomaly-modal__modal"><div>Unfortunately, bots use DuckDuckGo too.</div>
<div>Please complete the following challenge to confirm this search was made by a human.</div></div></body></html>"""


def test_the_anomaly_page_is_a_captcha() -> None:
    with pytest.raises(PageNotUnderstood):
        parse_duckduckgo_results(ANOMALY)
    assert detect_block("https://duckduckgo.com/?q=fox&iax=images&ia=images", ANOMALY) == CAPTCHA


def test_the_provider_asks_for_the_real_engine_paths_and_bounds_its_pages() -> None:
    provider = DuckDuckGoProvider("http://127.0.0.1:9/duckduckgo/total=5/")
    assert provider.search_url("red fox") == "http://127.0.0.1:9/duckduckgo/total=5/?q=red+fox&iax=images&ia=images"
    assert provider.json_url("red fox", "4-1") == (
        "http://127.0.0.1:9/duckduckgo/total=5/i.js?l=us-en&o=json&q=red+fox&vqd=4-1&f=,,,&p=1"
    )
    assert (page_cap(1), page_cap(500), page_cap(100_000)) == (4, 12, 20)


def run_extract(path: Path) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    status = extract_command("duckduckgo", path, out=out, err=err)
    return status, out.getvalue(), err.getvalue()


def test_extract_prints_the_distinct_urls_of_a_saved_answer(tmp_path: Path) -> None:
    saved = tmp_path / "i.js"
    saved.write_text(json.dumps(answer(result(2), result(1), result(2, url="https://elsewhere.example.org/"))))
    status, out, err = run_extract(saved)
    assert (status, err) == (0, "")
    assert out.splitlines() == ["https://img2.example.org/2.jpg?w=1&h=2", "https://img1.example.org/1.jpg?w=1&h=2"]


def test_extract_refuses_the_anomaly_page_and_reports_an_empty_answer(tmp_path: Path) -> None:
    blocked = tmp_path / "anomaly.html"
    blocked.write_text(ANOMALY)
    status, out, err = run_extract(blocked)
    assert (status, out) == (2, "")
    assert "CAPTCHA" in err
    empty = tmp_path / "empty.json"
    empty.write_text(json.dumps(answer()))
    status, out, err = run_extract(empty)
    assert (status, out) == (1, "")
    assert "no duckduckgo image results" in err


def test_a_saved_fake_engine_answer_extracts_like_a_real_one(tmp_path: Path) -> None:
    with FakeWeb() as web:
        host = web.url
        base = web.duckduckgo_url(total=30)
        page = requests.get(f"{base}/", params={"q": "owls", "iax": "images", "ia": "images"}, timeout=10).text
        vqd = find_vqd(page)
        assert vqd is not None
        response = requests.get(
            f"{base}/i.js", params={"l": "us-en", "o": "json", "q": "owls", "vqd": vqd, "f": ",,,", "p": 1}, timeout=10
        )
    saved = tmp_path / "i.js"
    saved.write_text(response.text)
    status, out, _ = run_extract(saved)
    assert status == 0
    assert out.splitlines() == [f"{host}/img/{n}.jpg" for n in range(1, 31)]
