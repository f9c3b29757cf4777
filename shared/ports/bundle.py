"""The bundle of ports a handler receives: typed against the protocols, never the concrete adapters."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime

from shared.config import Settings
from shared.ports.blobs import BlobStore
from shared.ports.browser import BrowserFactory
from shared.ports.bus import MessageBus
from shared.ports.mail import Mailer
from shared.ports.store import JobStore

Clock = Callable[[], datetime]


def utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass
class Adapters:
    """What every handler works with: the settings, one adapter per port, and the clock (tests set it)."""

    settings: Settings
    bus: MessageBus
    store: JobStore
    blobs: BlobStore
    mailer: Mailer
    browser: BrowserFactory
    clock: Clock = field(default=utc_now)

    def close(self) -> None:
        self.bus.close()
        self.store.close()
