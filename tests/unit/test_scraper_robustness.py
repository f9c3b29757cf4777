"""No input makes a provider's parser raise anything but PageNotUnderstood: truncated real and fake pages,
garbage, invalid UTF-8 turned into text, huge attributes, data nested far deeper than any page's."""

from __future__ import annotations

from collections.abc import Callable
from functools import cache

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from services.scraper.extract import extract_urls
from services.scraper.providers import PARSERS, FoundImage, PageNotUnderstood, ProviderBlocked, detect_block
from services.scraper.providers.base import is_web_url
from services.scraper.providers.blocks import CAPTCHA, CONSENT, RATE_LIMITED, UNUSUAL_TRAFFIC
from tests.fakeweb.app import create_app
from tests.fixtures import fixtures_dir

BLOCK_REASONS = (CAPTCHA, CONSENT, RATE_LIMITED, UNUSUAL_TRAFFIC)
BOUNDED = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])

# What the fake engines answer, in each engine's real format (tests/fakeweb), fetched without a network.
FAKE_PAGES = (
    "/bing/total=12/images/search?q=fox",
    "/google/total=12/search?q=fox&udm=2",
    "/google/total=30/search?q=fox&tbm=isch&asearch=isch&async=_fmt:json,p:1,ijn:0",
    "/duckduckgo/total=12/?q=fox&iax=images&ia=images",
    "/brave/total=12/images?q=fox",
)


@cache
def seeds() -> tuple[str, ...]:
    client = create_app().test_client()
    pages = [client.get(path).get_data(as_text=True) for path in FAKE_PAGES]
    vqd = client.get("/duckduckgo/total=12/?q=fox").get_data(as_text=True).split('vqd: "', 1)[1].split('"', 1)[0]
    pages.append(client.get(f"/duckduckgo/total=12/i.js?q=fox&o=json&vqd={vqd}").get_data(as_text=True))
    return tuple(pages)


def holds_up(parse: Callable[[str], list[FoundImage]], text: str) -> None:
    """`parse(text)` gives results that are web URLs, or raises PageNotUnderstood; nothing else."""
    try:
        images = parse(text)
    except PageNotUnderstood:
        return
    assert isinstance(images, list)
    assert all(isinstance(image, FoundImage) and is_web_url(image.url) for image in images)


def every_parser_holds_up(text: str) -> None:
    """Each parser holds up, and so do `imgjob extract` and the block detection the providers run."""
    for name, parse in PARSERS.items():
        holds_up(parse, text)
        try:
            assert all(is_web_url(url) for url in extract_urls(name, text))
        except ProviderBlocked as blocked:
            assert blocked.reason in BLOCK_REASONS
        except PageNotUnderstood:
            pass
    assert detect_block("", text) in (None, *BLOCK_REASONS)


def test_the_seeds_are_pages_each_parser_reads() -> None:
    # The property tests below start from these: they must be real results, or they prove little.
    bing, google, ischj, _, brave, ijs = seeds()
    assert [len(PARSERS[name](page)) for name, page in
            (("bing", bing), ("google", google), ("google", ischj), ("brave", brave), ("duckduckgo", ijs))] == [
        12, 12, 30, 12, 12]  # fmt: skip


@BOUNDED
@given(data=st.data())
def test_truncated_and_spliced_fake_pages(data: st.DataObject) -> None:
    page = data.draw(st.sampled_from(seeds()))
    start = data.draw(st.integers(0, len(page)))
    end = data.draw(st.integers(start, len(page)))
    junk = data.draw(st.text(max_size=40))
    every_parser_holds_up(page[:start])
    every_parser_holds_up(page[:start] + junk + page[end:])


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(cut=st.integers(0, 300_000))
def test_truncated_real_captures(cut: int) -> None:
    for path in sorted((fixtures_dir() / "search").iterdir()):
        every_parser_holds_up(path.read_bytes().decode("utf-8", errors="replace")[:cut])


@BOUNDED
@given(text=st.one_of(st.text(), st.binary().map(lambda raw: raw.decode("utf-8", errors="replace"))))
def test_garbage_and_invalid_utf8(text: str) -> None:
    every_parser_holds_up(text)


HUGE = (
    '<a class="iusc" m="{{&quot;murl&quot;:&quot;https://a.example/{x}&quot;,&quot;purl&quot;:{n}}}" '
    'href="/images/search?expw={n}&exph=-{n}">x</a>',
    '<script>AF_initDataCallback({{data:[["https://a.example/{x}",{n},{n}]]}});</script>',
    ')]}}\'\n{{"ischj":{{"metadata":[{{"original_image":{{"url":"https://a.example/{x}","width":{n}}}}}]}}}}',
    '{{"results":[{{"image":"https://a.example/{x}","width":{n},"height":"{x}"}}],"next":"{x}"}}',
    "<script>kit.start(app, element, {{data: [(function(a){{return {{data:{{body:{{response:{{results:"
    '[{{properties:{{url:"https://a.example/{x}",width:{n}}},url:a}}]}}}}}}}}}}("{x}"))]}});</script>',
    '<div class="{x}" id="{x}"><iframe src="{x}"></iframe>{x}</div><![{x} ]><![ ]>',
)


@BOUNDED
@given(shape=st.sampled_from(HUGE), size=st.integers(1, 300_000), digits=st.integers(1, 6000))
def test_huge_attributes_and_numbers(shape: str, size: int, digits: int) -> None:
    every_parser_holds_up(shape.format(x="a" * size, n="9" * digits))


NESTED = (
    "{open}{close}",
    '{{"ischj":{{"metadata":{open}{close}}}}}',
    '{{"results":{open}{close}}}',
    '<a class="iusc" m="{open}{close}"></a>',
    "<script>AF_initDataCallback({{data:{open}{close}}});</script>",
    "<script>kit.start(app, element, {{data: [(function(a){{return {open}{close}}}(1))]}});</script>",
    "<script>const data = {open}{close};</script>",
    "<div>" * 5 + "{open}",
)


@BOUNDED
@given(shape=st.sampled_from(NESTED), depth=st.integers(1, 200_000), bracket=st.sampled_from(["[", "{a:", '{"a":']))
def test_deeply_nested_data(shape: str, depth: int, bracket: str) -> None:
    closer = "]" if bracket == "[" else "}"
    every_parser_holds_up(shape.format(open=bracket * depth, close=closer * depth))


@pytest.mark.parametrize("name", sorted(PARSERS))
def test_each_parser_owns_up_to_an_empty_or_blank_text(name: str) -> None:
    for text in ("", " ", "\x00", "<html></html>", "null", "[]", "{}"):
        with pytest.raises(PageNotUnderstood):
            PARSERS[name](text)
