"""A page an engine's provider does not understand: its own outcome, said in the job's note, counted per
provider, saved for a fixture when IMGJOB_SAVE_UNPARSED is set, and never a reason to stop the fallback."""

from __future__ import annotations

import logging
import stat
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from services.scraper.collect import NOT_UNDERSTOOD, Collection, Outcome
from services.scraper.unparsed import save_unparsed, unparsed_name
from shared.domain.model import JobStatus, Link
from shared.events import JOB_FAILED, JOB_LINKS_COLLECTED
from shared.metrics import REGISTRY
from tests.fakeweb import FakeWeb
from tests.support.network import free_port
from tests.support.scraping import QUERY, scrape_job


def counted(provider: str, outcome: str) -> float:
    return (
        REGISTRY.get_sample_value("imgjob_scraper_provider_outcomes_total", {"provider": provider, "outcome": outcome})
        or 0.0
    )


def test_a_saved_page_is_named_by_provider_and_time_alone(tmp_path: Path) -> None:
    moment = datetime(2026, 3, 4, 5, 6, 7, tzinfo=UTC)
    name = unparsed_name("brave", "<html>red fox</html>", moment)
    assert name.startswith("brave-20260304T050607Z-") and name.endswith(".html")
    assert unparsed_name("google", ")]}'\n{}", moment).endswith(".json")
    saved = save_unparsed(tmp_path / "new" / "dir", "google", f"<p>{QUERY} \ud800</p>", moment)
    assert saved is not None and saved.parent == tmp_path / "new" / "dir"
    assert QUERY.split()[0] not in saved.name
    assert saved.read_text(encoding="utf-8") == f"<p>{QUERY} ?</p>"
    assert stat.S_IMODE(saved.stat().st_mode) == 0o600


def test_saving_never_fails_the_search(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("not a directory")
    with caplog.at_level(logging.WARNING):
        assert save_unparsed(blocker, "bing", "<html></html>") is None
    assert "could not be saved" in caplog.text


def test_the_note_says_not_understood_rather_than_no_results() -> None:
    links = [Link(n, f"http://127.0.0.1/img/{n}.jpg", None, "bing") for n in range(1, 21)]
    google = Outcome("google", NOT_UNDERSTOOD, stopped=True, verdict="not_understood")
    assert Collection(links, [google, Outcome("bing", "found 20", 20)]).note(20) == (
        "found 20 of 20 requested (bing; google: the engine's page was not understood)"
    )
    short = Collection(links, [google, Outcome("bing", "ran out of results after 20", 20, ran_out=True)])
    assert short.note(50) == (
        "found 20 of 50 requested: google: the engine's page was not understood; bing: ran out of results after 20"
    )
    assert "no results" not in short.note(50)


@pytest.fixture(scope="module")
def web() -> Iterator[FakeWeb]:
    with FakeWeb() as running:
        yield running


@pytest.mark.browser
def test_a_changed_engine_hands_over_to_the_next_saying_why_and_keeping_its_page(tmp_path: Path, web: FakeWeb) -> None:
    before = {key: counted(*key) for key in (("google", "not_understood"), ("brave", "ok"), ("bing", "blocked"))}
    providers = {
        "google": web.google_url(total=60, changed=True),
        "bing": web.bing_url(total=60, captcha=True),
        "brave": web.brave_url(total=60),
    }
    save = tmp_path / "unparsed"
    job, links, event = scrape_job(tmp_path, providers, 20, save_unparsed=str(save))
    assert event.type == JOB_LINKS_COLLECTED
    assert [(link.url, link.provider) for link in links] == [(f"{web.url}/img/{n}.jpg", "brave") for n in range(1, 21)]
    assert job.note == (
        "found 20 of 20 requested (brave; google: the engine's page was not understood;"
        " bing: blocked by a CAPTCHA page)"
    )
    after = {key: counted(*key) for key in before}
    assert {key: after[key] - before[key] for key in before} == {key: 1.0 for key in before}
    (saved,) = save.iterdir()
    assert saved.name.startswith("google-") and saved.suffix == ".html" and "fox" not in saved.name
    assert f"{web.url}/img/1.jpg" in saved.read_text()  # the page itself, ready to become a fixture


@pytest.mark.browser
def test_when_no_engine_is_understood_the_job_fails_naming_it_and_an_unwritable_folder_changes_nothing(
    tmp_path: Path, web: FakeWeb, caplog: pytest.LogCaptureFixture
) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    providers = {"google": web.google_url(total=60, changed=True), "brave": web.brave_url(changed=True)}
    with caplog.at_level(logging.WARNING):
        job, links, event = scrape_job(tmp_path, providers, 20, save_unparsed=str(blocker))
    assert (event.type, links, job.status) == (JOB_FAILED, [], JobStatus.FAILED)
    assert job.failure_reason == (
        "no images found (google: the engine's page was not understood; brave: the engine's page was not understood)"
    )
    assert caplog.text.count("could not be saved") == 2


@pytest.mark.browser
def test_an_unreachable_engine_is_counted_and_the_next_one_searched(tmp_path: Path, web: FakeWeb) -> None:
    before = (counted("bing", "unreachable"), counted("brave", "exhausted"))
    providers = {"bing": f"http://127.0.0.1:{free_port()}/nothing", "brave": web.brave_url(total=5)}
    job, links, event = scrape_job(tmp_path, providers, 10)
    assert event.type == JOB_LINKS_COLLECTED and len(links) == 5
    assert job.note is not None
    assert job.note.startswith("found 5 of 10 requested: bing: could not be reached (net::ERR_CONNECTION_REFUSED)")
    assert (counted("bing", "unreachable"), counted("brave", "exhausted")) == (before[0] + 1, before[1] + 1)
