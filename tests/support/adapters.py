"""Settings and adapters on a temporary directory: SQLite, files, the in-process bus, an outbox folder."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from services.bootstrap import bootstrap, migrate
from shared.config import Settings
from shared.ports import Adapters, BrowserFactory, Clock, MessageBus

PUBLIC_URL = "http://gateway.test"


def embedded_settings(tmp_path: Path, **changes: Any) -> Settings:
    """Settings for the embedded adapters under `tmp_path`, with `changes` (any Settings field) applied."""
    values: dict[str, Any] = {
        "store_url": f"sqlite:///{tmp_path}/imgjob.sqlite3",
        "blob_url": f"file:{tmp_path}/blobs",
        "mail_outbox": str(tmp_path / "outbox"),
        "dead_letter_dir": str(tmp_path / "dead-letters"),
        "secret_key": "test-secret",
        "public_url": PUBLIC_URL,
        "allow_private_networks": True,
        "search_providers": ("bing",),
    }
    values.update(changes)
    return Settings(**values)


def embedded_adapters(
    tmp_path: Path,
    clock: Clock | None = None,
    *,
    bus: MessageBus | None = None,
    browser: BrowserFactory | None = None,
    **changes: Any,
) -> Adapters:
    """Adapters on `embedded_settings(tmp_path, **changes)`, migrated. The clock is the real time unless
    `clock` is given; `bus` and `browser` replace the ones the settings would build."""
    given = {"clock": clock, "bus": bus, "browser": browser}
    adapters = bootstrap(embedded_settings(tmp_path, **changes), **{k: v for k, v in given.items() if v is not None})
    migrate(adapters)
    return adapters
