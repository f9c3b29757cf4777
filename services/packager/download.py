"""Concurrent downloads: a bounded pool of workers, a bound per host, one pooled, guarded Session.

Each worker fetches a link to a temporary file, verifies it is an image, hands it to `keep` (which
stores it in object storage) and deletes the temporary file, so a job's memory stays flat however
many images it has. A failure is an outcome with a short reason, never an exception: the job goes on.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor, as_completed
from dataclasses import dataclass
from pathlib import Path

from services.packager.fetch import Fetched, Fetcher, FetchFailed, Limits
from services.packager.guard import AddressPolicy, guarded_session
from services.packager.similar import perceptual_hash
from services.packager.verify import MAX_PIXELS, ImageInfo, NotAnImage, inspect_image
from shared.config import Settings
from shared.domain.model import Link

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Downloaded:
    """A verified image still in its temporary file."""

    link: Link
    fetched: Fetched
    info: ImageInfo
    phash: int | None = None  # computed only when near-duplicates are looked for


@dataclass(frozen=True)
class StoredImage:
    """A verified image in object storage under `key`."""

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


Outcome = StoredImage | FailedImage
Keep = Callable[[Downloaded], StoredImage]


class Downloader:
    """One per process: its Session and per-host bounds are shared by every job it runs."""

    def __init__(
        self,
        policy: AddressPolicy,
        limits: Limits | None = None,
        concurrency: int = 32,
        per_host: int = 8,
        max_pixels: int = MAX_PIXELS,
        temp_dir: Path | None = None,
        near_duplicates: bool = False,
        store_concurrency: int = 4,
        inspect_concurrency: int = 4,
    ) -> None:
        self.limits = limits or Limits()
        self.concurrency = max(1, concurrency)
        self.max_pixels = max_pixels
        self.near_duplicates = near_duplicates
        # Uploads to S3 buffer up to a part (8 MB) each, so only a few run at once: memory stays
        # flat whatever the download concurrency; a local copy or a loopback upload is quick anyway.
        self._store_slots = threading.BoundedSemaphore(max(1, store_concurrency))
        # Pillow may read a header's metadata (JPEG APP segments, a PNG chunk, a whole WebP) into
        # memory while checking it; it is CPU work under the GIL anyway, so a few at once suffice.
        self._inspect_slots = threading.BoundedSemaphore(max(1, inspect_concurrency))
        # Pool per host sized to the per-host bound, so every allowed connection can be kept alive.
        session = guarded_session(policy, pool_connections=max(16, self.concurrency), pool_maxsize=max(1, per_host))
        self.fetcher = Fetcher(session, self.limits, per_host=max(1, per_host), temp_dir=temp_dir)

    @classmethod
    def from_settings(cls, settings: Settings) -> Downloader:
        return cls(
            AddressPolicy(allow_private=settings.allow_private_networks),
            Limits(max_bytes=settings.max_image_bytes),
            concurrency=settings.download_concurrency,
            per_host=settings.download_per_host,
            near_duplicates=settings.near_duplicates,
        )

    def download(self, links: Sequence[Link], keep: Keep) -> Iterator[Outcome]:
        """Yield each link's outcome as it completes (not in link order).

        An exception other than a per-image failure (object storage down, say) propagates once the
        pool has stopped: the job as a whole is then retried by the bus.
        """
        pool = ThreadPoolExecutor(min(self.concurrency, max(1, len(links))), thread_name_prefix="download")
        try:
            futures: list[Future[Outcome]] = [pool.submit(self._one, link, keep) for link in links]
            for future in as_completed(futures):
                yield future.result()
        finally:
            pool.shutdown(wait=True, cancel_futures=True)

    def _one(self, link: Link, keep: Keep) -> Outcome:
        try:
            fetched = self.fetcher.fetch(link.url, referer=link.page_url)
        except FetchFailed as exc:
            log.info("image %s failed: %s", link.url, exc.reason)
            return FailedImage(link, exc.reason)
        try:
            with self._inspect_slots:
                info = inspect_image(fetched.path, self.max_pixels)
                phash = self._phash(fetched.path) if self.near_duplicates else None
            image = Downloaded(link, fetched, info, phash)
            with self._store_slots:
                return keep(image)
        except NotAnImage as exc:
            log.info("image %s rejected: %s", link.url, exc)
            return FailedImage(link, str(exc))
        finally:
            fetched.path.unlink(missing_ok=True)

    @staticmethod
    def _phash(path: Path) -> int | None:
        try:
            return perceptual_hash(path)
        except Exception:
            # Header and structure verified but the pixels do not decode: keep the image, only
            # without a near-duplicate check (identical bytes are still caught by the digest).
            log.info("no perceptual hash for %s", path, exc_info=True)
            return None
