"""Every provider's parser on every real page captured in ../shared/fixtures, and on pages in its engine's
known format (served by the fake engines in that format, as the tests/fakeweb modules document).

A capture is named after its engine (`bing_images.html` is Bing's): its own provider must find results
in it, every other provider must say it does not understand it, and none may raise anything else. A new
capture dropped into the folder is tested here without a line of code.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from services.scraper.providers import PARSERS, PageNotUnderstood, detect_block
from services.scraper.providers.base import distinct, is_web_url
from tests.fakeweb.app import create_app
from tests.fixtures import fixtures_dir

CAPTURES = sorted(path for path in (fixtures_dir() / "search").iterdir() if path.is_file())


def engine_of(path: Path) -> str | None:
    """The provider a capture belongs to, by its name's first word."""
    word = path.name.split(".")[0].split("_")[0].split("-")[0].lower()
    return word if word in PARSERS else None


def test_there_are_captures_to_test() -> None:
    assert CAPTURES, f"no captured pages in {fixtures_dir() / 'search'}"
    assert {engine_of(path) for path in CAPTURES} >= {"bing"}


@pytest.mark.parametrize("provider", sorted(PARSERS))
@pytest.mark.parametrize("capture", CAPTURES, ids=lambda path: path.name)
def test_each_parser_on_each_real_capture(capture: Path, provider: str) -> None:
    text = capture.read_bytes().decode("utf-8", errors="replace")
    if engine_of(capture) != provider:
        with pytest.raises(PageNotUnderstood):
            PARSERS[provider](text)
        return
    images = PARSERS[provider](text)
    urls = [image.url for image in distinct(images)]
    assert urls, f"{provider} found nothing in its own capture {capture.name}"
    assert all(is_web_url(url) for url in urls)
    assert len(urls) == len(set(urls))
    # A results page is never taken for a block page, whatever banners and challenge scripts it carries.
    assert detect_block("", text) is None


# One page (or JSON answer) per provider in its engine's current format, with 12 results numbered 1..12.
KNOWN_FORMAT = {
    "bing": "/bing/total=12/images/search?q=red+fox",
    "google": "/google/total=12/search?q=red+fox&udm=2",
    "duckduckgo": None,  # the i.js answer needs the page's token: see known_format_page
    "brave": "/brave/total=12/images?q=red+fox",
}
GOOGLE_JSON = "/google/total=12/search?q=red+fox&tbm=isch&asearch=isch&async=_fmt:json,p:1,ijn:0"


def known_format_page(provider: str) -> str:
    client = create_app().test_client()
    path = KNOWN_FORMAT[provider]
    if path is None:
        page = client.get("/duckduckgo/total=12/?q=red+fox").get_data(as_text=True)
        vqd = page.split('vqd: "', 1)[1].split('"', 1)[0]
        path = f"/duckduckgo/total=12/i.js?q=red+fox&o=json&vqd={vqd}"
    return client.get(path).get_data(as_text=True)


@pytest.mark.parametrize("provider", sorted(PARSERS))
def test_each_parser_reads_a_page_in_its_engines_known_format(provider: str) -> None:
    images = PARSERS[provider](known_format_page(provider))
    assert [image.url for image in images] == [f"http://localhost/img/{n}.jpg" for n in range(1, 13)]
    assert [image.page_url for image in images][:2] == [
        f"http://localhost/{provider}/total=12/page/{n}" for n in (1, 2)
    ]
    assert {(image.width, image.height) for image in images} == {(200, 200)}
    for other in set(PARSERS) - {provider}:
        with pytest.raises(PageNotUnderstood):
            PARSERS[other](known_format_page(provider))


def test_googles_json_answer_is_its_known_format_too() -> None:
    answer = create_app().test_client().get(GOOGLE_JSON).get_data(as_text=True)
    assert answer.startswith(")]}'\n") and "\\u003d" in answer
    images = PARSERS["google"](answer)
    assert [image.url for image in images] == [f"http://localhost/img/{n}.jpg" for n in range(1, 13)]
    assert images[0].thumbnail_url == "http://localhost/img/1.jpg?size=96"
