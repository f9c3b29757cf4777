"""Running the configured providers in order until a job has its links, and saying how it went."""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from selenium.common.exceptions import WebDriverException
from selenium.webdriver.remote.webdriver import WebDriver

from services.scraper.providers import ProviderUnavailable, SearchProvider, Verdict, make_provider
from services.scraper.providers.base import DistinctImages
from services.scraper.unparsed import save_unparsed
from shared.domain.filters import Filters
from shared.domain.model import Link
from shared.metrics import scraper_provider_outcomes

log = logging.getLogger(__name__)

RAN_OUT = "the search ran out of results"
# Not "no results": the engine may well have had some, in a form this version does not read.
NOT_UNDERSTOOD = "the engine's page was not understood"
# Chrome's words for a page it could not connect to at all: no network, no DNS, a refused connection.
NETWORK_ERROR = re.compile(r"net::ERR_[A-Z_]+")
# With a minimum size or formats the packager drops the images that miss them, and the engines' own
# filters are coarse (a "large" image may still be narrower than asked), so a job asks for more links
# than images: three per image covers the usual share of misses. The cap keeps the downloads and stored
# links of the biggest job (500) within twice its count, about what the engines' page caps allow anyway.
EXTRA_LINKS_FACTOR = 3
MAX_LINKS = 1000


def links_wanted(count: int, filters: Filters | None) -> int:
    """How many links to collect for `count` images: more when the packager will filter them."""
    if filters is None or not filters.enforced:
        return count
    return max(count, min(count * EXTRA_LINKS_FACTOR, MAX_LINKS))


@dataclass(frozen=True)
class Attempt:
    """A provider named in the settings, or why it cannot be used."""

    name: str
    provider: SearchProvider | None
    unavailable: str = ""


@dataclass(frozen=True)
class Outcome:
    provider: str
    summary: str  # for people: "found 35", "blocked by a CAPTCHA page", "not available yet", ...
    added: int = 0
    ran_out: bool = False
    stopped: bool = False  # blocked, not understood, or the browser failed
    browser_error: bool = False
    verdict: Verdict = "ok"
    unreachable: bool = False  # the browser could not connect to the engine at all (net::ERR_...)
    ran: bool = True  # False for a provider the settings name but that cannot be used


@dataclass
class Collection:
    links: list[Link] = field(default_factory=list)
    outcomes: list[Outcome] = field(default_factory=list)
    # Per engine that searched: the filters it was given, those it has no parameter for, and its
    # parameters (EngineFilters.to_dict), for the packager's manifest.
    engine_filters: dict[str, dict[str, object]] = field(default_factory=dict)

    @property
    def browser_failed(self) -> bool:
        return any(o.browser_error for o in self.outcomes)

    @property
    def no_engine_reached(self) -> bool:
        """Every engine tried failed to connect (no network, no DNS): a redelivery seconds later
        cannot help, and "an internal error kept recurring" would tell the person nothing."""
        tried = [o for o in self.outcomes if o.ran]
        return bool(tried) and all(o.unreachable for o in tried)

    def describe(self) -> str:
        return "; ".join(f"{o.provider}: {o.summary}" for o in self.outcomes)

    def failure_reason(self) -> str:
        return f"no images found ({self.describe()})"

    def note(self, requested: int) -> str:
        found = len(self.links)
        if found >= requested:
            used = ", ".join(o.provider for o in self.outcomes if o.added)
            # Say which engines were skipped and why, so a block does not go unnoticed.
            skipped = "".join(f"; {o.provider}: {o.summary}" for o in self.outcomes if o.stopped and not o.added)
            if found > requested:
                # Extra links (for the filters, or a series' new images): the packager keeps the first
                # `requested` that pass.
                return f"found {found} links for {requested} images ({used}{skipped})"
            return f"found {found} of {requested} requested ({used}{skipped})"
        ran_out = any(o.ran_out for o in self.outcomes) and not any(o.stopped for o in self.outcomes)
        return f"found {found} of {requested} requested: {RAN_OUT if ran_out else self.describe()}"


def plan(names: Sequence[str], base_urls: Mapping[str, str]) -> list[Attempt]:
    """The providers to try, in the settings' order, each usable or with the reason it is not."""
    attempts = []
    for name in names:
        try:
            attempts.append(Attempt(name, make_provider(name, base_urls.get(name))))
        except ProviderUnavailable as exc:
            attempts.append(Attempt(name, None, str(exc)))
    return attempts


def _run(
    name: str,
    provider: SearchProvider,
    driver: WebDriver,
    query: str,
    links: DistinctImages,
    count: int,
    progress: Callable[[int], None],
    save_dir: Path | None,
    filters: Filters | None = None,
) -> Outcome:
    before = len(links)

    def on_progress(found: int) -> None:
        # The provider counts its own distinct results, some of which may repeat earlier providers' links:
        # show what is certain, so the figure never has to go back down.
        progress(min(max(before, found), count))

    try:
        # The whole count, not just what is missing: engines share many results, and up to `before` of
        # this one's may repeat links already found.
        result = provider.search(driver, query, count, on_progress, filters)
    except WebDriverException as exc:
        log.warning("%s failed in the browser: %s", name, exc.msg)
        scraper_provider_outcomes.labels(provider=name, outcome="unreachable").inc()
        # Chrome appends "(Session info: chrome=...)" on a line of its own: not for people.
        message = (exc.msg or type(exc).__name__).split("\n", 1)[0].strip()
        network = NETWORK_ERROR.search(message)
        if network:
            summary = f"could not be reached ({network.group(0)})"
            return Outcome(name, summary, stopped=True, browser_error=True, verdict="unreachable", unreachable=True)
        return Outcome(name, f"browser error: {message}", stopped=True, browser_error=True, verdict="unreachable")
    verdict = result.verdict
    scraper_provider_outcomes.labels(provider=name, outcome=verdict).inc()
    added = links.add(result.images)
    if result.not_understood:
        if save_dir is not None and result.unparsed is not None:
            save_unparsed(save_dir, name, result.unparsed)
        return Outcome(name, NOT_UNDERSTOOD, added, stopped=True, verdict=verdict)
    if result.blocked_reason:
        summary = result.blocked_reason + (f" after {added} links" if added else "")
        return Outcome(name, summary, added, stopped=True, verdict=verdict)
    if result.exhausted and not links.full:
        summary = f"ran out of results after {added}" if added else "no results"
        return Outcome(name, summary, added, ran_out=True, verdict=verdict)
    return Outcome(name, f"found {added}", added, verdict=verdict)


def collect_links(
    driver: WebDriver,
    attempts: Sequence[Attempt],
    query: str,
    count: int,
    progress: Callable[[int], None],
    save_dir: Path | None = None,
    filters: Filters | None = None,
) -> Collection:
    """Try each usable provider in turn until `count` distinct links are found or none is left.

    Each provider's run is counted by verdict (scraper_provider_outcomes); a page a provider did not
    understand is saved into `save_dir` when it is given. `filters` are sent to each engine in its own
    parameters, and what each was given is recorded in the collection's `engine_filters`.
    """
    links = DistinctImages(limit=count)
    owners: list[str] = []
    collection = Collection()
    for attempt in attempts:
        if links.full:
            break
        if attempt.provider is None:
            collection.outcomes.append(Outcome(attempt.name, attempt.unavailable, ran=False))
            continue
        collection.engine_filters[attempt.name] = attempt.provider.engine_filters(filters).to_dict()
        outcome = _run(attempt.name, attempt.provider, driver, query, links, count, progress, save_dir, filters)
        owners += [attempt.name] * outcome.added
        collection.outcomes.append(outcome)
    collection.links = [
        Link(position, image.url, image.page_url, owner, image.width, image.height)
        for position, (image, owner) in enumerate(zip(links.images, owners, strict=True), start=1)
    ]
    return collection
