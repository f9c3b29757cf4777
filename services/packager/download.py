"""Concurrent downloads: a bounded pool of workers, a bound per host, pooled and guarded connections.

Each download worker streams a link into memory or, if large, a temporary file
(services.packager.spool), has one of a few check workers verify it is an image, hands it to `keep`
(which takes it into the job's staging, services.packager.staging) and discards what `keep` left.

Memory stays flat however many images a job has. Downloading holds no more than a small image (or a
socket buffer of a large one) per worker, so there can be many download workers. Checking may hold
a good part of an image (Pillow reads some formats' metadata, or a whole WebP, into memory), so only
the few check threads ever do it, which also keeps the malloc arenas that hold on to freed buffers
few. `keep` may make a download wait (the job's staging does, for room on disk, until the zip has
caught up): downloads that end early call `abandon` first, so nothing waits for good. A failure is an outcome
with a short reason, never an exception: the job goes on. A job's byte budget, if given, ends its
downloads once it is full: what is left out is a failure with the budget's reason. A job's filters,
if given, are checked on each verified image before it is stored, and once a job has the images it
wants the links not yet started are left.
"""

from __future__ import annotations

import contextvars
import logging
import threading
from collections import deque
from collections.abc import Callable, Generator, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from services.packager.budget import JobByteBudget
from services.packager.fetch import Fetched, Fetcher, FetchFailed, Limits
from services.packager.filtering import Accept, not_needed_reason
from services.packager.guard import AddressPolicy, guarded_pool
from services.packager.similar import perceptual_hash
from services.packager.verify import MAX_PIXELS, ImageInfo, NotAnImage, inspect_image
from shared.config import Settings
from shared.domain.model import Link

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Downloaded:
    """A verified image still in memory or its temporary file."""

    link: Link
    fetched: Fetched
    info: ImageInfo
    phash: int | None = None  # computed only when near-duplicates are looked for


@dataclass(frozen=True)
class StoredImage:
    """A verified image kept for the zip under `key` (in the job's staging: services.packager.staging)."""

    link: Link
    key: str
    ext: str
    content_type: str
    width: int
    height: int
    size: int
    sha256: str
    phash: int | None = None


@dataclass(frozen=True)
class FailedImage:
    link: Link
    reason: str


@dataclass(frozen=True)
class FilteredImage(FailedImage):
    """A verified image that misses the job's filters: not stored; the manifest says why."""

    width: int = 0
    height: int = 0
    content_type: str = ""
    size: int = 0


@dataclass(frozen=True)
class NotNeeded(FailedImage):
    """A link not downloaded (or an image left out of the zip) because the job had its images already."""


class _Quota:
    """Counts a job's distinct stored images (identical bytes once) until it has `wanted`."""

    def __init__(self, wanted: int) -> None:
        self.wanted = wanted
        self._digests: set[str] = set()
        self._lock = threading.Lock()
        self.met = threading.Event()

    def add(self, image: StoredImage) -> None:
        with self._lock:
            self._digests.add(image.sha256)
            if len(self._digests) >= self.wanted:
                self.met.set()


Outcome = StoredImage | FailedImage
Keep = Callable[[Downloaded], StoredImage]

# The job's thread collects finished downloads this often rather than being woken for each: a wake-up
# is a hand-over of the interpreter lock (in a profiled job of 500 images, 7% of the time it was held).
OUTCOMES_EVERY = 0.1


def _in_batches(futures: Sequence[Future[Outcome]], every: float) -> Iterator[Future[Outcome]]:
    """The futures as they are done: looked for every `every` seconds, and as soon as the last one is."""
    done: deque[Future[Outcome]] = deque()
    all_done = threading.Event()
    left = len(futures)
    lock = threading.Lock()

    def finished(future: Future[Outcome]) -> None:  # in the thread that finished it
        nonlocal left
        done.append(future)
        with lock:
            left -= 1
            if left == 0:
                all_done.set()

    for future in futures:
        future.add_done_callback(finished)
    while futures and (not all_done.wait(every) or done):
        while done:
            yield done.popleft()


class Downloader:
    """One per process: its Session and per-host bounds are shared by every job it runs."""

    def __init__(
        self,
        policy: AddressPolicy,
        limits: Limits | None = None,
        concurrency: int = 64,
        per_host: int = 8,
        max_pixels: int = MAX_PIXELS,
        temp_dir: Path | None = None,
        near_duplicates: bool = False,
        check_workers: int = 4,
    ) -> None:
        self.limits = limits or Limits()
        self.concurrency = max(1, concurrency)
        self.max_pixels = max_pixels
        self.near_duplicates = near_duplicates
        # Per process, not per job, so the bound holds across the jobs this packager runs at once.
        # Checking is CPU work under the GIL: a few threads suffice.
        self._check_workers = max(1, check_workers)
        self._checker: ThreadPoolExecutor | None = None
        self._checker_lock = threading.Lock()
        # Pool per host sized to the per-host bound, so every allowed connection can be kept alive.
        pool = guarded_pool(policy, num_pools=max(16, self.concurrency), maxsize=max(1, per_host))
        self.fetcher = Fetcher(pool, self.limits, per_host=max(1, per_host), temp_dir=temp_dir)
        self.temp_dir = temp_dir  # also where a job's staging keeps images on disk (None: the system's)

    @classmethod
    def from_settings(cls, settings: Settings) -> Downloader:
        return cls(
            AddressPolicy(allow_private=settings.allow_private_networks),
            Limits(max_bytes=settings.max_image_bytes),
            concurrency=settings.download_concurrency,
            per_host=settings.download_per_host,
            near_duplicates=settings.near_duplicates,
        )

    def download(
        self,
        links: Sequence[Link],
        keep: Keep,
        budget: JobByteBudget | None = None,
        accept: Accept | None = None,
        wanted: int | None = None,
        abandon: Callable[[], None] | None = None,
    ) -> Generator[Outcome, None, None]:
        """Yield each link's outcome once it completes (not in link order; in batches at most
        OUTCOMES_EVERY seconds apart), storing at most `budget` bytes.

        `accept` (the job's filters) is asked about every verified image; one it rejects is a
        FilteredImage, not stored. Once `wanted` distinct images are stored, links not yet started are
        NotNeeded (those already under way still finish). An exception other than a per-image failure
        (a full disk, say) propagates once the pool has stopped: the job as a whole is then retried by
        the bus. If the downloads end early (that, or the caller closing this generator), `abandon` is
        called before waiting for those under way: it releases whatever `keep` may be waiting for.
        """
        pool = ThreadPoolExecutor(min(self.concurrency, max(1, len(links))), thread_name_prefix="download")
        quota = _Quota(wanted) if wanted else None
        try:
            # Each in a copy of the caller's context, so that what a download logs names the job. In link
            # order: the pool starts the earliest links first, so those are the ones a quota keeps.
            futures: list[Future[Outcome]] = [
                pool.submit(contextvars.copy_context().run, self._one, link, keep, budget, accept, quota)
                for link in links
            ]
            for future in _in_batches(futures, OUTCOMES_EVERY):
                yield future.result()
            abandon = None  # all done: nothing waits
        finally:
            if abandon is not None:
                abandon()
            pool.shutdown(wait=True, cancel_futures=True)

    def _one(
        self,
        link: Link,
        keep: Keep,
        budget: JobByteBudget | None = None,
        accept: Accept | None = None,
        quota: _Quota | None = None,
    ) -> Outcome:
        if quota is not None and quota.met.is_set():
            return NotNeeded(link, not_needed_reason(quota.wanted))
        stop = None if budget is None else budget.stop_reason
        full = None if stop is None else stop(0)
        if full is not None:
            return FailedImage(link, full)  # not even requested
        try:
            fetched = self.fetcher.fetch(link.url, referer=link.page_url, stop=stop)
        except FetchFailed as exc:
            log.info("image %s failed: %s", link.url, exc.reason)
            return FailedImage(link, exc.reason)
        try:
            # A body small enough to hold in memory is checked in place, sparing two hand-overs between
            # threads; a large one, or pixels decoded for near-duplicates, only in the few check threads.
            # Waiting for those is the back-pressure that keeps bodies from piling up.
            if fetched.body.data is not None and not self.near_duplicates:
                checked = self._check(link, fetched)
            else:
                checked = self._checks().submit(contextvars.copy_context().run, self._check, link, fetched).result()
            if isinstance(checked, FailedImage):
                return checked
            info = checked.info
            missed = accept(info) if accept is not None else None
            if missed is not None:
                log.info("image %s filtered: %s", link.url, missed)
                return FilteredImage(link, missed, info.width, info.height, info.content_type, fetched.size)
            if budget is not None and not budget.take(fetched.size):
                return FailedImage(link, budget.reason)
            stored = keep(checked)
            if quota is not None:
                quota.add(stored)
            return stored
        finally:
            fetched.body.discard()

    def _checks(self) -> ThreadPoolExecutor:
        with self._checker_lock:
            if self._checker is None:
                self._checker = ThreadPoolExecutor(self._check_workers, thread_name_prefix="check")
            return self._checker

    def _check(self, link: Link, fetched: Fetched) -> Downloaded | FailedImage:
        try:
            with fetched.body.open() as source:
                info = inspect_image(source, self.max_pixels)
        except NotAnImage as exc:
            log.info("image %s rejected: %s", link.url, exc)
            return FailedImage(link, str(exc))
        phash = self._phash(fetched) if self.near_duplicates else None
        return Downloaded(link, fetched, info, phash)

    @staticmethod
    def _phash(fetched: Fetched) -> int | None:
        try:
            with fetched.body.open() as source:
                return perceptual_hash(source)
        except Exception:
            # Header and structure verified but the pixels do not decode: keep the image, only
            # without a near-duplicate check (identical bytes are still caught by the digest).
            log.info("no perceptual hash for %s", fetched.final_url, exc_info=True)
            return None
