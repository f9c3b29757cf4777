"""Reading Google Images results from script data: the `[url, height, width]` triples, pages, thumbnails."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
import requests

from services.scraper.extract import extract_command, extract_urls
from services.scraper.providers import ProviderBlocked, detect_block
from services.scraper.providers.base import PageNotUnderstood, distinct
from services.scraper.providers.blocks import CAPTCHA, CONSENT, UNUSUAL_TRAFFIC, block_by_url
from services.scraper.providers.google import GoogleProvider
from services.scraper.providers.google_parse import parse_google_results, parse_google_scripts, script_text
from tests.fakeweb import FakeWeb

# Shaped like the real page's data: a gstatic thumbnail triple, then the full-size one, then the entry's
# metadata with the page it was found on under "2003"; `=` and `&` escaped as Google escapes them.
ENTRY = (
    '[1,[0,"{id}",["https://encrypted-tbn0.gstatic.com/images?q\\u003dtbn:ANd9Gc{id}\\u0026usqp\\u003dCAU",225,225],'
    '["{url}",{h},{w}],null,0,"rgb(40,40,40)",null,0,{{"2001":[null,null,null,0,0,0,0,0,0,null,0,null,null,0],'
    '"2003":[null,"doc{id}","{page}","A title",null,null,null,null,null,null,null,null,null,null,"example.org"],'
    '"2008":[null,"A title"]}}],null,null,null,null]'
)


def entry(n: int, url: str | None = None, page: str | None = None, h: int = 800, w: int = 1200) -> str:
    return ENTRY.format(
        id=f"id{n}",
        url=url or f"https://img{n}.example.org/photos/{n}.jpg?size\\u003dlarge\\u0026v\\u003d2",
        page=page or f"https://site{n}.example.org/articles/{n}",
        h=h,
        w=w,
    )


def results_page(*entries: str, extra_script: str = "") -> str:
    data = f"[null,[[{','.join(entries)}]]]"
    return (
        "<!DOCTYPE html><html><head><title>red fox - Google Search</title>"
        "<script nonce=\"x\">window.google={kEI:'abc'};</script></head><body>"
        '<div id="islrg"><div class="isv-r" data-id="id1"><img class="rg_i" src="data:image/gif;base64,R0lGOD"></div>'
        '</div><p>Visible text: ["https://not-in-a-script.example.org/x.jpg",10,10]</p>'
        f"<script nonce=\"x\">AF_initDataCallback({{key: 'ds:1', hash: '2', data:{data}, sideChannel: {{}}}});</script>"
        f"{extra_script}</body></html>"
    )


def test_full_size_urls_pages_and_sizes_come_from_the_script_triples() -> None:
    html = results_page(entry(1), entry(2, h=480, w=640))
    results = parse_google_results(html)
    assert [image.url for image in results] == [
        "https://img1.example.org/photos/1.jpg?size=large&v=2",
        "https://img2.example.org/photos/2.jpg?size=large&v=2",
    ]
    assert [image.page_url for image in results] == [
        "https://site1.example.org/articles/1",
        "https://site2.example.org/articles/2",
    ]
    assert [(image.height, image.width) for image in results] == [(800, 1200), (480, 640)]
    # The thumbnail is kept beside its image, never taken for a result.
    assert results[0].thumbnail_url == "https://encrypted-tbn0.gstatic.com/images?q=tbn:ANd9Gcid1&usqp=CAU"


def test_only_scripts_are_read_and_visible_text_is_not() -> None:
    urls = [image.url for image in parse_google_results(results_page(entry(1)))]
    assert urls == ["https://img1.example.org/photos/1.jpg?size=large&v=2"]
    assert "not-in-a-script" not in script_text(results_page(entry(1)))


def test_a_thumbnail_pair_is_recognised_without_gstatic() -> None:
    # Thumbnails from elsewhere (as the fake engine serves them) are told apart by position.
    text = '[1,[0,"a",["https://thumbs.example.org/1.jpg",96,96],["https://full.example.org/1.jpg",600,900],null]]'
    (image,) = parse_google_scripts(text)
    assert (image.url, image.thumbnail_url, image.height, image.width) == (
        "https://full.example.org/1.jpg",
        "https://thumbs.example.org/1.jpg",
        600,
        900,
    )


def test_entries_without_a_page_or_with_odd_values_still_give_their_image() -> None:
    text = (
        '[["https://a.example.org/1.png",0,0],null,{"2003":[null,"d","javascript:alert(1)"]}]'
        '[["data:image/png;base64,AAAA",10,10]]'
        '[["https://b.example.org/2.png",5,7]]'
    )
    results = parse_google_scripts(text)
    assert [(i.url, i.page_url, i.width, i.height) for i in results] == [
        ("https://a.example.org/1.png", None, None, None),
        ("https://b.example.org/2.png", None, 7, 5),
    ]


def test_a_page_url_is_not_borrowed_from_the_next_result() -> None:
    text = '["https://a.example.org/1.jpg",10,10],null,["https://b.example.org/2.jpg",10,10],{"2003":[null,"d","https://p.example.org/2"]}'
    results = parse_google_scripts(text)
    assert [image.page_url for image in results] == [None, "https://p.example.org/2"]


def test_data_inside_a_js_string_is_unescaped_once_more() -> None:
    inner = '[1,[0,\\"x\\",[\\"https://t.example.org/t.jpg\\",96,96],[\\"https://f.example.org/f.jpg?a\\\\u003d1\\",300,400]]]'
    results = parse_google_scripts(f'var data = "{inner}";')
    assert [(image.url, image.height, image.width) for image in results] == [
        ("https://f.example.org/f.jpg?a=1", 300, 400)
    ]


def test_repeats_are_kept_by_the_parser_and_removed_by_distinct() -> None:
    html = results_page(entry(1), entry(2), entry(1))
    assert len(parse_google_results(html)) == 3
    assert len(distinct(parse_google_results(html))) == 2


SORRY_PAGE = """<html><head><title>https://www.google.com/search?q=fox</title></head><body>
<div id="recaptcha" class="g-recaptcha" data-sitekey="x"></div><div>Our systems have detected unusual traffic
from your computer network. This page checks to see if it's really you sending the requests, and not a robot.
</div></body></html>"""
CONSENT_PAGE = """<html><head><title>Before you continue to Google</title></head><body><h1>Before you continue to
Google</h1><form action="https://consent.google.com/save" method="post"><button aria-label="Reject all">Reject all
</button></form><form action="https://consent.google.com/save" method="post"><button>Accept all</button></form>
</body></html>"""


@pytest.mark.parametrize(
    ("url", "html", "reason"),
    [
        ("https://www.google.com/sorry/index?continue=x&q=y", SORRY_PAGE, UNUSUAL_TRAFFIC),
        ("", SORRY_PAGE, CAPTCHA),
        ("https://consent.google.com/ml?continue=x", CONSENT_PAGE, CONSENT),
        ("", CONSENT_PAGE, CONSENT),
    ],
)
def test_google_block_pages_are_recognised(url: str, html: str, reason: str) -> None:
    with pytest.raises(PageNotUnderstood):
        parse_google_results(html)
    assert detect_block(url, html) == reason


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("https://www.google.com/sorry/index?continue=x", UNUSUAL_TRAFFIC),
        ("https://consent.google.com/ml?continue=x", CONSENT),
        ("https://example.org/consent/ml", CONSENT),
        ("https://yandex.example/showcaptcha?x=1", CAPTCHA),
        ("https://example.org/search?q=captcha+sorry+consent", None),
        ("http://127.0.0.1:1/google/total=5,captcha=2,consent=1/search?q=x", None),
    ],
)
def test_addresses_are_judged_by_whole_path_segments(url: str, reason: str | None) -> None:
    assert block_by_url(url) == reason


def test_the_provider_asks_for_the_real_engine_paths_under_its_base_url() -> None:
    provider = GoogleProvider("http://127.0.0.1:9/google/total=5/")
    assert provider.search_url("red fox") == "http://127.0.0.1:9/google/total=5/search?q=red+fox&udm=2&hl=en"


def run_extract(path: Path) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    status = extract_command("google", path, out=out, err=err)
    return status, out.getvalue(), err.getvalue()


def test_extract_prints_a_saved_pages_distinct_urls_in_order(tmp_path: Path) -> None:
    saved = tmp_path / "google.html"
    saved.write_text(results_page(entry(2), entry(1), entry(2)))
    status, out, err = run_extract(saved)
    assert (status, err) == (0, "")
    assert out.splitlines() == [
        "https://img2.example.org/photos/2.jpg?size=large&v=2",
        "https://img1.example.org/photos/1.jpg?size=large&v=2",
    ]


def test_extract_refuses_a_sorry_page_naming_the_reason(tmp_path: Path) -> None:
    saved = tmp_path / "sorry.html"
    saved.write_text(SORRY_PAGE)
    status, out, err = run_extract(saved)
    assert (status, out) == (2, "")
    assert "CAPTCHA" in err and str(saved) in err
    with pytest.raises(ProviderBlocked):
        extract_urls("google", CONSENT_PAGE)


def test_a_saved_fake_engine_page_extracts_like_a_real_one(tmp_path: Path) -> None:
    with FakeWeb() as web:
        host = web.url
        response = requests.get(f"{web.google_url(total=30)}/search", params={"q": "owls", "udm": 2}, timeout=10)
    saved = tmp_path / "fake.html"
    saved.write_text(response.text)
    status, out, _ = run_extract(saved)
    assert status == 0
    assert out.splitlines() == [f"{host}/img/{n}.jpg" for n in range(1, 31)]
