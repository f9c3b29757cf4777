"""A job's filters in the URLs each provider builds, as the fake engines received them from a real Chromium,
what the scraper records per engine for the packager, and the extra links it collects for them."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest

from shared.domain.filters import Filters
from tests.fakeweb import FakeWeb
from tests.support.scraping import scrape_job

pytestmark = pytest.mark.browser

FILTERS = Filters(
    size="large",
    type="photo",
    color="red",
    layout="wide",
    license="creative_commons",
    age="week",
    safe="strict",
    min_width=800,
    formats=("jpeg", "png"),
)


@pytest.fixture(scope="module")
def web() -> Iterator[FakeWeb]:
    with FakeWeb() as running:
        yield running


def _args(web: FakeWeb, base: str, path: str) -> list[dict[str, Any]]:
    """The query parameters of the requests the fake engine at `base` received at `path` below it."""
    return [entry["args"] for entry in web.requests() if entry["path"] == urlsplit(base).path + path]


def test_bing_is_asked_with_filterui_tokens_on_every_page(tmp_path: Path, web: FakeWeb) -> None:
    base = web.bing_url(total=200)
    job, links, event = scrape_job(tmp_path, {"bing": base}, count=20, filters=FILTERS)
    tokens = [
        "filterui:imagesize-large",
        "filterui:photo-photo",
        "filterui:color2-FGcls_RED",
        "filterui:aspect-wide",
        "filterui:licenseType-Any",
        "filterui:age-lt10080",
    ]
    [page] = _args(web, base, "/images/search")
    # Bing reads the `+` between tokens as spaces.
    assert page["qft"].split() == tokens and page["adlt"] == "strict"
    batches = _args(web, base, "/images/async")
    assert batches and all(a["qft"].split() == tokens and a["adlt"] == "strict" for a in batches)
    # min_width and formats are the packager's: three links per image, so it can still reach 20.
    assert len(links) == 60 and event.payload["links"] == 60
    assert event.payload["engine_filters"] == {
        "bing": {
            "given": _engine_side(FILTERS),
            "not_supported": [],
            "params": {"qft": "+" + "+".join(tokens), "adlt": "strict"},
        }
    }
    assert job.note == "found 60 links for 20 images (bing)"
    assert job.progress.links_found == 60


def _engine_side(filters: Filters) -> dict[str, str]:
    return {k: v for k, v in filters.to_dict().items() if k not in ("min_width", "min_height", "formats")}


def test_google_gets_tbs_and_safe_on_the_page_and_its_json_answers(tmp_path: Path, web: FakeWeb) -> None:
    base = web.google_url(total=300)
    _, links, event = scrape_job(tmp_path, {"google": base}, count=50, filters=FILTERS)
    tbs = "isz:l,itp:photo,ic:specific,isc:red,iar:w,il:cl,qdr:w"
    asked = _args(web, base, "/search")
    pages = [a for a in asked if a.get("udm") == "2"]
    answers = [a for a in asked if "async" in a]
    assert pages and all(a["tbs"] == tbs and a["safe"] == "active" for a in pages)
    assert answers and all(a["tbs"] == tbs and a["safe"] == "active" for a in answers)
    assert len(links) == 150
    assert event.payload["engine_filters"]["google"]["given"] == _engine_side(FILTERS)


def test_duckduckgo_gets_iaf_f_and_kp_and_its_next_pages_keep_them(tmp_path: Path, web: FakeWeb) -> None:
    base = web.duckduckgo_url(total=400)
    _, links, event = scrape_job(tmp_path, {"duckduckgo": base}, count=100, filters=FILTERS)
    f = "time:Week,size:Large,color:Red,type:photo,layout:Wide,license:Any"
    [page] = _args(web, base, "/")
    assert page["iaf"] == f and page["kp"] == "1"
    answers = _args(web, base, "/i.js")
    # The page's own request, the provider's first, then the engine's `next` pages: all with the filters.
    assert len(answers) >= 3 and all(a["f"] == f for a in answers)
    [first] = [a for a in answers if "kp" in a]
    assert first["kp"] == "1" and first["p"] == "1"
    assert len(links) == 300
    assert event.payload["engine_filters"]["duckduckgo"]["not_supported"] == []


def test_brave_gets_its_safe_search_and_records_what_it_lacks(tmp_path: Path, web: FakeWeb) -> None:
    base = web.brave_url(total=100, page=100)
    _, links, event = scrape_job(tmp_path, {"brave": base}, count=10, filters=Filters(size="large", safe="off"))
    [page] = _args(web, base, "/images")
    assert page["safesearch"] == "off" and "size" not in page
    assert len(links) == 10, "no extra links: nothing for the packager to filter"
    assert event.payload["engine_filters"] == {
        "brave": {"given": {"safe": "off"}, "not_supported": ["size"], "params": {"safesearch": "off"}}
    }


def test_a_job_without_filters_sends_none_and_carries_none(tmp_path: Path, web: FakeWeb) -> None:
    base = web.bing_url(total=50)
    _, links, event = scrape_job(tmp_path, {"bing": base}, count=5, filters=Filters())
    [page] = _args(web, base, "/images/search")
    assert "qft" not in page and page["adlt"] == "moderate"
    assert event.payload == {"links": 5} and len(links) == 5
