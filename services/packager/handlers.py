"""The packager's business rules: links in, a zip and a download token out."""

from __future__ import annotations

import logging
import secrets
import time

from services.packager.archive import delete_images, store_image, write_zip
from services.packager.download import Downloaded, Downloader, FailedImage, Outcome, StoredImage
from services.packager.manifest import Plan, plan
from shared import events
from shared.domain.model import Job, JobStatus
from shared.events import Event
from shared.lifecycle import fail_job, publish_expiry
from shared.ports import Adapters

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
        if isinstance(outcome, FailedImage):
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
    package_job(adapters, downloader, job)


def package_job(adapters: Adapters, downloader: Downloader, job: Job) -> None:
    links = adapters.store.get_links(job.id)
    progress = _Progress(adapters, job.id)
    progress.write()

    def keep(image: Downloaded) -> StoredImage:
        return store_image(adapters.blobs, job.id, image)

    outcomes: list[Outcome] = []
    for outcome in downloader.download(links, keep):
        outcomes.append(outcome)
        progress.add(outcome)
    settings = adapters.settings
    package = plan(outcomes, settings.near_duplicate_distance if settings.near_duplicates else None)
    progress.final(package)
    log.info(
        "job %s: %d images, %d failed, %d (near-)duplicates",
        job.id,
        len(package.entries),
        len(package.failures),
        len(package.duplicates),
    )
    if not package.entries:
        delete_images(adapters.blobs, job.id)
        fail_job(adapters, job.id, _failure_reason(len(links), package))
        return
    zip_bytes = write_zip(adapters.blobs, job, package)
    delete_images(adapters.blobs, job.id)
    _mark_ready(adapters, job, package, zip_bytes)


def _failure_reason(count: int, package: Plan) -> str:
    if count == 0:
        return "no image links were found to download"
    return f"none of the {count} images could be downloaded: {package.top_reasons()}"


def _mark_ready(adapters: Adapters, job: Job, package: Plan, zip_bytes: int) -> None:
    current = adapters.store.get_job(job.id)
    ready = None
    if current is not None and current.status is JobStatus.PACKAGING:
        ready = current.finish(
            JobStatus.READY,
            adapters.clock(),
            adapters.settings.link_ttl,
            download_token=secrets.token_urlsafe(32),
            zip_bytes=zip_bytes,
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
