"""Concurrent downloads: a bounded pool of workers, a bound per host, one pooled, guarded Session.

Each worker fetches a link to a temporary file, verifies it is an image, hands it to `keep` (which
stores it in object storage) and deletes the temporary file, so a job's memory stays flat however
many images it has. A failure is an outcome with a short reason, never an exception: the job goes on.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor, as_completed
from dataclasses import dataclass
from pathlib import Path

from services.packager.fetch import Fetched, Fetcher, FetchFailed, Limits
from services.packager.guard import AddressPolicy, guarded_session
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
    ) -> None:
        self.limits = limits or Limits()
        self.concurrency = max(1, concurrency)
        self.max_pixels = max_pixels
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
            info = inspect_image(fetched.path, self.max_pixels)
            return keep(Downloaded(link, fetched, info))
        except NotAnImage as exc:
            log.info("image %s rejected: %s", link.url, exc)
            return FailedImage(link, str(exc))
        finally:
            fetched.path.unlink(missing_ok=True)
