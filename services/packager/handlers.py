"""The packager's business rules: links in, a zip and a download token out."""

from __future__ import annotations

import logging
import time
from typing import Any

from services.packager import series
from services.packager.archive import delete_images, read_ahead_for, store_image, write_zip
from services.packager.budget import JobByteBudget
from services.packager.download import (
    Downloaded,
    Downloader,
    FailedImage,
    FilteredImage,
    NotNeeded,
    Outcome,
    StoredImage,
)
from services.packager.filtering import acceptor
from services.packager.manifest import Plan, plan
from services.packager.measures import count_download, job_packaged
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
    """`engine_filters`: what the scraper gave each engine of the job's filters, for the manifest."""
    started = time.monotonic()
    budget = JobByteBudget(adapters.settings.max_job_bytes)
    try:
        # Room for the budget's worth of images before the first download, not a full disk halfway.
        adapters.blobs.ensure_room(budget.limit)
    except NotEnoughRoom as exc:
        log.warning("job %s not started: %s", job.id, exc)
        delete_images(adapters.blobs, job.id)  # what an earlier, interrupted delivery may have left
        fail_job(adapters, job.id, _no_room_reason(budget))
        return
    # A run of a recurring search leaves out the links an earlier run delivered (services.packager.series).
    links, delivered = series.skip_delivered_links(adapters, job, adapters.store.get_links(job.id))
    progress = _Progress(adapters, job.id)
    progress.write()

    def keep(image: Downloaded) -> StoredImage:
        return store_image(adapters.blobs, job.id, image)

    def fetch(batch: list[Link], wanted: int) -> list[Outcome]:
        fetched: list[Outcome] = []
        # The job's filters are checked on each image; with extra links for them, the job stops at its count.
        for outcome in downloader.download(batch, keep, budget, acceptor(job.filters), wanted):
            fetched.append(outcome)
            progress.add(outcome)
            count_download(outcome)
        return fetched

    outcomes, delivered_images = series.skip_delivered_images(adapters, job, fetch(links, job.count), fetch)
    settings = adapters.settings
    package = plan(outcomes, settings.near_duplicate_distance if settings.near_duplicates else None, job.count)
    package = series.only_new(job, package, delivered + delivered_images)
    progress.final(package)
    if budget.reached:
        log.info("job %s: %s, %d bytes of images stored", job.id, budget.reason, budget.used)
    log.info(
        "job %s: %d images, %d failed, %d (near-)duplicates",
        job.id,
        len(package.entries),
        len(package.failures),
        len(package.duplicates),
    )
    if not package.entries:
        delete_images(adapters.blobs, job.id)
        fail_job(adapters, job.id, series.nothing_new(package) or _failure_reason(len(links), package))
        return
    filters = engine_filters if isinstance(engine_filters, dict) else None
    zip_bytes = write_zip(adapters.blobs, job, package, filters, read_ahead_for(settings.blob_url))
    series.remember_delivered(adapters, job, package)
    job_packaged(time.monotonic() - started)
    delete_images(adapters.blobs, job.id)
    _mark_ready(adapters, job, package, zip_bytes, _note(job.note, budget, package, len(links)))


def _no_room_reason(budget: JobByteBudget) -> str:
    return f"not enough free storage space for the job byte budget of {budget.limit} bytes; please try again later"


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
