"""Extraction from saved results pages: the real Bing capture, block pages, and `imgjob extract`."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
import requests

from services.scraper.extract import extract_command, extract_urls
from services.scraper.providers import ProviderBlocked, detect_block
from services.scraper.providers.base import distinct
from services.scraper.providers.bing_parse import next_offset, next_url, parse_bing_results
from services.scraper.providers.blocks import CAPTCHA, CONSENT, UNUSUAL_TRAFFIC
from shared.domain.urls import normalise_url
from tests.fakeweb import FakeWeb
from tests.fixtures import bing_results_page

FIRST_URL = "https://vectorseek.com/wp-content/uploads/2023/03/Golang-Gopher-Logo-Vector.jpg"


BING_FIXTURE = bing_results_page()

CAPTCHA_PAGE = """<!DOCTYPE html><html><head><title>Bing</title></head><body>
<div class="captcha"><h1>One last step</h1><p>Please solve the challenge below to continue.</p>
<iframe src="https://www.google.com/recaptcha/api2/anchor?k=x"></iframe></div></body></html>"""
TRAFFIC_PAGE = """<html><head><title>Sorry...</title></head><body><div>
Our systems have detected unusual traffic from your computer network.</div></body></html>"""
CONSENT_PAGE = """<html><head><title>Before you continue to Bing</title></head><body>
<h1>Before you continue to Bing</h1><form method="post"><button>Accept all</button><button>Reject all</button>
</form></body></html>"""


@pytest.fixture(scope="module")
def bing_html() -> str:
    return BING_FIXTURE.read_text(encoding="utf-8")


def test_real_bing_page_gives_42_distinct_full_size_urls_in_page_order(bing_html: str) -> None:
    results = parse_bing_results(bing_html)
    urls = [image.url for image in distinct(results)]
    assert len(results) == 47
    assert len(urls) == 42 == len(set(urls))
    assert urls[0] == FIRST_URL
    # Page order: the order in which each URL first appears among the anchors.
    first_seen = list(dict.fromkeys(image.url for image in results))
    assert urls == first_seen
    assert all(url.startswith(("http://", "https://")) for url in urls)


def test_real_bing_page_gives_page_urls_sizes_and_the_continuation(bing_html: str) -> None:
    first = parse_bing_results(bing_html)[0]
    assert first.page_url == "https://vectorseek.com/vector_logo/golang-gopher-logo-vector/"
    assert (first.width, first.height) == (1000, 1000)
    assert first.thumbnail_url is not None and "OIP.LQQi0et0FFshviPhL18q9QHaHa" in first.thumbnail_url
    continuation = next_url(bing_html)
    assert continuation is not None and continuation.startswith("/images/async?q=golang+gopher&first=36")
    assert next_offset(continuation) == 36


def test_real_results_page_is_not_taken_for_a_block(bing_html: str) -> None:
    assert detect_block("https://www.bing.com/images/search?q=golang+gopher", bing_html) is None


@pytest.mark.parametrize(
    ("url", "html", "reason"),
    [
        ("https://www.bing.com/images/search?q=x", CAPTCHA_PAGE, CAPTCHA),
        ("https://www.bing.com/images/search?q=x", TRAFFIC_PAGE, UNUSUAL_TRAFFIC),
        ("https://www.google.com/sorry/index?continue=x", "<html><body>Sorry</body></html>", UNUSUAL_TRAFFIC),
        ("https://www.bing.com/images/search?q=x", CONSENT_PAGE, CONSENT),
        ("https://consent.google.com/ml?continue=x", "<html><body></body></html>", CONSENT),
    ],
)
def test_block_pages_are_recognised(url: str, html: str, reason: str) -> None:
    assert detect_block(url, html) == reason


def test_markers_inside_scripts_do_not_count() -> None:
    html = "<html><body><script>var s='unusual traffic captcha';</script><p>No results</p></body></html>"
    assert detect_block("https://www.bing.com/images/search?q=x", html) is None


def test_extract_urls_raises_with_the_reason_for_a_blocked_page() -> None:
    with pytest.raises(ProviderBlocked) as caught:
        extract_urls("bing", CAPTCHA_PAGE)
    assert caught.value.reason == CAPTCHA


def test_urls_are_normalised_for_comparison() -> None:
    assert normalise_url("HTTPS://Example.COM/A/b.JPG#frag") == "https://example.com/A/b.JPG"
    html = "".join(
        f'<a class="iusc" m=\'{{"murl": "{url}"}}\' href="#"></a>'
        for url in ("https://a.example/1.jpg", "https://A.EXAMPLE/1.jpg#x", "https://a.example/2.jpg")
    )
    assert [image.url for image in distinct(parse_bing_results(html))] == [
        "https://a.example/1.jpg",
        "https://a.example/2.jpg",
    ]


def test_anchors_without_a_web_murl_are_skipped() -> None:
    html = (
        '<a class="iusc" m="not json" href="#"></a>'
        '<a class="iusc" m=\'{"murl": "data:image/png;base64,AAAA"}\' href="#"></a>'
        '<a class="other" m=\'{"murl": "https://a.example/x.jpg"}\'></a>'
        '<a class="iusc big" m=\'{"murl": "https://a.example/ok.jpg"}\' href="/d?expw=0&exph=abc"></a>'
    )
    results = parse_bing_results(html)
    assert [(image.url, image.width, image.height) for image in results] == [("https://a.example/ok.jpg", None, None)]


def run_extract(provider: str, path: Path) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    status = extract_command(provider, path, out=out, err=err)
    return status, out.getvalue(), err.getvalue()


def test_extract_command_prints_the_distinct_urls_one_per_line() -> None:
    status, out, err = run_extract("bing", BING_FIXTURE)
    lines = out.splitlines()
    assert status == 0, err
    assert len(lines) == 42 == len(set(lines))
    assert lines[0] == FIRST_URL
    assert err == ""


def test_extract_command_prints_to_stdout_by_default(capsys: pytest.CaptureFixture[str]) -> None:
    assert extract_command("bing", BING_FIXTURE) == 0
    assert capsys.readouterr().out.splitlines()[0] == FIRST_URL


@pytest.mark.parametrize(("page", "words"), [(CAPTCHA_PAGE, "CAPTCHA"), (CONSENT_PAGE, "consent wall")])
def test_extract_command_refuses_a_blocked_page_naming_the_reason(tmp_path: Path, page: str, words: str) -> None:
    saved = tmp_path / "page.html"
    saved.write_text(page)
    status, out, err = run_extract("bing", saved)
    assert status == 2
    assert out == ""
    assert words in err and str(saved) in err


def test_extract_command_refuses_an_unknown_provider() -> None:
    status, out, err = run_extract("altavista", BING_FIXTURE)
    assert (status, out) == (2, "")
    assert "unknown provider 'altavista' (choose from google, bing, duckduckgo, brave)" in err


@pytest.mark.parametrize("provider", ["google", "duckduckgo", "brave"])
def test_another_engines_page_is_not_understood_rather_than_empty(provider: str) -> None:
    # The Bing page is a results page, not a block: for the others, a page they do not understand.
    status, out, err = run_extract(provider, BING_FIXTURE)
    assert (status, out) == (3, "")
    assert f"is not a {provider} results page this version understands" in err
    assert "no " not in err.split("(")[0]  # not "no results": nothing says the engine had none


def test_extract_command_reports_a_missing_file_and_a_page_with_no_grid(tmp_path: Path) -> None:
    status, _, err = run_extract("bing", tmp_path / "missing.html")
    assert status == 2 and "cannot read" in err
    empty = tmp_path / "empty.html"
    empty.write_text("<html><body><p>There are no results for this query.</p></body></html>")
    status, out, err = run_extract("bing", empty)
    assert (status, out) == (3, "")
    assert "not a bing results page" in err


def test_extract_command_tells_an_empty_results_grid_from_a_page_not_understood(tmp_path: Path) -> None:
    empty_batch = tmp_path / "batch.html"
    empty_batch.write_text('<div class="dgControl dtl hover" data-nextUrl=""></div>')
    status, out, err = run_extract("bing", empty_batch)
    assert (status, out) == (1, "")
    assert "no bing image results" in err and "says it has none" in err


def test_a_saved_fake_engine_page_extracts_like_a_real_one(tmp_path: Path) -> None:
    with FakeWeb() as web:
        host = web.url
        response = requests.get(f"{web.bing_url(total=20)}/images/search", params={"q": "owls"}, timeout=10)
    saved = tmp_path / "fake.html"
    saved.write_text(response.text)
    assert len(parse_bing_results(response.text)) == 20
    status, out, _ = run_extract("bing", saved)
    assert status == 0
    assert out.splitlines() == [f"{host}/img/{n}.jpg" for n in range(1, 21)]
