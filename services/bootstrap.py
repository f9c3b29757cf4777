"""The composition root's first half: settings become adapters, and the services are built on them.

The one module (with `services.cli` and `services.wsgi`) that imports concrete adapters and every service.
Nothing connects until a service uses an adapter.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path

from services.janitor.service import build_service as build_janitor
from services.notifier.service import build_service as build_notifier
from services.packager.service import build_service as build_packager
from services.scheduler.service import build_service as build_scheduler
from services.scraper.service import build_service as build_scraper
from services.webhooks.service import build_service as build_webhooks
from shared.adapters.cassandra.store import CassandraJobStore
from shared.adapters.files.blobs import FileBlobStore, file_path
from shared.adapters.memory.bus import MemoryBus
from shared.adapters.outbox.mailer import OutboxMailer
from shared.adapters.rabbitmq.bus import RabbitMqBus
from shared.adapters.s3.blobs import S3BlobStore
from shared.adapters.selenium.browsers import GridBrowser, LocalChromium
from shared.adapters.smtp.mailer import SmtpMailer
from shared.adapters.sqlite.store import SqliteJobStore, sqlite_path
from shared.config import Settings, SettingsError, resolve_secret_key
from shared.ports import Adapters, BlobStore, BrowserFactory, JobStore, Mailer, MessageBus
from shared.runtime import Service, subscriptions_of
from shared.secrets_policy import secret_key_problem

# The workers by name (the gateway is served apart: it consumes no queue).
WORKERS = {
    "scheduler": build_scheduler,
    "scraper": build_scraper,
    "packager": build_packager,
    "notifier": build_notifier,
    "janitor": build_janitor,
    "webhooks": build_webhooks,
}


class UnsupportedSetting(SettingsError):
    """A URL setting whose scheme no adapter handles."""

    def __init__(self, problem: str) -> None:
        super().__init__([problem])


def build_bus(settings: Settings) -> MessageBus:
    if settings.bus_url.startswith("memory://"):
        return MemoryBus(max_deliveries=settings.max_deliveries, dead_letter_dir=Path(settings.dead_letter_dir))
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
    """Build every adapter from the settings; tests pass ready-made ones as keyword overrides.

    Refuses (SettingsError) a missing or weak IMGJOB_SECRET_KEY beside a real adapter before building or
    creating anything, so no entrypoint can start without a usable key."""
    settings = settings or Settings.from_env()
    problem = secret_key_problem(settings)
    if problem:
        raise SettingsError([problem])
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


def build_services(adapters: Adapters, names: Sequence[str] = tuple(WORKERS)) -> list[Service]:
    return [WORKERS[name](adapters) for name in names]


def migrate(adapters: Adapters) -> None:
    """Create what the adapters need (schema, bucket, exchanges and every service's queue and
    bindings) if missing; idempotent. Only `imgjob migrate` and the all-in-one `imgjob up` run it."""
    adapters.store.migrate()
    adapters.blobs.migrate()
    adapters.bus.migrate(subscriptions_of(build_services(adapters)))
