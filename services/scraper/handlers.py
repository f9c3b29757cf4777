"""The scraper's reaction to `job.started`: search, store the links, hand the job to the packager."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from services.scraper.collect import collect_links, links_wanted, plan
from services.scraper.series import links_for_series
from services.scraper.session import BrowserUnavailable, open_session
from shared import events
from shared.domain.filters import Filters
from shared.domain.model import Job, JobStatus, Link
from shared.events import Event
from shared.lifecycle import fail_job
from shared.ports import Adapters

log = logging.getLogger(__name__)


class SearchFailed(RuntimeError):
    """The browser failed before anything was found: raised so the bus delivers the job again."""


def _announce_links(adapters: Adapters, job: Job, count: int, engine_filters: dict[str, Any] | None = None) -> None:
    # A job without filters gave every engine only its default safe search: nothing worth carrying.
    given = engine_filters if job.filters != Filters() else None
    adapters.bus.publish(events.job_links_collected(job, count, given))


def _reannounce_links(adapters: Adapters, job: Job) -> None:
    """The announcement again, after a redelivery found the links stored: the search's own record of
    what each engine was given is gone, so it is rebuilt for the engines whose links the job holds
    (an engine that searched and found none is not known any more)."""
    links = adapters.store.get_links(job.id)
    _announce_links(adapters, job, len(links), _engine_filters_of(adapters, job, links))


def _engine_filters_of(adapters: Adapters, job: Job, links: list[Link]) -> dict[str, Any]:
    names = list(dict.fromkeys(link.provider for link in links if link.provider))
    attempts = plan(names, adapters.settings.search_urls)
    return {a.name: a.provider.engine_filters(job.filters).to_dict() for a in attempts if a.provider is not None}


def on_job_started(adapters: Adapters, event: Event) -> None:
    """Collect the job's links with the configured providers, in order, then move it to packaging.

    Idempotent: a redelivery after the links were collected only re-announces them, and a job that
    is no longer running is left alone. A browser session that cannot be opened after the configured
    tries (a Grid busy or down) fails the job with the reason, as do engines none of which the browser
    could connect to (no network); a browser that fails otherwise before anything was found raises so
    the bus delivers the event again.
    """
    job = adapters.store.get_job(event.job_id)
    if job is None:
        log.info("job %s is gone; job.started ignored", event.job_id)
        return
    if job.status is JobStatus.PACKAGING:
        # We finished before but the announcement may have been lost; the packager is idempotent.
        _reannounce_links(adapters, job)
        return
    if job.status is not JobStatus.RUNNING:
        log.info("job %s is %s; job.started ignored", job.id, job.status)
        return
    _scrape(adapters, job)


def _scrape(adapters: Adapters, job: Job) -> None:
    settings = adapters.settings
    attempts = plan(settings.search_providers, settings.search_urls)
    if not any(attempt.provider for attempt in attempts):
        reasons = "; ".join(f"{a.name}: {a.unavailable}" for a in attempts) or "none configured"
        fail_job(adapters, job.id, f"no usable search provider ({reasons})")
        return

    def progress(found: int) -> None:
        adapters.store.update_progress(job.id, links_found=found)

    try:
        with open_session(adapters.browser, settings.browser_tries, settings.browser_retry_delay) as driver:
            save_dir = Path(settings.save_unparsed) if settings.save_unparsed else None
            wanted = links_for_series(adapters, job, links_wanted(job.count, job.filters))
            collection = collect_links(driver, attempts, job.query, wanted, progress, save_dir, job.filters)
    except BrowserUnavailable as exc:
        # Already retried with backoff: the person is told now rather than after every redelivery.
        fail_job(adapters, job.id, str(exc))
        return
    log.info("job %s: %d of %d links (%s)", job.id, len(collection.links), job.count, collection.describe())
    if not collection.links:
        if collection.no_engine_reached:
            fail_job(adapters, job.id, f"no search engine could be reached ({collection.describe()})")
            return
        if collection.browser_failed:
            # Likely transient (a page that timed out, a crashed tab); after the bus's last delivery
            # the job is failed from the dead-letter queue.
            raise SearchFailed(f"job {job.id}: {collection.failure_reason()}")
        fail_job(adapters, job.id, collection.failure_reason())
        return
    adapters.store.save_links(job.id, collection.links)
    adapters.store.update_progress(job.id, links_found=len(collection.links))
    packaging = job.with_status(JobStatus.PACKAGING, note=collection.note(job.count))
    if not adapters.store.transition(packaging, expected=[JobStatus.RUNNING]):
        current = adapters.store.get_job(job.id)
        if current is not None and current.status is JobStatus.PACKAGING:
            _reannounce_links(adapters, job)
        else:
            # Failed or purged meanwhile: links written now would outlive every sweep.
            adapters.store.save_links(job.id, [])
            log.info("job %s left running while we searched (now %s)", job.id, current and current.status)
        return
    _announce_links(adapters, job, len(collection.links), collection.engine_filters)
