"""The packager service: `job.links_collected` in, a zip in object storage and `job.ready` out."""

from __future__ import annotations

from functools import partial

from services.packager.download import Downloader
from services.packager.handlers import on_job_links_collected
from shared.events import JOB_LINKS_COLLECTED, QUEUE_PACKAGER
from shared.ports import Adapters
from shared.runtime import Service


def build_service(adapters: Adapters) -> Service:
    """The packager's queue and handler. Its downloader (a pooled Session, per-host bounds) lives as
    long as the service and is shared by the jobs it runs concurrently; nothing connects until a job."""
    downloader = Downloader.from_settings(adapters.settings)
    return Service(
        name="packager",
        queue=QUEUE_PACKAGER,
        handlers={JOB_LINKS_COLLECTED: partial(on_job_links_collected, adapters, downloader)},
    )
