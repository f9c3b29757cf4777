"""The one place that turns settings into adapters. Nothing connects until a service uses it."""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path

from shared.adapters.browsers import GridBrowser, LocalChromium
from shared.adapters.cassandra_store import CassandraJobStore
from shared.adapters.file_blobs import FileBlobStore, file_path
from shared.adapters.mailers import OutboxMailer, SmtpMailer
from shared.adapters.memory_bus import MemoryBus
from shared.adapters.rabbitmq_bus import RabbitMqBus
from shared.adapters.s3_blobs import S3BlobStore
from shared.adapters.sqlite_store import SqliteJobStore, sqlite_path
from shared.config import Settings, resolve_secret_key
from shared.ports import BlobStore, BrowserFactory, JobStore, Mailer, MessageBus

Clock = Callable[[], datetime]


def utc_now() -> datetime:
    return datetime.now(UTC)


class UnsupportedSetting(ValueError):
    """A URL setting whose scheme no adapter handles."""


@dataclass
class Adapters:
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


def build_bus(settings: Settings) -> MessageBus:
    if settings.bus_url.startswith("memory://"):
        return MemoryBus(max_deliveries=settings.max_deliveries)
    if settings.bus_url.startswith(("amqp://", "amqps://")):
        return RabbitMqBus(settings.bus_url, max_deliveries=settings.max_deliveries)
    raise UnsupportedSetting(f"IMGJOB_BUS_URL: no adapter for {settings.bus_url!r} (use memory:// or amqp://)")


def build_store(settings: Settings) -> JobStore:
    if settings.store_url.startswith("sqlite:"):
        return SqliteJobStore(sqlite_path(settings.store_url))
    if settings.store_url.startswith("cassandra://"):
        return CassandraJobStore(settings.store_url)
    raise UnsupportedSetting(
        f"IMGJOB_STORE_URL: no adapter for {settings.store_url!r} (use sqlite:///path or cassandra://host/keyspace)"
    )


def build_blobs(settings: Settings) -> BlobStore:
    if settings.blob_url.startswith("file:"):
        return FileBlobStore(file_path(settings.blob_url))
    if settings.blob_url.startswith("s3://"):
        # Files live at most a link's life after the job got stuck or finished; the rule is the backstop.
        days = math.ceil((settings.link_ttl + settings.stuck_after) / 86400) + 1
        return S3BlobStore(settings.blob_url, lifecycle_days=days)
    raise UnsupportedSetting(f"IMGJOB_BLOB_URL: no adapter for {settings.blob_url!r} (use file:path or s3://...)")


def build_mailer(settings: Settings) -> Mailer:
    if settings.smtp_url:
        return SmtpMailer(settings.smtp_url, settings.mail_sender)
    return OutboxMailer(Path(settings.mail_outbox), settings.mail_sender)


def build_browser(settings: Settings) -> BrowserFactory:
    if settings.browser_url == "local":
        return LocalChromium(settings.chromium_path, settings.chromedriver_path, settings.page_load_timeout)
    if settings.browser_url.startswith(("http://", "https://")):
        return GridBrowser(settings.browser_url, settings.page_load_timeout)
    raise UnsupportedSetting(f"IMGJOB_BROWSER_URL: expected 'local' or a Grid URL, got {settings.browser_url!r}")


def bootstrap(settings: Settings | None = None, **overrides: object) -> Adapters:
    """Build every adapter from the settings; tests pass ready-made ones as keyword overrides."""
    settings = settings or Settings.from_env()
    if not settings.secret_key:
        # Every service signs or checks links with the same key; on one machine that is var/secret_key.
        settings = replace(settings, secret_key=resolve_secret_key(settings))
    parts: dict[str, object] = {
        "bus": overrides.pop("bus", None) or build_bus(settings),
        "store": overrides.pop("store", None) or build_store(settings),
        "blobs": overrides.pop("blobs", None) or build_blobs(settings),
        "mailer": overrides.pop("mailer", None) or build_mailer(settings),
        "browser": overrides.pop("browser", None) or build_browser(settings),
    }
    if "clock" in overrides:
        parts["clock"] = overrides.pop("clock")
    if overrides:
        raise TypeError(f"unknown adapters: {sorted(overrides)}")
    return Adapters(settings=settings, **parts)  # type: ignore[arg-type]


def migrate(adapters: Adapters) -> None:
    adapters.store.migrate()
    adapters.blobs.migrate()
    adapters.bus.migrate()
