"""Brave Search images: its SvelteKit data read as JavaScript, the page's earlier forms, blocks, `imgjob
extract --provider brave`, and the provider in a real browser against the fake Brave."""

from __future__ import annotations

import io
from collections.abc import Iterator
from pathlib import Path

import pytest

from services.scraper.extract import extract_command
from services.scraper.providers import PageNotUnderstood, detect_block, make_provider
from services.scraper.providers.blocks import CAPTCHA, RATE_LIMITED
from services.scraper.providers.brave import BraveProvider
from services.scraper.providers.brave_parse import parse_brave_results
from services.scraper.providers.jsdata import JsSyntaxError, iife_values, read_value
from tests.browser import chromium
from tests.fakeweb import FakeWeb

RESULT = (
    '{{type:a,title:"Fox {n}",url:"https://site{n}.example.org/fox?a=1\\u0026b=2",source:"site{n}.example.org",'
    'thumbnail:{{src:"https://imgs.search.brave.com/{n}",width:c,height:c}},'
    'properties:{{url:"https://img{n}.example.org/fox-{n}.jpg",placeholder:"https://imgs.search.brave.com/p{n}",'
    'width:{w},height:b,format:"jpeg"}},meta_url:{{favicon:void 0}},confidence:"high",extra:new Date(1)}}'
)


def results(*numbers: int, w: int = 1200) -> str:
    return ",".join(RESULT.format(n=n, w=w) for n in numbers)


def page(script: str) -> str:
    return (
        '<!doctype html><html><head><title>fox - Brave Search</title></head><body><div style="display: contents">'
        f'<div id="results"></div><script>\n{{\nconst element = document.currentScript.parentElement;\n{script}\n}}'
        "</script></div></body></html>"
    )


def kit_start(*numbers: int) -> str:
    """The page as SvelteKit writes it now: each node's data returned by a function called on the spot."""
    layout = '(function(a){return {type:"data",data:{ui_lang:a},uses:{}}}("en-us"))'
    body = (
        f'(function(a,b,c){{return {{type:"data",data:{{body:{{response:{{type:"images",results:[{results(*numbers)}]'
        '}}},uses:{url:1}}}("image_result",800,150))'
    )
    return page(
        f"kit.start(app, element, {{\nnode_ids: [0, 19],\ndata: [{layout},{body}],\nform: null,\nerror: null\n}});"
    )


def test_the_current_form_gives_full_size_urls_pages_sizes_and_thumbnails() -> None:
    images = parse_brave_results(kit_start(1, 2, 1))
    assert [image.url for image in images] == [
        "https://img1.example.org/fox-1.jpg",
        "https://img2.example.org/fox-2.jpg",
        "https://img1.example.org/fox-1.jpg",
    ]
    first = images[0]
    assert first.page_url == "https://site1.example.org/fox?a=1&b=2"
    # Width written out, height hoisted into the function's parameter `b`.
    assert (first.width, first.height) == (1200, 800)
    assert first.thumbnail_url == "https://imgs.search.brave.com/1"


def test_the_pages_earlier_forms_are_read_too() -> None:
    data = f'[{{type:"data",data:null}},{{type:"data",data:{{body:{{response:{{results:[{results(3)}]}}}}}}}}]'
    const_data = page(f"const data = {data};".replace("type:a", 'type:"image_result"').replace(":b,", ":640,"))
    data_array = page(f"kit.start(app, element, {{node_ids: [0, 2], data: {data}, form: null}});")
    assert [image.url for image in parse_brave_results(const_data)] == ["https://img3.example.org/fox-3.jpg"]
    assert [(i.url, i.height) for i in parse_brave_results(data_array)] == [
        ("https://img3.example.org/fox-3.jpg", None)
    ]


def test_an_empty_answer_is_understood_and_another_format_is_not() -> None:
    none = '(function(a){return {type:"data",data:{noResults:!0,body:{response:{type:"images",results:[]}}}}}(1))'
    assert parse_brave_results(page(f"kit.start(app, element, {{data: [{none}]}});")) == []
    changed = '(function(a){return {type:"data",data:{body:{response:{results:[{src:{full:"https://a.example/1.jpg"}}]}}}}}(1))'
    with pytest.raises(PageNotUnderstood):
        parse_brave_results(page(f"kit.start(app, element, {{data: [{changed}]}});"))
    with pytest.raises(PageNotUnderstood):
        parse_brave_results("<html><body><p>Brave Search</p></body></html>")


def test_bad_entries_are_skipped() -> None:
    entries = (
        '{properties:{url:"data:image/png;base64,AAAA"}},{properties:{url:"javascript:alert(1)"},url:"x"},'
        '{properties:"https://a.example/1.jpg"},{properties:{url:"https://b.example/2.jpg",width:-5,height:"n/a"},'
        'url:"ftp://b.example/",thumbnail:null}'
    )
    data = f'(function(){{return {{type:"data",data:{{body:{{response:{{results:[{entries}]}}}}}}}}}}())'
    (image,) = parse_brave_results(page(f"kit.start(app, element, {{data: [{data}]}});"))
    assert (image.url, image.page_url, image.width, image.height, image.thumbnail_url) == (
        "https://b.example/2.jpg",
        None,
        None,
        None,
        None,
    )


def test_javascript_literals_read_as_the_browser_reads_them() -> None:
    value, end = read_value(
        "{a:1,\"b c\":[1,,2,],'d':{e:void 0,f:!0,g:!1,h:x,i:new Map([[1,2]])},j:-1.5e2,k:0x1F} tail"
    )
    assert value == {"a": 1, "b c": [1, None, 2], "d": {"e": None, "f": True, "g": False, "h": None, "i": None},
                     "j": -150.0, "k": 31}  # fmt: skip
    assert end == len("{a:1,\"b c\":[1,,2,],'d':{e:void 0,f:!0,g:!1,h:x,i:new Map([[1,2]])},j:-1.5e2,k:0x1F}")
    assert read_value('"\\u0041\\x42\\u{1F98A}\\n"')[0] == "AB\U0001f98a\n"
    assert list(iife_values("x = (function(a,b){return [a,b,{c:a}]}(1,'two')); (function(a){return a})(3);")) == [
        [1, "two", {"c": 1}],
        3,
    ]
    for broken in ("{a 1}", "[1 2]", "{a:", '"open', "[" * 600 + "]" * 600, "@", "{a:1]"):
        with pytest.raises(JsSyntaxError):
            read_value(broken)


BLOCK_PAGES = {
    CAPTCHA: "<html><body><h1>Confirm you're a human being</h1><div id='pow-captcha'></div></body></html>",
    RATE_LIMITED: "<html><body><h1>Too many requests</h1><p>You have been rate limited.</p></body></html>",
}


@pytest.mark.parametrize("reason", sorted(BLOCK_PAGES))
def test_brave_block_pages_are_recognised(reason: str) -> None:
    with pytest.raises(PageNotUnderstood):
        parse_brave_results(BLOCK_PAGES[reason])
    assert detect_block("https://search.brave.com/images?q=fox", BLOCK_PAGES[reason]) == reason


def run_extract(path: Path) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    return extract_command("brave", path, out=out, err=err), out.getvalue(), err.getvalue()


def test_extract_prints_a_saved_pages_distinct_urls_and_refuses_a_block(tmp_path: Path) -> None:
    saved = tmp_path / "brave.html"
    saved.write_text(kit_start(2, 1, 2))
    assert run_extract(saved) == (0, "https://img2.example.org/fox-2.jpg\nhttps://img1.example.org/fox-1.jpg\n", "")
    saved.write_text(BLOCK_PAGES[RATE_LIMITED])
    status, out, err = run_extract(saved)
    assert (status, out) == (2, "") and "too many requests" in err


def test_the_provider_asks_for_the_real_engine_path_and_is_known_by_name() -> None:
    provider = make_provider("brave", "http://127.0.0.1:9/brave/total=5/")
    assert isinstance(provider, BraveProvider)
    assert provider.search_url("red fox") == "http://127.0.0.1:9/brave/total=5/images?q=red+fox"


@pytest.fixture(scope="module")
def web() -> Iterator[FakeWeb]:
    with FakeWeb() as running:
        yield running


@pytest.mark.browser
def test_the_provider_in_a_browser_reads_the_fake_brave(web: FakeWeb) -> None:
    progress: list[int] = []
    base = web.brave_url(total=300, page=150)
    with chromium().session() as driver:
        result = BraveProvider(base).search(driver, "red fox", 100, progress.append)
        more = BraveProvider(base).search(driver, "red fox", 400, lambda found: None)
        blocked = BraveProvider(web.brave_url(ratelimit=True)).search(driver, "red fox", 10, lambda found: None)
        changed = BraveProvider(web.brave_url(changed=True)).search(driver, "red fox", 10, lambda found: None)
    assert [image.url for image in result.images] == [f"{web.url}/img/{n}.jpg" for n in range(1, 101)]
    assert result.images[0].page_url == f"{base}/page/1"
    assert (result.verdict, result.pages, progress) == ("ok", 1, [100])
    # One page is all Brave has: 150 of the 300, and the search says it ran out.
    assert (len(more.images), more.verdict) == (150, "exhausted")
    assert (blocked.verdict, blocked.blocked_reason) == ("blocked", RATE_LIMITED)
    assert changed.verdict == "not_understood" and changed.images == []
    assert changed.unparsed is not None and "kit.start" in changed.unparsed
