"""The packager service: `job.links_collected` in, a zip in object storage and `job.ready` out."""

from __future__ import annotations

from services.packager.download import Downloader
from services.packager.handlers import on_links_collected
from shared.bootstrap import Adapters
from shared.events import JOB_LINKS_COLLECTED, QUEUE_PACKAGER, Event
from shared.runtime import Service, by_event_type


def build_service(adapters: Adapters) -> Service:
    """The packager's queue and handler. Its downloader (a pooled Session, per-host bounds) lives as
    long as the service and is shared by the jobs it runs concurrently; nothing connects until a job."""
    downloader = Downloader.from_settings(adapters.settings)

    def handle(event: Event) -> None:
        on_links_collected(adapters, downloader, event)

    return Service(name="packager", handlers={QUEUE_PACKAGER: by_event_type({JOB_LINKS_COLLECTED: handle})})
