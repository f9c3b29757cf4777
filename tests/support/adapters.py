"""Settings and adapters on a temporary directory: SQLite, files, the in-process bus, an outbox folder."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from services.bootstrap import bootstrap, migrate
from shared.config import Settings
from shared.ports import Adapters, BrowserFactory, Clock, MessageBus

PUBLIC_URL = "http://gateway.test"
REPO = Path(__file__).resolve().parents[2]


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


def embedded_environment(tmp_path: Path, **extra: str) -> dict[str, str]:
    """The environment of an `imgjob` process on embedded adapters under tmp_path/var (nothing of the
    caller's IMGJOB_* settings, gunicorn's SERVER_SOFTWARE or a key; `extra` adds or replaces)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("IMGJOB_") and k != "SERVER_SOFTWARE"}
    env |= {
        "PYTHONPATH": str(REPO),
        "IMGJOB_STORE_URL": f"sqlite:///{tmp_path}/var/imgjob.sqlite3",
        "IMGJOB_BLOB_URL": f"file:{tmp_path}/var/blobs",
        "IMGJOB_MAIL_OUTBOX": str(tmp_path / "var" / "outbox"),
        "IMGJOB_DEAD_LETTER_DIR": str(tmp_path / "var" / "dead-letters"),
    }
    return env | extra
