"""Each provider's mapping of a job's filters to its engine's own parameters, and what it records."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest

from services.scraper.collect import MAX_LINKS, links_wanted
from services.scraper.handlers import on_job_started
from services.scraper.providers import bing, brave, duckduckgo, google
from services.scraper.providers.bing import BingProvider
from services.scraper.providers.duckduckgo import DuckDuckGoProvider
from services.scraper.providers.google import GoogleProvider
from shared.domain.filters import CHOICES, Filters
from shared.domain.model import JobStatus, Link
from shared.events import JOB_LINKS_COLLECTED, JOB_STARTED, Event
from tests.support import EventRecorder, embedded_adapters, new_job

EVERYTHING = Filters(
    size="large", type="photo", color="red", layout="wide", license="creative_commons", age="week", safe="strict"
)
MAPPERS = {
    "bing": bing.engine_filters,
    "google": google.engine_filters,
    "duckduckgo": duckduckgo.engine_filters,
    "brave": brave.engine_filters,
}


def test_bing_writes_filterui_tokens_into_qft_and_safe_search_into_adlt() -> None:
    mapped = bing.engine_filters(EVERYTHING)
    assert mapped.params == {
        "qft": "+filterui:imagesize-large+filterui:photo-photo+filterui:color2-FGcls_RED"
        "+filterui:aspect-wide+filterui:licenseType-Any+filterui:age-lt10080",
        "adlt": "strict",
    }
    assert mapped.not_supported == ()
    assert mapped.given == EVERYTHING.to_dict()


def test_bing_keeps_the_query_fully_encoded_beside_its_filters() -> None:
    url = BingProvider("http://127.0.0.1:9/bing/total=5").search_url("c++ & x", {"qft": "+filterui:photo-photo"})
    assert url.endswith("?q=c%2B%2B+%26+x&form=HDRSC2&first=1&qft=+filterui:photo-photo")
    # As Bing reads it: the `+` of qft are spaces between its tokens; the query keeps its pluses.
    args = parse_qs(urlsplit(url).query)
    assert args["q"] == ["c++ & x"] and args["qft"][0].split() == ["filterui:photo-photo"]


def test_google_writes_tbs_items_and_safe() -> None:
    mapped = google.engine_filters(EVERYTHING)
    assert mapped.params == {"tbs": "isz:l,itp:photo,ic:specific,isc:red,iar:w,il:cl,qdr:w", "safe": "active"}
    assert google.engine_filters(Filters(color="bw", safe="off")).params == {"tbs": "ic:gray", "safe": "off"}
    url = GoogleProvider("http://127.0.0.1:9/google/total=5").json_url("owl", 2, {"tbs": "isz:l,itp:photo"})
    assert "&tbs=isz:l,itp:photo&async=_fmt:json,p:1,ijn:2" in url


def test_google_sends_nothing_for_its_default_safe_search_and_records_what_it_lacks() -> None:
    mapped = google.engine_filters(Filters(size="wallpaper"))
    assert mapped.params == {}
    assert mapped.given == {"safe": "moderate"}
    assert mapped.not_supported == ("size",)


def test_google_transparency_takes_the_colour_slot() -> None:
    mapped = google.engine_filters(Filters(type="transparent", color="blue"))
    assert mapped.params["tbs"] == "ic:trans"
    assert mapped.given == {"type": "transparent", "safe": "moderate"}
    assert mapped.not_supported == ("color",)


def test_duckduckgo_writes_named_items_into_f_and_iaf_and_kp() -> None:
    mapped = duckduckgo.engine_filters(EVERYTHING)
    assert mapped.params == {
        "f": "time:Week,size:Large,color:Red,type:photo,layout:Wide,license:Any",
        "kp": "1",
    }
    provider = DuckDuckGoProvider("http://127.0.0.1:9/duckduckgo/total=5")
    page = parse_qs(urlsplit(provider.search_url("owl", mapped.params)).query)
    assert page["iaf"] == [mapped.params["f"]] and page["kp"] == ["1"]
    answer = parse_qs(urlsplit(provider.json_url("owl", "4-1", {"kp": "-2"})).query)
    assert answer["p"] == ["-1"] and answer["kp"] == ["-2"] and answer["f"] == [",,,"]
    assert duckduckgo.engine_filters(Filters(color="color")).not_supported == ("color",)


def test_brave_takes_only_safe_search() -> None:
    mapped = brave.engine_filters(EVERYTHING)
    assert mapped.params == {"safesearch": "strict"}
    assert mapped.given == {"safe": "strict"}
    assert set(mapped.not_supported) == {"size", "type", "color", "layout", "license", "age"}


@pytest.mark.parametrize("engine", sorted(MAPPERS))
def test_every_value_is_either_given_or_recorded_as_not_supported(engine: str) -> None:
    for name, values in CHOICES.items():
        for value in values:
            mapped = MAPPERS[engine](Filters(**{name: value}))
            asked = name if name != "safe" else None
            if asked:
                assert (mapped.given.get(name) == value) != (name in mapped.not_supported), (engine, name, value)
            assert mapped.given["safe"] == (value if name == "safe" else "moderate")
    assert MAPPERS[engine](None).params == {}


def test_extra_links_only_when_the_packager_filters_and_within_the_bound() -> None:
    assert links_wanted(20, Filters(size="large")) == 20
    assert links_wanted(20, Filters(min_width=800)) == 60
    assert links_wanted(20, Filters(formats=("png",))) == 60
    assert links_wanted(500, Filters(min_height=10)) == MAX_LINKS
    assert links_wanted(20, None) == 20


def test_a_repeated_announcement_rebuilds_what_the_engines_of_the_stored_links_were_given(tmp_path: Path) -> None:
    # job.started delivered again after the links were stored: no search, the record is rebuilt.
    adapters = embedded_adapters(tmp_path, search_urls={"bing": "http://127.0.0.1:9/bing", "google": "http://x.test"})
    recorder = EventRecorder(adapters)
    adapters.bus.start()
    try:
        job = new_job(adapters.clock, status=JobStatus.PACKAGING, filters=Filters(size="wallpaper", min_width=900))
        adapters.store.add_job(job)
        adapters.store.save_links(job.id, [Link(1, "http://img.test/1.jpg", provider="bing")])
        on_job_started(adapters, Event(JOB_STARTED, job.id))
        adapters.bus.wait_idle(10)
        [event] = recorder.of(JOB_LINKS_COLLECTED, job.id)
    finally:
        adapters.close()
    assert event.payload == {"links": 1, "engine_filters": {"bing": bing.engine_filters(job.filters).to_dict()}}
    assert event.payload["engine_filters"]["bing"]["given"] == {"size": "wallpaper", "safe": "moderate"}
