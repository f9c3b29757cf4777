"""The packager's business rules: links in, a zip and a download token out."""

from __future__ import annotations

import logging
import time
from contextlib import closing
from functools import partial
from typing import Any

from services.packager import series
from services.packager.archive import ZipWriter
from services.packager.budget import JobByteBudget
from services.packager.download import Downloader, FailedImage, FilteredImage, NotNeeded, Outcome
from services.packager.filtering import acceptor
from services.packager.measures import count_download, job_packaged
from services.packager.packing import InOrder
from services.packager.planning import Plan, Planner, link_key
from services.packager.staging import Staging
from shared import events
from shared.domain.model import Job, JobStatus, Link
from shared.events import Event
from shared.lifecycle import fail_job, publish_expiry
from shared.ports import Adapters, NotEnoughRoom
from shared.tokens import download_token, token_hash

log = logging.getLogger(__name__)

PROGRESS_EVERY = 0.5  # seconds between progress writes while downloading


class _Progress:
    """Live counters for the status page, written every PROGRESS_EVERY seconds while downloading.
    Identical images count once, so without near-duplicate removal the final numbers are what the
    zip holds and the counters never go backwards (near-duplicates are only known at the end)."""

    def __init__(self, adapters: Adapters, job_id: str) -> None:
        self._adapters = adapters
        self._job_id = job_id
        self._digests: dict[str, int] = {}
        self.failed = 0
        self._written_at = 0.0

    def add(self, outcome: Outcome) -> None:
        if isinstance(outcome, FilteredImage | NotNeeded):
            pass  # nothing failed: left out for the filters, or not needed (the manifest says which)
        elif isinstance(outcome, FailedImage):
            self.failed += 1
        else:
            self._digests.setdefault(outcome.sha256, outcome.size)
        if time.monotonic() - self._written_at >= PROGRESS_EVERY:
            self.write()

    def write(self) -> None:
        self._written_at = time.monotonic()
        self._adapters.store.update_progress(
            self._job_id,
            images_downloaded=len(self._digests),
            images_failed=self.failed,
            bytes_downloaded=sum(self._digests.values()),
        )

    def final(self, package: Plan) -> None:
        """What the zip holds."""
        self._adapters.store.update_progress(
            self._job_id,
            images_downloaded=len(package.entries),
            images_failed=len(package.failures),
            bytes_downloaded=package.total_bytes,
        )


def on_job_links_collected(adapters: Adapters, downloader: Downloader, event: Event) -> None:
    """Download the job's links, zip them, and mark the job ready (or failed if nothing came).

    Idempotent: a redelivery after `ready` only repeats the announcements; one during packaging
    redoes the work over the same object keys.
    """
    job = adapters.store.get_job(event.job_id)
    if job is None:
        log.info("job %s no longer exists; %s ignored", event.job_id, event.type)
        return
    if job.status is JobStatus.READY:
        # We finished but may have died before announcing it; the notifier sends its email once.
        adapters.bus.publish(events.job_ready(job))
        publish_expiry(adapters, job)
        return
    if job.status is not JobStatus.PACKAGING:
        log.info("job %s is %s, not packaging; %s ignored", job.id, job.status, event.type)
        return
    package_job(adapters, downloader, job, event.payload.get("engine_filters"))


def package_job(adapters: Adapters, downloader: Downloader, job: Job, engine_filters: Any = None) -> None:
    """`engine_filters`: what the scraper gave each engine of the job's filters, for the manifest.

    The verified images wait in a local staging (services.packager.staging) and go from there into
    the zip, which streams into object storage while the downloads go on (services.packager.packing):
    object storage receives the zip only. The staging is deleted whatever happens.
    """
    started = time.monotonic()
    budget = JobByteBudget(adapters.settings.max_job_bytes)
    staging = Staging(downloader.temp_dir)
    no_room = _no_room(adapters, job, staging, budget)
    if no_room is not None:
        fail_job(adapters, job.id, no_room)
        return
    # A run of a recurring search leaves out the links an earlier run delivered (services.packager.series).
    # In link order: downloads start in this order, and the zip takes them in it (services.packager.packing).
    links = sorted(adapters.store.get_links(job.id), key=link_key)
    links, delivered = series.skip_delivered_links(adapters, job, links)
    progress = _Progress(adapters, job.id)
    progress.write()
    settings = adapters.settings
    planner = Planner(settings.near_duplicate_distance if settings.near_duplicates else None, job.count)
    with staging, ZipWriter(adapters.blobs, job) as out:
        # A series' run knows which images are new only once it has them all (and may download more
        # links in place of old ones), so it zips at the end; any other job zips as images settle.
        in_order = None if job.series_id else InOrder(links, planner, staging, out)

        def fetch(batch: list[Link], wanted: int) -> list[Outcome]:
            fetched: list[Outcome] = []
            # The job's filters are checked on each image; with extra links for them, the job stops at its count.
            # Ending early (an exception), the downloads close the staging before they wait for the ones
            # under way, which may be waiting for room in it; and none stages images after that.
            downloads = downloader.download(batch, staging.keep, budget, acceptor(job.filters), wanted, staging.close)
            with closing(downloads):
                for outcome in downloads:
                    fetched.append(outcome)
                    progress.add(outcome)
                    count_download(outcome)
                    if in_order is not None:
                        in_order.add(outcome)
            return fetched

        outcomes, delivered_images = series.skip_delivered_images(adapters, job, fetch(links, job.count), fetch)
        if in_order is None:
            in_order = InOrder([outcome.link for outcome in outcomes], planner, staging, out)
            for outcome in outcomes:
                in_order.add(outcome)
        package = series.only_new(job, in_order.plan(), delivered + delivered_images)
        progress.final(package)
        if budget.reached:
            log.info("job %s: %s, %d bytes of images kept", job.id, budget.reason, budget.used)
        log.info(
            "job %s: %d images, %d failed, %d (near-)duplicates",
            job.id,
            len(package.entries),
            len(package.failures),
            len(package.duplicates),
        )
        if not package.entries:
            out.abandon()
            fail_job(adapters, job.id, series.nothing_new(package) or _failure_reason(len(links), package))
            return
        zip_bytes = out.finish(package, engine_filters if isinstance(engine_filters, dict) else None)
    series.remember_delivered(adapters, job, package)
    job_packaged(time.monotonic() - started)
    _mark_ready(adapters, job, package, zip_bytes, _note(job.note, budget, package, len(links)))


def _no_room(adapters: Adapters, job: Job, staging: Staging, budget: JobByteBudget) -> str | None:
    """Why the job cannot start, if a budget's worth of images does not fit: checked before the first
    download, not found out from a full disk halfway. The zip goes to object storage, and images wait
    for it on local disk: both must have the room."""
    # Images wait on local disk up to the staging's bound, or all of them for a series' run (zipped at the end).
    local = partial(staging.ensure_room, bounded=not job.series_id)
    checks = ((adapters.blobs.ensure_room, "storage"), (local, "local disk"))
    for check, where in checks:
        try:
            check(budget.limit)
        except NotEnoughRoom as exc:
            log.warning("job %s not started: %s", job.id, exc)
            limit = budget.limit
            return f"not enough free {where} space for the job byte budget of {limit} bytes; please try again later"
    return None


def _note(note: str | None, budget: JobByteBudget, package: Plan, count: int) -> str | None:
    """The job's note (the scraper's, on what it found), with a sentence on the byte budget if it was
    reached; the status page and the ready email show the note."""
    if package.filtered:
        # Say so, so a zip short of its count is explained (the manifest has each image's reason).
        sentence = f"{len(package.filtered)} images did not meet the filters"
        note = f"{note}; {sentence}" if note else sentence
    if not budget.reached:
        return note
    left_out = sum(1 for failure in package.failures if failure.reason == budget.reason)
    sentence = f"stopped at the job byte budget of {budget.limit} bytes: {left_out} of {count} images not downloaded"
    return f"{note}; {sentence}" if note else sentence


def _failure_reason(count: int, package: Plan) -> str:
    if count == 0:
        return "no image links were found to download"
    if package.filtered and not package.failures:
        reasons = ", ".join(dict.fromkeys(item.reason for item in package.filtered[:3]))
        return f"none of the {count} images met the filters: {reasons}"
    return f"none of the {count} images could be downloaded: {package.top_reasons()}"


def _mark_ready(adapters: Adapters, job: Job, package: Plan, zip_bytes: int, note: str | None) -> None:
    current = adapters.store.get_job(job.id)
    ready = None
    if current is not None and current.status is JobStatus.PACKAGING:
        ready = current.finish(
            JobStatus.READY,
            adapters.clock(),
            adapters.settings.link_ttl,
            token_hash=token_hash(adapters.settings.secret_key, download_token(adapters.settings.secret_key, job.id)),
            zip_bytes=zip_bytes,
            note=note,
        )
    if ready is None or not adapters.store.transition(ready, expected=[JobStatus.PACKAGING]):
        # Failed by the stuck sweeper meanwhile, or purged: its own events already went out, and what
        # we wrote would outlive every sweep. Unless another delivery of ours finished it first.
        now = adapters.store.get_job(job.id)
        if now is None or now.status is not JobStatus.READY:
            adapters.blobs.delete_prefix(job.blob_prefix)
        log.warning("job %s left packaging while we zipped it; not marking it ready", job.id)
        return
    log.info("job %s ready: %d images, zip of %d bytes", job.id, len(package.entries), zip_bytes)
    adapters.bus.publish(events.job_ready(ready))
    publish_expiry(adapters, ready)
